//go:build linux

package uring

import (
	"errors"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// newTestRing returns a ring, or skips where the kernel offers none.
func newTestRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := New(entries, 0, 0)
	if err != nil {
		t.Skipf("no io_uring here: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// reapAll collects the completions present by user data.
func reapAll(r *Ring) map[uint64]CQE {
	got := map[uint64]CQE{}
	r.Reap(func(c CQE) { got[c.UserData] = c })
	return got
}

// socketPair returns a connected pair of non-blocking stream sockets,
// closed when the test ends.
func socketPair(t *testing.T) [2]int {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Close(fds[0])
		_ = syscall.Close(fds[1])
	})
	return fds
}

// recvSQE is a receive from fd into buf.
func recvSQE(fd int, buf []byte, userData uint64) SQE {
	return SQE{Opcode: OpRecv, FD: int32(fd), Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: uint32(len(buf)), UserData: userData}
}

// TestReceiveCompletesWhenDataComes: a receive put in on an empty socket
// completes, with the bytes in its buffer, once the peer writes.
func TestReceiveCompletesWhenDataComes(t *testing.T) {
	r := newTestRing(t, 8)
	fds := socketPair(t)
	buf := make([]byte, 16)
	if !r.Add(recvSQE(fds[0], buf, 7)) {
		t.Fatal("Add refused an entry of an empty ring")
	}
	if r.Queued() != 1 {
		t.Fatalf("Queued = %d, want 1", r.Queued())
	}
	if n, err := r.Enter(1, 0, 0); n != 1 || err != nil {
		t.Fatalf("Enter = %d, %v; want 1 submitted", n, err)
	}
	if got := reapAll(r); len(got) != 0 {
		t.Fatalf("completions before any data: %v", got)
	}
	if _, err := syscall.Write(fds[1], []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enter(0, 1, EnterGetEvents); err != nil {
		t.Fatal(err)
	}
	got := reapAll(r)
	if c, ok := got[7]; !ok || c.Res != 5 || string(buf[:5]) != "hello" || len(got) != 1 {
		t.Fatalf("completions %v, buffer %q; want user data 7 with 5 bytes of hello", got, buf[:5])
	}
}

// TestFullQueueAndWithdraw: Add refuses once the submission queue is full
// and takes entries again once the kernel has read them; published entries
// not yet submitted are Pending, and Withdraw takes them back unsent.
func TestFullQueueAndWithdraw(t *testing.T) {
	r := newTestRing(t, 4)
	for i := range 4 {
		if !r.Add(SQE{Opcode: OpNop, UserData: uint64(i)}) {
			t.Fatalf("Add refused entry %d of 4", i)
		}
	}
	if r.Add(SQE{Opcode: OpNop, UserData: 4}) {
		t.Fatal("Add took a fifth entry into a queue of 4")
	}
	if n, err := r.Enter(4, 4, EnterGetEvents); n != 4 || err != nil {
		t.Fatalf("Enter = %d, %v; want 4", n, err)
	}
	if got := reapAll(r); len(got) != 4 || got[3].Res != 0 {
		t.Fatalf("completions %v, want 4 nops", got)
	}

	for i := range 2 {
		r.Add(SQE{Opcode: OpNop, UserData: uint64(10 + i)})
	}
	if n, err := r.Enter(0, 0, 0); n != 0 || err != nil { // publishes, submits none
		t.Fatalf("Enter(0) = %d, %v", n, err)
	}
	if r.Pending() != 2 || r.Queued() != 0 {
		t.Fatalf("Pending %d Queued %d, want 2 0", r.Pending(), r.Queued())
	}
	r.Withdraw()
	if r.Pending() != 0 {
		t.Fatalf("Pending %d after Withdraw", r.Pending())
	}
	r.Add(SQE{Opcode: OpNop, UserData: 20})
	if n, err := r.Enter(1, 1, EnterGetEvents); n != 1 || err != nil {
		t.Fatalf("Enter = %d, %v; want 1", n, err)
	}
	if got := reapAll(r); len(got) != 1 || got[20].UserData != 20 {
		t.Fatalf("completions %v, want only the entry after Withdraw", got)
	}
}

// TestEnterWait: a bounded wait returns at once when minComplete requests
// have completed; after its minimum wait with fewer, but at least one; and
// with ETIME after the timeout when none has.
func TestEnterWait(t *testing.T) {
	r := newTestRing(t, 8)
	if r.Features()&FeatMinTimeout == 0 {
		t.Skip("the kernel has no minimum wait (IORING_FEAT_MIN_TIMEOUT)")
	}
	// A wait that should end long before its timeout (an hour) but does
	// not fails the test after a minute instead of hanging it. A signal
	// (the runtime's) can end a wait early with EINTR: it is waited again.
	const hour = time.Hour
	wait := func(minComplete uint32, minWait, timeout time.Duration) error {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			for {
				_, err := r.EnterWait(0, minComplete, minWait, timeout)
				if !errors.Is(err, syscall.EINTR) {
					done <- err
					return
				}
			}
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatalf("EnterWait(0, %d, %v, %v) still waiting after a minute", minComplete, minWait, timeout)
			return nil
		}
	}
	submit := func(n int) {
		t.Helper()
		if got, err := r.Enter(uint32(n), 0, 0); got != n || err != nil {
			t.Fatalf("Enter(%d) = %d, %v", n, got, err)
		}
	}

	for i := range 3 {
		r.Add(SQE{Opcode: OpNop, UserData: uint64(i)})
	}
	submit(3)
	if err := wait(3, hour, hour); err != nil {
		t.Fatalf("EnterWait for 3 of 3 nops: %v", err)
	}
	if got := reapAll(r); len(got) != 3 {
		t.Fatalf("completions %v, want 3", got)
	}

	// Fewer than minComplete: the minimum wait ends it.
	r.Add(SQE{Opcode: OpNop, UserData: 10})
	submit(1)
	if err := wait(4, time.Millisecond, hour); err != nil {
		t.Fatalf("EnterWait for 4 with 1 nop: %v", err)
	}
	if got := reapAll(r); len(got) != 1 || got[10].UserData != 10 {
		t.Fatalf("completions %v, want the one nop", got)
	}

	// None at all: past the minimum wait it waits for one, up to timeout.
	if err := wait(4, time.Millisecond, 20*time.Millisecond); !errors.Is(err, syscall.ETIME) {
		t.Fatalf("EnterWait with nothing in flight: %v; want ETIME", err)
	}

	// A receive that completes after the minimum wait ends the wait.
	fds := socketPair(t)
	buf := make([]byte, 16)
	r.Add(recvSQE(fds[0], buf, 20))
	submit(1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = syscall.Write(fds[1], []byte("late"))
	}()
	if err := wait(4, time.Millisecond, hour); err != nil {
		t.Fatalf("EnterWait for a late receive: %v", err)
	}
	if got := reapAll(r); len(got) != 1 || got[20].Res != 4 || string(buf[:4]) != "late" {
		t.Fatalf("completions %v, buffer %q; want the late receive", got, buf[:4])
	}
}
