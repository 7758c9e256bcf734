package cmd

import (
	"io"
	"os"

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
}

// System returns the IOStreams of the running process.
func System() *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		InTTY:     isTerminal(os.Stdin),
		OutTTY:    isTerminal(os.Stdout),
		ErrTTY:    isTerminal(os.Stderr),
		Getenv:    os.Getenv,
		ConfigDir: os.UserConfigDir,
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (s *IOStreams) getenv(key string) string {
	if s.Getenv == nil {
		return ""
	}
	return s.Getenv(key)
}
