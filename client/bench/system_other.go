//go:build !unix

package bench

import (
	"errors"
	"fmt"
	"time"
)

// errUnsupported is returned where a figure needs a Unix system call or
// Linux's /proc.
var errUnsupported = errors.New("not supported on this system")

// RaiseFileLimit cannot change limits on this system.
func RaiseFileLimit() (FileLimit, error) {
	return FileLimit{}, fmt.Errorf("raise file limit: %w", errUnsupported)
}

// processCPU cannot measure this process's CPU time here; it returns 0.
func processCPU() time.Duration { return 0 }

// procSample is what /proc tells about a process at one moment.
type procSample struct {
	RSS     int64
	Threads int
	CPU     time.Duration
	Wait    time.Duration
}

// readProc needs Linux's /proc.
func readProc(int) (procSample, error) {
	return procSample{}, fmt.Errorf("read process figures: %w", errUnsupported)
}
