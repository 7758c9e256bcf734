//go:build !linux

package ws

import "syscall"

// rawCalls makes no raw calls here: every write takes the waiting path
// and reads wait inside gorilla.
type rawCalls struct{}

func (*rawCalls) tryWritev(syscall.RawConn, [][]byte, int) (int, bool, error) {
	return 0, false, nil
}

// waitReadable returns at once: reads wait inside gorilla's read path.
func (*rawCalls) waitReadable(syscall.RawConn) error { return nil }

// tryDiscard drops nothing: data is discarded through the read buffer.
func (*rawCalls) tryDiscard(syscall.RawConn, int64) (int, error) { return 0, nil }
