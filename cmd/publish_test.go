package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAPI mimics the server HTTP API: key "k"; channel "hist" has history,
// channel "bad" gets an error reply.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	a := &fakeAPI{}
	offset := 0
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		}
		if r.URL.Path != "/api/publish" || json.Unmarshal(body, &p) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.requests = append(a.requests, string(body))
		offset++
		n := offset
		a.mu.Unlock()
		switch p.Channel {
		case "bad":
			_, _ = io.WriteString(w, `{"error":{"code":107,"message":"bad request"}}`)
		case "hist":
			_, _ = io.WriteString(w, `{"result":{"offset":`+itoa(n)+`,"epoch":"jRCDQVhp"}}`)
		default:
			_, _ = io.WriteString(w, `{"result":{}}`)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (a *fakeAPI) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

func TestPublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		stdin    string
		env      map[string]string
		tty      bool
		code     int
		out      string
		requests []string
		errOut   string
	}{
		{name: "data argument", args: []string{"#test_user", `{"text": "hi"}`}, code: ExitOK, out: "{}\n",
			requests: []string{`{"channel":"#test_user","data":{"text": "hi"}}`}},
		{name: "history result as JSON", args: []string{"hist", `1`}, code: ExitOK, out: `{"offset":1,"epoch":"jRCDQVhp"}` + "\n",
			requests: []string{`{"channel":"hist","data":1}`}},
		{name: "history result in words", args: []string{"hist", `1`}, tty: true, code: ExitOK,
			out: "published to hist: offset 1, epoch jRCDQVhp\n", requests: []string{`{"channel":"hist","data":1}`}},
		{name: "no history in words", args: []string{"news", `1`}, tty: true, code: ExitOK,
			out: "published to news\n", requests: []string{`{"channel":"news","data":1}`}},
		{name: "json on a terminal", args: []string{"--json", "news", `1`}, tty: true, code: ExitOK, out: "{}\n",
			requests: []string{`{"channel":"news","data":1}`}},
		{name: "quiet", args: []string{"-q", "hist", `1`}, code: ExitOK, out: "",
			requests: []string{`{"channel":"hist","data":1}`}},
		{name: "stdin NDJSON", args: []string{"hist"}, stdin: "{\"n\":1}\n\n  [2]  \n\"three\"\n", code: ExitOK,
			out:      `{"offset":1,"epoch":"jRCDQVhp"}` + "\n" + `{"offset":2,"epoch":"jRCDQVhp"}` + "\n" + `{"offset":3,"epoch":"jRCDQVhp"}` + "\n",
			requests: []string{`{"channel":"hist","data":{"n":1}}`, `{"channel":"hist","data":[2]}`, `{"channel":"hist","data":"three"}`}},
		{name: "stdin dash", args: []string{"news", "-"}, stdin: "{}\n", code: ExitOK, out: "{}\n",
			requests: []string{`{"channel":"news","data":{}}`}},
		{name: "error reply", args: []string{"bad", `{}`}, code: ExitError, errOut: "api error 107: bad request",
			requests: []string{`{"channel":"bad","data":{}}`}},
		{name: "wrong key", args: []string{"--api-key", "nope", "news", `{}`}, code: ExitAuth, errOut: "auth refused"},
		{name: "key from env", args: []string{"news", `{}`}, env: map[string]string{APIKeyEnv: "k"}, code: ExitOK, out: "{}\n",
			requests: []string{`{"channel":"news","data":{}}`}},
		{name: "flag beats env", args: []string{"--api-key", "k", "news", `{}`}, env: map[string]string{APIKeyEnv: "nope"},
			code: ExitOK, out: "{}\n", requests: []string{`{"channel":"news","data":{}}`}},
		{name: "bad JSON argument", args: []string{"news", `{nope`}, code: ExitUsage, errOut: "not valid JSON"},
		{name: "empty data", args: []string{"news", ``}, stdin: "{}", code: ExitUsage, errOut: "not valid JSON"},
		{name: "empty stdin", args: []string{"news"}, stdin: "\n", code: ExitUsage, errOut: "no data"},
		{name: "bad stdin line", args: []string{"news"}, stdin: "{}\n{nope\n", code: ExitUsage, errOut: "stdin line 2"},
		{name: "no channel", args: []string{}, code: ExitUsage},
		{name: "too many args", args: []string{"a", "1", "2"}, code: ExitUsage},
		{name: "empty channel", args: []string{"", "1"}, code: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			e := newTestEnv(t)
			e.outTTY = tt.tty
			for k, v := range tt.env {
				e.env[k] = v
			}
			args := []string{"publish", "--server", api.URL}
			if tt.env[APIKeyEnv] == "" && !strings.Contains(strings.Join(tt.args, " "), "--api-key") {
				args = append(args, "--api-key", "k")
			}
			r := e.runIn(tt.stdin, append(args, tt.args...)...)
			r.expect(t, tt.code)
			if tt.out != "" || tt.code == ExitOK {
				if r.out.String() != tt.out {
					t.Errorf("stdout %q, want %q", r.out, tt.out)
				}
			}
			if !strings.Contains(r.errOut.String(), tt.errOut) {
				t.Errorf("stderr %q lacks %q", r.errOut, tt.errOut)
			}
			if got := api.got(); strings.Join(got, "\n") != strings.Join(tt.requests, "\n") {
				t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.requests, "\n"))
			}
		})
	}
}

func TestPublishTakesServerAndKeyFromConfig(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	u, err := url.Parse(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	cfg := writeConfig(t, t.TempDir(), map[string]any{"port": u.Port(), "api_key": "k", "address": "127.0.0.1"})
	r := e.run("publish", "-c", cfg, "news", `{"a":1}`)
	r.expect(t, ExitOK)
	if got := api.got(); len(got) != 1 {
		t.Fatalf("requests %q", got)
	}
	// Without any config the default server and no key are used: auth refused.
	e = newTestEnv(t)
	r = e.run("publish", "--server", api.URL, "news", `{}`)
	r.expect(t, ExitAuth)
}

// TestPublishServerForms: --server takes the value watch takes too.
func TestPublishServerForms(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	host := strings.TrimPrefix(api.URL, "http://")
	for _, server := range []string{api.URL, api.URL + "/", "ws://" + host, "ws://" + host + "/connection/uni_websocket", host} {
		r := newTestEnv(t).run("publish", "--server", server, "--api-key", "k", "news", `{}`)
		r.expect(t, ExitOK)
	}
	if got := api.got(); len(got) != 5 {
		t.Errorf("%d requests, want 5", len(got))
	}
}

// TestNamedConfigMustLoad: a file named with -c that does not load is an
// error even when flags give everything it would.
func TestNamedConfigMustLoad(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	missing := filepath.Join(t.TempDir(), "missing.json")
	for _, args := range [][]string{
		{"publish", "-c", missing, "--server", api.URL, "--api-key", "k", "news", `{}`},
		{"watch", "-c", missing, "--server", api.URL, "--token", "t", "--timeout", "1s"},
		{"gentoken", "-c", missing, "--key", "s", "-u", "u"},
		{"bench", "-c", missing, "--server", api.URL, "--api-key", "k", "--secret", "s", "--conns", "1"},
		{"doctor", "-c", missing, "--server", api.URL, "--api-key", "k", "--token", "t"},
	} {
		r := newTestEnv(t).run(args...)
		r.expect(t, ExitError)
		if !strings.Contains(r.errOut.String(), "missing.json") {
			t.Errorf("%s: stderr does not name the file:\n%s", args[0], r.errOut)
		}
	}
	if got := api.got(); len(got) != 0 {
		t.Errorf("published %q", got)
	}
}

// TestPublishTimeout: a server that never answers costs --timeout, then
// exit 3.
func TestPublishTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-stop
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // runs first
	r := newTestEnv(t).run("publish", "--server", hang.URL, "--api-key", "k", "--timeout", "100ms", "news", `{}`)
	r.expect(t, ExitTimeout)
	if !strings.Contains(r.errOut.String(), "no answer within 100ms") {
		t.Errorf("stderr:\n%s", r.errOut)
	}
	newTestEnv(t).run("publish", "--server", hang.URL, "--api-key", "k", "--timeout", "0s", "news", `{}`).expect(t, ExitUsage)
}
