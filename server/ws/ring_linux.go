//go:build linux

package ws

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A ring is an io_uring instance through which a flusher worker sends to
// many sessions with one system call: a broadcast to a thousand sessions
// at a steady rate costs a thousand writes otherwise, and on a virtual
// machine the entry into the kernel is a large part of each.
//
// Every send is a sendmsg with MSG_DONTWAIT, so it completes during the
// submission: a socket without room answers EAGAIN at once, as a
// non-blocking writev would, and the waiting path takes over. newRing
// checks that the kernel behaves so before a ring is used.

const (
	sysIOURingSetup = 425
	sysIOURingEnter = 426

	ringOffSQ   = 0
	ringOffCQ   = 0x8000000
	ringOffSQEs = 0x10000000

	opSendmsg      = 9
	enterGetEvents = 1 << 0
	ringSendFlags  = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL
	ringEntries    = 64
	maxRingBatch   = 32 // sessions per submission
)

// ringParams is struct io_uring_params.
type ringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, user_addr (2)
	cqOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1, user_addr (2)
}

// ringSQE is struct io_uring_sqe (64 bytes).
type ringSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	msgFlags uint32
	userData uint64
	_        [3]uint64
}

// ringCQE is struct io_uring_cqe (16 bytes).
type ringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type ring struct {
	fd                   int
	sqMem, cqMem, sqeMem []byte
	sqHead, sqTail       *uint32
	sqMask               *uint32
	cqHead, cqTail       *uint32
	cqMask               *uint32
	sqArray              []uint32
	sqes                 []ringSQE
	cqes                 []ringCQE

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
	var p ringParams
	fd, _, e := syscall.Syscall(sysIOURingSetup, ringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	r := &ring{fd: int(fd)}
	if err := r.mapRings(&p); err != nil {
		r.close()
		return nil, err
	}
	if err := r.probe(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *ring) mapRings(p *ringParams) error {
	mmap := func(off int64, size int) ([]byte, error) {
		b, err := syscall.Mmap(r.fd, off, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("io_uring mmap: %w", err)
		}
		return b, nil
	}
	var err error
	if r.sqMem, err = mmap(ringOffSQ, int(p.sqOff[6]+p.sqEntries*4)); err != nil {
		return err
	}
	if r.cqMem, err = mmap(ringOffCQ, int(p.cqOff[5]+p.cqEntries*uint32(unsafe.Sizeof(ringCQE{})))); err != nil {
		return err
	}
	if r.sqeMem, err = mmap(ringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(ringSQE{}))); err != nil {
		return err
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	r.sqHead = u32(r.sqMem, p.sqOff[0])
	r.sqTail = u32(r.sqMem, p.sqOff[1])
	r.sqMask = u32(r.sqMem, p.sqOff[2])
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.sqOff[6]), p.sqEntries)
	r.cqHead = u32(r.cqMem, p.cqOff[0])
	r.cqTail = u32(r.cqMem, p.cqOff[1])
	r.cqMask = u32(r.cqMem, p.cqOff[2])
	r.sqes = unsafe.Slice((*ringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*ringCQE)(unsafe.Pointer(&r.cqMem[p.cqOff[5]])), p.cqEntries)
	return nil
}

// probe fills a socket pair's buffer and sends once more through the ring:
// the send must be answered EAGAIN during its submission. A kernel that
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
	b := &r.b
	b.add(0, [][]byte{chunk[:1]})
	defer b.reset()
	b.fds[0] = int32(fds[0])
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
	if inline != 1 || b.res[0] != -int32(syscall.EAGAIN) {
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
	tail := *r.sqTail
	mask := *r.sqMask
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
		h := &b.hdrs[i]
		h.Iov = &b.iov[start]
		h.SetIovlen(end - start)
		idx := (tail + uint32(queued)) & mask
		r.sqes[idx] = ringSQE{opcode: opSendmsg, fd: b.fds[i], addr: uint64(uintptr(unsafe.Pointer(h))), len: 1, msgFlags: ringSendFlags, userData: uint64(i)}
		r.sqArray[idx] = idx
		queued++
		start = end
	}
	if queued == 0 {
		return 0, 0, nil
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(queued))
	busy := 0
	for submitted < queued && err == nil {
		n, _, e := syscall.Syscall6(sysIOURingEnter, uintptr(r.fd), uintptr(queued-submitted), 0, 0, 0, 0)
		switch {
		case e == 0:
			submitted += int(n)
		case e == syscall.EINTR:
		case (e == syscall.EAGAIN || e == syscall.EBUSY) && busy < 3:
			busy++
			inline += r.reap(b)
		default:
			// Entries the kernel has not read are taken back; their
			// sends read -EAGAIN.
			atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
			err = fmt.Errorf("io_uring_enter: %w", e)
		}
	}
	inline += r.reap(b)
	return inline, submitted, err
}

// reap collects the completions present.
func (r *ring) reap(b *ringBatch) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		c := r.cqes[head&*r.cqMask]
		if c.userData < uint64(len(b.res)) {
			b.res[c.userData] = c.res
		}
		n++
	}
	atomic.StoreUint32(r.cqHead, head)
	return n
}

// reapAll waits for n more completions. Sends with MSG_DONTWAIT complete
// during submission (probe checked it), so this does not wait in practice;
// it keeps a batch's memory from being reused under a send in flight.
func (r *ring) reapAll(b *ringBatch, n int) error {
	for n > 0 {
		_, _, e := syscall.Syscall6(sysIOURingEnter, uintptr(r.fd), 0, uintptr(n), enterGetEvents, 0, 0)
		if e != 0 && e != syscall.EINTR {
			return fmt.Errorf("io_uring_enter: %w", e)
		}
		n -= r.reap(b)
	}
	return nil
}

func (r *ring) close() {
	for _, m := range [][]byte{r.sqMem, r.cqMem, r.sqeMem} {
		if m != nil {
			_ = syscall.Munmap(m)
		}
	}
	_ = syscall.Close(r.fd)
}

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
