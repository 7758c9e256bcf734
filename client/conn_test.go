package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
)

func TestSplitFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  []string
	}{
		{"one", `{"a":1}`, []string{`{"a":1}`}},
		{"ping", `{}`, []string{`{}`}},
		{"joined", "{\"a\":1}\n{}\n{\"b\":2}", []string{`{"a":1}`, `{}`, `{"b":2}`}},
		{"trailing newline", "{\"a\":1}\n", []string{`{"a":1}`}},
		{"empty lines", "\n{\"a\":1}\n\n{}\n", []string{`{"a":1}`, `{}`}},
		{"crlf", "{\"a\":1}\r\n{}", []string{`{"a":1}`, `{}`}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, b := range SplitFrame([]byte(tt.frame)) {
				got = append(got, string(b))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitFrame(%q) = %q, want %q", tt.frame, got, tt.want)
			}
		})
	}
}

func TestDialDeliversPushesInOrder(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if req.Token != "tok" || req.Name != "uniws" || req.Version != "1.2.3" {
			t.Errorf("connect request = %+v", req)
		}
		if len(req.Subs) != 1 || req.Subs["abc"] == nil || *req.Subs["abc"] != (core.SubscribeRequest{}) {
			t.Errorf("subs = %v, want abc:{}", req.Subs)
		}
		send(t, ws, connectPush)
		send(t, ws, `{}`)
		send(t, ws, "{\"channel\":\"#u\",\"pub\":{\"data\":{\"n\": 1}}}\n{}\n{\"channel\":\"#u\",\"pub\":{\"data\":2}}")
		disconnect(t, ws, core.CodeInvalidToken)
	})
	c := dial(t, Options{URL: srv.URL, Token: "tok", Version: "1.2.3", Subs: []string{"abc"}, Reconnect: true})

	type step struct {
		kind  Kind
		state State
		raw   string
	}
	want := []step{
		{KindState, StateConnecting, ""},
		{KindState, StateConnected, ""},
		{KindPush, 0, connectPush},
		{KindPing, 0, `{}`},
		{KindPush, 0, `{"channel":"#u","pub":{"data":{"n": 1}}}`},
		{KindPing, 0, `{}`},
		{KindPush, 0, `{"channel":"#u","pub":{"data":2}}`},
		{KindPush, 0, `{"disconnect":{"code":3500,"reason":"invalid token"}}`},
	}
	for i, w := range want {
		ev := next(t, c)
		if ev.Kind != w.kind || ev.State != w.state || string(ev.Raw) != w.raw {
			t.Fatalf("event %d = %v %v %q, want %v %v %q", i, ev.Kind, ev.State, ev.Raw, w.kind, w.state, w.raw)
		}
		if ev.Time.IsZero() {
			t.Errorf("event %d has no time", i)
		}
	}
	ev := next(t, c)
	if ev.State != StateClosed || ev.Code != core.CodeInvalidToken || ev.Reason != "invalid token" {
		t.Fatalf("last event = %+v, want closed 3500", ev)
	}
	waitClosed(t, c)
}

func TestReconnectsWithBackoffOn3011(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connectPush)
		if n < 3 {
			disconnect(t, ws, core.CodeForceReconnect)
			return
		}
		disconnect(t, ws, core.CodeForceDisconnect)
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true})
	for n := 1; n <= 3; n++ {
		if ev := nextState(t, c); ev.State != StateConnecting {
			t.Fatalf("conn %d: got %v, want connecting", n, ev.State)
		}
		if ev := nextState(t, c); ev.State != StateConnected {
			t.Fatalf("conn %d: got %v %v, want connected", n, ev.State, ev.Err)
		}
		ev := nextState(t, c)
		if n < 3 {
			if ev.State != StateReconnecting || ev.Code != core.CodeForceReconnect || ev.Attempt != 1 || ev.Delay <= 0 {
				t.Fatalf("conn %d: got %+v, want reconnecting attempt 1 after 3011", n, ev)
			}
			continue
		}
		if ev.State != StateClosed || ev.Code != core.CodeForceDisconnect {
			t.Fatalf("conn %d: got %+v, want closed 3503", n, ev)
		}
	}
	waitClosed(t, c)
}

func TestStopsOnTerminalCodeOrWhenReconnectIsOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      core.Code
		reconnect bool
	}{
		{"3500 with reconnect", core.CodeInvalidToken, true},
		{"3507 with reconnect", core.CodePermissionDenied, true},
		{"3011 without reconnect", core.CodeForceReconnect, false},
		{"3005 without token func", core.CodeExpired, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
				if n > 1 {
					t.Errorf("reconnected after %d", tt.code)
				}
				send(t, ws, connectPush)
				disconnect(t, ws, tt.code)
			})
			c := dial(t, Options{URL: srv.URL, Reconnect: tt.reconnect})
			nextState(t, c)
			nextState(t, c)
			ev := nextState(t, c)
			if ev.State != StateClosed || ev.Code != tt.code || ev.Reason != tt.code.Reason() {
				t.Fatalf("got %+v, want closed %d", ev, tt.code)
			}
			waitClosed(t, c)
		})
	}
}

func TestCloseFrameWithoutDisconnectPush(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		msg := websocket.FormatCloseMessage(int(core.CodeBadRequest), "bad request")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		drain(ws)
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true})
	nextState(t, c)
	ev := nextState(t, c)
	if ev.State != StateClosed || ev.Code != core.CodeBadRequest || ev.Reason != "bad request" {
		t.Fatalf("got %+v, want closed 3501 bad request", ev)
	}
}

func TestTokenFuncMintsFreshTokenOn3005(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if want := "t" + string(rune('0'+n)); req.Token != want {
			t.Errorf("conn %d: token %q, want %q", n, req.Token, want)
		}
		send(t, ws, connectPush)
		if n == 1 {
			disconnect(t, ws, core.CodeExpired)
			return
		}
		disconnect(t, ws, core.CodeForceDisconnect)
	})
	calls := 0
	c := dial(t, Options{URL: srv.URL, Reconnect: true, TokenFunc: func(context.Context) (string, error) {
		calls++
		return "t" + string(rune('0'+calls)), nil
	}})
	var last Event
	for ev := range c.Events() {
		last = ev
	}
	if last.Code != core.CodeForceDisconnect || calls != 2 {
		t.Fatalf("last = %+v after %d token calls, want closed 3503 after 2", last, calls)
	}
}

func TestHTTPRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer srv.Close()
	c := dial(t, Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), Reconnect: true})
	nextState(t, c)
	ev := nextState(t, c)
	if ev.State != StateClosed || ev.Err == nil || !strings.Contains(ev.Err.Error(), "HTTP 403") {
		t.Fatalf("got %+v, want closed with HTTP 403", ev)
	}
	waitClosed(t, c)
}

func TestCloseEndsStream(t *testing.T) {
	t.Parallel()
	closed := make(chan int, 1)
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connectPush)
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			closed <- ce.Code
		}
		close(closed)
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true})
	nextState(t, c)
	nextState(t, c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	if code := <-closed; code != websocket.CloseNormalClosure {
		t.Errorf("server saw close code %d, want 1000", code)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestDialRefusesBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://localhost:8000", "localhost:8000", "ws://", "ws://%zz"} {
		if _, err := Dial(t.Context(), Options{URL: u}); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, base := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 30: 1000} {
		base *= time.Millisecond
		for range 50 {
			if d := b.Delay(n); d < base/2 || d > base {
				t.Fatalf("Delay(%d) = %s, want in [%s, %s]", n, d, base/2, base)
			}
		}
	}
	exact := Backoff{Min: time.Second, Max: time.Minute, Jitter: -1}
	if d := exact.Delay(3); d != 4*time.Second {
		t.Errorf("Delay(3) without jitter = %s, want 4s", d)
	}
	if d := (Backoff{}).Delay(1); d < 250*time.Millisecond || d > 500*time.Millisecond {
		t.Errorf("default Delay(1) = %s", d)
	}
}

// silentServer accepts TCP connections and never answers the WebSocket
// handshake. accepted gets each connection once accepted.
func silentServer(t *testing.T) (url string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(io.Discard, conn) // until the client goes
				_ = conn.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return "ws://" + ln.Addr().String() + "/connection/uni_websocket", ch
}

// TestConnectTimeoutBoundsHandshake: a server that accepts and never
// answers the upgrade costs ConnectTimeout, not the WebSocket library's
// own 45 s handshake limit.
func TestConnectTimeoutBoundsHandshake(t *testing.T) {
	t.Parallel()
	url, _ := silentServer(t)
	c := dial(t, Options{URL: url, ConnectTimeout: 200 * time.Millisecond})
	nextState(t, c) // connecting
	ev := nextState(t, c)
	if ev.State != StateClosed || ev.Err == nil || !strings.Contains(ev.Err.Error(), "timeout") {
		t.Fatalf("got %+v, want closed with a timeout", ev)
	}
	waitClosed(t, c)
}

// TestCloseEndsUnansweredHandshake: Close (Ctrl-C, watch --timeout) ends
// a handshake the server never answers at once, not when ConnectTimeout
// runs out.
func TestCloseEndsUnansweredHandshake(t *testing.T) {
	t.Parallel()
	url, accepted := silentServer(t)
	c := dial(t, Options{URL: url, ConnectTimeout: time.Hour, Reconnect: true})
	<-accepted
	closed := make(chan struct{})
	go func() {
		_ = c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close still waits for the handshake after 10s")
	}
}
