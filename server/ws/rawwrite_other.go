//go:build !linux

package ws

import "syscall"

// rawWriters writes nothing here: every write takes the waiting path.
type rawWriters struct{}

func (*rawWriters) tryWritev(syscall.RawConn, [][]byte, int) (int, bool, error) {
	return 0, false, nil
}
