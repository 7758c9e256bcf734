package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

// startServer runs a real uniws server on 127.0.0.1:0 until the test ends
// and returns its address.
func startServer(t *testing.T, secret, apiKey string) string {
	t.Helper()
	cfg := core.Default()
	cfg.TokenHMACSecretKey, cfg.APIKey = secret, apiKey
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, &cfg)
}

// serveConfig runs a real server for cfg on 127.0.0.1:0 until the test
// ends and returns its address.
func serveConfig(t *testing.T, cfg *core.Config) string {
	t.Helper()
	srv, err := server.New(cfg, server.WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// benchJSON decodes a JSON report into a generic map, to check its shape.
func benchJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return m
}

// field walks a decoded report along a dotted path.
func field(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

// TestBenchAgainstRealServer runs bench with its default reader (a ring
// where the kernel offers one) and with a goroutine per connection.
func TestBenchAgainstRealServer(t *testing.T) {
	t.Parallel()
	t.Run("default reader", func(t *testing.T) {
		t.Parallel()
		m := benchRealServer(t)
		reader := field(m, "generator.reader")
		notes, _ := json.Marshal(field(m, "notes"))
		switch {
		case reader == "io_uring" && runtime.GOOS == "linux":
			// The reading thread's own CPU, as a share of the publish phase.
			if c, ok := field(m, "generator.reader_cores").(float64); !ok || c <= 0 || c > 1.5 {
				t.Errorf("generator.reader_cores = %v, want a share of one CPU", field(m, "generator.reader_cores"))
			}
		case reader == "goroutines" && (runtime.GOOS != "linux" || strings.Contains(string(notes), "no io_uring reader here")):
		default:
			t.Errorf("generator.reader = %v on %s, notes %s", reader, runtime.GOOS, notes)
		}
	})
	t.Run("goroutines", func(t *testing.T) {
		t.Parallel()
		m := benchRealServer(t, "--reader", "goroutines")
		if field(m, "generator.reader") != "goroutines" || field(m, "generator.reader_cores") != nil {
			t.Errorf("generator.reader = %v, reader_cores = %v", field(m, "generator.reader"), field(m, "generator.reader_cores"))
		}
	})
}

// benchRealServer runs bench against a real server, checks the report and
// returns it.
func benchRealServer(t *testing.T, extra ...string) map[string]any {
	t.Helper()
	addr := startServer(t, "secret", "key")
	r := newTestEnv(t).run(append([]string{"bench", "--server", "ws://" + addr, "--api-key", "key", "--secret", "secret",
		"--conns", "50", "--messages", "200", "--inflight", "4", "--dial-concurrency", "8",
		"--pid", strconv.Itoa(os.Getpid()), "--json"}, extra...)...)
	r.expect(t, ExitOK)
	m := benchJSON(t, r.out.String())
	want := map[string]float64{
		"connect.attempted": 50, "connect.connected": 50, "connect.failed": 0,
		"publish.published": 200, "publish.failed": 0,
		"delivery.expected": 10000, "delivery.unique": 10000, "delivery.lost": 0,
		"delivery.duplicates": 0, "delivery.order_differs_conns": 0,
		"latency_ms.count": 10000, "connect.latency_ms.count": 50,
	}
	for path, w := range want {
		if got, ok := field(m, path).(float64); !ok || got != w {
			t.Errorf("%s = %v, want %v", path, field(m, path), w)
		}
	}
	for _, path := range []string{
		"connect.per_second", "delivery.per_second", "delivery.frames", "delivery.pushes_per_frame",
		"latency_ms.p50", "latency_ms.p90", "latency_ms.p99", "latency_ms.max", "publish.latency_ms.p99",
		"server.rss_before_bytes", "server.rss_connected_bytes", "server.threads_connected",
		"generator.cpus", "file_limit.hard",
	} {
		if v, ok := field(m, path).(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", path, field(m, path))
		}
	}
	if p50, p99 := field(m, "latency_ms.p50").(float64), field(m, "latency_ms.p99").(float64); p50 > p99 {
		t.Errorf("p50 %v > p99 %v", p50, p99)
	}
	if n := field(m, "info.connected").([]any); len(n) != 1 || n[0].(map[string]any)["num_clients"] != 50.0 {
		t.Errorf("info.connected = %v, want one node with 50 clients", n)
	}
	if field(m, "target.url") != "ws://"+addr+"/connection/uni_websocket" || field(m, "target.api") != "http://"+addr {
		t.Errorf("target = %v", field(m, "target"))
	}
	if !strings.Contains(r.errOut.String(), "connected 50/50") {
		t.Errorf("stderr:\n%s", r.errOut)
	}
	return m
}

// TestBenchAgainstFloorServers runs bench against the stand-ins that
// BENCHMARKS.md measures the floor with (testdata/floor, both modes): they
// build, take the load and deliver everything, so the commands documented
// there work.
func TestBenchAgainstFloorServers(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build testdata/floor with")
	}
	bin := filepath.Join(t.TempDir(), "floor")
	if out, err := exec.Command(goTool, "build", "-o", bin, "../testdata/floor").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, mode := range []string{"raw", "gonet"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			if mode == "raw" && runtime.GOOS != "linux" {
				t.Skip("raw uses Linux's epoll")
			}
			srv := exec.Command(bin, mode, "0")
			stdout, err := srv.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = srv.Process.Kill()
				_ = srv.Wait()
			})
			line, err := bufio.NewReader(stdout).ReadString('\n')
			addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
			if err != nil || !ok {
				t.Fatalf("first line %q: %v", line, err)
			}
			r := newTestEnv(t).run("bench", "--server", "ws://"+addr, "--api-key", "k", "--secret", "s",
				"--conns", "20", "--messages", "50", "--dial-concurrency", "4", "--pid", strconv.Itoa(srv.Process.Pid), "--json")
			r.expect(t, ExitOK)
			m := benchJSON(t, r.out.String())
			for path, w := range map[string]float64{"connect.connected": 20, "delivery.unique": 1000, "delivery.lost": 0} {
				if got, ok := field(m, path).(float64); !ok || got != w {
					t.Errorf("%s = %v, want %v", path, field(m, path), w)
				}
			}
		})
	}
}

func TestBenchTableAndConfig(t *testing.T) {
	t.Parallel()
	addr := startServer(t, "s3cret", "k3y")
	_, port, _ := net.SplitHostPort(addr)
	e := newTestEnv(t)
	e.outTTY = true
	cfg := writeConfig(t, e.workDir, map[string]any{"token_hmac_secret_key": "s3cret", "api_key": "k3y", "port": port})
	r := e.run("bench", "-c", cfg, "--conns", "5", "--messages", "20", "--user", "u", "--rate", "1000")
	r.expect(t, ExitOK)
	for _, s := range []string{"connect     5/5", "delivery    100/100  lost 0  duplicates 0", "latency ms", "generator", "num_clients"} {
		if !strings.Contains(r.out.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, r.out)
		}
	}
}

// fakeServer plays a uni_websocket endpoint that grants the channel but
// never delivers, and an API that answers publishes with status.
func fakeServer(t *testing.T, status int) (ws, api string) {
	t.Helper()
	ws = newWSServer(t, func(t *testing.T, n int, c *websocket.Conn, req *core.ConnectRequest) {
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"connect":{"client":"c","subs":{"bench":{}}}}`))
		drainWS(c)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		if r.URL.Path == "/api/info" {
			_, _ = w.Write([]byte(`{"result":{"nodes":[{"name":"n","num_clients":2,"process":{"rss":123}}]}}`))
			return
		}
		_, _ = w.Write([]byte(`{"result":{}}`))
	}))
	t.Cleanup(srv.Close)
	return ws, srv.URL
}

func drainWS(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

func TestBenchExitCodes(t *testing.T) {
	t.Parallel()
	ws, api := fakeServer(t, http.StatusOK)
	_, refusing := fakeServer(t, http.StatusUnauthorized)
	_, failing := fakeServer(t, http.StatusServiceUnavailable)
	base := []string{"bench", "--server", ws, "--token", "t", "--api-key", "k", "--conns", "2", "--messages", "3", "--drain-timeout", "50ms", "--json"}
	keyless := []string{"bench", "--server", ws, "--token", "t", "--conns", "2", "--json"}
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"loss", append(base, "--api", api), ExitError, `"lost": 6`},
		{"loss allowed", append(base, "--api", api, "--allow-loss"), ExitOK, `"process.rss": 123`},
		// A refused key stops the run before it opens any connection.
		{"auth refused", append(base, "--api", refusing), ExitAuth, `"target"`},
		// Without a key a run can connect, not publish.
		{"connect only without a key", append(keyless, "--api", refusing, "--messages", "0"), ExitOK, `"connected": 2`},
		{"publishing without a key", append(keyless, "--api", api), ExitUsage, ""},
		{"connect only", append(base, "--api", api, "--messages", "0"), ExitOK, `"connected": 2`},
		// Failed publishes are not "0 lost", even with --allow-loss.
		{"publishes failed", append(base, "--api", failing, "--allow-loss"), ExitError, `"failed": 3`},
		{"auth refused without publishing", append(base, "--api", refusing, "--messages", "0"), ExitAuth, `"connected": 2`},
		{"no conns", []string{"bench", "--conns", "0"}, ExitUsage, ""},
		{"token and user", []string{"bench", "--token", "t", "--user", "u"}, ExitUsage, ""},
		{"small payload", []string{"bench", "--payload", "10"}, ExitUsage, ""},
		{"negative rate", []string{"bench", "--rate", "-1"}, ExitUsage, ""},
		{"no inflight", []string{"bench", "--inflight", "0"}, ExitUsage, ""},
		{"no such pid", append(base, "--api", api, "--pid", "999999999"), ExitUsage, ""},
		{"negative dial concurrency", []string{"bench", "--dial-concurrency", "-5"}, ExitUsage, ""},
		{"no token source", []string{"bench", "--server", ws, "--api-key", "k"}, ExitError, ""},
		{"unknown reader", []string{"bench", "--reader", "epoll"}, ExitUsage, ""},
		// The ring cannot read TLS; asked for, it is an error, not a quiet fallback.
		{"ring over wss", []string{"bench", "--server", "wss://127.0.0.1:1", "--token", "t", "--messages", "0", "--reader", "io_uring"}, ExitError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestEnv(t).run(tt.args...)
			r.expect(t, tt.code)
			if !strings.Contains(r.out.String(), tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, r.out)
			}
		})
	}
}

func TestBenchHelpDocumentsFlags(t *testing.T) {
	t.Parallel()
	r := newTestEnv(t).run("bench", "--help")
	r.expect(t, ExitOK)
	for _, flag := range []string{"--conns", "--dial-concurrency", "--source-ips", "--token", "--secret", "--user",
		"--messages", "--payload", "--channel", "--api", "--api-key", "--inflight", "--rate", "--duration",
		"--pid", "--sample", "--json", "--allow-loss", "Examples:"} {
		if !strings.Contains(r.out.String(), flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}
