//go:build !unix

package tui

// signalChild has nothing to check where there are no Unix signals.
func signalChild() {}
