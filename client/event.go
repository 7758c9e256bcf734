package client

import (
	"strconv"
	"time"

	"github.com/uniws/uniws/core"
)

// Kind says what an Event reports.
type Kind uint8

// Event kinds.
const (
	// KindState is a change of connection state: State and, depending on it,
	// Attempt, Delay, Code, Reason and Err are set.
	KindState Kind = iota + 1
	// KindPush is a push other than the ping: Push and Raw are set.
	KindPush
	// KindPing is the application ping `{}`: Push (empty) and Raw are set.
	KindPing
	// KindGap reports a subscription the server could not recover after a
	// reconnect: Gap is set.
	KindGap
)

func (k Kind) String() string {
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

// State is the state of a Conn.
type State uint8

// Connection states, in the order a connection usually goes through them.
const (
	// StateConnecting: a WebSocket dial and connect request are under way.
	// Attempt is 0 for the first connection and n for the n-th reconnect.
	StateConnecting State = iota + 1
	// StateConnected: the connect push arrived; the event's Push holds it,
	// and the same push follows as a KindPush event.
	StateConnected
	// StateReconnecting: the connection ended and another attempt follows
	// after Delay. Code and Reason (a server disconnect) or Err (a network
	// or protocol failure) say why; Attempt counts attempts since the last
	// successful connect, from 1.
	StateReconnecting
	// StateClosed: the stream is over. Code and Reason, or Err, say why.
	StateClosed
)

func (s State) String() string {
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

// Event is one thing that happened on a Conn. Events are values: the
// receiver owns them, including the Raw and Push they point to.
type Event struct {
	Kind Kind
	// Time is when the frame arrived or the state changed.
	Time time.Time

	// State, Attempt and Delay describe a KindState event.
	State   State
	Attempt int
	Delay   time.Duration
	// Code and Reason are the server's disconnect code and reason that ended
	// a connection (from the disconnect push, or the close frame when no
	// push came). Code is 0 when the connection ended without one.
	Code   core.Code
	Reason string
	// Err is the network, protocol or token failure behind a state change.
	Err error

	// Push is the decoded push of a KindPush or KindPing event (and the
	// connect push of a StateConnected event).
	Push *core.Push
	// Raw is the push exactly as received (one line of a joined frame), or,
	// for a Recovered publication, its wire encoding.
	Raw []byte
	// Recovered marks a publication taken from the connect push's recovered
	// publications and delivered as its own push, in stream order, after
	// the connect push and any gap events.
	Recovered bool

	// Gap is set for KindGap.
	Gap *Gap
}

// Position is a place in a channel's stream.
type Position struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// Gap describes a channel whose recovery failed: publications between From
// and To may have been missed.
type Gap struct {
	Channel string
	// From is the position the client asked to recover from.
	From Position
	// To is the stream's position the server reported instead.
	To Position
}
