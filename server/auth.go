package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/jwks"
	"github.com/uniws/uniws/server/proxy"
	"github.com/uniws/uniws/server/ws"
)

var errNotJSON = errors.New("not JSON")

// authState is the node's part for tokens from a JWKS, the proxies and
// presence. Its timer fields are guarded by node.mu.
type authState struct {
	proxy *proxy.Client // nil without proxy endpoints
	jwks  *jwks.Set     // nil without token_jwks_public_endpoint
	// ctx ends when the node shuts down; refresh proxy calls use it.
	ctx    context.Context
	cancel context.CancelFunc

	// presence: some channel options have presence, so the node renews
	// it on presenceTimer while sessions exist.
	presence      bool
	presenceTimer *time.Timer
	closed        bool
}

// newAuthState builds the JWKS and the proxy client the configuration names,
// and plugs the JWKS into keys.
func newAuthState(cfg *core.Config, keys *core.TokenKeys, now func() time.Time, log *slog.Logger) authState {
	a := authState{presence: cfg.Presence}
	for _, ns := range cfg.Namespaces {
		a.presence = a.presence || ns.Presence
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	if cfg.TokenJWKSPublicEndpoint != "" {
		a.jwks = jwks.New(cfg.TokenJWKSPublicEndpoint, jwks.Options{Now: now, Log: log})
		keys.KeyFunc = a.jwks.Key
	}
	if cfg.ProxyConnectEndpoint != "" || cfg.ProxyRefreshEndpoint != "" {
		a.proxy = proxy.New(proxy.Config{
			ConnectEndpoint: cfg.ProxyConnectEndpoint,
			ConnectTimeout:  cfg.ProxyConnectTimeout.D(),
			RefreshEndpoint: cfg.ProxyRefreshEndpoint,
			RefreshTimeout:  cfg.ProxyRefreshTimeout.D(),
			Headers:         cfg.ProxyHTTPHeaders,
			EmulatedHeaders: cfg.ProxyEmulatedHeaders,
			StaticHeaders:   cfg.ProxyStaticHTTPHeaders,
		})
	}
	return a
}

// closeAuth stops presence updates and refresh proxy calls and drops idle
// backend connections. Sessions have ended before it is called.
func (n *node) closeAuth() {
	n.mu.Lock()
	n.closed = true
	if n.presenceTimer != nil {
		n.presenceTimer.Stop()
	}
	n.mu.Unlock()
	n.cancel()
	if n.proxy != nil {
		n.proxy.Close()
	}
	if n.jwks != nil {
		n.jwks.Close()
	}
}

// authResult is what authentication grants a connection.
type authResult struct {
	creds *core.Credentials
	// data becomes connect.data (connect proxy only).
	data json.RawMessage
	// proxied: the connect proxy decided, so the client's requested
	// channels are not granted unless the backend returned them.
	proxied bool
	// headers are forwarded to the refresh proxy later.
	headers http.Header
}

// connectProxy asks the backend about a connection without a token. A nil
// result with a nil error means the backend sent no result (the caller
// treats the connection as having no credentials).
func (n *node) connectProxy(ctx context.Context, s *ws.Session, req *core.ConnectRequest) (*authResult, error) {
	var upgrade http.Header
	if r := s.Request(); r != nil {
		upgrade = r.Header
	}
	headers := n.proxy.Header(upgrade, req.Headers)
	reply, err := n.proxy.Connect(ctx, &proxy.ConnectRequest{
		Client:    s.ID(),
		Transport: "uni_websocket",
		Protocol:  "json",
		Encoding:  "json",
		Data:      req.Data,
		Name:      req.Name,
		Version:   req.Version,
		Channels:  slices.Sorted(maps.Keys(req.Subs)),
	}, headers)
	switch {
	case err != nil:
		n.log.Warn("connection refused", "reason", "connect proxy failed", "error", err.Error(), "client", s.ID())
		return nil, core.CodeInternal.Disconnect()
	case reply.Disconnect != nil:
		n.log.Info("connection refused", "reason", "connect proxy disconnect", "code", reply.Disconnect.Code, "client", s.ID())
		return nil, backendDisconnect(*reply.Disconnect)
	case reply.Error != nil:
		n.log.Info("connection refused", "reason", "connect proxy error", "code", reply.Error.Code, "message", reply.Error.Message, "client", s.ID())
		return nil, proxyErrorDisconnect(reply.Error)
	case reply.Result == nil:
		return nil, nil
	}
	r := reply.Result
	info, errInfo := proxyRaw(r.Info, r.B64Info)
	data, errData := proxyRaw(r.Data, r.B64Data)
	if err := errors.Join(errInfo, errData); err != nil {
		n.log.Warn("connection refused", "reason", "connect proxy sent bad info or data", "error", err.Error(), "client", s.ID())
		return nil, core.CodeInternal.Disconnect()
	}
	creds := &core.Credentials{User: r.User, Info: info, Channels: r.Channels, Subs: r.Subs, Meta: r.Meta}
	if len(r.Subs) > 0 {
		// Unlike a token's, a proxy result's channels and subs add up.
		creds.Subs = maps.Clone(r.Subs)
		for _, ch := range r.Channels {
			if _, ok := creds.Subs[ch]; !ok {
				creds.Subs[ch] = core.SubscribeClaims{}
			}
		}
	}
	if r.ExpireAt > 0 {
		creds.ExpireAt = core.ExpireAtUnix(r.ExpireAt, n.now())
		if !creds.ExpireAt.After(n.now()) {
			n.log.Info("connection refused", "reason", "connect proxy expire_at passed", "client", s.ID())
			return nil, core.CodeExpired.Disconnect()
		}
	}
	return &authResult{creds: creds, data: data, proxied: true, headers: headers}, nil
}

// subsExtras returns the channel info and subscribe data that the subs of
// a token or connect proxy result give, by channel; values that are not
// JSON are left out.
func subsExtras(creds *core.Credentials) (info, data map[string]json.RawMessage) {
	for ch, sc := range creds.Subs {
		if v, err := proxyRaw(sc.Info, sc.B64Info); err == nil && v != nil {
			if info == nil {
				info = make(map[string]json.RawMessage)
			}
			info[ch] = v
		}
		if v, err := proxyRaw(sc.Data, sc.B64Data); err == nil && v != nil {
			if data == nil {
				data = make(map[string]json.RawMessage)
			}
			data[ch] = v
		}
	}
	return info, data
}

// backendDisconnect is a backend's {"disconnect":{code,reason}}, or 3004
// when its code cannot close a WebSocket as a server disconnect (outside
// 3000-4999).
func backendDisconnect(d core.Disconnect) core.Disconnect {
	if d.Code < 3000 || d.Code > 4999 {
		return core.CodeInternal.Disconnect()
	}
	return d
}

// proxyErrorDisconnect maps a backend's {"error":{code,message}} to the
// disconnect a uni client gets, as Centrifugo does: expired and token
// expired close with 3005, too many requests with 3013, permission denied
// with 3507, anything else with 3004.
func proxyErrorDisconnect(e *core.Error) core.Disconnect {
	switch core.ErrorCode(e.Code) {
	case core.ErrExpired, core.ErrTokenExpiredCode:
		return core.CodeExpired.Disconnect()
	case core.ErrTooManyRequests:
		return core.Disconnect{Code: 3013, Reason: "too many requests"}
	case core.ErrPermissionDenied:
		return core.CodePermissionDenied.Disconnect()
	}
	return core.CodeInternal.Disconnect()
}
