package server_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

func TestPingsAndPongTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"ping_interval":"300ms","pong_timeout":"150ms"`)

	// A client that answers Pings (gorilla does by default while reading)
	// keeps receiving `{}` pings.
	conn, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	pings := 0
	for pings < 3 {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d pings: %v", pings, err)
		}
		if string(data) != "{}" {
			t.Fatalf("unexpected frame %s", data)
		}
		pings++
	}

	// A client that never answers Pings is dropped without a close frame.
	mute, _ := ts.connect(`{"token":"` + ts.token("mute", time.Hour) + `"}`)
	mute.SetPingHandler(func(string) error { return nil })
	for {
		_ = mute.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := mute.ReadMessage()
		if err == nil {
			if string(data) != "{}" {
				t.Fatalf("unexpected frame %s", data)
			}
			continue
		}
		if _, isClose := err.(*websocket.CloseError); isClose && !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
			t.Fatalf("want the connection dropped without a close frame, got %v", err)
		}
		break
	}
}

func TestJoinPushMessages(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"uni_websocket_join_push_messages":true`)
	conn, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	// Pushes queued together may share a frame, split by '\n'.
	var got []string
	for i := 0; i < 20; i++ {
		ts.publish("#u", `{"i":`+itoa(i)+`}`)
	}
	for len(got) < 20 {
		frame := readFrame(t, conn)
		if strings.HasSuffix(frame, "\n") {
			t.Fatalf("trailing newline in %q", frame)
		}
		got = append(got, strings.Split(frame, "\n")...)
	}
	for i, p := range got {
		if want := `{"channel":"#u","pub":{"data":{"i":` + itoa(i) + `}}}`; p != want {
			t.Fatalf("push %d: %s, want %s", i, p, want)
		}
	}
}

func TestConnectionExpiry(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_expired_close_delay":"100ms"`)
	exp := time.Now().Add(1500 * time.Millisecond)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u", "exp": exp.Unix() + 1}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	conn, connect := ts.connect(`{"token":"` + tok + `"}`)
	if !strings.Contains(connect, `"expires":true,"ttl":`) {
		t.Fatalf("connect push without expiry: %s", connect)
	}
	frames := expectClose(t, conn, 3005, "connection expired")
	if frames[len(frames)-1] != `{"disconnect":{"code":3005,"reason":"connection expired"}}` {
		t.Fatalf("frames %q", frames)
	}
}

func TestSlowConsumerIsClosedOthersServed(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_queue_max_size":65536`)
	watcher, _ := ts.connect(`{"token":"` + ts.token("watcher", time.Hour) + `"}`)
	slow, _ := ts.connect(`{"token":"` + ts.token("slow", time.Hour) + `"}`)
	big := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	// The slow client reads nothing; publish until the server drops it.
	deadline := time.Now().Add(20 * time.Second)
	for clients(t, ts) > 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow client was never disconnected")
		}
		ts.publish("#slow", big)
	}
	assertStillServing(t, ts, watcher, 1)
	// What the slow client finally reads ends in 3008 or a dropped socket,
	// never in a normal stream.
	for {
		_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok && ce.Code != int(core.CodeSlow) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("slow client closed with %d %q", ce.Code, ce.Text)
		}
		break
	}
}

// A client that stops reading holds up no one else: its write waits for
// room on its own while the server goes on writing to the others.
func TestStuckClientHoldsNoOneUp(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_queue_max_size":67108864,"client_write_timeout":"1m"`)
	stuck, _ := ts.connect(`{"token":"` + ts.token("stuck", time.Hour) + `"}`)
	watcher, _ := ts.connect(`{"token":"` + ts.token("watcher", time.Hour) + `"}`)
	pad := strings.Repeat("x", 32<<10)
	const n = 300 // ~10 MB: far more than loopback socket buffers hold
	for i := 0; i < n; i++ {
		ts.publish("#stuck", fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, pad))
	}
	for i := 1; i <= 20; i++ {
		assertStillServing(t, ts, watcher, i)
	}
	// Everything still reaches the stuck client once it reads.
	for i := 0; i < n; i++ {
		if frame := readFrame(t, stuck); !strings.HasPrefix(frame, fmt.Sprintf(`{"channel":"#stuck","pub":{"data":{"i":%d,`, i)) {
			t.Fatalf("stuck client's frame %d: %.60q", i, frame)
		}
	}
}

// Connected sessions that wait for input need no goroutine of their own
// (Linux): they still answer Pings, get publications, and end when their
// client goes away, with or without a close frame.
func TestIdleSessionsWithoutGoroutines(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("idle sessions are watched with epoll on Linux only")
	}
	ts := startServer(t, "")
	req := `{"token":"` + ts.token("idle", time.Hour) + `"}`
	const n = 200
	before := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i], _ = ts.connect(req)
	}
	if grew := runtime.NumGoroutine() - before; grew > n/4 {
		t.Fatalf("%d idle sessions added %d goroutines", n, grew)
	}
	pongs := make(chan struct{}, n)
	for _, c := range conns {
		c.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
		if err := c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// Pongs are read on the way to the publications.
	for round := 1; len(pongs) < n; round++ {
		if round > 20 {
			t.Fatalf("%d of %d clients got their Pong", len(pongs), n)
		}
		data := fmt.Sprintf(`{"n":%d}`, round)
		ts.publish("#idle", data)
		for _, c := range conns {
			if got, want := readFrame(t, c), `{"channel":"#idle","pub":{"data":`+data+`}}`; got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		}
	}
	// Having read their input, the sessions wait without goroutines again.
	for _, c := range conns {
		if err := c.WriteControl(websocket.PongMessage, nil, time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-before > n/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle sessions keep %d goroutines after a Ping and a Pong each", n, runtime.NumGoroutine()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Half go away without a close frame, half with one.
	for _, c := range conns[:n/2] {
		_ = c.NetConn().Close()
	}
	waitClients(t, ts, n/2)
	for _, c := range conns[n/2:] {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	waitClients(t, ts, 0)
	for _, c := range conns[n/2:] {
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("want the close frame answered, got %v", err)
		}
	}
}

// waitClients waits until the info API counts n clients.
func waitClients(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clients(t, ts) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients, want %d", clients(t, ts), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clients returns num_clients from the info API.
func clients(t *testing.T, ts *testServer) int {
	t.Helper()
	_, out := ts.api("info", testAPIKey, `{}`)
	n := between(out, `"num_clients":`, `,`)
	v := 0
	for _, c := range n {
		v = v*10 + int(c-'0')
	}
	return v
}

// A client that stops reading fills the socket buffers: writes then go
// through in part and the rest waits for room. When the client reads
// again, every publication arrives whole and in order.
func TestWritesThatFillTheSocketResume(t *testing.T) {
	// The writer waits for room while the client is not reading; the
	// write timeout must outlast publishing everything.
	ts := startServer(t, `"client_queue_max_size":67108864,"client_write_timeout":"1m"`)
	conn, _ := ts.connect(`{"token":"` + ts.token("filler", time.Hour) + `"}`)
	pad := strings.Repeat("x", 32<<10)
	const n = 300 // ~10 MB: far more than loopback socket buffers hold
	for i := 0; i < n; i++ {
		ts.publish("#filler", fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, pad))
	}
	for i := 0; i < n; i++ {
		frame := readFrame(t, conn)
		var push struct {
			Pub struct {
				Data struct {
					I   int    `json:"i"`
					Pad string `json:"pad"`
				} `json:"data"`
			} `json:"pub"`
		}
		if err := json.Unmarshal([]byte(frame), &push); err != nil {
			t.Fatalf("frame %d: %v (%.80q)", i, err, frame)
		}
		if push.Pub.Data.I != i || push.Pub.Data.Pad != pad {
			t.Fatalf("frame %d: got publication %d (pad %d bytes)", i, push.Pub.Data.I, len(push.Pub.Data.Pad))
		}
	}
}
