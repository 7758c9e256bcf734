//go:build unix

package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestRunLeavesSignalsToTheCaller: a SIGINT that the caller turns into
// cancelling ctx (as uniws's main does) ends Run with ctx's error; Bubble
// Tea does not handle the signal too (it could end with "interrupted", or
// block for good on a signal that came as its loop ended). The signal goes
// to a whole process, so the check runs in a child process of its own.
func TestRunLeavesSignalsToTheCaller(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UNIWS_TUI_SIGNAL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if string(out) != "canceled\n" {
		t.Fatalf("child said %q, want the context's cancellation", out)
	}
}

// signalChild runs Run, sends its own process SIGINT, cancels Run's context
// as uniws's main does, and prints how Run ended; it exits 3 if Run does
// not return.
func signalChild() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	src := make(chan Event)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Chan(src), nil, io.Discard, Options{}) }()
	src <- Event{Kind: KindPing} // Run's loop is going
	_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	select {
	case err := <-done:
		if errors.Is(err, context.Canceled) {
			os.Stdout.WriteString("canceled\n")
			return
		}
		os.Stdout.WriteString("ended with: " + err.Error() + "\n")
	case <-time.After(10 * time.Second):
		os.Stdout.WriteString("Run did not return\n")
		os.Exit(3)
	}
}
