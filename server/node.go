package server

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/hub"
	"github.com/uniws/uniws/server/metrics"
	"github.com/uniws/uniws/server/ws"
)

// node ties the transport, the hub and the broker together: it authenticates
// connections, decides their subscriptions, and delivers what the broker
// hands it to local sessions.
type node struct {
	cfg     *core.Config
	keys    *core.TokenKeys
	hub     *hub.Hub
	broker  broker.Broker
	log     *slog.Logger
	now     func() time.Time
	version string
	uid     string
	name    string
	started time.Time
	metrics *metrics.Collectors

	mu       sync.RWMutex
	sessions map[*ws.Session]*sessionState
	users    map[string]map[*ws.Session]struct{}

	authState
}

// Connect implements ws.Node.
func (n *node) Connect(ctx context.Context, s *ws.Session, req *core.ConnectRequest) (*core.Connect, error) {
	if limit := n.cfg.ClientConnectSubsLimit; limit > 0 && len(req.Subs) > limit {
		n.log.Info("connection refused", "reason", "too many subs in connect request", "subs", len(req.Subs), "limit", limit, "remote", s.RemoteAddr())
		return nil, core.CodeChannelLimit.Disconnect()
	}
	auth, err := n.authenticate(ctx, s, req)
	if err != nil {
		n.log.Info("connection refused", "reason", err.Error(), "client", s.ID(), "remote", s.RemoteAddr())
		return nil, err
	}
	creds := auth.creds
	s.SetUser(creds.User, creds.Info)
	if limit := n.cfg.ClientUserConnectionLimit; limit > 0 && creds.User != "" {
		n.mu.RLock()
		count := len(n.users[creds.User])
		n.mu.RUnlock()
		if count >= limit {
			n.log.Info("connection refused", "reason", "client_user_connection_limit", "user", creds.User, "limit", limit)
			return nil, core.CodeConnectionLimit.Disconnect()
		}
	}

	grants, err := n.channelsFor(s, creds, req, !auth.proxied)
	if err != nil {
		return nil, err
	}
	if limit := n.cfg.ClientChannelLimit; limit > 0 && len(grants) > limit {
		n.log.Info("connection refused", "reason", "channel limit", "user", creds.User, "channels", len(grants), "limit", limit)
		return nil, core.CodeChannelLimit.Disconnect()
	}
	subs := make(map[string]*core.SubscribeResult, len(grants))
	chanInfo, chanData := subsExtras(creds)
	var done []string
	for _, g := range grants {
		res, _, err := n.subscribe(ctx, s, g.channel, g.recover, false)
		if err != nil {
			for _, ch := range done {
				n.unsubscribe(s, ch)
			}
			return nil, err
		}
		done = append(done, g.channel)
		if d := chanData[g.channel]; d != nil {
			res.Data = d
		}
		subs[g.channel] = res
	}

	c := &core.Connect{Version: n.version, Subs: subs, Data: auth.data}
	st := &sessionState{headers: auth.headers, chanInfo: chanInfo}
	if st.headers == nil && n.proxy.RefreshEnabled() {
		st.headers = n.proxy.Header(s.Request().Header, req.Headers)
	}
	n.startExpiry(s, st, creds.ExpireAt, c)
	n.mu.Lock()
	n.sessions[s] = st
	if n.users[creds.User] == nil {
		n.users[creds.User] = make(map[*ws.Session]struct{})
	}
	n.users[creds.User][s] = struct{}{}
	n.armPresenceLocked()
	n.mu.Unlock()
	err = n.joined(ctx, s, st, done)
	if err == nil {
		err = n.singleConnection(ctx, s, creds.User)
	}
	if err != nil {
		n.log.Warn("connection refused", "reason", err.Error(), "client", s.ID(), "user", creds.User)
		n.Disconnected(s)
		return nil, core.CodeInternal.Disconnect()
	}
	return c, nil
}

// authenticate verifies the token, asks the connect proxy when there is
// none, or applies anonymous access.
func (n *node) authenticate(ctx context.Context, s *ws.Session, req *core.ConnectRequest) (*authResult, error) {
	if req.Token == "" {
		if n.proxy.ConnectEnabled() {
			if res, err := n.connectProxy(ctx, s, req); err != nil || res != nil {
				return res, err
			}
		}
		if n.cfg.AllowAnonymousConnect || n.cfg.ClientInsecure {
			return &authResult{creds: &core.Credentials{}}, nil
		}
		return nil, core.CodeBadRequest.Disconnect()
	}
	if n.cfg.ClientInsecure && n.keys.Empty() {
		creds, err := core.UnverifiedCredentials(req.Token, n.now())
		switch {
		case errors.Is(err, core.ErrTokenExpired):
			return nil, core.CodeExpired.Disconnect()
		case err != nil:
			return nil, core.CodeInvalidToken.Disconnect()
		}
		return &authResult{creds: creds}, nil
	}
	creds, err := n.keys.VerifyConnectToken(req.Token, n.now())
	switch {
	case errors.Is(err, core.ErrTokenExpired):
		return nil, core.CodeExpired.Disconnect()
	case err != nil:
		n.log.Info("invalid token", "error", err.Error())
		return nil, core.CodeInvalidToken.Disconnect()
	}
	return &authResult{creds: creds}, nil
}

type grant struct {
	channel string
	recover *core.SubscribeRequest
}

// channelsFor lists the connection's subscriptions: token (or connect
// proxy) channels, the personal channel, then, with clientSubs, the
// client's allowed requests (PROTOCOL.md §6).
func (n *node) channelsFor(s *ws.Session, creds *core.Credentials, req *core.ConnectRequest, clientSubs bool) ([]grant, error) {
	var out []grant
	seen := map[string]bool{}
	add := func(ch string, sr *core.SubscribeRequest) {
		if !seen[ch] {
			seen[ch] = true
			out = append(out, grant{channel: ch, recover: sr})
		}
	}
	serverSide := creds.Channels
	if len(creds.Subs) > 0 {
		serverSide = make([]string, 0, len(creds.Subs))
		for ch := range creds.Subs {
			serverSide = append(serverSide, ch)
		}
		sort.Strings(serverSide)
	}
	for _, ch := range serverSide {
		if _, ok := n.cfg.ChannelOptionsFor(ch); !ok {
			n.log.Info("connection refused", "reason", "unknown namespace in token channel", "channel", ch, "user", creds.User)
			return nil, core.CodeInternal.Disconnect()
		}
		add(ch, req.Subs[ch])
	}
	if n.cfg.UserSubscribeToPersonal && creds.User != "" {
		ch := core.PersonalChannel(n.cfg.UserPersonalNamespace, creds.User)
		add(ch, req.Subs[ch])
	}
	requested := make([]string, 0, len(req.Subs))
	for ch := range req.Subs {
		if clientSubs {
			requested = append(requested, ch)
		}
	}
	sort.Strings(requested)
	for _, ch := range requested {
		if seen[ch] {
			continue
		}
		refusal, err := n.cfg.ClientSubscribeAllowed(creds.User, ch)
		if err != nil {
			n.log.Info("connection refused", "reason", err.Error(), "user", creds.User, "client", s.ID())
			return nil, core.CodeBadRequest.Disconnect()
		}
		if n.cfg.ClientInsecure && refusal != core.RefusedPrivate && refusal != core.RefusedInvalid {
			refusal = ""
		}
		if refusal != "" {
			n.log.Info("channel refused", "channel", ch, "reason", string(refusal), "user", creds.User, "client", s.ID())
			continue
		}
		add(ch, req.Subs[ch])
	}
	return out, nil
}

// subscribe adds s to a channel and works out its subscribe result,
// recovering missed publications when asked and allowed (PROTOCOL.md §7):
// at connect recovery needs force_recovery; explicit (API recover_since)
// needs history only. Publications arriving meanwhile are held by the
// session and merged after the result by offset. It also returns the stream
// top the session is positioned at.
func (n *node) subscribe(ctx context.Context, s *ws.Session, ch string, sr *core.SubscribeRequest, explicit bool) (*core.SubscribeResult, broker.StreamPosition, error) {
	opts, _ := n.cfg.ChannelOptionsFor(ch)
	if err := n.addSubscription(ctx, s, ch); err != nil {
		return nil, broker.StreamPosition{}, err
	}
	// was_recovering echoes a client's recover, recovery allowed or not,
	// as in Centrifugo, which does so on every channel; a channel without
	// history gives {} (PROTOCOL.md §2), so only those with history do.
	res := &core.SubscribeResult{WasRecovering: sr != nil && sr.Recover && opts.HistoryEnabled()}
	recovering := res.WasRecovering && (opts.ForceRecovery || explicit)
	if !opts.HistoryEnabled() || !(opts.ForcePositioning || opts.ForceRecovery || recovering) {
		s.AddChannel(ch, false, 0, "")
		return res, broker.StreamPosition{}, nil
	}
	res.Positioned = true
	res.Recoverable = opts.ForceRecovery || recovering
	s.BeginPosition(ch)
	meta := opts.HistoryMetaTTL.D()
	var (
		pubs []*core.Publication
		sp   broker.StreamPosition
		err  error
	)
	if recovering {
		limit := n.cfg.ClientRecoveryMaxPubLimit
		pubs, sp, err = n.broker.History(ctx, ch, broker.HistoryOptions{
			Since:   &broker.StreamPosition{Offset: sr.Offset, Epoch: sr.Epoch},
			Limit:   limit + 1,
			MetaTTL: meta,
		})
		switch {
		case err == nil && len(pubs) <= limit:
			res.Recovered = true
			res.Publications = withFirstEpoch(pubs, sp.Epoch)
			res.Offset, res.Epoch = sr.Offset, sp.Epoch
			s.AddChannel(ch, true, sp.Offset, sp.Epoch)
			return res, sp, nil
		case err == nil || errors.Is(err, broker.ErrUnrecoverablePosition):
			n.log.Info("recovery failed", "channel", ch, "client", s.ID(), "offset", sr.Offset, "epoch", sr.Epoch, "top", sp.Offset, "top_epoch", sp.Epoch, "missed", len(pubs))
			err = nil
		}
	} else {
		_, sp, err = n.broker.History(ctx, ch, broker.HistoryOptions{MetaTTL: meta})
	}
	if err != nil {
		n.metrics.EngineError("history")
		n.unsubscribe(s, ch)
		return nil, sp, err
	}
	res.Offset, res.Epoch = sp.Offset, sp.Epoch
	s.AddChannel(ch, true, sp.Offset, sp.Epoch)
	return res, sp, nil
}

// addSubscription adds s to channel ch in the hub and in the engine. The
// engine counts subscriptions: every session subscribes, not only the
// channel's first on this node, so that each returns only once this node
// receives the channel's publications and a history read after it cannot
// miss one (a second session must not read the stream's top while the
// first one's subscription is still on its way to Redis).
func (n *node) addSubscription(ctx context.Context, s *ws.Session, ch string) error {
	if _, added := n.hub.Subscribe(ch, s); !added {
		return nil // subscribed already, and counted in the engine then
	}
	if err := n.broker.Subscribe(ctx, ch); err != nil {
		n.metrics.EngineError("subscribe")
		n.hub.Unsubscribe(ch, s)
		return err
	}
	return nil
}

// unsubscribe removes s from a channel on this node.
func (n *node) unsubscribe(s *ws.Session, ch string) {
	s.RemoveChannel(ch)
	if _, removed := n.hub.Unsubscribe(ch, s); removed {
		if err := n.broker.Unsubscribe(context.Background(), ch); err != nil {
			n.metrics.EngineError("unsubscribe")
			n.log.Warn("broker unsubscribe failed", "channel", ch, "error", err.Error())
		}
	}
}

// Disconnected implements ws.Node.
func (n *node) Disconnected(s *ws.Session) {
	// Out of n.sessions first, then the channels: an API subscribe that
	// records its channel after this read finds the session gone and
	// unsubscribes it itself (serverSubscribe).
	user := s.User()
	n.mu.Lock()
	st := n.sessions[s]
	delete(n.sessions, s)
	if set := n.users[user]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(n.users, user)
		}
	}
	n.mu.Unlock()
	channels := s.Channels()
	for _, ch := range channels {
		n.unsubscribe(s, ch)
	}
	if st != nil {
		st.close()
		n.left(s, st, channels)
	}
	code := s.CloseCode()
	n.log.Debug("client disconnected", "client", s.ID(), "user", user, "code", code.Code, "reason", code.Reason)
}

// withFirstEpoch sets the stream epoch on the publication with offset 1, as
// on the live path (PROTOCOL.md §2), in a copy: the engine's are shared.
func withFirstEpoch(pubs []*core.Publication, epoch string) []*core.Publication {
	for i, p := range pubs {
		if p.Offset == 1 && p.Epoch == "" {
			cp := *p
			cp.Epoch = epoch
			pubs[i] = &cp
		}
	}
	return pubs
}

// HandlePublication implements broker.Handler: encode once, fan out.
func (n *node) HandlePublication(ch string, pub *core.Publication, sp broker.StreamPosition) {
	if n.hub.NumSubscribers(ch) == 0 {
		return
	}
	p := pub
	if pub.Offset == 1 {
		cp := *pub
		cp.Epoch = sp.Epoch
		p = &cp
	}
	sent := n.hub.Broadcast(ws.NewMessage(ch, &core.Push{Channel: ch, Pub: p}, pub.Offset, sp.Epoch))
	n.metrics.Pushes.Publication.Add(float64(sent))
}

// counts returns the number of sessions and distinct users on this node.
func (n *node) counts() (clients, users int) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sessions), len(n.users)
}
