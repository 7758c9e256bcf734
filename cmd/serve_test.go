package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestZeroSetupEndToEnd walks the README's fresh-clone path against a real
// server: serve with no configuration creates the development config, and
// gentoken, watch and publish find it with no flags.
func TestZeroSetupEndToEnd(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	// The client commands find the server's port through the config,
	// here through its UNIWS_PORT override.
	e.env["UNIWS_PORT"] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	addrs := make(chan string, 1)
	e.setup = func(f *factory) {
		f.listen = func(_ context.Context, addr string) (net.Listener, error) {
			addrs <- addr
			return ln, nil
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	serve := e.start(ctx, "", "serve")
	serve.errOut.waitFor(t, "serving")
	if addr := <-addrs; addr != ":"+e.env["UNIWS_PORT"] {
		t.Errorf("serve listened on %q", addr)
	}

	dev := filepath.Join(e.configDir, "uniws", "config.json")
	data, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal("development config:", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	secret, _ := cfg["token_hmac_secret_key"].(string)
	apiKey, _ := cfg["api_key"].(string)
	if len(secret) < 32 || len(apiKey) < 32 || cfg["user_subscribe_to_personal"] != true {
		t.Fatalf("development config %s", data)
	}
	if log := serve.errOut.String(); strings.Contains(log, secret) || strings.Contains(log, apiKey) || !strings.Contains(log, dev) {
		t.Errorf("serve log leaks a secret or lacks the config path:\n%s", log)
	}

	gen := e.run("gentoken", "-u", "test_user")
	gen.expect(t, ExitOK)
	m := tokenLine.FindStringSubmatch(gen.out.String())
	if m == nil || m[1] != `user "test_user" with expiration TTL 168h0m0s` {
		t.Fatalf("gentoken output %q", gen.out)
	}

	byUser := e.start(t.Context(), "", "watch", "-u", "test_user", "--count", "1", "--timeout", "20s")
	byToken := e.start(t.Context(), "", "watch", "--token", m[2], "--sub", "abc", "--count", "1", "--timeout", "20s")
	byUser.errOut.waitFor(t, "connected: client")
	byToken.errOut.waitFor(t, "connected: client")

	pub := e.run("publish", "#test_user", `{"text": "hi"}`)
	pub.expect(t, ExitOK)
	if pub.out.String() != "{}\n" {
		t.Errorf("publish output %q", pub.out)
	}
	for _, w := range []*run{byUser, byToken} {
		w.wait(t).expect(t, ExitOK)
		out := strings.Split(strings.TrimSuffix(w.out.String(), "\n"), "\n")
		if len(out) != 2 || !strings.HasPrefix(out[0], `{"connect":{"client":"`) || !strings.Contains(out[0], `"subs":{"#test_user":{}}`) ||
			out[1] != `{"channel":"#test_user","pub":{"data":{"text": "hi"}}}` {
			t.Errorf("watch output:\n%s", w.out)
		}
	}
	if !strings.Contains(byToken.errOut.String(), "not subscribed to abc") {
		t.Errorf("refused channel not reported:\n%s", byToken.errOut)
	}

	// Graceful shutdown: a connected client gets 3001, serve exits 0.
	last := e.start(t.Context(), "", "watch", "-u", "test_user", "--reconnect=false")
	last.errOut.waitFor(t, "connected: client")
	cancel()
	serve.wait(t).expect(t, ExitOK)
	last.wait(t).expect(t, ExitDisconnect)
	if !strings.Contains(last.errOut.String(), `code 3001, reason "shutdown"`) {
		t.Errorf("watch stderr:\n%s", last.errOut)
	}
}

func TestServeConfigAndFlags(t *testing.T) {
	t.Parallel()
	errRefused := errors.New("refused by test")
	tests := []struct {
		name string
		cfg  map[string]any // written to ./config.json when not nil
		args []string
		addr string // the address serve listens on
		code int
		err  string
	}{
		{"local config", map[string]any{"token_hmac_secret_key": "s", "port": 9001}, nil, ":9001", ExitError, "refused by test"},
		{"port flag", map[string]any{"token_hmac_secret_key": "s", "port": 9001}, []string{"--port", "9002", "--address", "127.0.0.1"}, "127.0.0.1:9002", ExitError, "refused by test"},
		{"bad port", nil, []string{"--port", "70000"}, "", ExitUsage, "not a TCP port"},
		{"bad log level", nil, []string{"--log-level", "loud"}, "", ExitUsage, "--log-level"},
		{"missing config", nil, []string{"-c", "/nonexistent/uniws.json"}, "", ExitError, "read config"},
		{"invalid config", map[string]any{"ping_interval": "1s", "pong_timeout": "8s"}, nil, "", ExitError, "ping_interval"},
		{"unknown key", map[string]any{"nope": 1}, nil, "", ExitError, `"nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			if tt.cfg != nil {
				writeConfig(t, e.workDir, tt.cfg)
			}
			addrs := make(chan string, 1)
			e.setup = func(f *factory) {
				f.listen = func(_ context.Context, addr string) (net.Listener, error) {
					addrs <- addr
					return nil, errRefused
				}
			}
			r := e.run(append([]string{"serve"}, tt.args...)...)
			r.expect(t, tt.code)
			if !strings.Contains(r.errOut.String(), tt.err) {
				t.Errorf("stderr lacks %q:\n%s", tt.err, r.errOut)
			}
			if tt.addr != "" {
				if got := <-addrs; got != tt.addr {
					t.Errorf("listened on %q, want %q", got, tt.addr)
				}
			}
			if _, err := os.Stat(filepath.Join(e.configDir, "uniws", "config.json")); tt.cfg != nil && err == nil {
				t.Error("development config created although ./config.json exists")
			}
		})
	}
}

// TestServeHintFollowsPortFlag: with the development config and --port,
// the "try it" hint says how the other commands find that port.
func TestServeHintFollowsPortFlag(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	e := newTestEnv(t)
	e.setup = func(f *factory) {
		f.listen = func(context.Context, string) (net.Listener, error) { return ln, nil }
	}
	ctx, cancel := context.WithCancel(t.Context())
	serve := e.start(ctx, "", "serve", "--port", port)
	serve.errOut.waitFor(t, "serving")
	cancel()
	serve.wait(t)
	if log := serve.errOut.String(); !strings.Contains(log, "try it: export UNIWS_PORT="+port+"; uniws gentoken") {
		t.Errorf("no port in the hint:\n%s", log)
	}
}

// TestServeJSONLogsStayJSON: with --log-format json every log line is JSON,
// the Redis client library's own messages included, and a node that never
// reached Redis does not warn about leaving its registry.
func TestServeJSONLogsStayJSON(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	e := newTestEnv(t)
	e.env["UNIWS_ENGINE"] = "redis"
	e.env["UNIWS_REDIS_ADDRESS"] = closed
	cfg := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "s"})
	r := e.run("serve", "-c", cfg, "--port", "0", "--log-format", "json", "--log-level", "debug")
	r.expect(t, ExitError)
	lines := strings.Split(strings.TrimSpace(r.errOut.String()), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "uniws: ") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
	sawRedisClient := false
	for _, l := range lines[:len(lines)-1] {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("not a JSON log line: %s", l)
		}
		sawRedisClient = sawRedisClient || rec["msg"] == "redis client"
		if rec["msg"] == "node unregister failed" {
			t.Errorf("a node that never registered warns of leaving: %s", l)
		}
	}
	if !sawRedisClient {
		t.Errorf("the Redis client's own message is not in the log:\n%s", r.errOut)
	}
}
