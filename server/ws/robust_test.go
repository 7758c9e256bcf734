package ws

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/hub"
)

// panicNode's Connect subscribes, then panics for the token "boom".
type panicNode struct{ node }

func (n *panicNode) Connect(ctx context.Context, s *Session, req *core.ConnectRequest) (*core.Connect, error) {
	c, err := n.node.Connect(ctx, s, req)
	if req.Token == "boom" {
		panic("a bug in Connect")
	}
	return c, err
}

// quietServer serves h without net/http's panic log.
func quietServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestPanicInConnectReleasesTheSlot: a panic in Node.Connect, which the
// HTTP server recovers, gives back the connection slot, undoes the
// subscription and leaves Shutdown nothing to wait for.
func TestPanicInConnectReleasesTheSlot(t *testing.T) {
	t.Parallel()
	n := &panicNode{node{hub: hub.New()}}
	h := NewHandler(Config{NewID: func() string { return "id" }, ConnectionLimit: 1}, n, nil)
	url := quietServer(t, h)

	boom, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer boom.Close()
	_ = boom.WriteMessage(websocket.TextMessage, []byte(`{"token":"boom"}`))
	_ = boom.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := boom.ReadMessage(); err == nil {
		t.Fatal("the panicking connection got a frame")
	}

	for deadline := time.Now().Add(10 * time.Second); h.NumSessions() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the panicking session is still counted after 10s")
		}
	}
	next, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("the next client (limit 1): %v", err)
	}
	defer next.Close()
	_ = next.WriteMessage(websocket.TextMessage, []byte(`{"token":"t"}`))
	_ = next.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, data, err := next.ReadMessage(); err != nil || !strings.HasPrefix(string(data), `{"connect":`) {
		t.Fatalf("the next client: %s %v", data, err)
	}
	if got := n.hub.NumSubscribers("ch"); got != 1 {
		t.Errorf("subscribers of ch: %d, want 1 (the panicking session's undone)", got)
	}

	shut := make(chan struct{})
	go func() {
		defer close(shut)
		h.Shutdown(context.Background(), core.CodeShutdown.Disconnect())
	}()
	if _, _, err := next.ReadMessage(); err != nil {
		t.Fatalf("shutdown push: %v", err)
	}
	_, _, _ = next.ReadMessage() // answers the close frame
	select {
	case <-shut:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits after 10s")
	}
}

// TestShutdownDuringUpgrade: a connection that passed the draining check
// and was still upgrading when Shutdown looked at the sessions gets 3001
// too, and Shutdown does not wait for it until its deadline.
func TestShutdownDuringUpgrade(t *testing.T) {
	t.Parallel()
	n := &node{hub: hub.New()}
	h := NewHandler(Config{NewID: func() string { return "id" }}, n, nil)
	inUpgrade, resume := make(chan struct{}), make(chan struct{})
	h.upgrader.CheckOrigin = func(*http.Request) bool { // holds the upgrade
		close(inUpgrade)
		<-resume
		return true
	}
	url := quietServer(t, h)

	dialed := make(chan *websocket.Conn, 1)
	go func() {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Error(err)
		}
		dialed <- c
	}()
	<-inUpgrade
	shut := make(chan struct{})
	go func() {
		defer close(shut)
		h.Shutdown(context.Background(), core.CodeShutdown.Disconnect())
	}()
	for !h.Draining() { // set with the look at the sessions, under one lock
		time.Sleep(time.Millisecond)
	}
	close(resume)
	conn := <-dialed
	if conn == nil {
		t.FailNow()
	}
	defer conn.Close()
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"t"}`))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var frames []string
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, 3001) {
				t.Fatalf("want close 3001, got %v after %q", err, frames)
			}
			break
		}
		frames = append(frames, string(data))
	}
	if len(frames) == 0 || frames[len(frames)-1] != `{"disconnect":{"code":3001,"reason":"shutdown"}}` {
		t.Fatalf("frames %q, want the 3001 disconnect push last", frames)
	}
	select {
	case <-shut:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits after 10s")
	}
}
