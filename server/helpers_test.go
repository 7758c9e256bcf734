package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

const (
	testSecret = "secret"
	testAPIKey = "apikey"
)

// testServer is a real server on 127.0.0.1:0.
type testServer struct {
	t   *testing.T
	srv *server.Server
	url string // http://127.0.0.1:port
	cfg *core.Config
}

// fixedIDs returns deterministic UUID-shaped ids.
func fixedIDs() func() string {
	var n atomic.Uint64
	return func() string {
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1))
	}
}

// startServer runs a server with the seed config merged with extra keys.
func startServer(t *testing.T, extra string, opts ...server.Option) *testServer {
	t.Helper()
	cfgJSON := `{"token_hmac_secret_key":"` + testSecret + `","api_key":"` + testAPIKey + `","uni_websocket":true,"user_subscribe_to_personal":true`
	if extra != "" {
		cfgJSON += "," + extra
	}
	cfgJSON += "}"
	cfg, err := core.ParseConfig("json", []byte(cfgJSON), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	opts = append([]server.Option{server.WithVersion("test"), server.WithIDs(fixedIDs())}, opts...)
	ts, _ := serveConfig(t, cfg, opts...)
	return ts
}

// serveConfig runs a server for cfg on 127.0.0.1:0 until the test ends.
// stop ends it earlier (a node going away); calling it again does nothing.
func serveConfig(t *testing.T, cfg *core.Config, opts ...server.Option) (ts *testServer, stop func()) {
	t.Helper()
	srv, err := server.New(cfg, opts...)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String(), cfg: cfg}, stop
}

func (ts *testServer) wsURL() string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "/connection/uni_websocket"
}

func (ts *testServer) token(user string, ttl time.Duration) string {
	ts.t.Helper()
	tok, err := core.SignHMAC(testSecret, core.TokenOptions{User: user, TTL: ttl})
	if err != nil {
		ts.t.Fatal(err)
	}
	return tok
}

// dial opens a raw WebSocket connection without sending anything.
func (ts *testServer) dial(header http.Header) *websocket.Conn {
	ts.t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(ts.wsURL(), header)
	if err != nil {
		ts.t.Fatalf("dial: %v (resp %v)", err, resp)
	}
	ts.t.Cleanup(func() { conn.Close() })
	return conn
}

// connect dials, sends a connect request and returns the connect push.
func (ts *testServer) connect(req string) (*websocket.Conn, string) {
	ts.t.Helper()
	conn := ts.dial(nil)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		ts.t.Fatal(err)
	}
	return conn, readFrame(ts.t, conn)
}

// readFrame reads one text frame, skipping `{}` pings.
func readFrame(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(data) != "{}" {
			return string(data)
		}
	}
}

// expectClose reads until the close frame and checks its code and reason.
// It returns the text frames read before it.
func expectClose(t *testing.T, conn *websocket.Conn, code int, reason string) []string {
	t.Helper()
	var frames []string
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err == nil {
			frames = append(frames, string(data))
			continue
		}
		var ce *websocket.CloseError
		if !errorsAs(err, &ce) {
			t.Fatalf("want close %d, got %v (frames %q)", code, err, frames)
		}
		if ce.Code != code || ce.Text != reason {
			t.Fatalf("want close %d %q, got %d %q", code, reason, ce.Code, ce.Text)
		}
		return frames
	}
}

func errorsAs(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}

// api calls an API method and returns the HTTP status and body.
func (ts *testServer) api(method, key, body string) (int, string) {
	ts.t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/api/"+method, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSpace(b))
}

// publish publishes data to channel and fails the test on an error reply.
func (ts *testServer) publish(channel, data string) string {
	ts.t.Helper()
	ch, _ := json.Marshal(channel)
	// Built by hand: encoding/json would compact data's whitespace.
	status, out := ts.api("publish", testAPIKey, `{"channel":`+string(ch)+`,"data":`+data+`}`)
	if status != http.StatusOK || strings.Contains(out, `"error"`) {
		ts.t.Fatalf("publish: %d %s", status, out)
	}
	return out
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// between returns the text after the first prefix and before the next suffix.
func between(s, prefix, suffix string) string {
	_, rest, ok := strings.Cut(s, prefix)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, suffix)
	return v
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(b))
}
