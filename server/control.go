package server

import (
	"context"
	"encoding/json"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/ws"
)

// control is a command every node applies to its own sessions.
type control struct {
	Op         string           `json:"op"`
	User       string           `json:"user,omitempty"`
	Client     string           `json:"client,omitempty"`
	Session    string           `json:"session,omitempty"`
	Channel    string           `json:"channel,omitempty"`
	Whitelist  []string         `json:"whitelist,omitempty"`
	Disconnect *core.Disconnect `json:"disconnect,omitempty"`
	// subscribe
	Data         exactJSON              `json:"data,omitempty"`
	RecoverSince *broker.StreamPosition `json:"recover_since,omitempty"`
	// refresh (Info: the new client info; subscribe: the channel info)
	Expired  bool      `json:"expired,omitempty"`
	ExpireAt int64     `json:"expire_at,omitempty"`
	Info     exactJSON `json:"info,omitempty"`
	// join, leave
	ClientInfo *controlClientInfo `json:"client_info,omitempty"`
}

// exactJSON is raw JSON in a control message, which travels as JSON
// itself: encoding/json writes a json.RawMessage compacted, but payloads
// reach clients byte for byte (PROTOCOL.md §2). As a []byte it is written
// as a base64 string, which keeps every byte.
type exactJSON []byte

// UnmarshalJSON takes the base64 string, or the raw JSON value nodes
// built before exactJSON sent (compacted), so that a node still running
// such a build during a rolling upgrade is understood. A JSON string from
// one is taken for base64: its message is dropped (logged as a bad control
// message) or, rarely, decoded into other bytes; and such a node reads what
// this one sends as a string. Mixed builds are for the length of an upgrade.
func (e *exactJSON) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var raw []byte
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		*e = raw
		return nil
	}
	*e = append((*e)[:0], b...)
	return nil
}

// controlClientInfo is core.ClientInfo in a control message.
type controlClientInfo struct {
	User     string    `json:"user"`
	Client   string    `json:"client"`
	ConnInfo exactJSON `json:"conn_info,omitempty"`
	ChanInfo exactJSON `json:"chan_info,omitempty"`
}

func newControlClientInfo(i core.ClientInfo) *controlClientInfo {
	return &controlClientInfo{User: i.User, Client: i.Client, ConnInfo: exactJSON(i.ConnInfo), ChanInfo: exactJSON(i.ChanInfo)}
}

func (i *controlClientInfo) clientInfo() core.ClientInfo {
	return core.ClientInfo{User: i.User, Client: i.Client, ConnInfo: json.RawMessage(i.ConnInfo), ChanInfo: json.RawMessage(i.ChanInfo)}
}

// HandleControl implements broker.Handler.
func (n *node) HandleControl(data []byte) {
	var c control
	if err := json.Unmarshal(data, &c); err != nil {
		n.log.Warn("bad control message", "error", err.Error())
		return
	}
	switch c.Op {
	case "disconnect":
		d := core.CodeForceDisconnect.Disconnect()
		if c.Disconnect != nil {
			d = *c.Disconnect
		}
		for _, s := range n.match(c.User, c.Client, c.Session) {
			if !contains(c.Whitelist, s.ID()) {
				s.Disconnect(d)
			}
		}
	case "subscribe":
		for _, s := range n.match(c.User, c.Client, c.Session) {
			n.serverSubscribe(context.Background(), s, c)
		}
	case "unsubscribe":
		for _, s := range n.match(c.User, c.Client, c.Session) {
			n.serverUnsubscribe(s, c.Channel)
		}
	case "refresh":
		for _, s := range n.match(c.User, c.Client, c.Session) {
			n.refreshConn(s, c)
		}
	case "join", "leave":
		n.handleJoinLeave(c)
	}
}

// match returns the local sessions of user, narrowed by client and session
// ids when given.
func (n *node) match(user, client, session string) []*ws.Session {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var out []*ws.Session
	consider := func(s *ws.Session) {
		if (client == "" || s.ID() == client) && (session == "" || s.SessionID() == session) {
			out = append(out, s)
		}
	}
	if user != "" {
		for s := range n.users[user] {
			consider(s)
		}
		return out
	}
	for s := range n.sessions {
		consider(s)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// serverSubscribe subscribes a connected session through the API: the
// subscribe push comes first, then recovered publications as ordinary
// publication pushes, then live ones.
func (n *node) serverSubscribe(ctx context.Context, s *ws.Session, c control) {
	st := n.state(s)
	if st == nil {
		return // gone meanwhile
	}
	st.control.Lock()
	defer st.control.Unlock()
	for _, have := range s.Channels() {
		if have == c.Channel {
			return
		}
	}
	if limit := n.cfg.ClientChannelLimit; limit > 0 && len(s.Channels()) >= limit {
		n.log.Info("server subscribe refused", "reason", "channel limit", "client", s.ID(), "channel", c.Channel)
		return
	}
	s.Hold(c.Channel)
	var sr *core.SubscribeRequest
	if c.RecoverSince != nil {
		sr = &core.SubscribeRequest{Recover: true, Offset: c.RecoverSince.Offset, Epoch: c.RecoverSince.Epoch}
	}
	res, sp, err := n.subscribe(ctx, s, c.Channel, sr, true)
	if err != nil {
		s.Release(c.Channel)
		n.log.Warn("server subscribe failed", "client", s.ID(), "channel", c.Channel, "error", err.Error())
		return
	}
	if n.state(s) == nil {
		// The session ended while subscribing: its cleanup, which removes
		// it from n.sessions before reading its channels, may have missed
		// this one.
		n.unsubscribe(s, c.Channel)
		s.Release(c.Channel)
		return
	}
	pushes := []*core.Push{{Channel: c.Channel, Subscribe: &core.Subscribe{
		Recoverable: res.Recoverable,
		Epoch:       res.Epoch,
		Offset:      sp.Offset,
		Positioned:  res.Positioned,
		Data:        json.RawMessage(c.Data),
	}}}
	if res.Recovered {
		for _, p := range res.Publications {
			pushes = append(pushes, &core.Push{Channel: c.Channel, Pub: p})
		}
	}
	s.Release(c.Channel, pushes...)
	n.serverJoined(ctx, s, c)
}

// serverUnsubscribe unsubscribes a session through the API and tells it so.
func (n *node) serverUnsubscribe(s *ws.Session, ch string) {
	st := n.state(s)
	if st == nil {
		return // gone meanwhile: its cleanup unsubscribes
	}
	st.control.Lock()
	defer st.control.Unlock()
	if !s.RemoveChannel(ch) {
		return
	}
	n.unsubscribe(s, ch)
	n.left(s, st, []string{ch})
	s.Send(&core.Push{Channel: ch, Unsubscribe: &core.Unsubscribe{Code: 2000, Reason: "server unsubscribe"}})
}
