package proxy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeaderOrderAndFilter(t *testing.T) {
	t.Parallel()
	c := New(Config{Headers: []string{"authorization", "X-Token"}, StaticHeaders: map[string]string{"X-Static": "s", "X-Token": "static wins"}})
	defer c.Close()
	upgrade := http.Header{"Authorization": {"Bearer upgrade"}, "Cookie": {"c=1"}}
	emulated := map[string]string{"Authorization": "Bearer emulated", "x-token": "emulated", "X-Other": "o"}
	h := c.Header(upgrade, emulated)
	want := http.Header{
		"Authorization": {"Bearer upgrade"},
		"X-Token":       {"static wins"},
		"X-Static":      {"s"},
		"Content-Type":  {"application/json"},
	}
	if len(h) != len(want) {
		t.Fatalf("headers = %v, want %v", h, want)
	}
	for k, v := range want {
		if got := h.Values(k); strings.Join(got, ",") != strings.Join(v, ",") {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestConnectRequestEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  ConnectRequest
		want string
	}{
		{"minimal", ConnectRequest{Client: "c", Transport: "uni_websocket", Protocol: "json", Encoding: "json"},
			`{"client":"c","transport":"uni_websocket","protocol":"json","encoding":"json"}`},
		{"full", ConnectRequest{Client: "c", Transport: "uni_websocket", Protocol: "json", Encoding: "json", Data: json.RawMessage(`{"a": [1, 2]}`), Name: "app<1>", Version: "1.0", Channels: []string{"a", "b"}},
			`{"client":"c","transport":"uni_websocket","protocol":"json","encoding":"json","data":{"a": [1, 2]},"name":"app\u003c1\u003e","version":"1.0","channels":["a","b"]}`},
	}
	for _, tc := range tests {
		got, err := tc.req.encode()
		if err != nil || string(got) != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.name, got, err, tc.want)
		}
	}
	if _, err := (&ConnectRequest{Data: json.RawMessage(`{nope`)}).encode(); err == nil {
		t.Error("invalid data encoded")
	}
}

func TestCallFailures(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/garbage":
			_, _ = w.Write([]byte("<html>"))
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			_, _ = w.Write([]byte(`{"result":{"user":"u"}}`))
		}
	}))
	defer srv.Close()
	defer close(release)
	for _, path := range []string{"/500", "/garbage", "/slow"} {
		c := New(Config{ConnectEndpoint: srv.URL + path, ConnectTimeout: 50 * time.Millisecond})
		if _, err := c.Connect(context.Background(), &ConnectRequest{}, nil); err == nil {
			t.Errorf("%s: no error", path)
		}
		c.Close()
	}
	c := New(Config{RefreshEndpoint: srv.URL + "/ok", RefreshTimeout: time.Second})
	defer c.Close()
	if !c.RefreshEnabled() || c.ConnectEnabled() {
		t.Error("enabled flags wrong")
	}
	if _, err := c.Refresh(context.Background(), &RefreshRequest{User: "u"}, nil); err != nil {
		t.Fatal(err)
	}
}
