//go:build linux

package uring

import (
	"syscall"
	"testing"
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

// TestReceiveCompletesWhenDataComes: a receive put in on an empty socket
// completes, with the bytes in its buffer, once the peer writes.
func TestReceiveCompletesWhenDataComes(t *testing.T) {
	r := newTestRing(t, 8)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	buf := make([]byte, 16)
	if !r.Add(SQE{Opcode: OpRecv, FD: int32(fds[0]), Addr: uint64(uintptr(unsafe.Pointer(&buf[0]))), Len: uint32(len(buf)), UserData: 7}) {
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
