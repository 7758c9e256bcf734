package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/uniws/uniws/core"
)

// recorder is an Executor that records publishes and answers the rest.
type recorder struct {
	mu        sync.Mutex
	publishes []PublishRequest
}

func (r *recorder) Publish(_ context.Context, req *PublishRequest) (*PublishResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishes = append(r.publishes, *req)
	if req.Channel == "fail" {
		return nil, core.ErrInternal.Err()
	}
	return &PublishResult{Offset: uint64(len(r.publishes))}, nil
}
func (r *recorder) Disconnect(context.Context, *DisconnectRequest) error   { return nil }
func (r *recorder) Unsubscribe(context.Context, *UnsubscribeRequest) error { return nil }
func (r *recorder) Subscribe(context.Context, *SubscribeRequest) error     { return nil }
func (r *recorder) Refresh(context.Context, *RefreshRequest) error         { return nil }
func (r *recorder) Presence(context.Context, *ChannelRequest) (*PresenceResult, error) {
	return nil, core.ErrNotAvailable.Err()
}
func (r *recorder) PresenceStats(context.Context, *ChannelRequest) (*PresenceStatsResult, error) {
	return nil, core.ErrNotAvailable.Err()
}
func (r *recorder) History(context.Context, *HistoryRequest) (*HistoryResult, error) {
	return nil, core.ErrNotAvailable.Err()
}
func (r *recorder) HistoryRemove(context.Context, *ChannelRequest) error { return nil }
func (r *recorder) Channels(context.Context, *ChannelsRequest) (*ChannelsResult, error) {
	return &ChannelsResult{Channels: map[string]ChannelInfo{}}, nil
}
func (r *recorder) Info(context.Context) (*InfoResult, error) { return &InfoResult{}, nil }

func call(h http.Handler, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("X-API-Key", "k")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHandler(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	h := NewHandler(Config{Key: "k", MaxBodySize: 1024, BroadcastMaxChannels: 2}, rec, nil)
	cases := []struct {
		name, path, body string
		header           []string
		status           int
		want             string
	}{
		{"publish", "/api/publish", `{"channel":"a","data":{"x": 1}}`, nil, 200, `{"result":{"offset":1}}`},
		{"internal error", "/api/publish", `{"channel":"fail","data":{}}`, nil, 200, `{"error":{"code":100,"message":"internal server error"}}`},
		// The transport error mode adds Centrifugo v6's HTTP statuses: 400
		// for 107 and 108, 404 for 102 and 104, 416 for 112, 500 for the rest.
		{"transport error mode", "/api/publish", `{"channel":"","data":{}}`, []string{"X-Centrifugo-Error-Mode", "transport"}, 400, `{"code":107,"message":"bad request"}`},
		{"transport mode not found", "/api/nope", `{}`, []string{"X-Centrifugo-Error-Mode", "Transport"}, 404, `{"code":104,"message":"not found"}`},
		{"transport mode internal", "/api/publish", `{"channel":"fail","data":{}}`, []string{"X-Centrifugo-Error-Mode", "transport"}, 500, `{"code":100,"message":"internal server error"}`},
		{"transport mode success", "/api/publish", `{"channel":"a","data":{}}`, []string{"X-Centrifugo-Error-Mode", "transport"}, 200, `{"result":{"offset":`},
		{"body too large", "/api/publish", `{"channel":"a","data":"` + strings.Repeat("x", 2000) + `"}`, nil, 413, "request body too large"},
		{"broadcast over the cap", "/api/broadcast", `{"channels":["a","b","c"],"data":{}}`, nil, 200, `{"error":{"code":106,"message":"limit exceeded"}}`},
		{"broadcast", "/api/broadcast", `{"channels":["a","fail"],"data":{}}`, nil, 200, `{"result":{"responses":[{"result":{"offset":`},
		// Batch commands in Centrifugo v6's form or as method and params;
		// each reply as every API reply (PROTOCOL.md §8).
		{"batch", "/api/batch", `{"commands":[{"nope":{}},{"publish":{"channel":"","data":{}}},{"method":"info"},{"publish":{"channel":"a","data":{}}}]}`, nil, 200,
			`{"result":{"replies":[{"error":{"code":104,"message":"not found"}},{"error":{"code":107,"message":"bad request"}},{"result":{"nodes":null}},{"result":{"offset":`},
		{"empty batch", "/api/batch", `{"commands":[]}`, nil, 200, `{"result":{"replies":[]}}`},
		{"empty body info", "/api/info", ``, nil, 200, `{"result":{"nodes":null}}`},
		{"authorization header", "/api/info", `{}`, []string{"X-API-Key", "", "Authorization", "apikey k"}, 200, `{"result":{"nodes":null}}`},
		{"legacy bad line", "/api", "{nope", nil, 400, "bad request"},
	}
	for _, c := range cases {
		w := call(h, c.path, c.body, c.header...)
		got := strings.TrimSpace(w.Body.String())
		if w.Code != c.status || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: got %d %s, want %d %s", c.name, w.Code, got, c.status, c.want)
		}
	}
	if string(rec.publishes[0].Data) != `{"x": 1}` {
		t.Errorf("data not passed byte for byte: %s", rec.publishes[0].Data)
	}
}

func TestNoKeyConfigured(t *testing.T) {
	t.Parallel()
	locked := NewHandler(Config{}, &recorder{}, nil)
	if w := call(locked, "/api/info", `{}`); w.Code != http.StatusUnauthorized {
		t.Fatalf("no key configured: %d", w.Code)
	}
	open := NewHandler(Config{Insecure: true}, &recorder{}, nil)
	if w := call(open, "/api/info", `{}`, "X-API-Key", ""); w.Code != http.StatusOK {
		t.Fatalf("api_insecure: %d", w.Code)
	}
}

// FuzzAPIRequest: no body, method or envelope makes the handler panic or
// answer outside its documented statuses.
func FuzzAPIRequest(f *testing.F) {
	for _, seed := range []struct{ path, body string }{
		{"/api/publish", `{"channel":"a","data":{}}`},
		{"/api/broadcast", `{"channels":["a"],"data":[1]}`},
		{"/api/history", `{"channel":"a","since":{"offset":1,"epoch":"x"},"limit":-1}`},
		{"/api/batch", `{"commands":[{"method":"publish","params":null}],"parallel":true}`},
		{"/api", `{"id":1,"method":"publish","params":{"channel":"a","data":{}}}` + "\n" + `{"id":2,"method":"info"}`},
		{"/api/disconnect", `{"user":"u","disconnect":{"code":3011,"reason":"r"}}`},
		{"/api/publish", `{"channel":"a","b64data":"e30="}`},
		{"/api/subscribe", `{"user":"u","channel":"c","recover_since":{"offset":18446744073709551615}}`},
	} {
		f.Add(seed.path, seed.body)
	}
	h := NewHandler(Config{Key: "k", MaxBodySize: 1 << 16, BroadcastMaxChannels: 16}, &recorder{}, nil)
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/api/" + path
		}
		req, err := http.NewRequest(http.MethodPost, "http://x"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("X-API-Key", "k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("%s %q: status %d", path, body, w.Code)
		}
	})
}
