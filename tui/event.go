package tui

import (
	"strconv"
	"time"

	"github.com/uniws/uniws/core"
)

// EventKind says what an Event reports and so which of its fields are set.
type EventKind uint8

// Event kinds.
const (
	// KindState is a change of connection state: State, and depending on
	// it Attempt, NextTry, Disconnect, Err and Hint.
	KindState EventKind = iota + 1
	// KindPush is a push from the server (connect, pub, join, leave,
	// unsubscribe, subscribe, refresh, disconnect or message): Push, and
	// optionally Raw and Recovered. A Push with no payload is taken as a
	// ping.
	KindPush
	// KindPing is the application ping `{}`. Push and Raw may be set and
	// are not needed.
	KindPing
	// KindGap reports a subscription whose recovery failed after a
	// reconnect: Gap.
	KindGap
)

// String returns the kind's lower-case name.
func (k EventKind) String() string {
	switch k {
	case KindState:
		return "state"
	case KindPush:
		return "push"
	case KindPing:
		return "ping"
	case KindGap:
		return "gap"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ConnState is the state of the connection as the client reports it.
type ConnState uint8

// Connection states.
const (
	// StateConnecting: a dial and connect request are under way.
	StateConnecting ConnState = iota + 1
	// StateConnected: the connect push arrived.
	StateConnected
	// StateReconnecting: the connection ended and another attempt follows
	// after NextTry.
	StateReconnecting
	// StateClosed: the client stopped for good; Disconnect or Err says why.
	StateClosed
)

// String returns the state's lower-case name.
func (s ConnState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Event is one thing the client reports to the screen. It is a plain value:
// once sent, the screen owns it and everything it points to, and the sender
// must not change them.
type Event struct {
	// At is when the frame arrived or the state changed. The zero time means
	// "when the screen takes the event in" (Options.Now).
	At time.Time
	// Kind says which of the fields below are set.
	Kind EventKind

	// State is the new connection state (KindState).
	State ConnState
	// Attempt counts reconnect attempts since the last successful connect,
	// from 1 (StateConnecting and StateReconnecting; 0 for the first
	// connection).
	Attempt int
	// NextTry is the delay before the next attempt (StateReconnecting).
	NextTry time.Duration
	// Disconnect is the server's code and reason that ended the connection
	// (StateReconnecting, StateClosed); nil when it ended without one.
	Disconnect *core.Disconnect
	// Err is the network, protocol or token failure behind a state change,
	// or nil.
	Err error
	// Hint is an optional sentence telling the person what to do next, for
	// example how to get a fresh token after 3005. Shown with the state.
	Hint string

	// Push is the decoded push (KindPush; optional for KindPing).
	Push *core.Push
	// Raw is the push as received, or nil. It is never parsed: the filter
	// searches it, so that `/` finds any text of the wire frame.
	Raw []byte
	// Recovered marks a publication taken from the connect push's
	// recovered publications rather than received live (KindPush). The
	// screen does not read the publications inside a connect push: the
	// source sends each as a push of its own, in order, right after it.
	Recovered bool

	// Gap describes a failed recovery (KindGap).
	Gap *Gap
}

// Gap is a channel whose recovery failed: the publications between the
// position the client had seen and the stream's current position may have
// been missed.
type Gap struct {
	// Channel is the channel name.
	Channel string
	// LastOffset and LastEpoch are the last position the client saw.
	LastOffset uint64
	LastEpoch  string
	// Offset and Epoch are where the server says the stream is now (its top
	// offset and, after a restart of the stream, a new epoch).
	Offset uint64
	Epoch  string
}

// Missed returns how many publications may have been lost, or -1 when that
// cannot be told because the epoch changed.
func (g *Gap) Missed() int64 {
	if g.LastEpoch != "" && g.Epoch != "" && g.LastEpoch != g.Epoch {
		return -1
	}
	if g.Offset <= g.LastOffset {
		return 0
	}
	return int64(g.Offset - g.LastOffset)
}

// Source feeds a screen with events.
type Source interface {
	// Events returns the stream of events. It must return the same channel
	// on every call, and the channel must be closed when the client stops.
	// The screen reads it without ever blocking the sender for long: events
	// are gathered in batches and applied at a bounded frame rate.
	Events() <-chan Event
}

// Chan is a Source backed by a channel.
type Chan <-chan Event

// Events returns the channel itself.
func (c Chan) Events() <-chan Event { return c }
