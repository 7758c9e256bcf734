//go:build !linux

package bench

import (
	"errors"
	"sync"
	"time"
)

// Ring readers use io_uring, which only Linux has: every connection is
// read by a goroutine of its own.
type ringReader struct{ readWait time.Duration }

const ringSQEntries = 0

func startRingReader(*sync.WaitGroup, uint32, time.Duration) (*ringReader, error) {
	return nil, errors.ErrUnsupported
}

func (*ringReader) add(*conn) bool { return false }

func (*ringReader) stopAfter() {}

func (*ringReader) cpu() time.Duration { return 0 }

func writeFD(int, []byte, time.Duration) error { return errors.ErrUnsupported }

func shutdownFD(int) {}
