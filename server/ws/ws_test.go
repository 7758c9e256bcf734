package ws

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/hub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFrameHeaders(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		h := appendHeader(nil, opText, n)
		if len(h) != headerLen(n) {
			t.Fatalf("%d: header %d bytes, headerLen says %d", n, len(h), headerLen(n))
		}
		if h[0] != 0x81 {
			t.Fatalf("%d: first byte %#x", n, h[0])
		}
	}
	m := NewMessage("ch", &core.Push{Channel: "ch", Pub: &core.Publication{Data: []byte(`{"a": 1}`)}}, 7, "ep")
	if !bytes.HasSuffix(m.Frame, m.Payload) || string(m.Payload) != `{"channel":"ch","pub":{"data":{"a": 1}}}` {
		t.Fatalf("message %q / %q", m.Frame, m.Payload)
	}
	if m.Offset != 7 || m.Epoch != "ep" {
		t.Fatalf("position %d %s", m.Offset, m.Epoch)
	}
	if cf := closeFrame(3501, "bad request"); !bytes.Equal(cf, append([]byte{0x88, 13, 0x0d, 0xad}, "bad request"...)) {
		t.Fatalf("close frame % x", cf)
	}
}

// node is a minimal Node: it accepts every connect and subscribes the
// session to "ch" in a hub the test can broadcast to.
type node struct {
	hub  *hub.Hub
	mu   sync.Mutex
	left int
}

func (n *node) Connect(_ context.Context, s *Session, req *core.ConnectRequest) (*core.Connect, error) {
	if req.Token == "refuse" {
		return nil, core.CodePermissionDenied.Disconnect()
	}
	n.hub.Subscribe("ch", s)
	s.AddChannel("ch", false, 0, "")
	return &core.Connect{Version: "t", Subs: map[string]*core.SubscribeResult{"ch": {}}}, nil
}

func (n *node) Disconnected(s *Session) {
	n.hub.Unsubscribe("ch", s)
	n.mu.Lock()
	n.left++
	n.mu.Unlock()
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	n := &node{hub: hub.New()}
	ids := 0
	var idMu sync.Mutex
	h := NewHandler(Config{NewID: func() string {
		idMu.Lock()
		defer idMu.Unlock()
		ids++
		return strings.Repeat("x", ids)
	}}, n, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"t"}`))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil || string(data) != `{"connect":{"client":"x","version":"t","subs":{"ch":{}},"ping":25,"session":"xx"}}` {
		t.Fatalf("connect push %s %v", data, err)
	}
	for i := 0; i < 3; i++ {
		n.hub.Broadcast(NewMessage("ch", &core.Push{Channel: "ch", Pub: &core.Publication{Data: []byte(`1`)}}, 0, ""))
	}
	for i := 0; i < 3; i++ {
		if _, data, err := conn.ReadMessage(); err != nil || string(data) != `{"channel":"ch","pub":{"data":1}}` {
			t.Fatalf("publication %d: %s %v", i, data, err)
		}
	}

	refused, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	_ = refused.WriteMessage(websocket.TextMessage, []byte(`{"token":"refuse"}`))
	_ = refused.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := refused.ReadMessage(); err != nil || string(data) != `{"disconnect":{"code":3507,"reason":"permission denied"}}` {
		t.Fatalf("refusal push %s %v", data, err)
	}

	shut := make(chan struct{})
	go func() {
		defer close(shut)
		h.Shutdown(context.Background(), core.CodeShutdown.Disconnect())
	}()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := conn.ReadMessage(); err != nil || string(data) != `{"disconnect":{"code":3001,"reason":"shutdown"}}` {
		t.Fatalf("shutdown push %s %v", data, err)
	}
	// Reading on answers the close frame, which lets the session end.
	if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, 3001) {
		t.Fatalf("want close 3001, got %v", err)
	}
	<-shut
	if h.NumSessions() != 0 {
		t.Fatalf("%d sessions after shutdown", h.NumSessions())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.left != 1 {
		t.Fatalf("Disconnected called %d times, want 1 (only for the connected session)", n.left)
	}
}
