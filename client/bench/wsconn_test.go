package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
)

// newWSServer starts a uni_websocket endpoint played by script, with a
// small write buffer so that long messages go out fragmented. Cleanup
// waits for every handler to return.
func newWSServer(t *testing.T, script func(ws *websocket.Conn)) string {
	t.Helper()
	var wg sync.WaitGroup
	up := websocket.Upgrader{WriteBufferSize: 256}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("refuse") != "" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Errorf("read connect request: %v", err)
			return
		}
		script(ws)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/connection/uni_websocket"
}

func pub(seq int64, size int) string {
	return `{"channel":"bench","pub":{"data":` + string(AppendPayload(nil, testRun, seq, time.Now().UnixNano(), size)) + `}}`
}

func dialTest(t *testing.T, url string) (*conn, error) {
	t.Helper()
	tg, err := newTarget(t.Context(), url, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	tg.run = testRun
	tg.prefix, tg.runMark = pubPrefix("bench", testRun), runMarker(testRun)
	return tg.dial(t.Context(), 0, 5*time.Second, &core.ConnectRequest{Token: "tok"}, "bench")
}

// startTestRing starts a ring reader with a submission queue of sq
// entries and the default read wait, or skips where the kernel offers none.
func startTestRing(t *testing.T, wg *sync.WaitGroup, sq uint32) *ringReader {
	t.Helper()
	return startTestRingWait(t, wg, sq, DefaultReadWait)
}

func startTestRingWait(t *testing.T, wg *sync.WaitGroup, sq uint32, readWait time.Duration) *ringReader {
	t.Helper()
	rr, err := startRingReader(wg, sq, readWait)
	if err != nil {
		t.Skipf("no io_uring reader here: %v", err)
	}
	return rr
}

// readUntilEnd reads c until the server ends it, with reader: c.run, as a
// goroutine of a run does, or a ring reader.
func readUntilEnd(t *testing.T, c *conn, reader string) {
	t.Helper()
	c.alive.Store(true)
	if reader == ReaderGoroutines {
		c.run()
		return
	}
	var wg sync.WaitGroup
	rr := startTestRing(t, &wg, 8)
	defer wg.Wait()
	defer rr.stopAfter()
	if !rr.add(c) {
		t.Fatal("the ring reader refused a connection")
	}
	waitFor(t, func() bool { return !c.alive.Load() })
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

var readers = []string{ReaderGoroutines, ReaderRing}

func TestConnReadsFramesAndAnswersPings(t *testing.T) {
	t.Parallel()
	for _, reader := range readers {
		t.Run(reader, func(t *testing.T) {
			t.Parallel()
			testConnReadsFrames(t, reader)
		})
	}
}

func testConnReadsFrames(t *testing.T, reader string) {
	url := newWSServer(t, func(ws *websocket.Conn) {
		pong := make(chan string, 1)
		ws.SetPongHandler(func(s string) error { pong <- s; return nil })
		go func() { // reads, so that the pong handler runs
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		send := func(s string) { _ = ws.WriteMessage(websocket.TextMessage, []byte(s)) }
		send(`{"connect":{"client":"c","subs":{"bench":{}}}}` + "\n" + pub(1, 128))
		_ = ws.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second))
		send(pub(2, 1000)) // 16-bit length, fragmented
		send(pub(3, 128) + "\n{}\n" + pub(5, 128) + "\n" + pub(4, 128))
		send(pub(5, 70000)) // 64-bit length, fragmented; a duplicate
		send(`{}`)
		send(`{"channel":"other","pub":{"data":{"text":"hi"}}}`)
		if got := <-pong; got != "hello" {
			t.Errorf("pong %q, want hello", got)
		}
		send(`{"disconnect":{"code":3001,"reason":"shutdown"}}`)
		msg := websocket.FormatCloseMessage(3001, "shutdown")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	})
	c, err := dialTest(t, url)
	if err != nil {
		t.Fatal(err)
	}
	readUntilEnd(t, c, reader)
	s := &c.st
	if s.unique.Load() != 5 || s.dups != 1 || s.ooo != 1 || s.pushes != 6 {
		t.Errorf("unique %d dups %d ooo %d pushes %d, want 5 1 1 6", s.unique.Load(), s.dups, s.ooo, s.pushes)
	}
	if s.pings != 2 || s.wsPings != 1 || s.other != 2 || s.frames != 7 || s.pubFrames != 4 {
		t.Errorf("pings %d ws pings %d other %d frames %d with publications %d, want 2 1 2 7 4",
			s.pings, s.wsPings, s.other, s.frames, s.pubFrames)
	}
	if c.end != "disconnect 3001 shutdown" || c.alive.Load() {
		t.Errorf("end %q alive %v", c.end, c.alive.Load())
	}
	if s.hist.Count() != 5 || s.hist.Max() <= 0 {
		t.Errorf("latency count %d max %s", s.hist.Count(), s.hist.Max())
	}
}

func TestConnectFailureReasons(t *testing.T) {
	t.Parallel()
	close3500 := func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"disconnect":{"code":3500,"reason":"invalid token"}}`))
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(3500, "invalid token"), time.Now().Add(time.Second))
	}
	closeOnly := func(ws *websocket.Conn) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(3501, "bad request"), time.Now().Add(time.Second))
	}
	noChannel := func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"connect":{"client":"c","subs":{"#u":{}}}}`))
	}
	notConnect := func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{}`))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "ws://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, url, want string
	}{
		{"disconnect push", newWSServer(t, close3500), "connect: disconnect 3500 invalid token"},
		{"close frame", newWSServer(t, closeOnly), "connect: close 3501 bad request"},
		{"channel not granted", newWSServer(t, noChannel), "connect: channel not granted"},
		{"ping first", newWSServer(t, notConnect), "connect: first push is ping, not connect"},
		{"http status", newWSServer(t, closeOnly) + "?refuse=1", "handshake: HTTP 403"},
		{"refused", refused, "dial: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := dialTest(t, tt.url)
			var f *failure
			if c != nil || !errors.As(err, &f) || f.reason() != tt.want {
				t.Fatalf("dial = %v, %v; want failure %q", c, err, tt.want)
			}
		})
	}
}

func TestNewTargetSourceAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		url        string
		conns, ips int
		want       int
		fails      bool
	}{
		{"ws://127.0.0.1:8000", 100, 0, 0, false},
		{"ws://127.0.0.1:8000", 100, 3, 3, false},
		{"ws://127.0.0.1:8000", 3 * connsPerSource(readPortRange()), 0, 3, false},
		{"ws://127.0.0.1:8000", 10, 255, 0, true},
		{"ws://192.0.2.1:8000", 10, 2, 0, true},
		{"ws://192.0.2.1:8000", 3 * connsPerSource(readPortRange()), 0, 0, false},
		{"http://127.0.0.1:8000", 1, 0, 0, true},
	}
	for _, tt := range tests {
		tg, err := newTarget(ctx, tt.url, tt.conns, tt.ips)
		if (err != nil) != tt.fails {
			t.Errorf("newTarget(%s, %d, %d) error %v", tt.url, tt.conns, tt.ips, err)
			continue
		}
		if err == nil && len(tg.sources) != tt.want {
			t.Errorf("newTarget(%s, %d, %d): %d sources, want %d", tt.url, tt.conns, tt.ips, len(tg.sources), tt.want)
		}
		if err == nil && tt.want > 0 && tg.sources[tt.want-1].String() != "127.0.0."+string(rune('0'+tt.want)) {
			t.Errorf("last source %s", tg.sources[tt.want-1])
		}
	}
}

func TestConnsPerSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		portRange string
		want      int
	}{
		{"32768\t60999\n", defaultPortsPerSource}, // Linux's default
		{"1024 65535", 24192},
		{"", defaultPortsPerSource},
		{"1 x", defaultPortsPerSource},
		{"40000 41000", defaultPortsPerSource}, // too small to trust
	}
	for _, tt := range tests {
		if got := connsPerSource(tt.portRange); got != tt.want {
			t.Errorf("connsPerSource(%q) = %d, want %d", tt.portRange, got, tt.want)
		}
	}
	// With the default range, 10,000 connections come from one address
	// and 19,000 (the file limit's largest run) from two, whose connects
	// then find free ports at once.
	per := connsPerSource("32768 60999")
	for conns, want := range map[int]int{10000: 1, 19000: 2, 25000: 3} {
		if got := sourcesFor(conns, per); got != want {
			t.Errorf("sourcesFor(%d) = %d, want %d", conns, got, want)
		}
	}
}

// TestRingReaderManyConnections: more connections than the ring's
// submission queue holds are each read whole; when the runner closes them,
// the reader ends with them, and no connection is counted as ended by the
// server: with the thread woken for each frame, and with a read wait.
func TestRingReaderManyConnections(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, DefaultReadWait} {
		t.Run(fmt.Sprintf("read_wait=%v", wait), func(t *testing.T) {
			t.Parallel()
			testRingReaderManyConnections(t, wait)
		})
	}
}

func testRingReaderManyConnections(t *testing.T, readWait time.Duration) {
	const conns, pubs = 40, 30
	url := newWSServer(t, func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"connect":{"client":"c","subs":{"bench":{}}}}`))
		for seq := int64(1); seq <= pubs; seq++ {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(pub(seq, 128+int(seq)*37)))
		}
		for { // until the client closes
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	var wg sync.WaitGroup
	rr := startTestRingWait(t, &wg, 4, readWait)
	var all []*conn
	closeAll := sync.OnceFunc(func() {
		for _, c := range all {
			c.close()
		}
		rr.stopAfter()
	})
	t.Cleanup(closeAll) // before the server's, which waits for the clients to close
	for range conns {
		c, err := dialTest(t, url)
		if err != nil {
			t.Fatal(err)
		}
		c.alive.Store(true)
		if !rr.add(c) {
			t.Fatal("the ring reader refused a connection")
		}
		all = append(all, c)
	}
	waitFor(t, func() bool {
		for _, c := range all {
			if c.st.unique.Load() < pubs {
				return false
			}
		}
		return true
	})
	if rr.cpu() <= 0 {
		t.Error("the ring reader's thread used no CPU time, by its clock")
	}
	closeAll()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the ring reader did not end after its connections were closed")
	}
	if a, b := rr.cpu(), rr.cpu(); a <= 0 || a != b {
		t.Errorf("the ended ring's thread CPU: %v then %v, want the same positive figure", a, b)
	}
	for i, c := range all {
		if c.alive.Load() || c.end != "" || !c.released || c.st.unique.Load() != pubs || c.st.dups != 0 {
			t.Errorf("conn %d: alive %v end %q released %v unique %d dups %d", i, c.alive.Load(), c.end, c.released, c.st.unique.Load(), c.st.dups)
		}
	}
	if rr.add(all[0]) {
		t.Error("a stopped ring reader took a connection")
	}
}
