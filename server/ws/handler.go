// Package ws is the uni_websocket transport: the HTTP upgrade, the origin
// check, reading the one connect request, and the session that writes pushes,
// pings and close frames to a connection.
package ws

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/metrics"
)

// Node is what the transport needs from the server: it turns a connect
// request into credentials and subscriptions, and forgets a session when it
// ends. Both methods are called from the session's own goroutine.
type Node interface {
	// Connect authenticates s and subscribes it. It returns the connect
	// push, or an error; a core.Disconnect error is sent to the client as
	// is, any other error as 3004 internal. Deliveries that reach s while
	// Connect runs are held and sent after the connect push.
	Connect(ctx context.Context, s *Session, req *core.ConnectRequest) (*core.Connect, error)
	// On error Connect must undo whatever it did. Disconnected is called once
	// for every session whose Connect succeeded, and for one whose Connect
	// panicked.
	Disconnected(s *Session)
}

// Config holds the transport settings.
type Config struct {
	MessageSizeLimit int
	StaleCloseDelay  time.Duration
	PingInterval     time.Duration
	PongTimeout      time.Duration
	WriteTimeout     time.Duration
	CloseTimeout     time.Duration
	QueueMaxSize     int
	JoinPushMessages bool
	AllowedOrigins   []string
	// ConnectionLimit caps open sessions on this node (0: none);
	// ConnectionRate caps new connections per second (0: none). Both
	// answer HTTP 503 before the upgrade.
	ConnectionLimit int
	ConnectionRate  int
	// NewID returns fresh client and session ids (UUIDv4 in production).
	NewID func() string
	// Jitter returns a value in [0,1) spreading first pings (rand in production).
	Jitter func() float64
	// Metrics counts pushes, bytes, disconnects and slow consumers (nil:
	// counted on collectors that no registry exposes).
	Metrics *metrics.Collectors
	// NoRing sends with one writev per connection even where io_uring
	// works (tests of that path).
	NoRing bool
}

// Handler serves /connection/uni_websocket. It is safe for concurrent use.
type Handler struct {
	cfg      Config
	node     Node
	log      *slog.Logger
	upgrader websocket.Upgrader

	pingFrames []byte // `{}` text frame followed by a Ping control frame
	pingPush   []byte // `{}` payload for joined frames

	limiter *rate.Limiter   // nil without a connection rate limit
	ctx     context.Context // sessions' context, cancelled by Shutdown
	cancel  context.CancelFunc

	raw   rawCalls  // writev and peek calls shared by sessions
	bufs  sync.Pool // *[]byte: connect requests read, connect pushes encoded
	flush *flusher  // write turns of sessions with frames queued
	idle  idleSet   // connected sessions waiting for input

	mu       sync.Mutex
	sessions map[*Session]struct{}
	active   int // requests past the limits, upgraded or upgrading
	draining bool
	drain    core.Disconnect // what Shutdown sends
	wg       sync.WaitGroup
}

// NewHandler returns a transport handler. Zero durations and sizes take the
// PROTOCOL.md defaults.
func NewHandler(cfg Config, node Node, log *slog.Logger) *Handler {
	def := core.Default()
	if cfg.MessageSizeLimit <= 0 {
		cfg.MessageSizeLimit = def.UniMessageSizeLimit
	}
	if cfg.StaleCloseDelay <= 0 {
		cfg.StaleCloseDelay = def.ClientStaleCloseDelay.D()
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = def.PingInterval.D()
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = def.PongTimeout.D()
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Second
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 5 * time.Second
	}
	if cfg.QueueMaxSize <= 0 {
		cfg.QueueMaxSize = def.ClientQueueMaxSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(nil)
	}
	h := &Handler{cfg: cfg, node: node, log: log, sessions: make(map[*Session]struct{}), flush: newFlusher(cfg.NoRing, log)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if cfg.ConnectionRate > 0 {
		h.limiter = rate.NewLimiter(rate.Limit(cfg.ConnectionRate), cfg.ConnectionRate)
	}
	h.upgrader = websocket.Upgrader{
		// No read buffer of gorilla's own: it reads the connect request
		// through the reader hijack (below) hands it, readBufferSize bytes
		// from which the session reads client frames afterwards. Writes
		// bypass gorilla's writer, so its write buffer is never taken
		// from the pool.
		ReadBufferSize:  0,
		WriteBufferPool: unusedPool{},
		CheckOrigin:     h.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			h.log.Info("upgrade refused", "status", status, "reason", reason.Error(), "remote", r.RemoteAddr)
			http.Error(w, http.StatusText(status), status)
		},
	}
	h.pingPush = []byte("{}")
	h.pingFrames = append(textFrame(h.pingPush), controlFrame(opPing, nil)...)
	return h
}

// ServeHTTP upgrades the request and runs the session until it ends.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req *core.ConnectRequest
	// An empty cf_connect is none, as in Centrifugo: the request comes as
	// the first message.
	if cf := r.URL.Query().Get("cf_connect"); cf != "" {
		var err error
		req, err = core.DecodeConnectRequest([]byte(cf))
		if err != nil {
			h.log.Info("connection refused", "reason", "invalid cf_connect", "error", err.Error(), "remote", r.RemoteAddr)
			http.Error(w, "invalid connect request", http.StatusBadRequest)
			return
		}
	}
	if h.limiter != nil && !h.limiter.Allow() {
		h.log.Info("connection refused", "reason", "client_connection_rate_limit", "remote", r.RemoteAddr)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	if h.draining {
		h.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if h.cfg.ConnectionLimit > 0 && h.active >= h.cfg.ConnectionLimit {
		h.mu.Unlock()
		h.log.Info("connection refused", "reason", "client_connection_limit", "remote", r.RemoteAddr)
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	h.active++
	h.wg.Add(1)
	h.mu.Unlock()

	var (
		conn     *websocket.Conn
		s        *Session
		returned bool
	)
	defer func() {
		if !returned {
			// A panic, which the HTTP server (or the acceptor) recovers
			// and logs: the slot, the session entry and Shutdown's wait
			// must not stay taken.
			if conn != nil {
				_ = conn.Close()
			}
			h.done(s)
		}
	}()
	hj := &hijack{ResponseWriter: w}
	conn, err := h.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		returned = true
		h.done(nil)
		return // the upgrader answered already
	}
	s = newSession(h, conn, r)
	s.br = hj.br
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	draining, drain := h.draining, h.drain
	h.mu.Unlock()
	if draining {
		// Shutdown began during the upgrade and did not see s.
		s.Disconnect(drain)
	}
	if !s.connect(h.ctx, req) {
		returned = true
		h.done(s)
		return
	}
	returned = true
	// A connected session waits for input without a goroutine; the idle
	// set ends it. Where it cannot, it reads in a fresh goroutine, so that
	// this one, whose stack grew through the HTTP server, token checks and
	// subscriptions, can end: an idle connection costs one small goroutine.
	if h.idle.watch(s) {
		return
	}
	go func() {
		defer h.done(s)
		s.serve()
	}()
}

// keepConnectBuf bounds the buffers kept for connect requests and pushes:
// a large one (many subscriptions, a big connect data) is left to the
// collector.
const keepConnectBuf = 4 << 10

// getBuf returns an empty buffer for reading a connect request or encoding
// a connect push; putBuf takes it back. A connect with an ordinary request
// thus leaves neither to the garbage collector.
func (h *Handler) getBuf() *[]byte {
	if b, ok := h.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 1024)
	return &b
}

func (h *Handler) putBuf(b *[]byte) {
	if cap(*b) > keepConnectBuf {
		return
	}
	*b = (*b)[:0]
	h.bufs.Put(b)
}

// done forgets a session (nil for a failed upgrade) and releases its slot.
func (h *Handler) done(s *Session) {
	h.mu.Lock()
	if s != nil {
		delete(h.sessions, s)
	}
	h.active--
	h.mu.Unlock()
	h.wg.Done()
}

// checkOrigin implements PROTOCOL.md §1: no Origin or a same-host one passes
// when allowed_origins is empty; "*" passes all; otherwise globs match the
// lower-cased origin.
func (h *Handler) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	origin = strings.ToLower(origin)
	if len(h.cfg.AllowedOrigins) == 0 {
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	for _, pattern := range h.cfg.AllowedOrigins {
		if pattern == "*" {
			return true
		}
		if ok, _ := path.Match(strings.ToLower(pattern), origin); ok {
			return true
		}
		if globMatch(strings.ToLower(pattern), origin) {
			return true
		}
	}
	return false
}

// globMatch matches s against a pattern where '*' stands for any run of
// characters, '/' included.
func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Shutdown refuses new connections, sends every session the disconnect d
// (3001 shutdown) and waits until all sessions ended or ctx is done, when
// it closes what is left.
func (h *Handler) Shutdown(ctx context.Context, d core.Disconnect) {
	h.mu.Lock()
	h.draining, h.drain = true, d
	sessions := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	for _, s := range sessions {
		s.Disconnect(d)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		h.cancel()
	case <-ctx.Done():
		h.cancel()
		h.mu.Lock()
		for s := range h.sessions {
			s.abort()
		}
		h.mu.Unlock()
		<-done
	}
	h.flush.wait()
	h.idle.waitIdle()
}

// NumSessions returns the number of open sessions.
func (h *Handler) NumSessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Draining reports whether Shutdown has begun.
func (h *Handler) Draining() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.draining
}

// readBufferSize is a session's read buffer: clients send one connect
// request and then almost nothing. gorilla takes a hijacked reader as its
// own only when it is larger than 256 bytes.
const readBufferSize = 512

// hijack hands gorilla a read buffer the session knows: gorilla reads the
// connect request from it, the session every frame after that
// (consumeFrames). A reader already holding bytes is passed on as it is
// (gorilla refuses the upgrade then: the client sent data too early).
type hijack struct {
	http.ResponseWriter
	br *bufio.Reader
}

func (h *hijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot hijack the connection")
	}
	c, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return c, brw, err
	}
	h.br = bufio.NewReaderSize(c, readBufferSize)
	return c, bufio.NewReadWriter(h.br, brw.Writer), nil
}

// unusedPool satisfies websocket.BufferPool; sessions write frames
// themselves, so gorilla never needs a write buffer.
type unusedPool struct{}

func (unusedPool) Get() any { return nil }
func (unusedPool) Put(any)  {}
