//go:build unix

package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestRunLeavesSignalsToTheCaller: a SIGINT that the caller turns into
// cancelling ctx (as uniws's main does) ends Run with ctx's error; Bubble
// Tea does not handle the signal too (it could end with "interrupted", or
// block for good on a signal that came as its loop ended). Not parallel:
// the signal goes to the whole test process.
func TestRunLeavesSignalsToTheCaller(t *testing.T) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt) // the caller's handler; also keeps the process alive
	defer signal.Stop(sig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := make(chan Event)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Chan(src), nil, io.Discard, Options{}) }()
	src <- connect(t0, "a") // Run's loop is going
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-sig
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after SIGINT: %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return after SIGINT and cancel")
	}
}
