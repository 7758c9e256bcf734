//go:build linux || darwin

package ws

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxIovecs is IOV_MAX: the most buffers one writev takes.
const maxIovecs = 1024

// tryWritev makes one writev of iov on the connection without waiting for
// it to be writable. It reports how much was written and whether that was
// all of iov; a write that would block is not an error.
func tryWritev(rc syscall.RawConn, iov [][]byte, total int) (n int, complete bool, err error) {
	if rc == nil {
		return 0, false, nil
	}
	if len(iov) > maxIovecs {
		iov = iov[:maxIovecs]
		total = -1 // cannot be complete
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		n, werr = unix.Writev(int(fd), iov)
		return true // one attempt: never wait here
	})
	if err != nil {
		// Closed, or a deadline left by an earlier write: the waiting
		// path below sorts it out.
		return 0, false, nil
	}
	if werr != nil {
		if errors.Is(werr, unix.EAGAIN) || errors.Is(werr, unix.EINTR) {
			return 0, false, nil
		}
		return 0, false, werr
	}
	return n, n == total, nil
}
