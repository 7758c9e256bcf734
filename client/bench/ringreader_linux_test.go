//go:build linux

package bench

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRingRepliesDoNotWait: on a ring, a Pong that does not fit the socket
// at once fails at once, so the thread that reads every connection is not
// held for a server that does not read (a goroutine reader waits up to
// writeTimeout for its own connection).
func TestRingRepliesDoNotWait(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept() // never reads
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	fd, err := ownFD(nc)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	c := &conn{onRing: true, fd: fd}
	defer unix.Close(fd)
	chunk := make([]byte, 64<<10)
	for {
		if _, err := unix.Write(fd, chunk); err == unix.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, _, err = c.take(0x80|opPing, []byte("ping"))
	if took := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || took >= writeTimeout/2 {
		t.Fatalf("take(ping) = %v after %s; want a deadline error at once, not after waiting for room", err, took)
	}
	if c.st.wsPings != 1 {
		t.Errorf("ws pings %d, want 1", c.st.wsPings)
	}
}
