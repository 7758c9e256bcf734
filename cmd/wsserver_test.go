package cmd

import (
	"errors"
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

// wsScript plays the server side of the n-th connection (from 1) once its
// connect request arrived; the connection is closed when it returns.
type wsScript func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest)

// newWSServer starts a scripted uni_websocket endpoint and returns its
// ws:// URL. Cleanup waits for every handler to return.
func newWSServer(t *testing.T, play wsScript) string {
	t.Helper()
	var (
		mu sync.Mutex
		n  int
		wg sync.WaitGroup
	)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Counted before the upgrade: srv.Close waits for requests, not
		// for hijacked connections, so an Add after it would race Wait.
		wg.Add(1)
		defer wg.Done()
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		mu.Lock()
		n++
		conn := n
		mu.Unlock()
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			// A client may go before sending it (watch quit with q while
			// connecting); only a silent one is an error.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("conn %d: read connect request: %v", conn, err)
			}
			return
		}
		_ = ws.SetReadDeadline(time.Time{})
		req, err := core.DecodeConnectRequest(msg)
		if err != nil {
			t.Errorf("conn %d: decode connect request %q: %v", conn, msg, err)
			return
		}
		play(t, conn, ws, req)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/connection/uni_websocket"
}

func send(t *testing.T, ws *websocket.Conn, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
			t.Errorf("send %s: %v", f, err)
		}
	}
}

// disconnect sends the disconnect push and the close frame, then waits for
// the client to close.
func disconnect(t *testing.T, ws *websocket.Conn, code core.Code) {
	t.Helper()
	send(t, ws, disconnectPush(code))
	msg := websocket.FormatCloseMessage(int(code), code.Reason())
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	drain(ws)
}

func disconnectPush(code core.Code) string {
	d := code.Disconnect()
	return string((&core.Push{Disconnect: &d}).AppendJSON(nil))
}

// drain reads until the client closes the connection.
func drain(ws *websocket.Conn) {
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}
