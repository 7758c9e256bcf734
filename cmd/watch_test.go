package cmd

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
)

const (
	connect1 = `{"connect":{"client":"c1","version":"0.0.0","subs":{"#test_user":{}},"ping":25,"session":"s1"}}`
	connect2 = `{"connect":{"client":"c2","version":"0.0.0","subs":{"#test_user":{}},"ping":25,"session":"s2"}}`
	pub1     = `{"channel":"#test_user","pub":{"data":{"text": "hi"}}}`
	pub2     = `{"channel":"#test_user","pub":{"data":2}}`
)

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

func TestWatchPrintsNDJSONUntilTerminalDisconnect(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if n > 1 {
			t.Error("reconnected after 3500")
		}
		if req.Token != "tok" || req.Name != "uniws" {
			t.Errorf("connect request %+v", req)
		}
		send(t, ws, connect1, `{}`, pub1+"\n{}\n"+pub2)
		disconnect(t, ws, core.CodeInvalidToken)
	})
	e := newTestEnv(t)
	r := e.run("watch", "--server", url, "--token", "tok")
	r.expect(t, ExitDisconnect)
	if want := lines(connect1, pub1, pub2, disconnectPush(core.CodeInvalidToken)); r.out.String() != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.out, want)
	}
	stderr := r.errOut.String()
	for _, s := range []string{"connecting\n", "connected: client c1, channels [#test_user], ping 25s", "ping\n",
		`disconnected: code 3500, reason "invalid token"`, core.CodeInvalidToken.Explain()} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if strings.Count(stderr, "ping\n") != 2 {
		t.Errorf("want 2 pings on stderr:\n%s", stderr)
	}
}

// TestWatchExplainsNoChannels: a connect push without subs gets a stderr
// note on where channels come from, once however often it reconnects; one
// with subs gets none.
func TestWatchExplainsNoChannels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		connect string
		notes   int
	}{
		{`{"connect":{"client":"c1","version":"0.0.0","ping":25,"session":"s1"}}`, 1},
		{connect1, 0},
	} {
		url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
			send(t, ws, tc.connect)
			if n == 1 {
				disconnect(t, ws, core.CodeForceReconnect)
				return
			}
			disconnect(t, ws, core.CodeInvalidToken)
		})
		e := newTestEnv(t)
		r := e.run("watch", "--server", url, "--token", "tok")
		r.expect(t, ExitDisconnect)
		stderr := r.errOut.String()
		if got := strings.Count(stderr, noChannels); got != tc.notes || strings.Count(stderr, "connected: client") != 2 {
			t.Errorf("%s: %d notes over two connections, want %d:\n%s", tc.connect, got, tc.notes, stderr)
		}
	}
}

// TestWatchEndsOnExpiredFixedToken: 3005 asks for a fresh token, which a
// --token watch cannot mint: it ends with exit 5 (-u would reconnect).
func TestWatchEndsOnExpiredFixedToken(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if n > 1 {
			t.Error("reconnected after 3005 with the same token")
		}
		disconnect(t, ws, core.CodeExpired)
	})
	r := newTestEnv(t).run("watch", "--server", url, "--token", "tok")
	r.expect(t, ExitDisconnect)
	if !strings.Contains(r.errOut.String(), `disconnected: code 3005, reason "connection expired"`) {
		t.Errorf("stderr:\n%s", r.errOut)
	}
}

func TestWatchShowPings(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connect1, `{}`, pub1)
		drain(ws)
	})
	e := newTestEnv(t)
	r := e.run("watch", "--server", url, "--show-pings", "--count", "1")
	r.expect(t, ExitOK)
	if want := lines(connect1, `{}`, pub1); r.out.String() != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.out, want)
	}
	if strings.Contains(r.errOut.String(), "ping\n") {
		t.Errorf("ping on stderr with --show-pings:\n%s", r.errOut)
	}
}

func TestWatchReconnectsOn3011(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if n == 1 {
			send(t, ws, connect1)
			disconnect(t, ws, core.CodeForceReconnect)
			return
		}
		send(t, ws, connect2, pub1)
		drain(ws)
	})
	e := newTestEnv(t)
	r := e.run("watch", "--server", url, "--count", "1", "--timeout", "20s")
	r.expect(t, ExitOK)
	if want := lines(connect1, disconnectPush(core.CodeForceReconnect), connect2, pub1); r.out.String() != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.out, want)
	}
	for _, s := range []string{"connection lost: disconnect 3011 force reconnect", "(attempt 1)", "connected: client c2"} {
		if !strings.Contains(r.errOut.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.errOut)
		}
	}
}

func TestWatchWithoutReconnectExitsOn3011(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connect1)
		disconnect(t, ws, core.CodeForceReconnect)
	})
	e := newTestEnv(t)
	r := e.run("watch", "--server", url, "--reconnect=false")
	r.expect(t, ExitDisconnect)
	if !strings.Contains(r.errOut.String(), "code 3011") {
		t.Errorf("stderr:\n%s", r.errOut)
	}
}

func TestWatchCountAndTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pubs  int
		args  []string
		code  int
		inErr string
	}{
		{"count reached", 3, []string{"--count", "2"}, ExitOK, ""},
		{"timeout first", 1, []string{"--count", "2", "--timeout", "200ms"}, ExitTimeout, "got 1 of 2 publications"},
		{"timeout without count", 1, []string{"--timeout", "200ms"}, ExitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
				send(t, ws, connect1)
				for range tt.pubs {
					send(t, ws, pub1)
				}
				drain(ws)
			})
			e := newTestEnv(t)
			r := e.run(append([]string{"watch", "--server", url}, tt.args...)...)
			r.expect(t, tt.code)
			if !strings.Contains(r.errOut.String(), tt.inErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inErr, r.errOut)
			}
		})
	}
}

func TestWatchTokenSources(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, token string)
	}{
		{"flag", []string{"--token", "flagtok"}, map[string]string{TokenEnv: "envtok"}, want("flagtok")},
		{"env", nil, map[string]string{TokenEnv: "envtok"}, want("envtok")},
		{"none", nil, nil, want("")},
		{"minted for -u", []string{"-u", "test_user"}, nil, func(t *testing.T, token string) {
			keys := &core.TokenKeys{HMAC: [][]byte{[]byte("secret")}}
			creds, err := keys.VerifyConnectToken(token, now)
			if err != nil || creds.User != "test_user" || creds.ExpireAt.IsZero() {
				t.Errorf("minted token: %+v, %v", creds, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tokens := make(chan string, 1)
			url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
				tokens <- req.Token
				send(t, ws, connect1, pub1)
				drain(ws)
			})
			e := newTestEnv(t)
			for k, v := range tt.env {
				e.env[k] = v
			}
			cfg := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "secret"})
			r := e.run(append([]string{"watch", "--server", url, "-c", cfg, "--count", "1"}, tt.args...)...)
			r.expect(t, ExitOK)
			tt.check(t, <-tokens)
		})
	}
}

func want(token string) func(*testing.T, string) {
	return func(t *testing.T, got string) {
		if got != token {
			t.Errorf("token %q, want %q", got, token)
		}
	}
}

func TestWatchRecoveryGap(t *testing.T) {
	t.Parallel()
	for _, failOnGap := range []bool{false, true} {
		t.Run(map[bool]string{false: "reported", true: "fail on gap"}[failOnGap], func(t *testing.T) {
			t.Parallel()
			url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
				switch n {
				case 1:
					send(t, ws, `{"connect":{"client":"c1","subs":{"h:a":{"recoverable":true,"epoch":"E","offset":4,"positioned":true}},"ping":25}}`)
					disconnect(t, ws, core.CodeInsufficientState)
				case 2:
					if sr := req.Subs["h:a"]; sr == nil || *sr != (core.SubscribeRequest{Recover: true, Offset: 4, Epoch: "E"}) {
						t.Errorf("recovery request %+v", req.Subs)
					}
					send(t, ws, `{"connect":{"client":"c2","subs":{"h:a":{"recoverable":true,"epoch":"F","offset":9,"positioned":true,"was_recovering":true}},"ping":25}}`, pub1)
					drain(ws)
				}
			})
			e := newTestEnv(t)
			args := []string{"watch", "--server", url, "--count", "1"}
			code := ExitOK
			if failOnGap {
				args, code = append(args, "--fail-on-gap"), ExitGap
			}
			r := e.run(args...)
			r.expect(t, code)
			if s := `channel h:a: asked to recover from offset 4 (epoch "E"), the stream is at offset 9 (epoch "F")`; !strings.Contains(r.errOut.String(), s) {
				t.Errorf("stderr lacks %q:\n%s", s, r.errOut)
			}
		})
	}
}

func TestRequestedChannels(t *testing.T) {
	t.Parallel()
	since := map[string]client.Position{"b": {Offset: 1}, "a": {Offset: 2}, "s": {Offset: 3}}
	got := requestedChannels([]string{"s", "z"}, since)
	if want := []string{"s", "z", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("requestedChannels = %v, want %v", got, want)
	}
	if got := requestedChannels(nil, nil); len(got) != 0 {
		t.Errorf("requestedChannels(nil, nil) = %v", got)
	}
}

func TestWatchReportsRefusedSubsAndTerminalFallback(t *testing.T) {
	t.Parallel()
	subs := make(chan map[string]*core.SubscribeRequest, 1)
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		subs <- req.Subs
		send(t, ws, connect1, pub1)
		drain(ws)
	})
	e := newTestEnv(t)
	e.outTTY = true
	r := e.run("watch", "--server", strings.TrimSuffix(strings.Replace(url, "ws://", "http://", 1), "/connection/uni_websocket"),
		"--sub", "abc", "--sub", "#test_user", "--since", "h:x:5", "--count", "1")
	r.expect(t, ExitOK)
	if got := <-subs; len(got) != 3 || got["abc"] == nil || got["#test_user"] == nil || got["h:x"] == nil {
		t.Errorf("requested subs %v", got)
	}
	// A channel asked for only by --since is reported as well.
	for _, s := range []string{"not subscribed to abc: the server refused it", "not subscribed to h:x: the server refused it"} {
		if !strings.Contains(r.errOut.String(), s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.errOut)
		}
	}
	if strings.Contains(r.errOut.String(), "not subscribed to #test_user") {
		t.Errorf("granted channel reported refused:\n%s", r.errOut)
	}
	if r.out.String() != lines(connect1, pub1) {
		t.Errorf("stdout %q", r.out)
	}
}

// TestWatchFullScreen runs the full-screen view on a terminal: it shows the
// stream and quits on q.
func TestWatchFullScreen(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		// The screen may quit on its "q" before these are written.
		for _, frame := range []string{connect1, pub1} {
			if ws.WriteMessage(websocket.TextMessage, []byte(frame)) != nil {
				return
			}
		}
		drain(ws)
	})
	e := newTestEnv(t)
	e.outTTY, e.inTTY = true, true
	r := e.runIn("q", "watch", "--server", url, "--token", "t", "--sub", "abc")
	r.expect(t, ExitOK)
	if !strings.Contains(r.out.String(), "uniws") || !strings.Contains(r.out.String(), url) {
		t.Errorf("screen lacks its header:\n%s", r.out)
	}
}

// TestWatchOnADumbTerminalStreams: TERM=dumb (Emacs' shell, expect
// scripts) cannot show the full-screen view, so watch prints NDJSON there.
func TestWatchOnADumbTerminalStreams(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connect1, pub1)
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(3501, "bad request"))
		drain(ws)
	})
	e := newTestEnv(t)
	e.outTTY, e.inTTY = true, true
	e.env["TERM"] = "dumb"
	r := e.run("watch", "--server", url, "--token", "t")
	r.expect(t, ExitDisconnect)
	if r.out.String() != lines(connect1, pub1) {
		t.Errorf("stdout %q, want the pushes as NDJSON", r.out)
	}
}

func TestWatchUsageAndConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"token and user", []string{"--server", "ws://127.0.0.1:1", "--token", "t", "-u", "u"}, ExitUsage, "exclude each other"},
		{"negative count", []string{"--count", "-1"}, ExitUsage, "--count"},
		{"bad duration", []string{"--timeout", "soon"}, ExitUsage, "invalid argument"},
		{"bad scheme", []string{"--server", "ftp://host/x"}, ExitUsage, "scheme must be ws or wss"},
		{"extra argument", []string{"news"}, ExitUsage, "unknown command"},
		{"user without config", []string{"-u", "u"}, ExitError, "uniws serve"},
		{"unreachable without reconnect", []string{"--server", "ws://127.0.0.1:1", "--reconnect=false"}, ExitError, "dial ws://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestEnv(t).run(append([]string{"watch"}, tt.args...)...)
			r.expect(t, tt.code)
			if !strings.Contains(r.errOut.String(), tt.err) {
				t.Errorf("stderr lacks %q:\n%s", tt.err, r.errOut)
			}
		})
	}
}

// TestServerURLs: what watch dials and where publish calls the API, for
// the --server values users give.
func TestServerURLs(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		f     func(string) string
		cases map[string]string
	}{
		"wsURL": {wsURL, map[string]string{
			"ws://h:1/connection/uni_websocket":  "ws://h:1/connection/uni_websocket",
			"http://h:1":                         "ws://h:1/connection/uni_websocket",
			"https://h":                          "wss://h/connection/uni_websocket",
			"h:8000":                             "ws://h:8000/connection/uni_websocket",
			"wss://h/custom?x=1":                 "wss://h/custom?x=1",
			"http://h:1/":                        "ws://h:1/connection/uni_websocket",
			"ws://h:1/connection/uni_websocket/": "ws://h:1/connection/uni_websocket",
			"ws://h:1?x=1":                       "ws://h:1/connection/uni_websocket?x=1",
			"ws://h:1/?x=1":                      "ws://h:1/connection/uni_websocket?x=1",
			"HTTPS://h":                          "wss://h/connection/uni_websocket",
			"https://h/prefix/connection/uni_websocket": "wss://h/prefix/connection/uni_websocket",
		}},
		"apiBase": {apiBase, map[string]string{
			"http://h:1":                        "http://h:1",
			"http://h:1/":                       "http://h:1",
			"h:1":                               "http://h:1",
			"ws://h:1":                          "http://h:1",
			"ws://h:1/connection/uni_websocket": "http://h:1",
			"wss://h/connection/uni_websocket?cf_connect=x": "https://h",
			"https://h/rt/":                       "https://h/rt",
			"wss://h/rt/connection/uni_websocket": "https://h/rt",
			"ftp://h":                             "ftp://h",
			"wss://h/connection/uni_websocket/":   "https://h",
		}},
	} {
		for in, want := range c.cases {
			if got := c.f(in); got != want {
				t.Errorf("%s(%q) = %q, want %q", name, in, got, want)
			}
		}
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	good := map[string]client.Position{
		"news:5":             {Offset: 5},
		"hist:r:7":           {Offset: 7},
		"hist:r:7:abcdEFGH":  {Offset: 7, Epoch: "abcdEFGH"},
		"#user:0:epochxyz":   {Offset: 0, Epoch: "epochxyz"},
		"ns:a:b:12:qwertyui": {Offset: 12, Epoch: "qwertyui"},
	}
	for in, want := range good {
		got, err := parseSince([]string{in})
		if err != nil || len(got) != 1 {
			t.Errorf("%q: %v %v", in, got, err)
			continue
		}
		for _, pos := range got {
			if pos != want {
				t.Errorf("%q: got %+v, want %+v", in, pos, want)
			}
		}
	}
	for _, bad := range []string{"news", "news:x", ":5", "a:b:c"} {
		if _, err := parseSince([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestWatchSinceRecovers starts watch from a known position on a real
// server and gets the publications after it, marked as recovered.
func TestWatchSinceRecovers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t)
	cfgPath := filepath.Join(t.TempDir(), "config.json")
	cfg := `{"token_hmac_secret_key":"s","api_key":"k","port":` + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) +
		`,"namespaces":[{"name":"hist","history_size":10,"history_ttl":"300s","force_recovery":true,"allow_subscribe_for_client":true}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.setup = func(f *factory) {
		f.listen = func(context.Context, string) (net.Listener, error) { return ln, nil }
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	serve := e.start(ctx, "", "serve", "-c", cfgPath)
	serve.errOut.waitFor(t, "serving")
	var epoch string
	for i := 1; i <= 3; i++ {
		pub := e.run("publish", "-c", cfgPath, "hist:a", `{"i":`+strconv.Itoa(i)+`}`)
		pub.expect(t, ExitOK)
		var res struct{ Epoch string }
		if err := json.Unmarshal([]byte(pub.out.String()), &res); err != nil {
			t.Fatalf("publish output %q", pub.out)
		}
		epoch = res.Epoch
	}
	w := e.run("watch", "-c", cfgPath, "-u", "u", "--since", "hist:a:1:"+epoch, "--count", "2", "--timeout", "20s")
	w.expect(t, ExitOK)
	lines := strings.Split(strings.TrimSpace(w.out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `"offset":2`) || !strings.Contains(lines[2], `"offset":3`) {
		t.Fatalf("watch output:\n%s", w.out)
	}
	// stdout keeps the wire's shape; stderr marks the recovered lines.
	if s := "recovered 2 missed publication(s) on hist:a: the next 2 line(s) for it"; !strings.Contains(w.errOut.String(), s) {
		t.Errorf("stderr lacks %q:\n%s", s, w.errOut)
	}
}

// TestWatchFullScreenAgainstRealServer runs the full-screen view against a
// real server: the connect, a refused channel and a publication appear,
// and q quits with exit 0.
func TestWatchFullScreenAgainstRealServer(t *testing.T) {
	t.Parallel()
	e, cfgPath, _ := serveForWatch(t)
	keys, typing := io.Pipe()
	defer typing.Close()
	screen := &testEnv{t: t, env: e.env, configDir: e.configDir, workDir: e.workDir, outTTY: true, inTTY: true, stdin: keys}
	w := screen.start(t.Context(), "", "watch", "-c", cfgPath, "-u", "test_user", "--sub", "abc")
	// The first frame already says "not connected"; the heartbeat's "since
	// connect" appears only once the connect reply, sent after the server
	// subscribed the session, has arrived.
	w.out.waitFor(t, "since connect")
	e.run("publish", "-c", cfgPath, "#test_user", `{"text":"hello-tui"}`).expect(t, ExitOK)
	w.out.waitFor(t, "hello-tui")
	if !strings.Contains(w.out.String(), "abc") || !strings.Contains(w.out.String(), "refused") {
		t.Errorf("the refused channel is not shown:\n%s", w.out)
	}
	if _, err := typing.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	w.wait(t).expect(t, ExitOK)
}

// TestWatchFullScreenExitCodes: the full-screen view stays open when the
// server ends the connection for good, and quitting it then exits 5, as
// the stream mode does; without a terminal on stdin watch streams NDJSON.
func TestWatchFullScreenExitCodes(t *testing.T) {
	t.Parallel()
	e, cfgPath, addr := serveForWatch(t)
	keys, typing := io.Pipe()
	defer typing.Close()
	screen := &testEnv{t: t, env: e.env, configDir: e.configDir, workDir: e.workDir, outTTY: true, inTTY: true, stdin: keys}
	w := screen.start(t.Context(), "", "watch", "-c", cfgPath, "-u", "test_user")
	w.out.waitFor(t, "since connect")
	ban(t, addr)
	w.out.waitFor(t, "closed")
	if _, err := typing.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	w.wait(t).expect(t, ExitDisconnect)

	// stdout a terminal, stdin not: NDJSON, not a screen without keys.
	stream := &testEnv{t: t, env: e.env, configDir: e.configDir, workDir: e.workDir, outTTY: true}
	s := stream.start(t.Context(), "", "watch", "-c", cfgPath, "-u", "test_user", "--reconnect=false")
	s.out.waitFor(t, `{"connect":`)
	ban(t, addr)
	s.wait(t).expect(t, ExitDisconnect)
}

// serveForWatch runs `uniws serve` on 127.0.0.1:0 until the test ends,
// with user_subscribe_to_personal, and returns the environment, the
// configuration's path and the server's address.
func serveForWatch(t *testing.T) (e *testEnv, cfgPath, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e = newTestEnv(t)
	cfgPath = filepath.Join(t.TempDir(), "config.json")
	cfg := `{"token_hmac_secret_key":"s","api_key":"k","user_subscribe_to_personal":true,"port":` + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + `}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.setup = func(f *factory) {
		f.listen = func(context.Context, string) (net.Listener, error) { return ln, nil }
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	serve := e.start(ctx, "", "serve", "-c", cfgPath)
	serve.errOut.waitFor(t, "serving")
	return e, cfgPath, ln.Addr().String()
}

// ban disconnects test_user with 4501 (terminal) through the API at addr.
func ban(t *testing.T, addr string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/disconnect",
		strings.NewReader(`{"user":"test_user","disconnect":{"code":4501,"reason":"banned"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if strings.TrimSpace(string(body)) != `{"result":{}}` {
		t.Fatalf("disconnect: %s", body)
	}
}

// TestWatchStderrShowsServerControlsEscaped: a reason chosen by the server
// reaches stderr with its control characters as \u escapes, not as escape
// sequences for the terminal.
func TestWatchStderrShowsServerControlsEscaped(t *testing.T) {
	t.Parallel()
	const evil = "bye\x1b]0;TITLE\x07"
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, connect1)
		if n == 1 {
			d := core.Disconnect{Code: 3001, Reason: evil}
			send(t, ws, string((&core.Push{Disconnect: &d}).AppendJSON(nil)))
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(3001, evil), time.Now().Add(time.Second))
			drain(ws)
			return
		}
		disconnect(t, ws, core.CodeInvalidToken)
	})
	e := newTestEnv(t)
	r := e.run("watch", "--server", url, "--token", "tok")
	r.expect(t, ExitDisconnect)
	stderr := r.errOut.String()
	if strings.ContainsAny(stderr, "\x1b\x07") {
		t.Fatalf("stderr carries the server's controls: %q", stderr)
	}
	if !strings.Contains(stderr, `bye\u001b]0;TITLE\u0007`) {
		t.Errorf("stderr lacks the escaped reason:\n%s", stderr)
	}
}

// TestWatchFullScreenWarnsBeforeReconnecting: when pings stop, the screen
// warns that nothing arrives before the client gives up and reconnects.
func TestWatchFullScreenWarnsBeforeReconnecting(t *testing.T) {
	t.Parallel()
	url := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, `{"connect":{"client":"c1","version":"0.0.0","subs":{"#test_user":{}},"ping":1,"session":"s1"}}`)
		drain(ws) // and no pings
	})
	keys, typing := io.Pipe()
	defer typing.Close()
	e := newTestEnv(t)
	e.outTTY, e.inTTY, e.stdin = true, true, keys
	w := e.start(t.Context(), "", "watch", "--server", url, "--token", "t")
	w.out.waitFor(t, "since connect")
	w.out.waitForWithin(t, "nothing received", 30*time.Second) // 6 s of silence: ping 1 s + half the grace
	if strings.Contains(w.out.String(), "reconnecting") {
		t.Errorf("reconnected before warning:\n%s", w.out)
	}
	if _, err := typing.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	w.wait(t).expect(t, ExitOK)
}

func TestDescribeGap(t *testing.T) {
	t.Parallel()
	moved := describeGap(client.Gap{Channel: "c", From: client.Position{Offset: 5, Epoch: "e"}, To: client.Position{Offset: 7, Epoch: "e"}})
	if !strings.Contains(moved, `the stream is at offset 7 (epoch "e")`) {
		t.Errorf("moved: %s", moved)
	}
	// A channel with history but no positioning answers without a position.
	none := describeGap(client.Gap{Channel: "c", From: client.Position{Offset: 5, Epoch: "e"}})
	if !strings.Contains(none, "keeps no position to recover from") || strings.Contains(none, "offset 0") {
		t.Errorf("no position: %s", none)
	}
}
