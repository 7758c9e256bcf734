//go:build linux

package ws

import (
	"io"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovecs is IOV_MAX: the most buffers one writev takes.
const maxIovecs = 1024

// writevCall is one writev's arguments and result. It is pooled, and its
// call method value made once, so that a write allocates nothing; the
// frames it goes through are shallow, so that a writer goroutine's small
// starting stack does not grow.
type writevCall struct {
	vecs  []syscall.Iovec
	n     int
	errno syscall.Errno
	call  func(fd uintptr) bool
}

func (w *writevCall) writev(fd uintptr) bool {
	r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.vecs[0])), uintptr(len(w.vecs)))
	w.n, w.errno = int(r), e
	return true // one attempt: never wait here
}

// rawCalls pools the raw calls (writev, the peek of waitReadable and the
// discard of tryDiscard) for every session of a handler.
type rawCalls struct{ pool, peeks, discards sync.Pool }

func (p *rawCalls) get() *writevCall {
	if w, ok := p.pool.Get().(*writevCall); ok {
		return w
	}
	w := &writevCall{}
	w.call = w.writev
	return w
}

// oneCall cuts iov to what one call writes (IOV_MAX buffers); a cut list
// cannot be written whole, so its total is -1.
func oneCall(iov [][]byte, total int) ([][]byte, int) {
	if len(iov) > maxIovecs {
		return iov[:maxIovecs], -1
	}
	return iov, total
}

// tryWritev makes one writev of iov on the connection without waiting for
// it to be writable. It reports how much was written and whether that was
// all of iov; a write that would block is not an error.
func (p *rawCalls) tryWritev(rc syscall.RawConn, iov [][]byte, total int) (n int, complete bool, err error) {
	if rc == nil {
		return 0, false, nil
	}
	iov, total = oneCall(iov, total)
	w := p.get()
	for _, b := range iov {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			w.vecs = append(w.vecs, v)
		}
	}
	defer func() {
		clear(w.vecs)
		w.vecs = w.vecs[:0]
		p.pool.Put(w)
	}()
	if len(w.vecs) == 0 {
		return 0, total == 0, nil
	}
	if err := rc.Write(w.call); err != nil {
		// Closed, or a deadline left by an earlier write: the waiting
		// path sorts it out.
		return 0, false, nil
	}
	switch w.errno {
	case 0:
		return w.n, w.n == total, nil
	case syscall.EAGAIN, syscall.EINTR:
		return 0, false, nil
	}
	return 0, false, w.errno
}

// peekCall checks a socket for input without taking it. Pooled like
// writevCall, and for the same reasons.
type peekCall struct {
	buf  [1]byte
	call func(fd uintptr) bool
}

// peek reports false (wait) while the socket has nothing to read; data, end
// of stream or an error are left for the real read to see.
func (p *peekCall) peek(fd uintptr) bool {
	_, _, e := syscall.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.buf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e != syscall.EAGAIN
}

// waitReadable parks until the connection has input (or is closed, or its
// read deadline passes, which it reports as an error).
func (p *rawCalls) waitReadable(rc syscall.RawConn) error {
	if rc == nil {
		return nil
	}
	w, ok := p.peeks.Get().(*peekCall)
	if !ok {
		w = &peekCall{}
		w.call = w.peek
	}
	err := rc.Read(w.call)
	p.peeks.Put(w)
	return err
}

// discardCall drops socket input without copying it anywhere: recv with
// MSG_TRUNC on a TCP socket. Pooled like writevCall.
type discardCall struct {
	n     int
	got   int
	errno syscall.Errno
	call  func(fd uintptr) bool
}

func (d *discardCall) discard(fd uintptr) bool {
	// unix's number: 386 has had recvfrom of its own since Linux 4.3,
	// which syscall's table predates.
	r, _, e := syscall.Syscall6(unix.SYS_RECVFROM, fd, 0, uintptr(d.n),
		syscall.MSG_TRUNC|syscall.MSG_DONTWAIT, 0, 0)
	d.got, d.errno = int(r), e
	return true // one attempt: never wait here
}

// maxDiscard bounds one discard call.
const maxDiscard = 1 << 20

// tryDiscard drops up to n bytes of the connection's input without waiting
// for any, so that a large data frame a client sends after connect is
// skipped in a few calls rather than one read, epoll re-arm and wake-up per
// 512 bytes of read buffer. It reports how many bytes it dropped (0: none
// waiting), and io.EOF once the peer has closed.
func (p *rawCalls) tryDiscard(rc syscall.RawConn, n int64) (int, error) {
	if rc == nil || n <= 0 {
		return 0, nil
	}
	d, ok := p.discards.Get().(*discardCall)
	if !ok {
		d = &discardCall{}
		d.call = d.discard
	}
	defer p.discards.Put(d)
	d.n = int(min(n, maxDiscard))
	if err := rc.Read(d.call); err != nil {
		return 0, nil // closed, or a deadline: the reading path sorts it out
	}
	switch d.errno {
	case 0:
		if d.got == 0 {
			return 0, io.EOF
		}
		return d.got, nil
	case syscall.EAGAIN, syscall.EINTR:
		return 0, nil
	}
	return 0, d.errno
}
