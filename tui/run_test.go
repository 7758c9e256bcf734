package tui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Read(p)
}

func TestRunQuitsOnKeyAndRestoresTerminal(t *testing.T) {
	t.Parallel()
	src := make(chan Event)
	defer close(src)
	var out syncBuffer
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Chan(src), pr, &out, Options{ServerURL: url, Renderer: plainRenderer()})
	}()
	src <- connect(t0, "a")
	teatest.WaitFor(t, &out, func(b []byte) bool {
		return strings.Contains(ansi.Strip(string(b)), "● connected")
	}, teatest.WithDuration(wait))
	if _, err := pw.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after q: %v", err)
	}
	_ = pw.Close()
	// The alternate screen is left on the way out.
	rest, _ := io.ReadAll(&out)
	if !bytes.Contains(rest, []byte(ansi.ResetModeAltScreenSaveCursor)) {
		t.Errorf("alternate screen not left: %q", rest)
	}
}

func TestRunEndsWithContext(t *testing.T) {
	t.Parallel()
	src := make(chan Event) // never closed: Run must not wait for it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Chan(src), nil, io.Discard, Options{}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// env is a fixed environment for termenv.
type env map[string]string

func (e env) Getenv(k string) string { return e[k] }

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func TestColoursFollowTerminalAndNoColor(t *testing.T) {
	t.Parallel()
	colour := func(e env, noColor bool) bool {
		r := lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(e))
		m := model(t, Options{Renderer: r, NoColor: noColor}, 100, 30, connect(t0, "a"), pub(t0, "a", 1, `{"k":"v"}`))
		return strings.Contains(m.View(), "\x1b[3") || strings.Contains(m.View(), "\x1b[9")
	}
	term := env{"TERM": "xterm-256color"}
	if !colour(term, false) {
		t.Error("no colours on a colour terminal")
	}
	if colour(env{"TERM": "xterm-256color", "NO_COLOR": "1"}, false) {
		t.Error("colours despite NO_COLOR")
	}
	if colour(term, true) {
		t.Error("colours despite Options.NoColor")
	}
	if colour(env{"TERM": "dumb"}, false) {
		t.Error("colours on a dumb terminal")
	}
}

func TestGatherBatches(t *testing.T) {
	t.Parallel()
	src := make(chan Event, 10)
	for range 10 {
		src <- ping(t0)
	}
	if msg := gather(src, nil, time.Hour, 4).(batchMsg); len(msg.events) != 4 || msg.closed {
		t.Errorf("capped batch: %d events, closed %v", len(msg.events), msg.closed)
	}
	close(src)
	if msg := gather(src, nil, time.Hour, 100).(batchMsg); len(msg.events) != 6 || !msg.closed {
		t.Errorf("last batch: %d events, closed %v", len(msg.events), msg.closed)
	}
	if msg := gather(src, nil, time.Hour, 100).(batchMsg); len(msg.events) != 0 || !msg.closed {
		t.Errorf("after close: %+v", msg)
	}

	done := make(chan struct{})
	close(done)
	if msg := gather(make(chan Event), done, time.Hour, 100); msg != nil {
		t.Errorf("after done: %v", msg)
	}
}
