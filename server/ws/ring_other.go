//go:build !linux

package ws

import "errors"

// Rings are io_uring's, which only Linux has: workers write with writev.
type ring struct{}

type ringScratch struct{}

const maxRingBatch = 1

func ringBatchSize(int, int) int { return maxRingBatch }

func newRing() (*ring, error) { return nil, errors.ErrUnsupported }

func (*ring) close() {}

func (*writeScratch) ringSessions() []*Session { return nil }

func (*flusher) ringTurns(*ring, *writeScratch, []*Session) error { return errors.ErrUnsupported }

func ringTransient(error) bool { return false }

func (*writeScratch) dropSlots() {}
