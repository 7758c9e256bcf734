//go:build linux

package ws

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/uniws/uniws/core/uring"
)

// A ring is an io_uring instance through which a flusher worker sends to
// many sessions with one system call: a broadcast to a thousand sessions
// at a steady rate costs a thousand writes otherwise, and on a virtual
// machine the entry into the kernel is a large part of each.
//
// Every send is a send (one buffer) or a sendmsg (several) with
// MSG_DONTWAIT, so it completes during the submission: a socket without
// room answers EAGAIN at once, as a non-blocking writev would, and the
// waiting path takes over. newRing checks that the kernel behaves so
// before a ring is used.

const (
	ringSendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL
	ringEntries   = 256
	maxRingBatch  = 128 // sessions per submission
	minRingBatch  = 32  // what a worker takes, when others could share the rest
)

// ringBatchSize is how many of ready sessions a worker takes at once: all
// it may with one worker, and with several a share that leaves the others
// work (the sends of one submission are made one after another).
func ringBatchSize(ready, workers int) int {
	share := (ready + workers - 1) / max(workers, 1)
	return min(maxRingBatch, max(minRingBatch, share))
}

type ring struct {
	rg *uring.Ring

	// b is the submission being made. The kernel reads it during the
	// submission: it lives here, in the heap, as a stack may move.
	b ringBatch
}

var errRingUnusable = errors.New("io_uring sends do not complete at once")

// ringTransient reports whether newRing's err may pass (descriptors or
// memory short for now), so that later workers try again.
func ringTransient(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.EAGAIN)
}

// newRing sets up a ring and checks, on a socket pair whose buffer is full,
// that a send completes during its submission.
func newRing() (*ring, error) {
	rg, err := uring.New(ringEntries, 0, 0)
	if err != nil {
		return nil, err
	}
	r := &ring{rg: rg}
	if err := r.probe(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// probe fills a socket pair's buffer and sends twice more through the ring,
// each way a send is made: both must be answered EAGAIN during their
// submission (a kernel without IORING_OP_SEND answers EINVAL). A kernel that
// would wait for room instead could hold a worker for as long as a client
// does not read, so such a ring is not used.
func (r *ring) probe() error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("io_uring probe: %w", err)
	}
	peer := fds[1]
	defer func() {
		_ = syscall.Close(fds[0])
		if peer >= 0 {
			_ = syscall.Close(peer)
		}
	}()
	chunk := make([]byte, 64<<10)
	for {
		_, err := syscall.Write(fds[0], chunk)
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			return fmt.Errorf("io_uring probe: %w", err)
		}
	}
	// One send of one buffer (a send) and one of two (a sendmsg).
	b := &r.b
	b.add(0, [][]byte{chunk[:1]})
	b.add(1, [][]byte{chunk[:1], chunk[1:2]})
	defer b.reset()
	b.fds[0], b.fds[1] = int32(fds[0]), int32(fds[0])
	inline, submitted, err := r.submit(b)
	if inline < submitted {
		// Left waiting: closing the other end ends it.
		_ = syscall.Close(peer)
		peer = -1
		_ = r.reapAll(b, submitted-inline)
		return errRingUnusable
	}
	if err != nil {
		return err
	}
	if inline != 2 || b.res[0] != -int32(syscall.EAGAIN) || b.res[1] != -int32(syscall.EAGAIN) {
		return errRingUnusable
	}
	return nil
}

// ringBatch is one submission: up to maxRingBatch sessions' buffers, laid
// out as iovecs, and each send's result.
type ringBatch struct {
	n    int
	fds  [maxRingBatch]int32 // -1: connection closed, not sent
	res  [maxRingBatch]int32 // bytes sent, or -errno
	hdrs [maxRingBatch]unix.Msghdr
	iov  []unix.Iovec
	ends [maxRingBatch]int // iov[ends[i-1]:ends[i]] is send i's
}

// add appends send i's buffers; sends are added in order from 0.
func (b *ringBatch) add(i int, bufs [][]byte) {
	for _, buf := range bufs {
		if len(buf) > 0 {
			v := unix.Iovec{Base: &buf[0]}
			v.SetLen(len(buf))
			b.iov = append(b.iov, v)
		}
	}
	b.ends[i] = len(b.iov)
	b.n = i + 1
}

// reset drops the batch's references to the frames it sent.
func (b *ringBatch) reset() {
	clear(b.iov)
	b.iov = b.iov[:0]
	clear(b.hdrs[:b.n])
	b.n = 0
}

// send submits the batch's sends (those with a file descriptor) and waits
// for their completions, their results in b.res: bytes sent or -errno; a
// send the ring could not take reads -EAGAIN, so that the waiting path
// writes it. It returns how many completed during the submission, and an
// error when the ring must not be used again.
func (r *ring) send() (inline int, err error) {
	b := &r.b
	inline, submitted, err := r.submit(b)
	if inline < submitted {
		if werr := r.reapAll(b, submitted-inline); err == nil {
			err = werr
		}
	}
	return inline, err
}

// submit is send without the wait for completions not made during the
// submission (submitted-inline of them).
func (r *ring) submit(b *ringBatch) (inline, submitted int, err error) {
	start, queued := 0, 0
	for i := 0; i < b.n; i++ {
		end := b.ends[i]
		b.res[i] = -int32(syscall.EAGAIN)
		if end == start {
			b.res[i] = 0
		}
		if b.fds[i] < 0 || end == start {
			start = end
			continue
		}
		// A batch fits the ring, which is empty between batches.
		e := uring.SQE{Opcode: uring.OpSendmsg, FD: b.fds[i], Len: 1, MsgFlags: ringSendFlags, UserData: uint64(i)}
		if end-start == 1 {
			// One buffer, the usual case at a steady rate: a plain send,
			// which spares the kernel reading a msghdr and an iovec.
			e.Opcode, e.Addr, e.Len = uring.OpSend, uint64(uintptr(unsafe.Pointer(b.iov[start].Base))), uint32(b.iov[start].Len)
		} else {
			h := &b.hdrs[i]
			h.Iov = &b.iov[start]
			h.SetIovlen(end - start)
			e.Addr = uint64(uintptr(unsafe.Pointer(h)))
		}
		// Add cannot refuse (the ring is empty between batches, and larger
		// than one); if it did, the send's -EAGAIN sends it the waiting way.
		if r.rg.Add(e) {
			queued++
		}
		start = end
	}
	if queued == 0 {
		return 0, 0, nil
	}
	busy := 0
	for submitted < queued && err == nil {
		n, e := r.rg.Enter(uint32(queued-submitted), 0, 0)
		switch {
		case e == nil:
			submitted += n
		case e == syscall.EINTR:
		case (e == syscall.EAGAIN || e == syscall.EBUSY) && busy < 3:
			busy++
			inline += r.reap(b)
		default:
			// Entries the kernel has not read are taken back; their
			// sends read -EAGAIN.
			r.rg.Withdraw()
			err = fmt.Errorf("io_uring_enter: %w", e)
		}
	}
	inline += r.reap(b)
	return inline, submitted, err
}

// reap collects the completions present.
func (r *ring) reap(b *ringBatch) int {
	return r.rg.Reap(func(c uring.CQE) {
		if c.UserData < uint64(len(b.res)) {
			b.res[c.UserData] = c.Res
		}
	})
}

// reapAll waits for n more completions. Sends with MSG_DONTWAIT complete
// during submission (probe checked it), so this does not wait in practice;
// it keeps a batch's memory from being reused under a send in flight.
func (r *ring) reapAll(b *ringBatch, n int) error {
	for n > 0 {
		_, err := r.rg.Enter(0, uint32(n), uring.EnterGetEvents)
		if err != nil && err != syscall.EINTR {
			return fmt.Errorf("io_uring_enter: %w", err)
		}
		n -= r.reap(b)
	}
	return nil
}

func (r *ring) close() { r.rg.Close() }

// ringScratch is a ring worker's submission: the sessions taken from the
// flusher, what each has queued and how it is laid out (each session's own
// writeScratch, as a send that filled the socket is finished by a goroutine
// that takes it), and the calls that hold the connections open.
type ringScratch struct {
	sessions []*Session // backs the batch the flusher takes
	frames   [maxRingBatch][]frame
	slots    [maxRingBatch]*writeScratch
	totals   [maxRingBatch]int
	conns    [maxRingBatch]syscall.RawConn
	holds    [maxRingBatch]func(fd uintptr)
	n        int
	rg       *ring
	err      error
}

func (sc *writeScratch) ringSessions() []*Session {
	if sc.ring == nil {
		rs := &ringScratch{sessions: make([]*Session, 0, maxRingBatch)}
		for i := range rs.holds {
			rs.holds[i] = func(fd uintptr) {
				rs.rg.b.fds[i] = int32(fd)
				rs.hold(i + 1)
			}
		}
		sc.ring = rs
	}
	return sc.ring.sessions[:0]
}

// hold keeps connection i onwards open (each one's file descriptor is
// referenced, as during a write, so that it cannot be closed and its number
// reused under the send) and, with all of them held, sends.
func (rs *ringScratch) hold(i int) {
	if i == rs.n {
		_, rs.err = rs.rg.send()
		return
	}
	if rs.conns[i] == nil || rs.conns[i].Control(rs.holds[i]) != nil {
		rs.rg.b.fds[i] = -1 // closed: the waiting path sees it
		rs.hold(i + 1)
	}
}

// ringTurns gives each session of batch its write turn, sending through rg
// in one submission. An error means rg must not be used again; every turn
// has gone on regardless.
func (f *flusher) ringTurns(rg *ring, sc *writeScratch, batch []*Session) error {
	rs := sc.ring
	n := 0 // batch[:n]: the sessions with frames to send
	for _, s := range batch {
		frames := s.takeQueue()
		if frames == nil {
			continue
		}
		slot := rs.slots[n]
		if slot == nil {
			slot = &writeScratch{}
			rs.slots[n] = slot
		}
		// What one send leaves goes the waiting way, as after a writev.
		send, total := oneCall(slot.layOut(frames))
		batch[n] = s
		rs.frames[n], rs.totals[n], rs.conns[n] = frames, total, s.raw
		rg.b.add(n, send)
		n++
	}
	rs.n, rs.rg, rs.err = n, rg, nil
	if n > 0 {
		rs.hold(0)
	}
	for i, s := range batch[:n] {
		written, complete, err := 0, false, error(nil)
		switch res := rg.b.res[i]; {
		case res >= 0:
			written = int(res)
			complete = written == rs.totals[i]
		case res == -int32(syscall.EAGAIN), res == -int32(syscall.EINTR):
		default:
			err = syscall.Errno(-res)
		}
		slot := rs.slots[i] // slot.iov: the session's buffers, laid out
		if s.afterWrite(rs.frames[i], slot, slot.iov, written, complete, err, false) {
			rs.slots[i] = nil // a goroutine finishing the write took it
		} else {
			trimScratch(slot)
		}
		rs.frames[i], rs.conns[i] = nil, nil
	}
	clear(batch)
	rg.b.reset()
	rs.rg = nil
	return rs.err
}

// dropSlots lets a worker's per-session scratch go when it ends: the next
// burst grows its own, and an idle server keeps none of a burst's.
func (sc *writeScratch) dropSlots() {
	if sc.ring != nil {
		clear(sc.ring.slots[:])
	}
}
