//go:build linux

package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/hub"
)

// testRing returns a ring, or skips where the kernel offers none (the
// flusher writes with writev there, which the writev cases cover).
func testRing(t *testing.T) *ring {
	t.Helper()
	rg, err := newRing()
	if err != nil {
		t.Skipf("no io_uring here: %v", err)
	}
	t.Cleanup(rg.close)
	return rg
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func sysfd(t *testing.T, c *net.TCPConn) int32 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int32
	if err := rc.Control(func(f uintptr) { fd = int32(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestRingSendResults: one submission reaches several sockets; each send's
// result is its own: bytes written (several buffers in order), EAGAIN at
// once for a socket without room, an error for a reset connection, EAGAIN
// for a connection already closed (no descriptor).
func TestRingSendResults(t *testing.T) {
	rg := testRing(t)
	okC, okS := tcpPair(t)
	resetC, resetS := tcpPair(t)

	// A socket without room: a Unix stream pair's buffer is full once a
	// write answers EAGAIN (a TCP one may find room again as the peer's
	// window grows).
	full, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(full[0])
	defer syscall.Close(full[1])
	for chunk := make([]byte, 64<<10); ; {
		if _, err := syscall.Write(full[0], chunk); err == syscall.EAGAIN {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// Reset resetS: its peer closes with SO_LINGER 0, which sends a
	// reset; resetS has seen it once a read fails.
	_ = resetC.SetLinger(0)
	resetC.Close()
	_ = resetS.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := resetS.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reset connection read: %v", err)
	}
	b := &rg.b
	b.add(0, [][]byte{[]byte("hello "), nil, []byte("world")})
	b.fds[0] = sysfd(t, okS)
	b.add(1, [][]byte{[]byte("no room")})
	b.fds[1] = int32(full[0])
	b.add(2, [][]byte{[]byte("gone")})
	b.fds[2] = sysfd(t, resetS)
	b.add(3, [][]byte{[]byte("closed")})
	b.fds[3] = -1
	b.add(4, nil)
	b.fds[4] = sysfd(t, okS)
	// One buffer goes as a send, more as a sendmsg: each way once more,
	// with room and without.
	b.add(5, [][]byte{[]byte("!!!!")})
	b.fds[5] = sysfd(t, okS)
	b.add(6, [][]byte{[]byte("no "), []byte("room")})
	b.fds[6] = int32(full[0])
	inline, err := rg.send()
	if err != nil {
		t.Fatal(err)
	}
	if inline != 5 {
		t.Errorf("%d sends completed during the submission, want 5", inline)
	}
	if b.res[0] != 11 {
		t.Errorf("send 0: %d, want 11 bytes", b.res[0])
	}
	if b.res[1] != -int32(syscall.EAGAIN) {
		t.Errorf("send 1 (no room): %d, want -EAGAIN", b.res[1])
	}
	if e := syscall.Errno(-b.res[2]); e != syscall.ECONNRESET && e != syscall.EPIPE {
		t.Errorf("send 2 (reset): %d, want -ECONNRESET or -EPIPE", b.res[2])
	}
	if b.res[3] != -int32(syscall.EAGAIN) || b.res[4] != 0 {
		t.Errorf("closed: %d (want -EAGAIN), empty: %d (want 0)", b.res[3], b.res[4])
	}
	if b.res[5] != 4 || b.res[6] != -int32(syscall.EAGAIN) {
		t.Errorf("one buffer: %d (want 4), two buffers, no room: %d (want -EAGAIN)", b.res[5], b.res[6])
	}
	b.reset()
	_ = okC.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 15)
	if _, err := io.ReadFull(okC, got); err != nil || string(got) != "hello world!!!!" {
		t.Fatalf("received %q, %v", got, err)
	}
}

// TestRingHoldsClosedConnection: a connection closed before its batch is
// sent has no descriptor in the submission (its number could belong to
// another connection by then).
func TestRingHoldsClosedConnection(t *testing.T) {
	rg := testRing(t)
	_, open := tcpPair(t)
	_, closed := tcpPair(t)
	openRC, _ := open.SyscallConn()
	closedRC, _ := closed.SyscallConn()
	closed.Close()

	sc := &writeScratch{}
	sc.ringSessions()
	rs := sc.ring
	rs.conns[0], rs.conns[1] = closedRC, openRC
	rg.b.add(0, [][]byte{[]byte("a")})
	rg.b.add(1, [][]byte{[]byte("b")})
	rs.n, rs.rg = 2, rg
	rs.hold(0)
	if rs.err != nil {
		t.Fatal(rs.err)
	}
	if rg.b.fds[0] != -1 || rg.b.res[0] != -int32(syscall.EAGAIN) {
		t.Errorf("closed connection: fd %d, result %d", rg.b.fds[0], rg.b.res[0])
	}
	if rg.b.fds[1] != sysfd(t, open) || rg.b.res[1] != 1 {
		t.Errorf("open connection: fd %d, result %d", rg.b.fds[1], rg.b.res[1])
	}
	rg.b.reset()
}

// bothWays runs test through rings and with one writev per session.
func bothWays(t *testing.T, test func(t *testing.T, noRing bool)) {
	for _, noRing := range []bool{false, true} {
		name := "ring"
		if noRing {
			name = "writev"
		}
		t.Run(name, func(t *testing.T) {
			if !noRing {
				testRing(t)
			}
			test(t, noRing)
		})
	}
}

// flusherServer serves a handler whose sessions all join "ch" of n's hub.
// Its send buffers are small (8 KiB), so that sends are often partial and
// a client that does not read soon has its sends refused; such a client
// may wait a minute before its session is closed.
func flusherServer(t *testing.T, noRing bool) (n *node, h *Handler, url string) {
	t.Helper()
	n = &node{hub: hub.New()}
	var idMu sync.Mutex
	ids := 0
	h = NewHandler(Config{
		NoRing:       noRing,
		QueueMaxSize: 64 << 20,
		WriteTimeout: time.Minute,
		NewID: func() string {
			idMu.Lock()
			defer idMu.Unlock()
			ids++
			return fmt.Sprint(ids)
		},
	}, n, nil)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		h.Shutdown(context.Background(), core.CodeShutdown.Disconnect())
		srv.Close()
	})
	return n, h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dialConnected connects to url and reads the connect push.
func dialConnected(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"t"}`))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, data, err := conn.ReadMessage(); err != nil || !bytes.HasPrefix(data, []byte(`{"connect":`)) {
		t.Fatalf("connect push %s %v", data, err)
	}
	return conn
}

// smallSendBuffers gives accepted connections an 8 KiB send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

func broadcast(n *node, data string) {
	n.hub.Broadcast(NewMessage("ch", &core.Push{Channel: "ch", Pub: &core.Publication{Data: []byte(data)}}, 0, ""))
}

// TestBroadcastReachesEveryone: 160 readers (more than one submission's
// worth) and one client that reads nothing until the end, whose socket
// fills, get every broadcast, whole and in order.
func TestBroadcastReachesEveryone(t *testing.T) {
	bothWays(t, func(t *testing.T, noRing bool) {
		const (
			readers    = 160
			broadcasts = 300
		)
		n, h, url := flusherServer(t, noRing)
		conns := make([]*websocket.Conn, readers)
		for i := range conns {
			conns[i] = dialConnected(t, url)
		}
		stalled := dialConnected(t, url)

		payload := func(i int) string {
			// Large enough that the stalled client's socket fills.
			return fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", 8<<10))
		}
		want := func(i int) string { return `{"channel":"ch","pub":{"data":` + payload(i) + `}}` }
		errs := make(chan error, readers)
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < broadcasts; i++ {
					_, data, err := c.ReadMessage()
					if err != nil || string(data) != want(i) {
						errs <- fmt.Errorf("broadcast %d: %.60s (%d bytes), %v", i, data, len(data), err)
						return
					}
				}
			}()
		}
		for i := 0; i < broadcasts; i++ {
			broadcast(n, payload(i))
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		_ = stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := 0; i < broadcasts; i++ {
			if _, data, err := stalled.ReadMessage(); err != nil || string(data) != want(i) {
				t.Fatalf("stalled client, broadcast %d: %.60s, %v", i, data, err)
			}
		}
		// Workers give their rings back as they end.
		var rings int
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			h.flush.mu.Lock()
			running := h.flush.running
			rings = len(h.flush.rings)
			h.flush.mu.Unlock()
			if running == 0 || time.Now().After(deadline) {
				break
			}
		}
		if noRing != (rings == 0) {
			t.Fatalf("noRing %v: %d idle rings", noRing, rings)
		}
	})
}

// TestLongQueuesAreSentWhole: a client that reads only at the end has
// thousands of frames queued by the time its turn comes back, more buffers
// than one send takes (IOV_MAX); both ways it gets them all, in order.
func TestLongQueuesAreSentWhole(t *testing.T) {
	bothWays(t, func(t *testing.T, noRing bool) {
		n, _, url := flusherServer(t, noRing)
		conn := dialConnected(t, url)
		const broadcasts = 5000
		payload := func(i int) string { return fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", 100)) }
		for i := 0; i < broadcasts; i++ {
			broadcast(n, payload(i))
		}
		for i := 0; i < broadcasts; i++ {
			want := `{"channel":"ch","pub":{"data":` + payload(i) + `}}`
			if _, data, err := conn.ReadMessage(); err != nil || string(data) != want {
				t.Fatalf("broadcast %d: %.60s, %v", i, data, err)
			}
		}
	})
}

// TestRingBatchSize: one worker takes up to a whole submission; several
// leave each other a share, but no less than minRingBatch each.
func TestRingBatchSize(t *testing.T) {
	for _, c := range []struct{ ready, workers, want int }{
		{1000, 1, maxRingBatch}, {50, 1, 50}, {200, 8, minRingBatch}, {2000, 8, maxRingBatch},
		{600, 4, maxRingBatch}, {400, 4, 100}, {10, 4, minRingBatch},
	} {
		if got := ringBatchSize(c.ready, c.workers); min(got, c.ready) != min(c.want, c.ready) {
			t.Errorf("ringBatchSize(%d ready, %d workers) = %d, want %d", c.ready, c.workers, got, c.want)
		}
	}
}
