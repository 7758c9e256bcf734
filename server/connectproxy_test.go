package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/server"
)

// proxyCall is one request a test backend received.
type proxyCall struct {
	body   string
	header http.Header
}

// newBackend runs an application backend on 127.0.0.1:0. reply answers
// each request (it may block until the request is cancelled); every
// request is also sent on the returned channel.
func newBackend(t *testing.T, reply func(w http.ResponseWriter, r *http.Request, body string)) (string, <-chan proxyCall) {
	t.Helper()
	calls := make(chan proxyCall, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- proxyCall{body: string(b), header: r.Header.Clone()}
		reply(w, r, string(b))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, body)
}

func TestConnectProxySuccess(t *testing.T) {
	t.Parallel()
	expireAt := strconv.FormatInt(fixedNow.Unix()+3600, 10)
	url, calls := newBackend(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, `{"result":{"user":"42","expire_at":`+expireAt+`,"info":{"name": "Ann"},"data":{"hello": "world"},`+
			`"channels":["news"],"subs":{"open:granted":{"data":{"d": 1}}},"meta":{"plan":"pro"}}}`)
	})
	// X-Forged may come from the upgrade request only: a client's own
	// headers map reaches the backend only for proxy_emulated_headers.
	ts := startServer(t, `"proxy_connect_endpoint":"`+url+`/connect","proxy_http_headers":["Authorization","X-Forged"],`+
		`"proxy_emulated_headers":["X-Emulated"],`+
		`"proxy_static_http_headers":{"X-Static":"s"},"namespaces":[{"name":"open","allow_subscribe_for_client":true}]`,
		server.WithClock(clock()))
	conn := ts.dial(http.Header{"Authorization": {"Bearer upgrade"}, "Cookie": {"session=secret"}})
	req := `{"data":{"a": 1, "b": [true, null]},"name":"app","version":"1.2","subs":{"open:x":{},"abc":{}},` +
		`"headers":{"X-Emulated":"e","X-Other":"o","X-Forged":"admin","Authorization":"forged"}}`
	if err := conn.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		t.Fatal(err)
	}
	want := `{"connect":{"client":"00000000-0000-4000-8000-000000000002","version":"test","data":{"hello": "world"},` +
		`"subs":{"#42":{},"news":{},"open:granted":{"data":{"d": 1}}},"expires":true,"ttl":3600,"ping":25,` +
		`"session":"00000000-0000-4000-8000-000000000003"}}`
	if got := readFrame(t, conn); got != want {
		t.Fatalf("connect push:\n got %s\nwant %s", got, want)
	}

	call := <-calls
	golden, err := os.ReadFile("../testdata/proxy/connect_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if call.body != string(golden) {
		t.Errorf("connect proxy request:\n got %s\nwant %s", call.body, golden)
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer upgrade", "X-Emulated": "e", "X-Static": "s", "Content-Type": "application/json",
		"Cookie": "", "X-Other": "", "Origin": "", "X-Forged": "",
	} {
		if got := call.header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}

	ts.publish("news", `{"n": 1}`)
	if got := readFrame(t, conn); got != `{"channel":"news","pub":{"data":{"n": 1}}}` {
		t.Fatalf("publication: %s", got)
	}
}

func TestConnectProxyReplies(t *testing.T) {
	t.Parallel()
	pastExpiry := strconv.FormatInt(fixedNow.Unix()-1, 10)
	replies := map[string]func(w http.ResponseWriter, r *http.Request){
		"permission": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"error":{"code":103,"message":"permission denied"}}`)
		},
		"custom error": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"error":{"code":1000,"message":"no"}}`)
		},
		"expired error": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"error":{"code":110,"message":"expired"}}`)
		},
		"disconnect": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"disconnect":{"code":4501,"reason":"go away"}}`)
		},
		"bad disconnect code": func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, `{"disconnect":{"code":1000}}`) },
		"500":                 func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"garbage":             func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, `<html>`) },
		"timeout":             func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		"no result":           func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, `{}`) },
		"expire_at passed": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"result":{"user":"u","expire_at":`+pastExpiry+`}}`)
		},
		"unknown namespace": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"result":{"user":"u","channels":["nope:x"]}}`)
		},
		"info not JSON": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, `{"result":{"user":"u","b64info":"bm90IGpzb24="}}`)
		},
	}
	url, _ := newBackend(t, func(w http.ResponseWriter, r *http.Request, body string) {
		var req struct {
			Data string `json:"data"`
		}
		_ = json.Unmarshal([]byte(body), &req)
		replies[req.Data](w, r)
	})
	ts := startServer(t, `"proxy_connect_endpoint":"`+url+`","proxy_connect_timeout":"100ms"`, server.WithClock(clock()))
	tests := []struct {
		data   string
		code   int
		reason string
	}{
		{"permission", 3507, "permission denied"},
		{"custom error", 3004, "internal server error"},
		{"expired error", 3005, "connection expired"},
		{"disconnect", 4501, "go away"},
		{"bad disconnect code", 3004, "internal server error"},
		{"500", 3004, "internal server error"},
		{"garbage", 3004, "internal server error"},
		{"timeout", 3004, "internal server error"},
		{"no result", 3501, "bad request"},
		{"expire_at passed", 3005, "connection expired"},
		{"unknown namespace", 3004, "internal server error"},
		{"info not JSON", 3004, "internal server error"},
	}
	for _, tc := range tests {
		t.Run(tc.data, func(t *testing.T) {
			t.Parallel()
			conn, first := ts.connect(`{"data":` + jsonString(tc.data) + `}`)
			if want := `{"disconnect":{"code":` + strconv.Itoa(tc.code) + `,"reason":"` + tc.reason + `"}}`; first != want {
				t.Fatalf("first push %s, want %s", first, want)
			}
			expectClose(t, conn, tc.code, tc.reason)
		})
	}
}

// TestConnectProxyAnonymousAndToken: with no result and anonymous access
// on, the client connects anonymously and its requested channels are
// considered; a connection with a token never reaches the backend.
func TestConnectProxyAnonymousAndToken(t *testing.T) {
	t.Parallel()
	url, calls := newBackend(t, func(w http.ResponseWriter, _ *http.Request, _ string) { writeJSON(w, `{}`) })
	ts := startServer(t, `"proxy_connect_endpoint":"`+url+`","allow_anonymous_connect_without_token":true,`+
		`"namespaces":[{"name":"open","allow_subscribe_for_client":true,"allow_subscribe_for_anonymous":true}]`)
	_, push := ts.connect(`{"subs":{"open:x":{}}}`)
	if want := `"subs":{"open:x":{}}`; !strings.Contains(push, want) {
		t.Fatalf("anonymous connect push %s, want %s", push, want)
	}
	<-calls
	_, push = ts.connect(`{"token":"` + ts.token("u", 0) + `"}`)
	if !strings.Contains(push, `"subs":{"#u":{}}`) {
		t.Fatalf("token connect push %s", push)
	}
	select {
	case c := <-calls:
		t.Fatalf("backend called for a token connection: %s", c.body)
	default:
	}
}
