// Package core holds what every uniws command shares: the wire types of the
// unidirectional WebSocket protocol and their exact JSON encoding, disconnect
// and API error codes, channel-name rules, connection tokens and the
// configuration.
//
// Encoding is hand-written (see encode.go) because the wire contract fixes the
// field order, embeds raw JSON payloads byte for byte and must cost nothing per
// subscriber. Decoding uses encoding/json through the struct tags below.
package core

import "encoding/json"

// Push is one server-to-client message. At most one of its payload fields is
// set; a Push with none set is the application ping `{}`.
type Push struct {
	Channel     string       `json:"channel,omitempty"`
	Pub         *Publication `json:"pub,omitempty"`
	Join        *Join        `json:"join,omitempty"`
	Leave       *Leave       `json:"leave,omitempty"`
	Unsubscribe *Unsubscribe `json:"unsubscribe,omitempty"`
	Message     *Message     `json:"message,omitempty"`
	Subscribe   *Subscribe   `json:"subscribe,omitempty"`
	Connect     *Connect     `json:"connect,omitempty"`
	Disconnect  *Disconnect  `json:"disconnect,omitempty"`
	Refresh     *Refresh     `json:"refresh,omitempty"`
}

// Kind names the payload a Push carries: "pub", "join", "leave",
// "unsubscribe", "message", "subscribe", "connect", "disconnect", "refresh",
// or "ping" for the empty push.
func (p *Push) Kind() string {
	switch {
	case p.Pub != nil:
		return "pub"
	case p.Join != nil:
		return "join"
	case p.Leave != nil:
		return "leave"
	case p.Unsubscribe != nil:
		return "unsubscribe"
	case p.Message != nil:
		return "message"
	case p.Subscribe != nil:
		return "subscribe"
	case p.Connect != nil:
		return "connect"
	case p.Disconnect != nil:
		return "disconnect"
	case p.Refresh != nil:
		return "refresh"
	}
	return "ping"
}

// ClientInfo describes a connection in publications, joins and leaves.
type ClientInfo struct {
	User     string          `json:"user"`
	Client   string          `json:"client"`
	ConnInfo json.RawMessage `json:"conn_info,omitempty"`
	ChanInfo json.RawMessage `json:"chan_info,omitempty"`
}

// Publication is one message in a channel.
type Publication struct {
	Data   json.RawMessage   `json:"data,omitempty"`
	Info   *ClientInfo       `json:"info,omitempty"`
	Offset uint64            `json:"offset,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
	Epoch  string            `json:"epoch,omitempty"`
}

// Join announces a client joining a channel.
type Join struct {
	Info ClientInfo `json:"info"`
}

// Leave announces a client leaving a channel.
type Leave struct {
	Info ClientInfo `json:"info"`
}

// Unsubscribe tells the client the server removed one of its subscriptions.
type Unsubscribe struct {
	Code   uint32 `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Message is an asynchronous message sent to one client.
type Message struct {
	Data json.RawMessage `json:"data,omitempty"`
}

// Subscribe tells the client the server subscribed it to a channel.
type Subscribe struct {
	Recoverable bool            `json:"recoverable,omitempty"`
	Epoch       string          `json:"epoch,omitempty"`
	Offset      uint64          `json:"offset,omitempty"`
	Positioned  bool            `json:"positioned,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Connect is the first push of every connection.
type Connect struct {
	Client  string                      `json:"client,omitempty"`
	Version string                      `json:"version,omitempty"`
	Data    json.RawMessage             `json:"data,omitempty"`
	Subs    map[string]*SubscribeResult `json:"subs,omitempty"`
	Expires bool                        `json:"expires,omitempty"`
	TTL     uint32                      `json:"ttl,omitempty"`
	Ping    uint32                      `json:"ping,omitempty"`
	Session string                      `json:"session,omitempty"`
}

// SubscribeResult is the state of one subscription in the connect push.
// A channel without history gives the empty result `{}`.
type SubscribeResult struct {
	Expires       bool            `json:"expires,omitempty"`
	TTL           uint32          `json:"ttl,omitempty"`
	Recoverable   bool            `json:"recoverable,omitempty"`
	Epoch         string          `json:"epoch,omitempty"`
	Publications  []*Publication  `json:"publications,omitempty"`
	Recovered     bool            `json:"recovered,omitempty"`
	Offset        uint64          `json:"offset,omitempty"`
	Positioned    bool            `json:"positioned,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	WasRecovering bool            `json:"was_recovering,omitempty"`
}

// Disconnect is the last push a server sends before it closes a connection.
type Disconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

// Refresh tells the client its connection's expiry changed.
type Refresh struct {
	Expires bool   `json:"expires,omitempty"`
	TTL     uint32 `json:"ttl,omitempty"`
}

// MarshalJSON encodes the push exactly as the wire contract demands.
func (p *Push) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// MarshalJSON encodes the publication exactly as the wire contract demands.
func (p *Publication) MarshalJSON() ([]byte, error) { return appendPublication(nil, p), nil }

// ConnectRequest is the one command a unidirectional client sends.
type ConnectRequest struct {
	Token   string                       `json:"token,omitempty"`
	Data    json.RawMessage              `json:"data,omitempty"`
	Name    string                       `json:"name,omitempty"`
	Version string                       `json:"version,omitempty"`
	Subs    map[string]*SubscribeRequest `json:"subs,omitempty"`
	Headers map[string]string            `json:"headers,omitempty"`
}

// SubscribeRequest is a client's wish for one channel, with the stream
// position it wants to recover from.
type SubscribeRequest struct {
	Recover bool   `json:"recover,omitempty"`
	Offset  uint64 `json:"offset,omitempty"`
	Epoch   string `json:"epoch,omitempty"`
}
