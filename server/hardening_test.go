package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

func TestConnectionLimitsAnswer503(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_connection_limit":2`)
	ts.dial(nil)
	ts.dial(nil)
	_, resp, err := websocket.DefaultDialer.Dial(ts.wsURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: want 503, got %v", err)
	}

	rl := startServer(t, `"client_connection_rate_limit":3`)
	refused := 0
	for i := 0; i < 10; i++ {
		conn, resp, err := websocket.DefaultDialer.Dial(rl.wsURL(), nil)
		if err == nil {
			conn.Close()
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("rate limited dial: %v", err)
		}
		refused++
	}
	if refused == 0 {
		t.Fatal("10 connections at once passed a rate limit of 3/s")
	}
}

func TestUserConnectionLimit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_user_connection_limit":1`)
	ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	conn := ts.dial(nil)
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+ts.token("u", time.Hour)+`"}`))
	expectClose(t, conn, 3504, "connection limit")
	// Another user is not affected.
	if _, connect := ts.connect(`{"token":"` + ts.token("v", time.Hour) + `"}`); !strings.HasPrefix(connect, `{"connect":`) {
		t.Fatalf("other user: %s", connect)
	}
}

func TestChannelLimit(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_channel_limit":2,"namespaces":[{"name":"open","allow_subscribe_for_client":true}]`)
	conn := ts.dial(nil)
	_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+ts.token("u", time.Hour)+`","subs":{"open:a":{},"open:b":{}}}`))
	expectClose(t, conn, 3505, "channel limit")
}

func TestRefusesKeylessConfig(t *testing.T) {
	t.Parallel()
	cfg, err := core.ParseConfig("json", []byte(`{"api_key":"k"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(cfg); err == nil || !strings.Contains(err.Error(), "token_hmac_secret_key") {
		t.Fatalf("want a refusal naming token_hmac_secret_key, got %v", err)
	}
	cfg.ClientInsecure = true
	var logs bytes.Buffer
	if _, err := server.New(cfg, server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))); err != nil {
		t.Fatalf("client_insecure: %v", err)
	}
	if !strings.Contains(logs.String(), "INSECURE CONFIGURATION") {
		t.Fatalf("no loud warning: %s", logs.String())
	}
}

// TestHMACWithRSAPublicKeyAsSecret is the classic algorithm confusion: an
// HS256 token signed with the server's RSA public key bytes.
func TestHMACWithRSAPublicKeyAsSecret(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	cfg, err := core.ParseConfig("json", []byte(`{"api_key":"k"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TokenRSAPublicKey = string(pemBytes)
	keys, err := core.TokenKeysFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u"}).SignedString(pemBytes)
	if _, err := keys.VerifyConnectToken(confused, time.Now()); err == nil {
		t.Fatal("HS256 token signed with the RSA public key was accepted")
	}
	good, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "u"}).SignedString(key)
	if _, err := keys.VerifyConnectToken(good, time.Now()); err != nil {
		t.Fatalf("RS256 token refused: %v", err)
	}
}

func TestFloodAfterConnect(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"uni_websocket_message_size_limit":4096`)
	watcher, _ := ts.connect(`{"token":"` + ts.token("watcher", time.Hour) + `"}`)
	flooder, _ := ts.connect(`{"token":"` + ts.token("flood", time.Hour) + `"}`)
	msg := bytes.Repeat([]byte("x"), 1024)
	for i := 0; i < 2000; i++ {
		if err := flooder.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatalf("flood write %d: %v", i, err)
		}
	}
	// Messages under the limit are discarded: the flooder still gets its
	// publications.
	ts.publish("#flood", `{"still":"here"}`)
	if got := readFrame(t, flooder); got != `{"channel":"#flood","pub":{"data":{"still":"here"}}}` {
		t.Fatalf("flooder: %s", got)
	}
	assertStillServing(t, ts, watcher, 1)
	// An oversized frame gets 1009.
	_ = flooder.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 8192))
	expectClose(t, flooder, 1009, "")
	assertStillServing(t, ts, watcher, 2)
}

func TestSlowlorisHeadersAreCut(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"http_read_header_timeout":"300ms"`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /connection/uni_websocket HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("half-sent headers got %d", resp.StatusCode)
		}
		return
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a half-open handshake past its read-header timeout")
	}
}

func TestWriteTimeoutCloses(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ts := startServer(t, `"client_write_timeout":"200ms","client_queue_max_size":1073741824`,
		server.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ts.connect(`{"token":"` + ts.token("stuck", time.Hour) + `"}`)
	big := `{"pad":"` + strings.Repeat("x", 256<<10) + `"}`
	deadline := time.Now().Add(20 * time.Second)
	for clients(t, ts) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that never reads was never cut")
		}
		ts.publish("#stuck", big)
	}
	if !strings.Contains(logs.String(), "write failed") {
		t.Fatalf("no write failure logged: %s", logs.String())
	}
}

// TestGracefulShutdownUnderLoad: every client gets 3001, Serve returns
// within the shutdown timeout, and the API answers 503 while draining.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 connections")
	}
	cfg, err := core.ParseConfig("json", []byte(`{"token_hmac_secret_key":"secret","api_key":"apikey","shutdown_timeout":"20s"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	url := "ws://" + ln.Addr().String() + "/connection/uni_websocket"
	tok, _ := core.SignHMAC("secret", core.TokenOptions{User: "u", TTL: time.Hour})

	const n = 5000
	conns := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+tok+`"}`))
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, _, err := c.ReadMessage(); err != nil {
				t.Errorf("connect push: %v", err)
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// One client that never answers the close handshake keeps the server
	// draining long enough to see the API's 503.
	holdout, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holdout.Close()
	_ = holdout.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+tok+`"}`))

	publishing, stopPublishing := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for publishing.Err() == nil {
			req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/publish", strings.NewReader(`{"channel":"#u","data":{}}`))
			req.Header.Set("X-API-Key", "apikey")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()

	start := time.Now()
	cancel()
	got503 := false
	for !got503 && time.Since(start) < 4*time.Second {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/info", nil)
		req.Header.Set("X-API-Key", "apikey")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			break
		}
		resp.Body.Close()
		got503 = resp.StatusCode == http.StatusServiceUnavailable
	}
	stopPublishing()
	<-pubDone

	var closes sync.WaitGroup
	failures := make(chan string, n)
	for _, c := range conns {
		closes.Add(1)
		go func() {
			defer closes.Done()
			for {
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, _, err := c.ReadMessage()
				if err == nil {
					continue
				}
				if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 3001 {
					failures <- err.Error()
				}
				return
			}
		}()
	}
	closes.Wait()
	close(failures)
	for f := range failures {
		t.Fatalf("a client did not get 3001: %s", f)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	if !got503 {
		t.Fatal("the API never answered 503 while draining")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInsecureWithoutKeysTimesTokens: client_insecure with no key takes a
// token's claims unverified, but an expired token is still expired (3005).
func TestInsecureWithoutKeysTimesTokens(t *testing.T) {
	t.Parallel()
	cfg, err := core.ParseConfig("json", []byte(`{"api_key":"k","client_insecure":true}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := serveConfig(t, cfg, server.WithVersion("test"), server.WithIDs(fixedIDs()))
	unsigned := func(claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	conn := ts.dial(nil)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+unsigned(jwt.MapClaims{"sub": "admin", "exp": 1})+`"}`)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, conn, 3005, "connection expired")
	_, push := ts.connect(`{"token":"` + unsigned(jwt.MapClaims{"sub": "dev", "exp": time.Now().Add(time.Hour).Unix()}) + `"}`)
	if !strings.Contains(push, `"ttl":36`) { // 3600, or 3599 at a second's edge
		t.Fatalf("connect push %s", push)
	}
}

// TestHTTPRequestsAreTimeBounded: a request served by net/http whose body
// never comes, or whose responses are never read, loses its connection
// after http_read_timeout, resp. http_write_timeout, instead of holding it
// (and its goroutine) for good.
func TestHTTPRequestsAreTimeBounded(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"http_read_timeout":"300ms","http_write_timeout":"300ms"`)
	addr := strings.TrimPrefix(ts.url, "http://")
	// readsToEnd reports whether the server ended conn within 10 s.
	readsToEnd := func(conn net.Conn) bool {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		return !errors.As(err, &ne) || !ne.Timeout()
	}
	dial := func(t *testing.T) *net.TCPConn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn.(*net.TCPConn)
	}
	t.Run("body never sent", func(t *testing.T) {
		t.Parallel()
		conn := dial(t)
		if _, err := conn.Write([]byte("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if !readsToEnd(conn) {
			t.Fatal("a request whose body never came held its connection")
		}
	})
	t.Run("responses never read", func(t *testing.T) {
		t.Parallel()
		conn := dial(t)
		_ = conn.SetReadBuffer(4 << 10)
		// More requests than the socket buffers hold: the server stops
		// reading them once its answers back up, so this write ends only
		// when the server closes the connection.
		reqs := bytes.Repeat([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 500_000)
		wrote := make(chan error, 1)
		go func() {
			_, err := conn.Write(reqs)
			wrote <- err
		}()
		select {
		case err := <-wrote:
			if err == nil {
				t.Fatal("the server read every request without writing its answers")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a client that does not read its responses held its connection")
		}
	})
}

// TestShutdownWithinOneTimeout: clients that never answer the close frame
// and an API request still in flight share one shutdown_timeout; they were
// given one each, in turn.
func TestShutdownWithinOneTimeout(t *testing.T) {
	t.Parallel()
	cfg, err := core.ParseConfig("json", []byte(`{"token_hmac_secret_key":"`+testSecret+`","api_key":"`+testAPIKey+
		`","user_subscribe_to_personal":true,"shutdown_timeout":"2s","http_read_timeout":"1h"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, stop := serveConfig(t, cfg)
	ws, _ := ts.connect(`{"token":"` + ts.token("mute", time.Hour) + `"}`) // never reads again
	defer ws.Close()
	held, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write([]byte("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	for clients(t, ts) != 1 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	stop()
	// One timeout, with room for a loaded machine; two would be 4 s.
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Fatalf("shutdown took %s with a 2s shutdown_timeout", d)
	}
}
