package cmd

import (
	"context"
	"os"

	"golang.org/x/sys/unix"
)

// outputGone returns a channel closed once f, standard output as a pipe or
// socket, has lost its reader; nil when f is nil. Nothing written is
// needed to notice: watch may wait long between publications. The
// goroutine behind it ends with ctx.
func outputGone(ctx context.Context, f *os.File) <-chan struct{} {
	if f == nil {
		return nil
	}
	fd := int(f.Fd())
	gone := make(chan struct{})
	go func() {
		for ctx.Err() == nil {
			// No events asked for: POLLERR (a pipe without readers) and
			// POLLHUP (a socket whose peer closed) come regardless.
			fds := []unix.PollFd{{Fd: int32(fd)}}
			n, err := unix.Poll(fds, 200)
			if err != nil && err != unix.EINTR {
				return
			}
			switch {
			case n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0:
				close(gone)
				return
			case n > 0:
				// POLLNVAL (no stdout at all): the next write tells.
				return
			}
		}
	}()
	return gone
}
