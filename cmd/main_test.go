package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitError},
		{fmt.Errorf("publish to a: %w", &core.Error{Code: 107, Message: "bad request"}), ExitError},
		{usageErrorf("uniws publish", "bad"), ExitUsage},
		{fmt.Errorf("wrapped: %w", &usageError{err: errors.New("x")}), ExitUsage},
		{&timeoutError{msg: "late"}, ExitTimeout},
		{fmt.Errorf("publish: %w", client.ErrAuthRefused), ExitAuth},
		{&disconnectError{code: core.CodeInvalidToken, reason: "invalid token"}, ExitDisconnect},
		{&gapError{gap: client.Gap{Channel: "a"}}, ExitGap},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.run("version")
	r.expect(t, ExitOK)
	if r.out.String() != "uniws "+buildVersion()+"\n" {
		t.Errorf("version output %q", r.out)
	}
	r = e.run("--version")
	r.expect(t, ExitOK)
	if r.out.String() != "uniws "+buildVersion()+"\n" {
		t.Errorf("--version output %q", r.out)
	}
	r = e.run("version", "--json")
	r.expect(t, ExitOK)
	var v map[string]string
	if err := json.Unmarshal([]byte(r.out.String()), &v); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": buildVersion(), "commit": commit, "date": date, "go": runtime.Version()}
	if len(v) != len(want) {
		t.Errorf("version --json = %v, want %v", v, want)
	}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("version --json %s = %q, want %q", k, v[k], w)
		}
	}
}

func TestHelpExitCodesListsEveryCode(t *testing.T) {
	t.Parallel()
	r := newTestEnv(t).run("help", "exit-codes")
	r.expect(t, ExitOK)
	for _, s := range []string{"0  success", "1  an error", "2  usage", "3  timeout", "4  auth refused", "5  terminal disconnect", "6  recovery gap"} {
		if !strings.Contains(r.out.String(), s) {
			t.Errorf("help exit-codes lacks %q:\n%s", s, r.out)
		}
	}
}

func TestRootUsage(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.run()
	r.expect(t, ExitOK)
	if !strings.Contains(r.out.String(), "uniws gentoken -u test_user") {
		t.Errorf("root help:\n%s", r.out)
	}
	r = e.run("bogus")
	r.expect(t, ExitUsage)
	if !strings.Contains(r.errOut.String(), `unknown command "bogus"`) || !strings.Contains(r.errOut.String(), "Run 'uniws --help' for usage.") {
		t.Errorf("stderr:\n%s", r.errOut)
	}
	r = e.run("gentoken", "--nope")
	r.expect(t, ExitUsage)
	if !strings.Contains(r.errOut.String(), "Run 'uniws gentoken --help' for usage.") {
		t.Errorf("stderr:\n%s", r.errOut)
	}
	e.run("publish", "--help").expect(t, ExitOK)
}

// TestFlagsToOptions checks the first layer of each command: flags and
// arguments parsed into its options, without running it.
func TestFlagsToOptions(t *testing.T) {
	t.Parallel()
	f := newFactory(&IOStreams{})
	var w *watchOptions
	cmd := newWatchCmd(f, func(_ context.Context, o *watchOptions) error { w = o; return nil })
	cmd.SetArgs([]string{"--server", "ws://h/x", "-u", "", "--sub", "a", "--sub", "b", "--count", "3", "--timeout", "2s", "--reconnect=false", "--json", "--show-pings", "--fail-on-gap"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if w.Server != "ws://h/x" || !w.UserSet || w.User != "" || strings.Join(w.Subs, ",") != "a,b" || w.Count != 3 ||
		w.Timeout.String() != "2s" || w.Reconnect || !w.JSON || !w.ShowPings || !w.FailOnGap || w.RunTUI == nil {
		t.Errorf("watch options %+v", w)
	}

	var p *publishOptions
	cmd = newPublishCmd(f, func(_ context.Context, o *publishOptions) error { p = o; return nil })
	cmd.SetArgs([]string{"news", "-", "--server", "http://h", "--api-key", "k", "--json", "-q", "-c", "x.json", "--timeout", "5s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if *p != (publishOptions{ConfigPath: "x.json", Server: "http://h", APIKey: "k", Channel: "news", Data: "-", DataSet: true, JSON: true, Quiet: true, Timeout: 5 * time.Second}) {
		t.Errorf("publish options %+v", p)
	}

	var g *gentokenOptions
	cmd = newGentokenCmd(f, func(_ context.Context, o *gentokenOptions) error { g = o; return nil })
	cmd.SetArgs([]string{"-u", "42", "-t", "-1", "-q", "-c", "c.yaml"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*g, gentokenOptions{ConfigPath: "c.yaml", User: "42", TTL: -1, Quiet: true, Alg: "HS256"}) {
		t.Errorf("gentoken options %+v", g)
	}
	cmd = newGentokenCmd(f, func(_ context.Context, o *gentokenOptions) error { g = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || g.TTL != defaultTokenTTL {
		t.Errorf("default TTL %d, %v", g.TTL, err)
	}

	var s *serveOptions
	cmd = newServeCmd(f, func(_ context.Context, o *serveOptions) error { s = o; return nil })
	cmd.SetArgs([]string{"--port", "0", "--log-level", "debug"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if *s != (serveOptions{Port: 0, PortSet: true, LogLevel: "debug", LogFormat: "text", DebugAddr: defaultDebugAddress}) {
		t.Errorf("serve options %+v", s)
	}
	cmd = newServeCmd(f, func(_ context.Context, o *serveOptions) error { s = o; return nil })
	cmd.SetArgs([]string{"--log-format", "json", "--debug", "--debug-address", "127.0.0.1:7070"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if *s != (serveOptions{LogLevel: "info", LogFormat: "json", Debug: true, DebugAddr: "127.0.0.1:7070"}) {
		t.Errorf("serve options %+v", s)
	}
}

// Every command's exit codes are the documented ones.
func TestNewCommandsExitCodesAreDocumented(t *testing.T) {
	t.Parallel()
	r := newTestEnv(t).run("help", "exit-codes")
	for _, s := range []string{"checkconfig found a problem", "checktoken found a token", "doctor had a failed check", "genconfig found the file", "unknown shell"} {
		if !strings.Contains(r.out.String(), s) {
			t.Errorf("help exit-codes lacks %q:\n%s", s, r.out)
		}
	}
	r = newTestEnv(t).run("--help")
	for _, c := range []string{"genconfig", "checkconfig", "checktoken", "doctor", "completion"} {
		if !strings.Contains(r.out.String(), "  "+c+" ") {
			t.Errorf("root help does not list %s:\n%s", c, r.out)
		}
	}
}
