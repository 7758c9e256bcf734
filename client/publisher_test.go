package client

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/uniws/uniws/core"
)

// apiServer mimics the server API: key "k", replies chosen by channel.
func apiServer(t *testing.T, bodies chan<- string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad method", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("X-API-Key") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if bodies != nil {
			bodies <- r.URL.Path + " " + string(body)
		}
		var p struct {
			Channel string `json:"channel"`
		}
		if json.Unmarshal(body, &p) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch {
		case r.URL.Path == "/api/channels":
			_, _ = io.WriteString(w, `{"result":{"channels":{"a":{"num_clients":2}}}}`)
		case p.Channel == "":
			_, _ = io.WriteString(w, `{"error":{"code":107,"message":"bad request"}}`)
		case p.Channel == "transport":
			// A server in the transport error mode (http_api.error_mode).
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":102,"message":"unknown channel"}`)
		case p.Channel == "proxy":
			// A proxy's own JSON error is no API error.
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"code":502,"message":"bad gateway"}`)
		case p.Channel == "hist":
			_, _ = io.WriteString(w, `{"result":{"offset":1,"epoch":"jRCDQVhp"}}`)
		default:
			_, _ = io.WriteString(w, `{"result":{}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPublishSendsDataByteForByte(t *testing.T) {
	t.Parallel()
	bodies := make(chan string, 1)
	srv := apiServer(t, bodies)
	p := &Publisher{Server: srv.URL + "/", APIKey: "k"}
	res, err := p.Publish(t.Context(), PublishRequest{Channel: "#test_user", Data: json.RawMessage(`{"text": "hello"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if res != (PublishResult{}) {
		t.Errorf("result = %+v, want empty", res)
	}
	if got, want := <-bodies, `/api/publish {"channel":"#test_user","data":{"text": "hello"}}`; got != want {
		t.Errorf("request = %s, want %s", got, want)
	}
}

func TestPublishReplies(t *testing.T) {
	t.Parallel()
	srv := apiServer(t, nil)
	tests := []struct {
		name    string
		key     string
		channel string
		want    PublishResult
		check   func(error) bool
	}{
		{"history", "k", "hist", PublishResult{Offset: 1, Epoch: "jRCDQVhp"}, func(err error) bool { return err == nil }},
		{"error reply", "k", "", PublishResult{}, func(err error) bool {
			var apiErr *core.Error
			return errors.As(err, &apiErr) && apiErr.Code == 107 && apiErr.Message == "bad request"
		}},
		{"error in the transport mode", "k", "transport", PublishResult{}, func(err error) bool {
			var apiErr *core.Error
			return errors.As(err, &apiErr) && apiErr.Code == 102 && apiErr.Message == "unknown channel"
		}},
		{"a proxy's JSON error", "k", "proxy", PublishResult{}, func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.Status == http.StatusBadGateway
		}},
		{"wrong key", "nope", "x", PublishResult{}, func(err error) bool { return errors.Is(err, ErrAuthRefused) }},
		{"no key", "", "x", PublishResult{}, func(err error) bool { return errors.Is(err, ErrAuthRefused) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Publisher{Server: strings.TrimPrefix(srv.URL, "http://"), APIKey: tt.key}
			res, err := p.Publish(t.Context(), PublishRequest{Channel: tt.channel, Data: json.RawMessage(`{}`)})
			if !tt.check(err) || res != tt.want {
				t.Errorf("Publish = %+v, %v", res, err)
			}
		})
	}
}

func TestPublishRefusesInvalidData(t *testing.T) {
	t.Parallel()
	p := &Publisher{Server: "http://127.0.0.1:1"}
	if _, err := p.Publish(t.Context(), PublishRequest{Channel: "a", Data: json.RawMessage(`{nope`)}); err == nil {
		t.Fatal("invalid data accepted")
	}
}

func TestCallDecodesResultAndStatus(t *testing.T) {
	t.Parallel()
	srv := apiServer(t, nil)
	p := &Publisher{Server: srv.URL, APIKey: "k"}
	var res struct {
		Channels map[string]struct {
			NumClients int `json:"num_clients"`
		} `json:"channels"`
	}
	if err := p.Call(t.Context(), "channels", map[string]string{"pattern": "*"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Channels["a"].NumClients != 2 {
		t.Errorf("channels = %+v", res)
	}
	err := p.Call(t.Context(), "info", []byte(`{nope`), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Errorf("Call with bad body = %v, want HTTP 400", err)
	}
}

// TestImportsOnlyCore keeps the dependency rule of DESIGN.md: client
// imports core and no other uniws package.
func TestImportsOnlyCore(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skip("go list unavailable:", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/uniws/uniws/") && pkg != "github.com/uniws/uniws/core" && pkg != "github.com/uniws/uniws/client" {
			t.Errorf("client depends on %s", pkg)
		}
	}
}
