package cmd

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// outputGone returns a channel closed once f, standard output, has lost its
// reader: a pipe whose read end closed (POLLERR) or a Unix socket whose
// peer closed (POLLHUP). Nothing written is needed to notice: watch may wait
// long between publications. Nil for nil, files, devices and terminals,
// which lose no reader, and for TCP sockets, whose closing peer shows only
// as readable. The goroutine behind it ends with ctx.
func outputGone(ctx context.Context, f *os.File) <-chan struct{} {
	if f == nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return nil
	}
	rc, err := f.SyscallConn() // unlike Fd, leaves the descriptor's mode alone
	if err != nil {
		return nil
	}
	gone := make(chan struct{})
	go func() {
		for ctx.Err() == nil {
			var revents int16
			var perr error
			err := rc.Control(func(fd uintptr) {
				// No events asked for: POLLERR and POLLHUP come regardless.
				fds := []unix.PollFd{{Fd: int32(fd)}}
				_, perr = unix.Poll(fds, 200)
				revents = fds[0].Revents
			})
			switch {
			case err != nil || (perr != nil && perr != unix.EINTR):
				return
			case revents&(unix.POLLERR|unix.POLLHUP) != 0:
				close(gone)
				return
			case revents != 0:
				return // POLLNVAL: no stdout at all; the next write tells
			}
		}
	}()
	return gone
}
