package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/ws"
)

// presenceTTL is how long a presence entry outlives its last refresh: long
// enough for two missed updates, at least a minute (Centrifugo's Redis
// default).
func (n *node) presenceTTL() time.Duration {
	return max(time.Minute, 3*n.cfg.ClientPresenceUpdateInterval.D())
}

// clientInfoLocked describes s in channel ch (presence, join, leave).
// st.mu is held.
func clientInfoLocked(s *ws.Session, st *sessionState, ch string) core.ClientInfo {
	return core.ClientInfo{User: s.User(), Client: s.ID(), ConnInfo: s.Info(), ChanInfo: st.chanInfo[ch]}
}

// joined puts s in the presence of those channels that have presence, and
// announces it where join_leave is on. A presence error is returned (the
// caller closes the connection with 3004); a failed join is logged.
func (n *node) joined(ctx context.Context, s *ws.Session, st *sessionState, channels []string) error {
	if !n.tracked(channels) {
		return nil
	}
	pm, _ := n.broker.(broker.PresenceManager)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	for _, ch := range channels {
		opts, _ := n.cfg.ChannelOptionsFor(ch)
		if !opts.Presence && !opts.JoinLeave {
			continue
		}
		info := clientInfoLocked(s, st, ch)
		if opts.Presence && pm != nil {
			if err := pm.AddPresence(ctx, ch, s.ID(), info, n.presenceTTL()); err != nil {
				return fmt.Errorf("add presence in %s: %w", ch, err)
			}
		}
		if opts.JoinLeave {
			n.publishJoinLeave(ctx, ch, info, "join")
		}
	}
	return nil
}

// left takes s out of the presence of channels and announces the leave
// where join_leave is on. s is no longer subscribed to them on this node.
func (n *node) left(s *ws.Session, st *sessionState, channels []string) {
	if !n.tracked(channels) {
		return
	}
	ctx, cancel := detached()
	defer cancel()
	pm, _ := n.broker.(broker.PresenceManager)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ch := range channels {
		opts, _ := n.cfg.ChannelOptionsFor(ch)
		if opts.Presence && pm != nil {
			if err := pm.RemovePresence(ctx, ch, s.ID(), s.User()); err != nil {
				n.log.Warn("remove presence failed", "channel", ch, "client", s.ID(), "error", err.Error())
			}
		}
		if opts.JoinLeave {
			n.publishJoinLeave(ctx, ch, clientInfoLocked(s, st, ch), "leave")
		}
	}
}

// tracked reports whether any of the channels has presence or join_leave.
func (n *node) tracked(channels []string) bool {
	for _, ch := range channels {
		if opts, _ := n.cfg.ChannelOptionsFor(ch); opts.Presence || opts.JoinLeave {
			return true
		}
	}
	return false
}

// publishJoinLeave sends a join or leave (op) to every node: through the
// engine when it carries them, as a control message otherwise.
func (n *node) publishJoinLeave(ctx context.Context, ch string, info core.ClientInfo, op string) {
	var err error
	switch jl, ok := n.broker.(broker.JoinLeave); {
	case ok && op == "join":
		err = jl.PublishJoin(ctx, ch, info)
	case ok:
		err = jl.PublishLeave(ctx, ch, info)
	default:
		err = n.publishControl(ctx, control{Op: op, Channel: ch, ClientInfo: newControlClientInfo(info)})
	}
	if err != nil {
		n.log.Warn("publish "+op+" failed", "channel", ch, "client", info.Client, "error", err.Error())
	}
}

// publishControl sends a control message to every node (this one too).
func (n *node) publishControl(ctx context.Context, c control) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode control: %w", err)
	}
	return n.broker.PublishControl(ctx, data)
}

// serverJoined records the channel info an API subscribe gave and joins the
// session to the channel's presence and join/leave.
func (n *node) serverJoined(ctx context.Context, s *ws.Session, c control) {
	st := n.state(s)
	if st == nil {
		return
	}
	if len(c.Info) != 0 {
		st.mu.Lock()
		if st.chanInfo == nil {
			st.chanInfo = make(map[string]json.RawMessage)
		}
		st.chanInfo[c.Channel] = json.RawMessage(c.Info)
		st.mu.Unlock()
	}
	if err := n.joined(ctx, s, st, []string{c.Channel}); err != nil {
		n.log.Warn("server subscribe: presence failed", "client", s.ID(), "channel", c.Channel, "error", err.Error())
	}
}

// handleJoinLeave delivers a join or leave that came as a control message.
func (n *node) handleJoinLeave(c control) {
	switch {
	case c.ClientInfo == nil:
	case c.Op == "join":
		n.HandleJoin(c.Channel, c.ClientInfo.clientInfo())
	default:
		n.HandleLeave(c.Channel, c.ClientInfo.clientInfo())
	}
}

// HandleJoin implements broker.JoinLeaveHandler.
func (n *node) HandleJoin(ch string, info core.ClientInfo) {
	n.pushJoinLeave(ch, &core.Push{Channel: ch, Join: &core.Join{Info: info}})
}

// HandleLeave implements broker.JoinLeaveHandler.
func (n *node) HandleLeave(ch string, info core.ClientInfo) {
	n.pushJoinLeave(ch, &core.Push{Channel: ch, Leave: &core.Leave{Info: info}})
}

// pushJoinLeave encodes a join or leave push once and hands it to every
// local subscriber of ch, when the channel pushes them to uni clients:
// join_leave and force_push_join_leave both on (Centrifugo sends joins and
// leaves to server-side subscriptions only with force_push_join_leave).
func (n *node) pushJoinLeave(ch string, p *core.Push) {
	opts, ok := n.cfg.ChannelOptionsFor(ch)
	if !ok || !opts.JoinLeave || !opts.ForcePushJoinLeave || n.hub.NumSubscribers(ch) == 0 {
		return
	}
	n.hub.Broadcast(ws.NewMessage(ch, p, 0, ""))
}

// armPresenceLocked starts the periodic presence update when the engine
// keeps presence and sessions exist. n.mu is held.
func (n *node) armPresenceLocked() {
	if !n.presence || n.presenceTimer != nil || n.closed || len(n.sessions) == 0 {
		return
	}
	if _, ok := n.broker.(broker.PresenceManager); !ok {
		return
	}
	n.presenceTimer = time.AfterFunc(n.cfg.ClientPresenceUpdateInterval.D(), n.updatePresence)
}

// updatePresence adds every live session to the presence of its channels
// again, so that the entries outlive their TTL only while the session
// does, then re-arms itself while sessions remain. It runs on the node's
// one presence timer.
func (n *node) updatePresence() {
	pm := n.broker.(broker.PresenceManager)
	n.mu.RLock()
	states := make(map[*ws.Session]*sessionState, len(n.sessions))
	for s, st := range n.sessions {
		states[s] = st
	}
	n.mu.RUnlock()
	// A few renewals at a time, each with its own deadline: one after the
	// other under one deadline, a round of many sessions on an engine a
	// millisecond away ran out of time and let live entries expire.
	type entry struct {
		s  *ws.Session
		st *sessionState
	}
	work := make(chan entry)
	var wg sync.WaitGroup
	for range min(presenceWorkers, len(states)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				n.renewPresence(pm, e.s, e.st)
			}
		}()
	}
	for s, st := range states {
		work <- entry{s, st}
	}
	close(work)
	wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || len(n.sessions) == 0 {
		n.presenceTimer = nil
		return
	}
	n.presenceTimer.Reset(n.cfg.ClientPresenceUpdateInterval.D())
}

// presenceWorkers bounds the presence renewals under way at once.
const presenceWorkers = 32

// renewPresence adds s again to the presence of its channels that have it,
// with its current client info.
func (n *node) renewPresence(pm broker.PresenceManager, s *ws.Session, st *sessionState) {
	st.mu.Lock() // left waits, so no entry comes back after it
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	for _, ch := range s.Channels() {
		if opts, _ := n.cfg.ChannelOptionsFor(ch); opts.Presence {
			ctx, cancel := detached()
			err := pm.AddPresence(ctx, ch, s.ID(), clientInfoLocked(s, st, ch), n.presenceTTL())
			cancel()
			if err != nil {
				n.log.Warn("update presence failed", "channel", ch, "client", s.ID(), "error", err.Error())
			}
		}
	}
}

// infoChanged renews s's presence after its client info changed (refresh).
func (n *node) infoChanged(s *ws.Session, st *sessionState) {
	if pm, ok := n.broker.(broker.PresenceManager); ok {
		n.renewPresence(pm, s, st)
	}
}

// singleConnection ends the user's other connections with 3504 when
// client_user_personal_single_connection is on. Like Centrifugo it asks the
// presence of the personal channel first and only disconnects when it holds
// another client; an engine without presence sends the disconnect always.
func (n *node) singleConnection(ctx context.Context, s *ws.Session, user string) error {
	if !n.cfg.ClientUserPersonalSingle || user == "" {
		return nil
	}
	if pm, ok := n.broker.(broker.PresenceManager); ok {
		stats, err := pm.PresenceStats(ctx, core.PersonalChannel(n.cfg.UserPersonalNamespace, user))
		if err != nil {
			return fmt.Errorf("personal channel presence: %w", err)
		}
		if stats.NumClients < 2 {
			return nil
		}
	}
	d := core.CodeConnectionLimit.Disconnect()
	return n.publishControl(ctx, control{Op: "disconnect", User: user, Whitelist: []string{s.ID()}, Disconnect: &d})
}
