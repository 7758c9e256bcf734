//go:build linux

package bench

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// TestRingReaderEndsOnProtocolError: a connection whose server sends a
// bad frame (masked) and then keeps it open ends all the same, its
// descriptor closed, and the ring's thread can end.
func TestRingReaderEndsOnProtocolError(t *testing.T) {
	t.Parallel()
	bad := make(chan struct{})
	url := newWSServer(t, func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"connect":{"client":"c","subs":{"bench":{}}}}`))
		<-bad
		_, _ = ws.NetConn().Write([]byte{0x81, 0x81, 1, 2, 3, 4, 'x' ^ 1})
		for { // open until the client goes
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	var wg sync.WaitGroup
	rr := startTestRing(t, &wg, 8)
	defer wg.Wait()
	defer rr.stopAfter()
	c, err := dialTest(t, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close() // should the test fail: lets the ring's thread end
	c.alive.Store(true)
	if !rr.add(c) {
		t.Fatal("the ring reader refused a connection")
	}
	close(bad)
	waitFor(t, func() bool { return !c.alive.Load() })
	c.wmu.Lock()
	released := c.released
	c.wmu.Unlock()
	if !strings.Contains(c.end, "masked") || !released {
		t.Errorf("ended with %q, released %v; want the masked frame named and the descriptor closed", c.end, released)
	}
}
