package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultName is the client name sent in the connect request.
const DefaultName = "uniws"

// Defaults applied by Dial to zero Options fields.
const (
	DefaultLivenessGrace  = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultEventBuffer    = 64
)

// TokenFunc returns a connection token. A Conn calls it for the first
// connection when Options.Token is empty, and again before reconnecting
// after the server disconnected with 3005 (connection expired). It is
// called from the Conn's goroutine, never concurrently with itself.
type TokenFunc func(ctx context.Context) (string, error)

// Options configure a Conn. Only URL is required.
type Options struct {
	// URL is the ws:// or wss:// address of a uni_websocket endpoint.
	URL string
	// Token is the connection JWT; empty with TokenFunc set means "ask
	// TokenFunc"; empty without it sends no token.
	Token     string
	TokenFunc TokenFunc
	// Subs are channels the client asks for, beyond those its token and the
	// server's configuration grant.
	Subs []string
	// Since gives starting positions: the first connect request asks to
	// recover these channels from there (recover:true with offset and
	// epoch), as every reconnect does for the positions the Conn tracks.
	Since map[string]Position
	// Data is passed to the server's connect proxy.
	Data json.RawMessage
	// Name and Version identify the client application; Name defaults to
	// DefaultName.
	Name, Version string
	// Header is sent with the WebSocket upgrade request.
	Header http.Header

	// Reconnect turns on automatic reconnects after network errors and
	// disconnect codes that ask for one (core.Code.Reconnect). Terminal
	// codes always end the stream, and 3005 ends it unless TokenFunc can
	// mint a new token.
	Reconnect bool
	// Backoff shapes the delay between reconnect attempts.
	Backoff Backoff

	// LivenessGrace is added to the server's ping interval (from the
	// connect push) to give the longest silence tolerated before the
	// connection is taken for dead and dropped. Defaults to
	// DefaultLivenessGrace. Without a ping interval there is no check.
	LivenessGrace time.Duration
	// ConnectTimeout bounds the WebSocket handshake and the wait for the
	// connect push. Defaults to DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// EventBuffer is the capacity of the Events channel. Defaults to
	// DefaultEventBuffer.
	EventBuffer int
	// Dialer dials the WebSocket; nil means a copy of
	// websocket.DefaultDialer.
	Dialer *websocket.Dialer
}

func (o *Options) validate() error {
	u, err := url.Parse(o.URL)
	if err != nil {
		return fmt.Errorf("parse url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("url %q: scheme must be ws or wss", o.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("url %q: no host", o.URL)
	}
	return nil
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.LivenessGrace <= 0 {
		c.LivenessGrace = DefaultLivenessGrace
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.Dialer == nil {
		d := *websocket.DefaultDialer
		d.HandshakeTimeout = 0 // ConnectTimeout, below
		c.Dialer = &d
	} else {
		d := *c.Dialer
		c.Dialer = &d
	}
	if c.Dialer.HandshakeTimeout == 0 {
		c.Dialer.HandshakeTimeout = c.ConnectTimeout
	}
	c.Subs = append([]string(nil), o.Subs...)
	return c
}

// Backoff is an exponential backoff with jitter. The zero value means
// 500ms doubling up to 20s with half of each delay randomised.
type Backoff struct {
	// Min is the base delay of the first attempt; Max caps every delay.
	Min, Max time.Duration
	// Factor multiplies the delay per attempt (default 2).
	Factor float64
	// Jitter is the fraction of each delay drawn at random, in (0, 1]
	// (default 0.5; negative for none): the delay is
	// d*(1-Jitter) + rand*d*Jitter.
	Jitter float64
}

// Delay returns the wait before reconnect attempt n (n >= 1). It is safe
// for concurrent use.
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi <= 0 {
		hi = 20 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	factor := b.Factor
	if factor < 1 {
		factor = 2
	}
	jitter := b.Jitter
	switch {
	case jitter < 0:
		jitter = 0
	case jitter == 0 || jitter > 1:
		jitter = 0.5
	}
	d := float64(lo)
	for i := 1; i < n && d < float64(hi); i++ {
		d *= factor
	}
	d = min(d, float64(hi))
	return time.Duration(d*(1-jitter) + rand.Float64()*d*jitter)
}

// errLiveness is wrapped by the error reported when a connection stays
// silent past its ping interval plus grace.
var errLiveness = errors.New("no ping from server")

// IsLivenessTimeout reports whether err says the server went silent for
// longer than its ping interval plus the grace period.
func IsLivenessTimeout(err error) bool { return errors.Is(err, errLiveness) }
