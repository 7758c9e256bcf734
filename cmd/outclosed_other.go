//go:build !linux

package cmd

import (
	"context"
	"os"
)

// outputGone is Linux's only: elsewhere watch notices a closed output at
// its next write.
func outputGone(context.Context, *os.File) <-chan struct{} { return nil }
