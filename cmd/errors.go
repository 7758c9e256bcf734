package cmd

import (
	"errors"
	"fmt"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/tui"
)

// Exit codes, documented by `uniws help exit-codes`.
const (
	ExitOK         = 0 // success
	ExitError      = 1 // any other error, including a server error reply
	ExitUsage      = 2 // bad flags, arguments or data
	ExitTimeout    = 3 // --timeout passed before the command was satisfied
	ExitAuth       = 4 // the server refused the API key (HTTP 401)
	ExitDisconnect = 5 // the server disconnected for good
	ExitGap        = 6 // a recovery gap, with --fail-on-gap

	// ExitOutputClosed is what a shell reports for a process that SIGPIPE
	// ended (128+13): a command whose output's reader went away.
	ExitOutputClosed = 141
)

// usageError is a mistake in how a command was called.
type usageError struct {
	cmd string // command path, for the help hint
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// timeoutError says --timeout passed first.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

// disconnectError is a server disconnect that ended a stream for good.
type disconnectError struct {
	code   core.Code
	reason string
}

func (e *disconnectError) Error() string {
	return fmt.Sprintf("disconnected: code %d, reason %q (%s)", e.code, e.reason, e.code.Explain())
}

// gapError is a recovery gap seen with --fail-on-gap.
type gapError struct{ gap client.Gap }

func (e *gapError) Error() string { return "recovery failed: " + tui.Clean(describeGap(e.gap)) }

// exitCode maps an error returned by a command to the process exit code.
// It is called only by execute, on behalf of Main.
func exitCode(err error) int {
	var (
		usage *usageError
		tmo   *timeoutError
		disc  *disconnectError
		gap   *gapError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &tmo):
		return ExitTimeout
	case errors.Is(err, client.ErrAuthRefused):
		return ExitAuth
	case errors.As(err, &disc):
		return ExitDisconnect
	case errors.As(err, &gap):
		return ExitGap
	}
	return ExitError
}
