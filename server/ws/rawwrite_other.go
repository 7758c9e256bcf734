//go:build !linux && !darwin

package ws

import "syscall"

// tryWritev writes nothing here: every write takes the waiting path.
func tryWritev(syscall.RawConn, [][]byte, int) (int, bool, error) {
	return 0, false, nil
}
