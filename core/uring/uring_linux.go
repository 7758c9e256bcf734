//go:build linux

package uring

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	sysSetup = unix.SYS_IO_URING_SETUP
	sysEnter = unix.SYS_IO_URING_ENTER

	offSQ   = 0
	offCQ   = 0x8000000
	offSQEs = 0x10000000
)

// Opcodes (enum io_uring_op).
const (
	OpNop     = 0
	OpSendmsg = 9
	OpRead    = 22
	OpSend    = 26
	OpRecv    = 27
)

// Setup flags (IORING_SETUP_*).
const (
	SetupCQSize       = 1 << 3
	SetupCoopTaskrun  = 1 << 8
	SetupSingleIssuer = 1 << 12
	SetupDeferTaskrun = 1 << 13
)

// EnterGetEvents makes Enter wait for minComplete completions.
const EnterGetEvents = 1 << 0

// enterExtArg says that Enter's argument is a struct io_uring_getevents_arg.
const enterExtArg = 1 << 3

// FeatMinTimeout (IORING_FEAT_MIN_TIMEOUT, Linux 6.12) is set in Features
// when EnterWait's minWait is honoured.
const FeatMinTimeout = 1 << 15

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask     uint64
	sigmaskSize uint32
	minWaitUsec uint32
	ts          uint64 // *kernelTimespec
}

// kernelTimespec is struct __kernel_timespec: 64-bit on every architecture.
type kernelTimespec struct{ sec, nsec int64 }

// RecvPollFirst (in SQE.IOPrio of a receive) waits for data before trying
// to read: for a socket just read empty.
const RecvPollFirst = 1 << 0

// SQE is struct io_uring_sqe (64 bytes).
type SQE struct {
	Opcode   uint8
	Flags    uint8
	IOPrio   uint16
	FD       int32
	Off      uint64
	Addr     uint64
	Len      uint32
	MsgFlags uint32 // msg_flags, or the opcode's other flags
	UserData uint64
	_        [3]uint64
}

// CQE is struct io_uring_cqe (16 bytes).
type CQE struct {
	UserData uint64
	Res      int32 // the result, or -errno
	Flags    uint32
}

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, user_addr (2)
	cqOff                                                                  [10]uint32 // head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1, user_addr (2)
}

// Ring is one io_uring instance. It is not safe for concurrent use.
type Ring struct {
	fd                   int
	sqMem, cqMem, sqeMem []byte
	sqHead, sqTail       *uint32
	sqMask, cqMask       uint32
	cqHead, cqTail       *uint32
	sqArray              []uint32
	sqes                 []SQE
	cqes                 []CQE
	queued               uint32 // entries filled since the last Enter published them
	features             uint32
	// EnterWait's argument and timeout: here, where the collector does
	// not move them, since the argument holds the timeout's address.
	waitArg     getEventsArg
	waitTimeout kernelTimespec
}

// New sets up a ring of entries submission entries (a power of two) with
// setup flags; cqEntries, when not 0, sizes the completion queue
// (SetupCQSize is then added).
func New(entries, cqEntries, flags uint32) (*Ring, error) {
	p := params{flags: flags}
	if cqEntries > 0 {
		p.flags |= SetupCQSize
		p.cqEntries = cqEntries
	}
	fd, _, e := syscall.Syscall(sysSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	r := &Ring{fd: int(fd), features: p.features}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	mmap := func(off int64, size int) ([]byte, error) {
		b, err := syscall.Mmap(r.fd, off, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("io_uring mmap: %w", err)
		}
		return b, nil
	}
	var err error
	if r.sqMem, err = mmap(offSQ, int(p.sqOff[6]+p.sqEntries*4)); err != nil {
		return err
	}
	if r.cqMem, err = mmap(offCQ, int(p.cqOff[5]+p.cqEntries*uint32(unsafe.Sizeof(CQE{})))); err != nil {
		return err
	}
	if r.sqeMem, err = mmap(offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(SQE{}))); err != nil {
		return err
	}
	u32 := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	r.sqHead = u32(r.sqMem, p.sqOff[0])
	r.sqTail = u32(r.sqMem, p.sqOff[1])
	r.sqMask = *u32(r.sqMem, p.sqOff[2])
	r.sqArray = unsafe.Slice(u32(r.sqMem, p.sqOff[6]), p.sqEntries)
	r.cqHead = u32(r.cqMem, p.cqOff[0])
	r.cqTail = u32(r.cqMem, p.cqOff[1])
	r.cqMask = *u32(r.cqMem, p.cqOff[2])
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.cqOff[5]])), p.cqEntries)
	return nil
}

// Add fills the next submission entry with e, or returns false when the
// submission queue is full (Enter then makes room). The entry goes to the
// kernel with the next Enter.
func (r *Ring) Add(e SQE) bool {
	head := atomic.LoadUint32(r.sqHead)
	tail := *r.sqTail + r.queued
	if tail-head >= uint32(len(r.sqes)) {
		return false
	}
	idx := tail & r.sqMask
	r.sqes[idx] = e
	r.sqArray[idx] = idx
	r.queued++
	return true
}

// Queued is how many entries Add filled that no Enter has published yet.
func (r *Ring) Queued() int { return int(r.queued) }

// Enter publishes the entries Add filled and submits up to toSubmit of the
// published ones, waiting for minComplete completions when flags holds
// EnterGetEvents. It returns how many the kernel took. On an error other
// than EINTR, EAGAIN or EBUSY (which say: try again, after reaping for
// EBUSY) the entries it has not taken are withdrawn.
func (r *Ring) Enter(toSubmit, minComplete, flags uint32) (int, error) {
	if r.queued > 0 {
		atomic.StoreUint32(r.sqTail, *r.sqTail+r.queued)
		r.queued = 0
	}
	n, _, e := syscall.Syscall6(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
	if e != 0 {
		if e != syscall.EINTR && e != syscall.EAGAIN && e != syscall.EBUSY {
			r.Withdraw()
		}
		return 0, e
	}
	return int(n), nil
}

// Features returns the kernel's IORING_FEAT_* flags for the ring.
func (r *Ring) Features() uint32 { return r.features }

// EnterWait is Enter with EnterGetEvents that bounds the wait: it waits
// up to minWait for minComplete completions and then returns as soon as at
// least one is present; with none by then, it waits for one until timeout,
// and returns ETIME if none came. Where Features lacks FeatMinTimeout the
// kernel ignores minWait: the call then waits for minComplete up to
// timeout. A waiting thread is woken once, not per completion, so a peer
// that completes requests (a sender on loopback, say) is spared a wake-up
// for each.
func (r *Ring) EnterWait(toSubmit, minComplete uint32, minWait, timeout time.Duration) (int, error) {
	if r.queued > 0 {
		atomic.StoreUint32(r.sqTail, *r.sqTail+r.queued)
		r.queued = 0
	}
	r.waitTimeout = kernelTimespec{sec: int64(timeout / time.Second), nsec: int64(timeout % time.Second)}
	r.waitArg = getEventsArg{
		minWaitUsec: uint32(min(minWait/time.Microsecond, 1<<32-1)),
		ts:          uint64(uintptr(unsafe.Pointer(&r.waitTimeout))),
	}
	n, _, e := syscall.Syscall6(sysEnter, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete),
		EnterGetEvents|enterExtArg, uintptr(unsafe.Pointer(&r.waitArg)), unsafe.Sizeof(r.waitArg))
	runtime.KeepAlive(r)
	if e != 0 {
		if e != syscall.EINTR && e != syscall.EAGAIN && e != syscall.EBUSY && e != syscall.ETIME {
			r.Withdraw()
		}
		return 0, e
	}
	return int(n), nil
}

// Withdraw takes back the published entries the kernel has not read.
func (r *Ring) Withdraw() {
	atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
	r.queued = 0
}

// Pending is how many published entries the kernel has not read.
func (r *Ring) Pending() int {
	return int(atomic.LoadUint32(r.sqTail) - atomic.LoadUint32(r.sqHead))
}

// Reap hands each completion present to fn and returns how many there were.
func (r *Ring) Reap(fn func(CQE)) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		fn(r.cqes[head&r.cqMask])
		n++
		// Released one by one: fn may Enter, and the kernel may then
		// post into the freed slots.
		atomic.StoreUint32(r.cqHead, head+1)
	}
	return n
}

// Close unmaps the ring and closes it. The kernel cancels what is still in
// flight afterwards, asynchronously; a request waiting for its socket to
// become ready is cancelled without touching its buffer, but callers should
// end requests that may be under way before they reuse the memory.
func (r *Ring) Close() {
	for _, m := range [][]byte{r.sqMem, r.cqMem, r.sqeMem} {
		if m != nil {
			_ = syscall.Munmap(m)
		}
	}
	_ = syscall.Close(r.fd)
}
