package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
)

// Connections whose first request is a WebSocket upgrade of the endpoint
// are upgraded without net/http; everything else is net/http's. These tests
// check that every kind of connection still gets the answer it got before.

const upgradeHead = "GET /connection/uni_websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n"

func rawConn(t *testing.T, ts *testServer) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func upgradeRequest(ts *testServer, extraHeaders string) string {
	return strings.Replace(strings.Replace(upgradeHead, "%s", strings.TrimPrefix(ts.url, "http://"), 1), "%s", extraHeaders, 1)
}

// sendConnect writes a masked connect frame and returns the connect push.
func sendConnect(t *testing.T, c net.Conn, br *bufio.Reader, req string) map[string]any {
	t.Helper()
	frame := append([]byte{0x81, 0x80 | 126, byte(len(req) >> 8), byte(len(req)), 0, 0, 0, 0}, req...)
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	_, payload := readRawFrame(t, br)
	var push map[string]any
	if err := json.Unmarshal(payload, &push); err != nil {
		t.Fatalf("push %q: %v", payload, err)
	}
	return push
}

// readRawFrame reads one unmasked server frame (payloads under 64 KiB)
// and returns its first byte and payload.
func readRawFrame(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return hdr[0], payload
}

func TestUpgradeHeadInPieces(t *testing.T) {
	ts := startServer(t, "")
	c, br := rawConn(t, ts)
	head := upgradeRequest(ts, "")
	// One byte at a time, the terminator split across writes.
	for i := 0; i < len(head); i++ {
		if _, err := c.Write([]byte{head[i]}); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	push := sendConnect(t, c, br, `{"token":"`+ts.token("u1", time.Hour)+`"}`)
	if push["connect"] == nil {
		t.Fatalf("got %v", push)
	}
}

func TestUpgradeAfterAnotherRequestOnTheSameConnection(t *testing.T) {
	ts := startServer(t, "")
	c, br := rawConn(t, ts)
	if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "{}\n" {
		t.Fatalf("health body %q", body)
	}
	// The connection is net/http's now; an upgrade on it still works.
	if _, err := io.WriteString(c, upgradeRequest(ts, "")); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	push := sendConnect(t, c, br, `{"token":"`+ts.token("u2", time.Hour)+`"}`)
	if push["connect"] == nil {
		t.Fatalf("got %v", push)
	}
}

func TestDirectPathRefusals(t *testing.T) {
	ts := startServer(t, `"allowed_origins":["https://ok.example"]`)
	type refusal struct {
		name, head string
		status     int
		body       string
	}
	refusals := []refusal{
		{"not an upgrade", "GET /connection/uni_websocket HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, "Bad Request\n"},
		{"origin refused", upgradeRequest(ts, "Origin: https://evil.example\r\n"), http.StatusForbidden, "Forbidden\n"},
		{"bad cf_connect", strings.Replace(upgradeRequest(ts, ""), "uni_websocket ", "uni_websocket?cf_connect=%7B ", 1), http.StatusBadRequest, "invalid connect request\n"},
		{"wrong version", strings.Replace(upgradeRequest(ts, ""), "Version: 13", "Version: 8", 1), http.StatusBadRequest, "Bad Request\n"},
	}
	// Handshakes reuse their goroutine's response writer: the
	// refusals run twice, around a connection that upgrades, and each
	// answer must be its own.
	upgrade := refusal{name: "upgrade", head: upgradeRequest(ts, "Origin: https://ok.example\r\n"), status: http.StatusSwitchingProtocols}
	for _, tc := range append(append(append([]refusal(nil), refusals...), upgrade), refusals...) {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status == http.StatusSwitchingProtocols {
				c, br := rawConn(t, ts)
				if _, err := io.WriteString(c, tc.head); err != nil {
					t.Fatal(err)
				}
				if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != tc.status {
					t.Fatalf("handshake: %v %v", resp, err)
				}
				if push := sendConnect(t, c, br, `{"token":"`+ts.token("u1", time.Hour)+`"}`); push["connect"] == nil {
					t.Fatalf("got %v", push)
				}
				return
			}
			c, br := rawConn(t, ts)
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !resp.Close || resp.ContentLength != int64(len(body)) || string(body) != tc.body {
				t.Fatalf("got %d close=%v length=%d body %q", resp.StatusCode, resp.Close, resp.ContentLength, body)
			}
			// The server closes the connection after the answer.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("connection left open: %v", err)
			}
		})
	}
	// The allowed origin still connects, and so does the API meanwhile.
	c, br := rawConn(t, ts)
	if _, err := io.WriteString(c, upgradeRequest(ts, "Origin: https://ok.example\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
}

func TestLargeUpgradeHeadGoesThroughNetHTTP(t *testing.T) {
	ts := startServer(t, "")
	c, br := rawConn(t, ts)
	if _, err := io.WriteString(c, upgradeRequest(ts, "X-Padding: "+strings.Repeat("p", 6000)+"\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if push := sendConnect(t, c, br, `{"token":"`+ts.token("u3", time.Hour)+`"}`); push["connect"] == nil {
		t.Fatalf("got %v", push)
	}
}

func TestShutdownClosesSilentConnections(t *testing.T) {
	cfg, err := core.ParseConfig("json", []byte(`{"token_hmac_secret_key":"s","api_key":"k","http_read_header_timeout":"1h"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, stop := serveConfig(t, cfg)
	// Connections that never send a byte, and one mid-head.
	var conns []net.Conn
	for i := 0; i < 5; i++ {
		c, _ := rawConn(t, ts)
		conns = append(conns, c)
	}
	if _, err := io.WriteString(conns[0], "GET /connection/uni_websocket HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan struct{})
	go func() {
		stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return with silent connections open")
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("silent connection not closed: %v", err)
		}
	}
}

// Heads the direct path leaves to net/http get net/http's answers.
func TestHeadsNetHTTPAnswers(t *testing.T) {
	ts := startServer(t, "")
	host := strings.TrimPrefix(ts.url, "http://")
	upgrade := upgradeRequest(ts, "")
	for _, tc := range []struct {
		name, head string
		status     int // 0: the connection closes without an answer
	}{
		{"bare LF health", "GET /health HTTP/1.1\nHost: x\n\n", http.StatusOK},
		{"bare LF upgrade", strings.ReplaceAll(upgrade, "\r\n", "\n"), http.StatusSwitchingProtocols},
		{"data after a bare LF head", strings.Replace(upgrade, "Version: 13\r\n", "Version: 13\r\n\nJUNK: x\r\n", 1), 0},
		{"no Host", strings.Replace(upgrade, "Host: "+host+"\r\n", "", 1), http.StatusBadRequest},
		{"bad Host", strings.Replace(upgrade, "Host: "+host, "Host: a b", 1), http.StatusBadRequest},
		{"HTTP/2.0", strings.Replace(upgrade, "HTTP/1.1", "HTTP/2.0", 1), http.StatusHTTPVersionNotSupported},
		{"control character", strings.Replace(upgrade, "Version: 13", "Version: 13\r\nX-Y: a\x01b", 1), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := rawConn(t, ts)
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if tc.status == 0 {
				if err == nil {
					t.Fatalf("got %d, want the connection closed", resp.StatusCode)
				}
				return
			}
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("got %v %v, want %d", resp, err, tc.status)
			}
		})
	}
}

// A close frame that arrives in the same segment as the connect request is
// already buffered when the session starts reading: it must be seen without
// waiting for more input.
func TestCloseRightAfterConnect(t *testing.T) {
	ts := startServer(t, "")
	c, br := rawConn(t, ts)
	if _, err := io.WriteString(c, upgradeRequest(ts, "")); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	req := `{"token":"` + ts.token("closer", time.Hour) + `"}`
	frames := append([]byte{0x81, 0x80 | 126, byte(len(req) >> 8), byte(len(req)), 0, 0, 0, 0}, req...)
	frames = append(frames, 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8) // close 1000, zero mask
	if _, err := c.Write(frames); err != nil {
		t.Fatal(err)
	}
	// The connect push, then the server's close frame echoing 1000.
	var got []byte
	for {
		first, payload := readRawFrame(t, br)
		got = append(got, first)
		if first == 0x88 {
			if len(payload) < 2 || int(payload[0])<<8|int(payload[1]) != 1000 {
				t.Fatalf("close payload %v", payload)
			}
			break
		}
	}
	if len(got) != 2 || got[0] != 0x81 {
		t.Fatalf("frames %x, want the connect push and a close", got)
	}
}

// maskedFrame builds a client frame: masked with key, FIN as given.
func maskedFrame(b0 byte, payload []byte, key [4]byte) []byte {
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xFFFF:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

// What a connected client sends is handled as gorilla's server-side reader
// would: Pings answered, data discarded within the size limit, protocol
// errors answered with 1002, a close frame answered; frames may arrive in
// pieces.
func TestClientFramesAfterConnect(t *testing.T) {
	t.Parallel()
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	closeMsg := func(code int, reason string) []byte {
		return append([]byte{byte(code >> 8), byte(code)}, reason...)
	}
	big := bytes.Repeat([]byte("x"), 40000)
	cases := []struct {
		name   string
		send   [][]byte // written one after another, with a pause between
		pong   string   // a Pong with this payload comes back first
		code   int      // the server closes with this code and reason; 0: it keeps serving
		reason string
		drop   bool // the server closes the connection without a close frame
	}{
		{name: "ping answered", send: [][]byte{maskedFrame(0x89, []byte("hi"), key)}, pong: "hi"},
		{name: "ping in pieces", send: [][]byte{{0x89}, {0x82}, key[:2], key[2:], {'h' ^ 0x12}, {'i' ^ 0x34}}, pong: "hi"},
		{name: "pong and data discarded", send: [][]byte{maskedFrame(0x8A, []byte("p"), key), maskedFrame(0x81, []byte("hello"), key), maskedFrame(0x82, big[:300], key)}},
		{name: "fragmented message", send: [][]byte{maskedFrame(0x01, []byte("ab"), key), maskedFrame(0x89, nil, key), maskedFrame(0x80, []byte("cd"), key)}, pong: ""},
		{name: "large frame in pieces", send: [][]byte{maskedFrame(0x82, big, key)[:1000], maskedFrame(0x82, big, key)[1000:]}},
		{name: "close answered", send: [][]byte{maskedFrame(0x88, closeMsg(1000, "bye"), key)}, code: 1000},
		{name: "close without a code", send: [][]byte{maskedFrame(0x88, nil, key)}, code: 1005},
		{name: "unmasked frame", send: [][]byte{{0x81, 0x02, 'h', 'i'}}, code: 1002, reason: "bad MASK"},
		{name: "reserved bit", send: [][]byte{maskedFrame(0xC1, []byte("x"), key)}, code: 1002, reason: "RSV1 set"},
		{name: "long control frame", send: [][]byte{maskedFrame(0x89, big[:126], key)}, code: 1002, reason: "len > 125 for control"},
		{name: "fragmented control frame", send: [][]byte{maskedFrame(0x09, nil, key)}, code: 1002, reason: "FIN not set on control"},
		{name: "continuation after FIN", send: [][]byte{maskedFrame(0x80, []byte("x"), key)}, code: 1002, reason: "continuation after FIN"},
		{name: "data before FIN", send: [][]byte{maskedFrame(0x01, []byte("a"), key), maskedFrame(0x81, []byte("b"), key)}, code: 1002, reason: "data before FIN"},
		{name: "bad opcode", send: [][]byte{maskedFrame(0x83, nil, key)}, code: 1002, reason: "bad opcode 3"},
		{name: "bad close code", send: [][]byte{maskedFrame(0x88, closeMsg(1005, ""), key)}, code: 1002, reason: "bad close code 1005"},
		{name: "close reason not UTF-8", send: [][]byte{maskedFrame(0x88, closeMsg(1000, "\xff"), key)}, code: 1002, reason: "invalid utf8 payload in close frame"},
		{name: "message over the limit in fragments", send: [][]byte{maskedFrame(0x01, big, key), maskedFrame(0x80, big, key)}, code: 1009},
		{name: "close code 1014", send: [][]byte{maskedFrame(0x88, closeMsg(1014, ""), key)}, code: 1002, reason: "bad close code 1014"},
		{name: "message length past int64", send: [][]byte{maskedFrame(0x01, []byte("a"), key), {0x80, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}}, drop: true},
		{name: "negative length without its mask key", send: [][]byte{{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1}}, drop: true},
	}
	ts := startServer(t, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, br := rawConn(t, ts)
			if _, err := c.Write([]byte(upgradeRequest(ts, ""))); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			user := strings.ReplaceAll(tc.name, " ", "_")
			sendConnect(t, c, br, `{"token":"`+ts.token(user, time.Hour)+`"}`)
			for _, b := range tc.send {
				if _, err := c.Write(b); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.pong != "" || tc.name == "fragmented message" {
				if op, payload := readRawFrame(t, br); op != 0x8A || string(payload) != tc.pong {
					t.Fatalf("want Pong %q, got opcode %#x %q", tc.pong, op, payload)
				}
			}
			if tc.drop {
				b, err := br.ReadByte()
				if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
					t.Fatalf("want the connection closed without a frame, got %#x, %v", b, err)
				}
				return
			}
			if tc.code == 0 {
				ts.publish("#"+user, `{"n":1}`)
				if op, payload := readRawFrame(t, br); op != 0x81 || string(payload) != `{"channel":"#`+user+`","pub":{"data":{"n":1}}}` {
					t.Fatalf("want the publication, got opcode %#x %q", op, payload)
				}
				return
			}
			op, payload := readRawFrame(t, br)
			if tc.code == 1005 { // no code received: none sent back
				if op != 0x88 || len(payload) != 0 {
					t.Fatalf("want an empty close frame, got opcode %#x %q", op, payload)
				}
				return
			}
			if op != 0x88 || len(payload) < 2 {
				t.Fatalf("want a close frame, got opcode %#x %q", op, payload)
			}
			if code, reason := int(payload[0])<<8|int(payload[1]), string(payload[2:]); code != tc.code || reason != tc.reason {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
		})
	}
}
