package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
)

// closeWait bounds the wait for the server's close frame after its
// disconnect push.
const closeWait = 5 * time.Second

// dial opens the WebSocket. The dialer gives up on a handshake the server
// never answers only at its HandshakeTimeout, not when ctx ends; so that
// Close or a cancelled context (Ctrl-C, watch --timeout) end it at once,
// the end of ctx closes the connection being dialled.
func (c *Conn) dial(ctx context.Context) (*websocket.Conn, *http.Response, error) {
	d := *c.opts.Dialer
	netDial := d.NetDialContext
	if netDial == nil {
		if nd := d.NetDial; nd != nil {
			netDial = func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) }
		} else {
			netDial = (&net.Dialer{}).DialContext
		}
	}
	var (
		mu sync.Mutex
		nc net.Conn
	)
	expire := func() {
		mu.Lock()
		defer mu.Unlock()
		if nc != nil {
			_ = nc.Close()
		}
	}
	d.NetDialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := netDial(dctx, network, addr)
		if err == nil {
			mu.Lock()
			nc = conn
			mu.Unlock()
			if ctx.Err() != nil {
				expire()
			}
		}
		return conn, err
	}
	stop := context.AfterFunc(ctx, expire)
	defer stop()
	return d.DialContext(ctx, c.opts.URL, c.opts.Header)
}

// session runs one WebSocket connection from dial to close, emitting its
// pushes, and says how it ended.
func (c *Conn) session(ctx context.Context, token string) ending {
	ws, resp, err := c.dial(ctx)
	if err != nil {
		if resp != nil {
			return ending{
				err:   fmt.Errorf("dial %s: HTTP %d: %w", c.opts.URL, resp.StatusCode, err),
				retry: resp.StatusCode >= 500 || resp.StatusCode == 429,
			}
		}
		return ending{err: fmt.Errorf("dial %s: %w", c.opts.URL, err), retry: true}
	}
	defer ws.Close()
	stop := context.AfterFunc(ctx, func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = ws.Close()
	})
	defer stop()

	asked := c.pos.snapshot()
	req := core.ConnectRequest{
		Token:   token,
		Data:    c.opts.Data,
		Name:    c.opts.Name,
		Version: c.opts.Version,
		Subs:    c.pos.request(c.opts.Subs),
	}
	b, err := json.Marshal(&req)
	if err != nil {
		return ending{err: fmt.Errorf("encode connect request: %w", err)}
	}
	_ = ws.SetWriteDeadline(time.Now().Add(c.opts.ConnectTimeout))
	if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return ending{err: fmt.Errorf("send connect request: %w", err), retry: true}
	}

	s := sessionState{silence: c.opts.ConnectTimeout}
	for {
		if s.silence > 0 {
			_ = ws.SetReadDeadline(time.Now().Add(s.silence))
		} else {
			_ = ws.SetReadDeadline(time.Time{})
		}
		_, frame, err := ws.ReadMessage()
		if err != nil {
			return s.ended(err)
		}
		at := time.Now()
		for _, raw := range SplitFrame(frame) {
			if end, stop := c.handle(ctx, &s, raw, at, asked); stop {
				return end
			}
		}
	}
}

// sessionState is what the read loop of one connection knows so far.
type sessionState struct {
	connected  bool
	silence    time.Duration // longest wait for the next frame; 0 for none
	disconnect *core.Disconnect
}

// handle processes one push. It reports stop when the session must end
// now, with the ending to return.
func (c *Conn) handle(ctx context.Context, s *sessionState, raw []byte, at time.Time, asked map[string]Position) (ending, bool) {
	if s.disconnect != nil {
		return ending{}, false // nothing counts after the disconnect push
	}
	push, err := DecodePush(raw)
	if err != nil {
		return ending{err: fmt.Errorf("%w: %v", errProtocol, err), connected: s.connected, retry: true}, true
	}
	ev := Event{Kind: KindPush, Time: at, Push: push, Raw: raw}
	switch {
	case push.Disconnect != nil:
		d := *push.Disconnect
		s.disconnect = &d
		s.silence = closeWait
		return ending{}, !c.emit(ctx, ev)
	case !s.connected && push.Connect == nil:
		err := fmt.Errorf("%w: first push is %s, not connect", errProtocol, push.Kind())
		return ending{err: err, retry: true}, true
	case push.Connect != nil:
		if s.connected {
			return ending{err: fmt.Errorf("%w: second connect push", errProtocol), connected: true, retry: true}, true
		}
		s.connected = true
		s.silence = 0
		if push.Connect.Ping > 0 {
			s.silence = time.Duration(push.Connect.Ping)*time.Second + c.opts.LivenessGrace
		}
		gaps := c.pos.connect(push.Connect, asked)
		out := []Event{{Kind: KindState, Time: at, State: StateConnected, Push: push}, ev}
		for i := range gaps {
			out = append(out, Event{Kind: KindGap, Time: at, Gap: &gaps[i]})
		}
		out = append(out, recoveredEvents(push.Connect, ev)...)
		for _, e := range out {
			if !c.emit(ctx, e) {
				return ending{}, true
			}
		}
		return ending{}, false
	case push.Kind() == "ping":
		ev.Kind = KindPing
		return ending{}, !c.emit(ctx, ev)
	default:
		c.pos.observe(push)
		return ending{}, !c.emit(ctx, ev)
	}
}

// ended says how the connection ended, given the read error that ended it.
func (s *sessionState) ended(err error) ending {
	if d := s.disconnect; d != nil {
		code := core.Code(d.Code)
		return ending{code: code, reason: d.Reason, connected: s.connected,
			retry: code.Reconnect(), newToken: code == core.CodeExpired}
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		code := core.Code(ce.Code)
		return ending{code: code, reason: ce.Text, connected: s.connected,
			retry: code.Reconnect(), newToken: code == core.CodeExpired}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if s.connected {
			err = fmt.Errorf("%w within %s", errLiveness, s.silence)
		} else {
			err = fmt.Errorf("no connect push within %s", s.silence)
		}
	}
	return ending{err: fmt.Errorf("read: %w", err), connected: s.connected, retry: true}
}
