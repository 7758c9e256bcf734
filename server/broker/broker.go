// Package broker delivers publications between nodes and keeps channel
// history. Every engine (memory, redis) implements Broker and passes the
// conformance suite in brokertest.
package broker

import (
	"context"
	"errors"
	"time"

	"github.com/uniws/uniws/core"
)

// StreamPosition is a place in a channel's stream.
type StreamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// Handler receives what the broker delivers to this node. A Broker calls
// HandlePublication for one channel in offset order, never concurrently for
// the same channel; the handler must not block.
type Handler interface {
	// HandlePublication delivers a publication to this node. For channels
	// with history pub.Offset is set and sp is the stream position after it.
	HandlePublication(channel string, pub *core.Publication, sp StreamPosition)
	// HandleControl delivers a control message sent by any node. Engines
	// call it from a goroutine that delivers no publications, so it may call
	// the Broker (Subscribe, History) but should return promptly.
	HandleControl(data []byte)
	// HandleResubscribe reports that the engine had lost its subscription
	// to channels and has re-established it: publications of those channels
	// may have been missed in between, so subscribers that track a stream
	// position must resynchronise. It is called once the subscription is
	// live again (publications that arrive meanwhile are handed over as
	// usual, in order) and must not block. Engines that cannot lose a
	// subscription (memory) never call it.
	HandleResubscribe(channels []string)
}

// PublishOptions describe one publication.
type PublishOptions struct {
	// HistorySize and HistoryTTL enable the stream when both are positive.
	HistorySize int
	HistoryTTL  time.Duration
	// HistoryMetaTTL is how long the stream's offset and epoch outlive the
	// last publication (zero: the engine default).
	HistoryMetaTTL time.Duration
	// SkipHistory publishes without touching the stream.
	SkipHistory bool
	Tags        map[string]string
	Info        *core.ClientInfo
	// IdempotencyKey makes repeated publishes within a few minutes return
	// the first result without publishing again.
	IdempotencyKey string
}

// HistoryOptions select a part of a stream.
type HistoryOptions struct {
	// Limit is the most publications to return: 0 returns none (only the
	// stream position), a negative value returns all.
	Limit int
	// Since returns publications after this position; its epoch must match
	// the stream's (an empty epoch skips the check) and, reading forward,
	// the publication after it must still be in the stream.
	Since *StreamPosition
	// Reverse returns newest first. With Since it pages backwards, as
	// Centrifugo does: the publications before Since, newest first.
	Reverse bool
	// MetaTTL extends the stream meta's life to at least this long from now
	// (zero: the engine default); it never shortens it.
	MetaTTL time.Duration
}

// Errors a broker returns.
var (
	// ErrUnrecoverablePosition: Since's epoch differs or its offset is no
	// longer in the stream.
	ErrUnrecoverablePosition = errors.New("unrecoverable position")
	// ErrClosed: the broker was closed.
	ErrClosed = errors.New("broker closed")
)

// Broker is the engine interface. All methods are safe for concurrent use.
type Broker interface {
	// Run attaches the node's handler and starts whatever the engine needs.
	// It is called once, before any other method.
	Run(h Handler) error
	// Publish stores (when history is on) and delivers a publication to
	// every node subscribed to channel, and returns its stream position.
	Publish(ctx context.Context, channel string, data []byte, opts PublishOptions) (StreamPosition, error)
	// PublishControl delivers data to every node's HandleControl.
	PublishControl(ctx context.Context, data []byte) error
	// Subscribe makes this node receive channel's publications; it returns
	// once they do. Subscriptions are counted: the node receives them while
	// any successful Subscribe has not been undone by an Unsubscribe.
	Subscribe(ctx context.Context, channel string) error
	// Unsubscribe undoes one Subscribe.
	Unsubscribe(ctx context.Context, channel string) error
	// History reads a channel's stream and returns its current position.
	History(ctx context.Context, channel string, opts HistoryOptions) ([]*core.Publication, StreamPosition, error)
	// RemoveHistory drops a channel's publications (the position is kept).
	RemoveHistory(ctx context.Context, channel string) error
	// Close stops the engine and every goroutine it started; later calls of
	// the other methods return ErrClosed. Close is idempotent.
	Close() error
}

// NodeInfo is what a node tells the other nodes about itself.
type NodeInfo struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	NumClients  int    `json:"num_clients"`
	NumUsers    int    `json:"num_users"`
	NumSubs     int    `json:"num_subs"`
	Uptime      int64  `json:"uptime"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	// Goroutines is the node's goroutine count (flat under steady load).
	Goroutines int `json:"num_goroutines,omitempty"`
	// RSS is the node's resident set size in bytes.
	RSS int64 `json:"rss,omitempty"`
	// Channels maps each channel with local subscribers to their number.
	Channels map[string]int `json:"channels,omitempty"`
}

// Describer is implemented by a Handler that can describe its node.
// Engines with a node registry call Describe for every heartbeat, from
// their own goroutine; it must be safe for concurrent use and cheap.
type Describer interface {
	Describe() NodeInfo
}

// Nodes is implemented by engines that know every node of a deployment;
// the API's info and channels methods use it when the engine offers it.
type Nodes interface {
	// Nodes returns the latest info of every live node. This node comes
	// first, described at the time of the call (when its Handler is a
	// Describer); the others as of their last heartbeat. A node that stops
	// heartbeating drops out within a few seconds.
	Nodes(ctx context.Context) ([]NodeInfo, error)
}
