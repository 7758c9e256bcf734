// Package client connects to a uni_websocket endpoint (Dial) and calls the
// server HTTP API (Publisher). It speaks the wire contract of PROTOCOL.md
// and works against uniws and Centrifugo v6 alike.
package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uniws/uniws/core"
)

// Conn is a connection to a uni_websocket endpoint that delivers what
// happens on it as a stream of Events, reconnecting when its Options say so.
//
// Concurrency contract: one goroutine, started by Dial, owns the WebSocket
// and is the only sender on the Events channel. Events are delivered in
// order and the sender blocks while the channel is full, so a slow consumer
// slows reading (the server may then drop the connection as slow). The
// consumer must either drain Events until it is closed or call Close.
// Close and Events are safe to call from any goroutine.
type Conn struct {
	opts   Options
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	pos    *positions
}

// Dial checks opts and starts connecting in the background; it does not
// wait for the connection. Failures to connect are reported as events.
// The stream ends, and the Events channel is closed, when a connection ends
// and is not retried (the last event is then a StateClosed event), or when
// ctx is cancelled or Close is called (with no StateClosed event).
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	c := &Conn{
		opts:   o,
		events: make(chan Event, o.EventBuffer),
		cancel: cancel,
		done:   make(chan struct{}),
		pos:    newPositions(o.Since),
	}
	go c.run(ctx)
	return c, nil
}

// Events returns the stream of events. It is closed after the last one.
func (c *Conn) Events() <-chan Event { return c.events }

// Done is closed when the Conn's goroutine has exited.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close stops the Conn, closing any open WebSocket with 1000, and waits
// for its goroutine to exit. It is idempotent and always returns nil.
func (c *Conn) Close() error {
	c.cancel()
	<-c.done
	return nil
}

// ending says how one connection ended.
type ending struct {
	code      core.Code
	reason    string
	err       error
	connected bool // the connect push arrived
	retry     bool // a reconnect may succeed
	newToken  bool // a reconnect needs a fresh token
}

func (c *Conn) run(ctx context.Context) {
	defer close(c.done)
	defer close(c.events)
	defer c.cancel()
	token := c.opts.Token
	needToken := token == "" && c.opts.TokenFunc != nil
	attempt := 0
	for {
		if !c.emit(ctx, Event{Kind: KindState, State: StateConnecting, Attempt: attempt}) {
			return
		}
		if needToken {
			t, err := c.opts.TokenFunc(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				c.emit(ctx, Event{Kind: KindState, State: StateClosed, Err: fmt.Errorf("get token: %w", err)})
				return
			}
			token, needToken = t, false
		}
		end := c.session(ctx, token)
		if ctx.Err() != nil {
			return
		}
		if end.connected {
			attempt = 0
		}
		if end.newToken {
			if c.opts.TokenFunc == nil {
				end.retry = false
			}
			needToken = true
		}
		if !c.opts.Reconnect || !end.retry {
			c.emit(ctx, Event{Kind: KindState, State: StateClosed, Code: end.code, Reason: end.reason, Err: end.err})
			return
		}
		attempt++
		delay := c.opts.Backoff.Delay(attempt)
		ev := Event{Kind: KindState, State: StateReconnecting, Attempt: attempt, Delay: delay,
			Code: end.code, Reason: end.reason, Err: end.err}
		if !c.emit(ctx, ev) || !wait(ctx, delay) {
			return
		}
	}
}

// emit delivers ev, stamping its time if unset. It reports false when ctx
// ended first.
func (c *Conn) emit(ctx context.Context, ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	select {
	case c.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errProtocol is wrapped by errors about frames that break the contract.
var errProtocol = errors.New("protocol error")
