package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/proxy"
	"github.com/uniws/uniws/server/ws"
)

// proxyRetryAfter is how long a connection lives on when the refresh proxy
// cannot be asked, before it is asked again (as in Centrifugo).
const proxyRetryAfter = time.Minute

// sessionState is what the node keeps per connected session. Its fields are
// guarded by mu.
type sessionState struct {
	// control serialises the API's subscribe and unsubscribe of this
	// session, which the memory engine runs in parallel API requests.
	control sync.Mutex
	mu      sync.Mutex
	closed  bool
	// expireAt is when the connection expires (zero: never); timer fires
	// then (refresh proxy) or client_expired_close_delay later. gen grows
	// with every change, so that a timer armed before does nothing.
	expireAt time.Time
	timer    *time.Timer
	gen      uint64
	// headers are forwarded to the refresh proxy.
	headers http.Header
	// chanInfo is the channel info (chan_info) per channel, from the subs
	// of the token or connect proxy, or the API subscribe.
	chanInfo map[string]json.RawMessage
}

// close stops the expiry timer for good.
func (st *sessionState) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
	}
}

// ceilSeconds rounds a duration up to whole seconds; none is 0. Expiries
// are at most core.MaxTTL away, far inside both types.
func ceilSeconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min(d/time.Second+min(d%time.Second, 1), math.MaxUint32))
}

// startExpiry arms the expiry of a connecting session and fills in expires
// and ttl of its connect push. With a refresh proxy the server refreshes the
// connection itself, so the client is not told (as in Centrifugo).
func (n *node) startExpiry(s *ws.Session, st *sessionState, expireAt time.Time, c *core.Connect) {
	if expireAt.IsZero() {
		return
	}
	if !n.proxy.RefreshEnabled() {
		c.Expires = true
		c.TTL = ceilSeconds(expireAt.Sub(n.now()))
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	n.setExpiryLocked(s, st, expireAt)
}

// setExpiryLocked replaces the session's expiry (zero: never). st.mu is held.
func (n *node) setExpiryLocked(s *ws.Session, st *sessionState, expireAt time.Time) {
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	st.expireAt = expireAt
	if expireAt.IsZero() || st.closed {
		return
	}
	after := expireAt.Sub(n.now())
	if !n.proxy.RefreshEnabled() {
		after += n.cfg.ClientExpiredCloseDelay.D()
	}
	gen := st.gen
	st.timer = time.AfterFunc(after, func() { n.expire(s, st, gen) })
}

// expire runs when a session's expiry timer fires: the refresh proxy decides,
// or the connection closes with 3005.
func (n *node) expire(s *ws.Session, st *sessionState, gen uint64) {
	st.mu.Lock()
	current := st.gen == gen && !st.closed
	st.mu.Unlock()
	if !current {
		return
	}
	if n.proxy.RefreshEnabled() {
		n.refreshByProxy(s, st, gen)
		return
	}
	n.log.Info("connection expired", "client", s.ID(), "user", s.User())
	s.Disconnect(core.CodeExpired.Disconnect())
}

// refreshConn applies an API refresh to one local session: expired ends it
// with 3005; expire_at in the future extends it (0: it never expires) and
// sends the refresh push; info replaces the client info.
func (n *node) refreshConn(s *ws.Session, c control) {
	st := n.state(s)
	if st == nil {
		return
	}
	if c.Expired {
		s.Disconnect(core.CodeExpired.Disconnect())
		return
	}
	var expireAt time.Time
	push := &core.Refresh{}
	if c.ExpireAt > 0 {
		expireAt = core.ExpireAtUnix(c.ExpireAt, n.now())
		ttl := expireAt.Sub(n.now())
		if ttl <= 0 {
			s.Disconnect(core.CodeExpired.Disconnect())
			return
		}
		push.Expires, push.TTL = true, ceilSeconds(ttl)
	}
	if len(c.Info) != 0 {
		s.SetUser(s.User(), json.RawMessage(c.Info))
		n.infoChanged(s, st)
	}
	st.mu.Lock()
	n.setExpiryLocked(s, st, expireAt)
	st.mu.Unlock()
	s.Send(&core.Push{Refresh: push})
}

// refreshByProxy asks the refresh proxy whether an expired connection lives
// on. The backend's disconnect or error closes it; no result, expired, or an
// expire_at not in the future closes it with 3005; when the backend cannot
// be asked, the connection gets another minute.
func (n *node) refreshByProxy(s *ws.Session, st *sessionState, gen uint64) {
	st.mu.Lock()
	headers := st.headers
	st.mu.Unlock()
	reply, err := n.proxy.Refresh(n.ctx, &proxy.RefreshRequest{
		Client: s.ID(), Transport: "uni_websocket", Protocol: "json", Encoding: "json", User: s.User(),
	}, headers)
	now := n.now()
	var expireAt time.Time
	switch {
	case err != nil && n.ctx.Err() != nil:
		return // shutting down
	case err != nil:
		n.log.Warn("refresh proxy failed", "client", s.ID(), "user", s.User(), "error", err.Error())
		expireAt = now.Add(proxyRetryAfter)
	case reply.Disconnect != nil:
		s.Disconnect(backendDisconnect(*reply.Disconnect))
		return
	case reply.Error != nil:
		s.Disconnect(proxyErrorDisconnect(reply.Error))
		return
	case reply.Result == nil || reply.Result.Expired || !core.ExpireAtUnix(reply.Result.ExpireAt, now).After(now):
		n.log.Info("connection expired", "client", s.ID(), "user", s.User(), "by", "refresh proxy")
		s.Disconnect(core.CodeExpired.Disconnect())
		return
	default:
		expireAt = core.ExpireAtUnix(reply.Result.ExpireAt, now)
		info, err := proxyRaw(reply.Result.Info, reply.Result.B64Info)
		if err != nil {
			n.log.Warn("refresh proxy sent bad info", "client", s.ID(), "error", err.Error())
			s.Disconnect(core.CodeInternal.Disconnect())
			return
		}
		if info != nil {
			s.SetUser(s.User(), info)
			n.infoChanged(s, st)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen == gen { // no API refresh meanwhile
		n.setExpiryLocked(s, st, expireAt)
	}
}

// proxyRaw returns a backend's raw JSON value, or its base64 form decoded;
// nil when both are empty or null. Anything that is not JSON is an error.
func proxyRaw(raw json.RawMessage, b64 string) (json.RawMessage, error) {
	if b64 != "" {
		decoded, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, err
		}
		raw = decoded
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, errNotJSON
	}
	return raw, nil
}

// state returns the node's state of a connected session (nil if gone).
func (n *node) state(s *ws.Session) *sessionState {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sessions[s]
}

// detached returns a context for broker calls made after the request that
// caused them is gone (a disconnect), bounded so that a stuck engine cannot
// hold a session's goroutine forever.
func detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
