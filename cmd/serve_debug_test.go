package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// jsonLogValue waits for a JSON log line whose msg starts with msg and
// returns its attribute key.
func jsonLogValue(t *testing.T, buf *syncBuffer, msg, key string) string {
	t.Helper()
	buf.waitFor(t, `"msg":"`+msg)
	for _, line := range strings.Split(buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if m, _ := rec["msg"].(string); strings.HasPrefix(m, msg) {
			v, _ := rec[key].(string)
			return v
		}
	}
	t.Fatalf("no %q log line with %q:\n%s", msg, key, buf.String())
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeDebugMetricsAndJSONLogs(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	cfg := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "s", "api_key": "k", "address": "127.0.0.1", "port": 0})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := e.start(ctx, "", "serve", "-c", cfg, "--log-format", "json", "--debug", "--debug-address", "127.0.0.1:0")
	addr := jsonLogValue(t, r.errOut, "serving", "address")
	debug := jsonLogValue(t, r.errOut, "pprof on the internal debug address", "address")

	if code, body := httpGet(t, "http://"+addr+"/metrics"); code != http.StatusOK || !strings.Contains(body, "uniws_connections 0") {
		t.Errorf("/metrics: %d\n%.300s", code, body)
	}
	if code, _ := httpGet(t, "http://"+addr+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("pprof on the public listener: HTTP %d", code)
	}
	if code, body := httpGet(t, debug+"goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Errorf("pprof: %d\n%.200s", code, body)
	}
	cancel()
	r.wait(t).expect(t, ExitOK)
}

func TestServeLoggingAndDebugFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"bad log format", []string{"--log-format", "xml"}, ExitUsage, "--log-format"},
		{"pprof on every interface", []string{"--debug", "--debug-address", "0.0.0.0:6060"}, ExitUsage, "every interface"},
		{"pprof without a host", []string{"--debug", "--debug-address", ":6060"}, ExitUsage, "every interface"},
		{"bad debug address", []string{"--debug", "--debug-address", "nope"}, ExitUsage, "--debug-address"},
		{"Centrifugo config warnings are logged", []string{"-c", "../testdata/config/centrifugo-genconfig.json"}, ExitError, "admin.password, admin.secret"},
		{"json logs", []string{"-c", "../testdata/config/seed.json", "--log-format", "json"}, ExitError, `"level":"WARN","msg":"INSECURE CONFIGURATION`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.setup = func(f *factory) {
				f.listen = func(context.Context, string) (net.Listener, error) { return nil, errors.New("refused by test") }
			}
			r := e.run(append([]string{"serve"}, tc.args...)...)
			r.expect(t, tc.code)
			if !strings.Contains(r.errOut.String(), tc.err) {
				t.Errorf("stderr lacks %q:\n%s", tc.err, r.errOut)
			}
		})
	}
}
