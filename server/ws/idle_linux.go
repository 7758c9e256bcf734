//go:build linux

package ws

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// idleSet watches connected sessions for input without a goroutine per
// session. Clients of this protocol send nothing after the connect request
// but Pongs and a close frame, so an idle session is only an entry in an
// epoll set; when its socket has input (or the peer hangs up), a goroutine
// reads what is there (Session.readBurst) and the session is watched again.
//
// The epoll set is waited on through Go's netpoller by one goroutine, which
// exists, like the set, only while sessions are watched. Each session is
// watched one-shot: after an event it is not reported again until it is
// re-armed, so one burst reads it at a time.
type idleSet struct {
	mu       sync.Mutex
	ep       *epollSet
	next     uint64 // tokens start at 1; 0 is the wake-up eventfd
	sessions map[uint64]*Session
	wg       sync.WaitGroup
}

// epollSet is one epoll instance and the eventfd that wakes its waiter.
type epollSet struct {
	fd   int
	wake int
	file *os.File // fd, registered with Go's netpoller
	rc   syscall.RawConn
}

// watchEvents are what a watched socket reports: input, or the peer's end.
const watchEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func newEpollSet() (*epollSet, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_ = syscall.Close(wake)
		_ = syscall.Close(fd)
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(wake)
		_ = syscall.Close(fd)
		return nil, err
	}
	e := &epollSet{fd: fd, wake: wake, file: os.NewFile(uintptr(fd), "epoll")}
	if e.rc, err = e.file.SyscallConn(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *epollSet) close() {
	_ = e.file.Close()
	_ = syscall.Close(e.wake)
}

// wakeUp makes the waiter look at the set's sessions again.
func (e *epollSet) wakeUp() {
	one := [8]byte{1}
	_, _ = syscall.Write(e.wake, one[:])
}

// control runs epoll_ctl for s's socket. Going through the connection's
// RawConn keeps the descriptor from being closed (and its number reused)
// meanwhile; a closed connection has left the set already.
func (e *epollSet) control(s *Session, op int, token uint64) error {
	var err error
	if cerr := s.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: watchEvents, Fd: int32(token), Pad: int32(token >> 32)}
		err = syscall.EpollCtl(e.fd, op, int(fd), &ev)
	}); cerr != nil {
		return cerr
	}
	return err
}

// watch adds a connected session to the set. It reports false when the
// session cannot be watched (no file descriptor, or no epoll): it then
// needs a reading goroutine of its own.
func (w *idleSet) watch(s *Session) bool {
	if s.raw == nil {
		return false
	}
	w.mu.Lock()
	if w.ep == nil {
		ep, err := newEpollSet()
		if err != nil {
			w.mu.Unlock()
			return false
		}
		w.ep = ep
		w.sessions = make(map[uint64]*Session)
		w.wg.Add(1)
		go w.wait(ep)
	}
	ep := w.ep
	w.next++
	token := w.next
	w.sessions[token] = s
	w.mu.Unlock()

	s.mu.Lock()
	s.watched = token
	buffered := s.br.Buffered() > 0
	if buffered {
		s.reading = readBurst
	} else {
		s.reading = readWatched
	}
	if !s.deadline.IsZero() {
		s.readTimer = time.AfterFunc(time.Until(s.deadline), s.readExpired)
	}
	s.in = inFrames{}
	s.mu.Unlock()
	if err := ep.control(s, syscall.EPOLL_CTL_ADD, token); err != nil {
		// Closed already (a failed write, a forced shutdown): nothing
		// will report it.
		s.mu.Lock()
		end := s.reading != readEnded
		s.reading = readEnded
		s.mu.Unlock()
		if end {
			go s.endWatched()
		}
		return true
	}
	if buffered {
		// Input that came with the connect request is in gorilla's
		// buffer, where epoll does not see it.
		go s.readBurst(false)
	}
	return true
}

// rearm reports s's next input again. It fails when s's connection is
// closed (or the set is gone), as nothing would be reported then.
func (w *idleSet) rearm(s *Session) error {
	w.mu.Lock()
	ep := w.ep
	w.mu.Unlock()
	if ep == nil {
		return errNoIdleSet
	}
	return ep.control(s, syscall.EPOLL_CTL_MOD, s.watched)
}

var errNoIdleSet = errors.New("no idle set")

// forget removes an ending session from the set. Its socket leaves the
// epoll set when its connection is closed, which the session's cleanup
// does; an event for it until then finds no session and is dropped.
func (w *idleSet) forget(s *Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.sessions[s.watched]; !ok {
		return
	}
	delete(w.sessions, s.watched)
	if len(w.sessions) == 0 {
		w.ep.wakeUp()
	}
}

// wait reports input on watched sessions until none is watched.
func (w *idleSet) wait(ep *epollSet) {
	defer w.wg.Done()
	events := make([]syscall.EpollEvent, 128)
	var n int
	var werr error
	poll := func(fd uintptr) bool { // made once: a closure per wait would allocate
		n, werr = syscall.EpollWait(int(fd), events, 0)
		if werr == syscall.EINTR || werr == syscall.EAGAIN {
			n, werr = 0, nil
		}
		return n > 0 || werr != nil
	}
	for {
		n, werr = 0, nil
		err := ep.rc.Read(poll)
		if err == nil && werr != nil {
			n, err = 0, werr
		}
		for _, ev := range events[:n] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == 0 {
				var buf [8]byte
				_, _ = syscall.Read(ep.wake, buf[:])
				continue
			}
			w.mu.Lock()
			s := w.sessions[token]
			w.mu.Unlock()
			if s != nil {
				s.inputReady()
			}
		}
		w.mu.Lock()
		if err != nil || len(w.sessions) == 0 {
			// Sessions watched from now on start a new set. The set
			// failing (never seen) would leave its sessions unread: they end.
			if w.ep == ep {
				w.ep = nil
			}
			var orphans []*Session
			if err != nil {
				for _, s := range w.sessions {
					orphans = append(orphans, s)
				}
			}
			w.mu.Unlock()
			ep.close()
			for _, s := range orphans {
				if s.leaveWatched(readEnded) {
					go s.endWatched()
				}
			}
			return
		}
		w.mu.Unlock()
	}
}

// waitIdle returns once the set's waiter has ended. Sessions must have
// ended first.
func (w *idleSet) waitIdle() { w.wg.Wait() }
