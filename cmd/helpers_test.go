package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a writer that tests can read and wait on while a command
// still writes to it from other goroutines.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until the buffer holds s.
func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	b.waitForWithin(t, s, 10*time.Second)
}

// waitForWithin is waitFor with a limit of d.
func (b *syncBuffer) waitForWithin(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		b.mu.Lock()
		found, changed := strings.Contains(b.buf.String(), s), b.changed
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %q within %s in:\n%s", s, d, b.String())
		}
	}
}

// testEnv runs commands with captured streams, a fake environment and
// temporary config and working directories.
type testEnv struct {
	t         *testing.T
	env       map[string]string
	configDir string
	workDir   string
	outTTY    bool
	inTTY     bool
	stdin     io.Reader // when set, replaces the stdin string of start
	now       time.Time
	setup     func(*factory)
}

func newTestEnv(t *testing.T) *testEnv {
	return &testEnv{t: t, env: map[string]string{}, configDir: t.TempDir(), workDir: t.TempDir()}
}

// run is one command run; done is closed when it returned.
type run struct {
	out, errOut *syncBuffer
	code        int
	done        chan struct{}
}

func (r *run) wait(t *testing.T) *run {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("command did not return within 20s")
	}
	return r
}

// start runs args in the background with stdin.
func (e *testEnv) start(ctx context.Context, stdin string, args ...string) *run {
	r := &run{out: newSyncBuffer(), errOut: newSyncBuffer(), done: make(chan struct{})}
	var in io.Reader = strings.NewReader(stdin)
	if e.stdin != nil {
		in = e.stdin
	}
	ios := &IOStreams{
		In: in, Out: r.out, ErrOut: r.errOut, OutTTY: e.outTTY, InTTY: e.inTTY,
		Getenv:    func(k string) string { return e.env[k] },
		ConfigDir: func() (string, error) { return e.configDir, nil },
		WorkDir:   e.workDir,
	}
	f := newFactory(ios)
	if !e.now.IsZero() {
		f.now = func() time.Time { return e.now }
	}
	if e.setup != nil {
		e.setup(f)
	}
	go func() {
		defer close(r.done)
		r.code = execute(ctx, f, args)
	}()
	return r
}

// run runs args to completion.
func (e *testEnv) run(args ...string) *run {
	e.t.Helper()
	return e.start(e.t.Context(), "", args...).wait(e.t)
}

// runIn runs args to completion with stdin.
func (e *testEnv) runIn(stdin string, args ...string) *run {
	e.t.Helper()
	return e.start(e.t.Context(), stdin, args...).wait(e.t)
}

func (r *run) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out, r.errOut)
	}
}

// writeConfig writes a JSON config file and returns its path.
func writeConfig(t *testing.T, dir string, cfg map[string]any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var _ io.Writer = (*syncBuffer)(nil)
