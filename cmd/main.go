// Package cmd holds the uniws commands. Each is built by a constructor from
// a factory (IOStreams plus the few outside dependencies a command has),
// parses its flags into an options struct and runs from there, returning
// errors instead of printing them and exiting. Main turns those errors into
// exit codes.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
)

// Main runs uniws with the process's arguments (without the program name)
// and streams, and returns the exit code. SIGINT and SIGTERM cancel the
// running command, which then ends cleanly; a second signal ends the
// process at once. Main (through execute) is the one place where errors
// become exit codes.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return execute(ctx, newFactory(System()), args)
}

// execute runs one command line and maps its outcome to an exit code,
// printing the error, if any, to ErrOut.
func execute(ctx context.Context, f *factory, args []string) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errOutputClosed) {
		// As SIGPIPE ends a command writing to its closed stdout:
		// nobody reads, nothing to say.
		return ExitOutputClosed
	}
	fmt.Fprintf(f.ios.ErrOut, "uniws: %v\n", err)
	var usage *usageError
	if errors.As(err, &usage) && usage.cmd != "" {
		fmt.Fprintf(f.ios.ErrOut, "Run '%s --help' for usage.\n", usage.cmd)
	}
	return exitCode(err)
}

// serveRunner is what serve needs from a server.
type serveRunner interface {
	Serve(ctx context.Context, ln net.Listener) error
}

// factory carries what commands need from outside: the streams, and hooks
// that tests replace (the server constructor, the listener, the clock).
type factory struct {
	ios       *IOStreams
	newServer func(cfg *core.Config, log *slog.Logger, version string) (serveRunner, error)
	listen    func(ctx context.Context, addr string) (net.Listener, error)
	now       func() time.Time
}

func newFactory(ios *IOStreams) *factory {
	return &factory{
		ios: ios,
		newServer: func(cfg *core.Config, log *slog.Logger, version string) (serveRunner, error) {
			return server.New(cfg, server.WithLogger(log), server.WithVersion(version))
		},
		listen: func(ctx context.Context, addr string) (net.Listener, error) {
			// No TCP keep-alive on accepted connections: four setsockopt
			// calls per connection, and WebSocket sessions find dead
			// peers by ping and pong timeout, idle HTTP connections by
			// the server's idle timeout.
			lc := net.ListenConfig{KeepAlive: -1}
			return lc.Listen(ctx, "tcp", addr)
		},
		now: time.Now,
	}
}
