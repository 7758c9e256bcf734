//go:build !linux

package ws

// idleSet watches nothing here: every connected session reads in a
// goroutine of its own.
type idleSet struct{}

func (*idleSet) watch(*Session) bool  { return false }
func (*idleSet) rearm(*Session) error { return nil }
func (*idleSet) forget(*Session)      {}
func (*idleSet) waitIdle()            {}
