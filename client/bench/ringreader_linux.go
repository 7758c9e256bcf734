//go:build linux

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/uniws/uniws/core/uring"
)

// A ringReader reads every connection of a run through one io_uring, on
// one locked thread. Each connection has one receive in flight, into its
// own buffer; one wake-up of the thread handles every receive completed
// since, with no system call per connection. Read by a goroutine each, a
// connection costs a wake-up and a read(2) per frame at a steady rate,
// and on a virtual machine that is more than a lean server spends to send
// the frame: the generator, not the server, then sets the latency tail.
//
// The ring is single-issuer with deferred task running: receives complete
// only while the thread waits in io_uring_enter, in one batch.
type ringReader struct {
	wake    int     // eventfd: connections added, or stop
	wakeBuf [8]byte // the wake read's target
	tid     int     // the ring's thread
	// readWait is how long a completed receive may wait for others before
	// the thread wakes (0: it wakes for each); see waitBatch.
	readWait time.Duration
	// lastCPU is the thread's CPU time when the ring ended: the thread
	// then goes back to the runtime, and its clock counts others' work.
	lastCPU atomic.Int64

	mu      sync.Mutex // guards the fields below
	pending []*conn    // added, not yet taken by the ring's thread
	stop    bool       // stop once every connection has ended
	dead    bool       // the ring's thread has ended

	// The ring's thread owns the rest.
	rg       *uring.Ring
	conns    []*conn // by slot: a receive's user data is its slot + 1
	free     []int
	live     int
	now      int64 // when the completions being handled were reaped
	stopping bool
	err      error // the ring failed: every connection ends with it
}

const (
	ringSQEntries = 4096
	ringCQEntries = 65536
	wakeData      = 0 // the wake read's user data
	// waitBatch completions end a readWait at once.
	waitBatch = 64
	// idleWait bounds a wait with nothing completed; the thread then
	// waits again.
	idleWait = time.Second
)

// startRingReader starts a ring reader's thread in wg, its submission
// queue sqEntries long (a power of two; ringSQEntries in runs), letting
// completed receives wait up to readWait for others. An error means the
// kernel offers no such ring; connections are then read by goroutines.
func startRingReader(wg *sync.WaitGroup, sqEntries uint32, readWait time.Duration) (*ringReader, error) {
	rr := &ringReader{wake: -1, readWait: readWait}
	ready := make(chan error, 1)
	wg.Go(func() { rr.run(ready, sqEntries) })
	if err := <-ready; err != nil {
		return nil, err
	}
	return rr, nil
}

func (rr *ringReader) run(ready chan<- error, sqEntries uint32) {
	// A single-issuer ring belongs to the thread that made it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rg, err := uring.New(sqEntries, ringCQEntries, uring.SetupSingleIssuer|uring.SetupDeferTaskrun)
	if err != nil {
		ready <- err
		return
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		rg.Close()
		ready <- fmt.Errorf("eventfd: %w", err)
		return
	}
	rr.rg, rr.wake, rr.tid = rg, wake, unix.Gettid()
	if rg.Features()&uring.FeatMinTimeout == 0 {
		rr.readWait = 0 // the kernel would wait for waitBatch
	}
	ready <- nil
	rr.loop()
	rr.finish()
	rr.lastCPU.Store(int64(rr.threadCPU()))
}

func (rr *ringReader) loop() {
	rr.armWake()
	for rr.err == nil && (!rr.stopping || rr.live > 0) {
		if err := rr.wait(); err != nil && !retryEnter(err) {
			rr.err = err
			return
		}
		rr.now = time.Now().UnixNano()
		rr.rg.Reap(rr.complete)
	}
}

// wait submits what is queued and waits for completions. With a read
// wait the thread sleeps until waitBatch receives completed or readWait
// passed with at least one: on loopback the sender's system call runs the
// receiving side and wakes this thread, so a wake-up per frame is CPU the
// server under test is charged for, which a client on another machine
// would not cost it. A frame's arrival is taken when it is reaped, so the
// wait can only add to the latencies measured.
func (rr *ringReader) wait() error {
	toSubmit := uint32(rr.rg.Queued() + rr.rg.Pending())
	if rr.readWait <= 0 {
		_, err := rr.rg.Enter(toSubmit, 1, uring.EnterGetEvents)
		return err
	}
	_, err := rr.rg.EnterWait(toSubmit, waitBatch, rr.readWait, idleWait)
	if errors.Is(err, syscall.ETIME) {
		return nil // nothing came: wait again
	}
	return err
}

// retryEnter reports whether io_uring_enter may be called again at once.
func retryEnter(err error) bool {
	return errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EBUSY)
}

// cpu is the CPU time the ring's thread has used: one thread reads every
// connection, so it can be saturated while the process, on two cores, is
// at half. 0 if the kernel will not tell.
func (rr *ringReader) cpu() time.Duration {
	if v := rr.lastCPU.Load(); v > 0 {
		return time.Duration(v)
	}
	return rr.threadCPU()
}

func (rr *ringReader) threadCPU() time.Duration {
	// The thread's CPU clock (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)).
	clock := int32(^uint32(rr.tid)<<3 | 4 | 2)
	var ts unix.Timespec
	if unix.ClockGettime(clock, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// finish ends what is left: with the ring failed, every connection.
func (rr *ringReader) finish() {
	rr.mu.Lock()
	rr.dead = true
	pending := rr.pending
	rr.pending = nil
	rr.mu.Unlock()
	rr.rg.Close() // cancels the receives in flight
	_ = unix.Close(rr.wake)
	err := errors.New("ring reader stopped")
	if rr.err != nil {
		err = fmt.Errorf("ring reader: %w", rr.err)
	}
	for slot, c := range rr.conns {
		if c != nil {
			rr.end(slot, c, err)
		}
	}
	for _, c := range pending {
		rr.end(-1, c, err)
	}
}

// add hands c, connected, to the ring; false if the ring takes no more
// connections (c is then as it was).
func (rr *ringReader) add(c *conn) bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.stop || rr.dead {
		return false
	}
	fd, err := ownFD(c.nc)
	if err != nil {
		return false
	}
	// Closing the net.Conn takes the socket out of the runtime's poller,
	// which would otherwise wake for every frame too; fd keeps it open.
	_ = c.nc.Close()
	c.wmu.Lock()
	c.onRing, c.fd = true, fd
	c.wmu.Unlock()
	rr.pending = append(rr.pending, c)
	if len(rr.pending) == 1 {
		rr.signal()
	}
	return true
}

// stopAfter makes the ring's thread end once every connection has ended;
// the runner closes them first.
func (rr *ringReader) stopAfter() {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.stop = true
	if !rr.dead {
		rr.signal()
	}
}

// signal wakes the ring's thread; called with mu held, before dead.
func (rr *ringReader) signal() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(rr.wake, one[:])
}

// ownFD returns a descriptor of its own for nc's socket.
func ownFD(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, errors.ErrUnsupported
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, derr
}

func (rr *ringReader) armWake() {
	rr.submit(uring.SQE{Opcode: uring.OpRead, FD: int32(rr.wake), Addr: uint64(uintptr(unsafe.Pointer(&rr.wakeBuf[0]))),
		Len: uint32(len(rr.wakeBuf)), UserData: wakeData})
}

// woken takes the connections added since the last wake-up.
func (rr *ringReader) woken() {
	rr.mu.Lock()
	added := rr.pending
	rr.pending = nil
	rr.stopping = rr.stop
	rr.mu.Unlock()
	for _, c := range added {
		slot := len(rr.conns)
		if n := len(rr.free); n > 0 {
			slot = rr.free[n-1]
			rr.free = rr.free[:n-1]
			rr.conns[slot] = c
		} else {
			rr.conns = append(rr.conns, c)
		}
		rr.live++
		// Frames that came with the connect push are in the buffer.
		rr.consume(slot, c, false)
	}
	if !rr.stopping {
		rr.armWake()
	}
}

// complete handles one completion.
func (rr *ringReader) complete(e uring.CQE) {
	if e.UserData == wakeData {
		if e.Res < 0 && e.Res != -int32(syscall.EINTR) && e.Res != -int32(syscall.EAGAIN) {
			rr.err = fmt.Errorf("read wake-ups: %w", syscall.Errno(-e.Res))
		}
		rr.woken()
		return
	}
	slot := int(e.UserData - 1)
	c := rr.conns[slot]
	switch res := e.Res; {
	case res > 0:
		c.got(int(res), rr.now)
		// A receive that did not fill the buffer emptied the socket.
		rr.consume(slot, c, !c.grow)
	case res == 0:
		rr.end(slot, c, io.EOF)
	case res == -int32(syscall.EAGAIN):
		rr.consume(slot, c, true) // nothing to read yet
	case res == -int32(syscall.EINTR):
		rr.consume(slot, c, false)
	default:
		rr.end(slot, c, syscall.Errno(-res))
	}
}

// consume handles the whole messages in c's buffer and receives more;
// pollFirst: the socket was just found empty.
func (rr *ringReader) consume(slot int, c *conn, pollFirst bool) {
	for {
		b0, p, need, err := c.next()
		if err == nil && need == 0 {
			var msg []byte
			var ok bool
			if msg, ok, err = c.take(b0, p); ok {
				c.handle(msg)
			}
		}
		if err != nil {
			rr.end(slot, c, err)
			return
		}
		if need > 0 {
			rr.receive(slot, c, need, pollFirst)
			return
		}
	}
}

// receive puts in a receive for c of at least need bytes from c.r.
func (rr *ringReader) receive(slot int, c *conn, need int, pollFirst bool) {
	buf := c.room(need)
	e := uring.SQE{Opcode: uring.OpRecv, FD: int32(c.fd), Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))),
		Len: uint32(len(buf)), UserData: uint64(slot) + 1}
	if pollFirst {
		e.IOPrio = uring.RecvPollFirst
	}
	rr.submit(e)
}

// submit queues e, submitting what is queued when the queue is full.
func (rr *ringReader) submit(e uring.SQE) {
	if rr.err != nil || rr.rg.Add(e) {
		return // a failed ring ends every connection anyway
	}
	for try := 0; ; try++ {
		_, err := rr.rg.Enter(uint32(rr.rg.Queued()+rr.rg.Pending()), 0, 0)
		if err != nil && (!retryEnter(err) || try == maxEnterRetries) {
			rr.err = err
			return
		}
		if rr.rg.Add(e) {
			return
		}
	}
}

// maxEnterRetries bounds submit's tries while the kernel answers EAGAIN or
// EBUSY (short of memory, or completions not yet reaped): then the ring
// has failed, and every connection ends with the error.
const maxEnterRetries = 1000

// end stops reading c: its descriptor is closed, and it is counted out.
// slot -1: c never had one.
func (rr *ringReader) end(slot int, c *conn, err error) {
	if !c.closing.Load() {
		c.end = c.endReason(err)
	}
	c.wmu.Lock()
	if !c.released {
		_ = unix.Close(c.fd)
		c.released = true
	}
	c.wmu.Unlock()
	c.alive.Store(false)
	if slot >= 0 {
		rr.conns[slot] = nil
		rr.free = append(rr.free, slot)
		rr.live--
	}
}

// writeFD writes all of b to the non-blocking socket fd, waiting at most
// timeout for room. A reset peer is an error, not a SIGPIPE.
func writeFD(fd int, b []byte, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for len(b) > 0 {
		n, err := unix.SendmsgN(fd, b, nil, nil, unix.MSG_NOSIGNAL)
		if n > 0 {
			b = b[n:]
			continue
		}
		if err == nil {
			return io.ErrShortWrite
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return err
		}
	}
	return nil
}

// shutdownFD ends both directions of fd's connection: its receive in
// flight completes.
func shutdownFD(fd int) { _ = unix.Shutdown(fd, unix.SHUT_RDWR) }
