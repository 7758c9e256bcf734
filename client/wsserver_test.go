package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script plays the server side of the n-th connection (from 1) after its
// connect request arrived. When it returns the connection is closed.
type script func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest)

// wsServer is a scripted uni_websocket endpoint. Its cleanup waits for every
// handler to return.
type wsServer struct {
	*httptest.Server
	URL string
	mu  sync.Mutex
	n   int
	wg  sync.WaitGroup
}

func newWSServer(t *testing.T, play script) *wsServer {
	t.Helper()
	s := &wsServer{}
	up := websocket.Upgrader{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		defer ws.Close()
		s.mu.Lock()
		s.n++
		n := s.n
		s.mu.Unlock()
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Errorf("conn %d: read connect request: %v", n, err)
			return
		}
		_ = ws.SetReadDeadline(time.Time{})
		req, err := core.DecodeConnectRequest(msg)
		if err != nil {
			t.Errorf("conn %d: decode connect request %q: %v", n, msg, err)
			return
		}
		play(t, n, ws, req)
	}))
	s.URL = "ws" + strings.TrimPrefix(s.Server.URL, "http") + "/connection/uni_websocket"
	t.Cleanup(func() {
		s.Server.CloseClientConnections()
		s.Server.Close()
		s.wg.Wait()
	})
	return s
}

// send writes one text frame.
func send(t *testing.T, ws *websocket.Conn, frame string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Errorf("send %s: %v", frame, err)
	}
}

// disconnect sends the disconnect push and close frame, then waits for the
// client's close frame.
func disconnect(t *testing.T, ws *websocket.Conn, code core.Code) {
	t.Helper()
	d := code.Disconnect()
	send(t, ws, string((&core.Push{Disconnect: &d}).AppendJSON(nil)))
	msg := websocket.FormatCloseMessage(int(code), d.Reason)
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	drain(ws)
}

// drain reads until the connection fails or closes.
func drain(ws *websocket.Conn) {
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

// next returns the next event or fails the test after a generous timeout.
func next(t *testing.T, c *Conn) Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Event{}
}

// nextState skips pushes and pings up to the next state event.
func nextState(t *testing.T, c *Conn) Event {
	t.Helper()
	for {
		if ev := next(t, c); ev.Kind == KindState {
			return ev
		}
	}
}

// waitClosed waits for the events channel to close.
func waitClosed(t *testing.T, c *Conn) {
	t.Helper()
	for {
		select {
		case _, ok := <-c.Events():
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("events not closed within 10s")
		}
	}
}

func dial(t *testing.T, opts Options) *Conn {
	t.Helper()
	if opts.Backoff == (Backoff{}) {
		opts.Backoff = Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}
	}
	c, err := Dial(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const connectPush = `{"connect":{"client":"c1","version":"0.0.0","subs":{"#u":{}},"ping":25,"session":"s1"}}`
