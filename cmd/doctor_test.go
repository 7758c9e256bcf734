package cmd

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/uniws/uniws/core"
)

// startUniws runs a real server with the given flat configuration on
// 127.0.0.1:0 and returns its URL and the path of its config file.
func startUniws(t *testing.T, cfgMap map[string]any) (string, string) {
	t.Helper()
	path := writeConfig(t, t.TempDir(), cfgMap)
	cfg, err := core.LoadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + serveConfig(t, cfg), path
}

// doctorServerConfig is the configuration of the doctor's healthy server.
func doctorServerConfig() map[string]any {
	return map[string]any{"token_hmac_secret_key": "doctor-secret", "api_key": "doctor-key", "uni_websocket": true}
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	healthy, healthyCfg := startUniws(t, doctorServerConfig())
	strict, strictCfg := startUniws(t, map[string]any{"token_hmac_secret_key": "doctor-secret", "api_key": "doctor-key", "allowed_origins": []string{"https://app.example"}})
	noUni := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			_, _ = w.Write([]byte("{}"))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(noUni.Close)
	// As a stock Centrifugo: no /health (health.enabled is off), the rest
	// served (through a reverse proxy, which passes WebSocket upgrades).
	target, err := url.Parse(healthy)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	noHealth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			http.NotFound(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(noHealth.Close)
	otherSecret := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "not-the-secret", "api_key": "doctor-key"})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String()
	closed.Close()
	// A token channel in a namespace the server lacks: refused with 3004,
	// which has more than one cause (Redis unreachable, most often).
	unknownNS, err := core.SignHMAC("doctor-secret", core.TokenOptions{User: "u", Channels: []string{"nons:x"}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		args  []string
		code  int
		want  []string
		never []string
	}{
		{"healthy", []string{"--server", healthy, "-c", healthyCfg}, ExitOK, []string{
			"ok    health", "ok    upgrade", "ok    origin   a browser page on " + healthy + " may connect",
			`ok    connect  a token minted for user "uniws-doctor" with the configuration's secret connected`,
			"ok    ping     the server pings every 25s", "ok    publish  round trip in", "all checks passed"}, []string{"doctor-secret", "doctor-key"}},
		{"bad API key", []string{"--server", healthy, "-c", healthyCfg, "--api-key", "wrong"}, ExitError, []string{
			"FAIL  publish  the server refused the API key (HTTP 401)", "fix: use the server's api_key", "1 check failed"}, nil},
		{"no uni endpoint", []string{"--server", noUni.URL, "-c", healthyCfg}, ExitError, []string{
			"ok    health", "FAIL  upgrade  no uni_websocket endpoint at ws://", "(HTTP 404)", "fix: point --server at a uniws server",
			"skip  origin", "skip  connect", "skip  ping", "skip  publish"}, nil},
		{"bad origin", []string{"--server", strict, "-c", strictCfg}, ExitError, []string{
			"FAIL  origin   the server refused Origin " + strict + " (HTTP 403)", "allowed_origins is https://app.example",
			`fix: add "` + strict + `" to allowed_origins`, "--origin", "ok    publish"}, nil},
		{"the app's origin", []string{"--server", strict, "-c", strictCfg, "--origin", "https://app.example"}, ExitOK, []string{
			"ok    origin   a browser page on https://app.example may connect (allowed_origins: https://app.example)"}, nil},
		{"token signed with another secret", []string{"--server", healthy, "-c", otherSecret}, ExitError, []string{
			"FAIL  connect", "refused with 3500 invalid token", "uniws checktoken", "skip  publish"}, nil},
		{"refused with 3004", []string{"--server", healthy, "--token", unknownNS, "--api-key", "doctor-key"}, ExitError, []string{
			"FAIL  connect", "refused with 3004", "Redis unreachable", "a namespace the server does not define"}, nil},
		{"no health endpoint", []string{"--server", noHealth.URL, "-c", healthyCfg, "--origin", noHealth.URL}, ExitOK, []string{
			"skip  health", "HTTP 404: no health endpoint", "ok    publish", "no check failed; 1 skipped"}, nil},
		{"unreachable", []string{"--server", unreachable, "-c", healthyCfg}, ExitError, []string{
			"FAIL  health   cannot reach", "fix: start the server", "skip  upgrade", "1 check failed"}, nil},
		{"no token at all", []string{"--server", healthy, "--api-key", "doctor-key"}, ExitError, []string{
			"FAIL  connect  no token to connect with", "pass --token"}, nil},
		{"bad server URL", []string{"--server", "ftp://x"}, ExitUsage, []string{"--server"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			r := e.run(append([]string{"doctor", "--timeout", "10s"}, tc.args...)...)
			r.expect(t, tc.code)
			all := r.out.String() + r.errOut.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(all, w) {
					t.Errorf("output holds %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestDoctorWithAGivenToken: the doctor's token, when given, is used as it
// is: its subscriptions decide where the publication comes back, and
// without any the publish round trip is skipped, which the summary says
// instead of "all checks passed".
func TestDoctorWithAGivenToken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		personal   bool
		want       []string
		unexpected string
	}{
		{true, []string{"the --token connected", "API publish to #ann", "all checks passed"}, "skip"},
		{false, []string{"skip  publish", "no check failed; 1 skipped"}, "all checks passed"},
	} {
		url, _ := startUniws(t, map[string]any{"token_hmac_secret_key": "doctor-secret", "api_key": "doctor-key", "user_subscribe_to_personal": c.personal})
		tok, err := core.SignHMAC("doctor-secret", core.TokenOptions{User: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		e := newTestEnv(t)
		e.env[APIKeyEnv] = "doctor-key"
		r := e.run("doctor", "--server", url, "--token", tok)
		r.expect(t, ExitOK)
		out := r.out.String()
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("personal %v: output lacks %q:\n%s", c.personal, w, out)
			}
		}
		if strings.Contains(out, c.unexpected) {
			t.Errorf("personal %v: output holds %q:\n%s", c.personal, c.unexpected, out)
		}
	}
}
