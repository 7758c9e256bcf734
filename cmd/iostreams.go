package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"
)

// IOStreams is everything a command reads from or writes to outside its
// arguments: the standard streams, whether they are terminals, the
// environment, and where configuration files live. Commands never touch
// os.Stdout, os.Getenv or the real home directory directly, so tests run
// them with buffers and temporary directories.
//
// An IOStreams is used by one command run at a time; its writers need not
// be safe for concurrent use.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// InTTY, OutTTY and ErrTTY report whether each stream is a terminal.
	InTTY, OutTTY, ErrTTY bool

	// Getenv reads an environment variable ("" when unset).
	Getenv func(string) string
	// ConfigDir returns the user's configuration directory (the parent of
	// the uniws development config), like os.UserConfigDir.
	ConfigDir func() (string, error)
	// WorkDir is the directory searched for ./config.json; "" means the
	// process's working directory.
	WorkDir string

	// outFile is standard output when it is a pipe or a file, for watch
	// to notice a reader that went away while nothing is written.
	outFile *os.File
}

// System returns the IOStreams of the running process. Standard output
// that is not a terminal (a pipe, a file) reports a reader that went away
// as errOutputClosed; see Main.
func System() *IOStreams {
	ios := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		InTTY:     isTerminal(os.Stdin),
		OutTTY:    isTerminal(os.Stdout),
		ErrTTY:    isTerminal(os.Stderr),
		Getenv:    os.Getenv,
		ConfigDir: os.UserConfigDir,
	}
	if !ios.OutTTY {
		ios.Out = outputFile{os.Stdout}
		ios.outFile = os.Stdout
	}
	return ios
}

// errOutputClosed is a write to standard output whose reader has gone (the
// other end of `uniws watch | head -1`). It wraps EPIPE. Only commands that
// call keepWritingAfterSIGPIPE see it for the process's stdout (for the
// others SIGPIPE ends the process, exit 141 in a shell).
var errOutputClosed = fmt.Errorf("standard output closed by its reader: %w", syscall.EPIPE)

// outputFile is standard output, with EPIPE reported as errOutputClosed
// so that it is told apart from a broken network connection.
type outputFile struct{ f *os.File }

func (o outputFile) Write(p []byte) (int, error) {
	n, err := o.f.Write(p)
	if errors.Is(err, syscall.EPIPE) {
		err = errOutputClosed
	}
	return n, err
}

// keepWritingAfterSIGPIPE makes a write to a stdout whose reader has gone
// fail with EPIPE (errOutputClosed) instead of ending the process by
// SIGPIPE: watch then ends with 0 and publish publishes every line. It
// applies to the whole process, which runs one command.
func keepWritingAfterSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (s *IOStreams) getenv(key string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(key)
}
