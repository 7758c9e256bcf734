// Package server composes the uniws server: the uni_websocket transport,
// the hub, the broker and the HTTP API, behind one http.Handler.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/api"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/hub"
	"github.com/uniws/uniws/server/metrics"
	"github.com/uniws/uniws/server/ws"
)

// Server is one uniws node. Create it with New, run it with Serve.
type Server struct {
	cfg    *core.Config
	opts   options
	node   *node
	ws     *ws.Handler
	api    *api.Handler
	broker broker.Broker
	mux    *http.ServeMux

	shutdownOnce sync.Once
}

type options struct {
	log     *slog.Logger
	version string
	now     func() time.Time
	newID   func() string
	jitter  func() float64
	broker  broker.Broker
	reg     *prometheus.Registry
}

// Option configures a Server.
type Option func(*options)

// WithLogger sets the structured logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithVersion sets the version reported in connect pushes and info.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithIDs injects the client and session id generator (tests).
func WithIDs(newID func() string) Option { return func(o *options) { o.newID = newID } }

// WithPingJitter injects the first-ping spread, a value in [0,1) (tests).
func WithPingJitter(f func() float64) Option { return func(o *options) { o.jitter = f } }

// WithBroker replaces the engine the configuration names (tests, embedding).
func WithBroker(b broker.Broker) Option { return func(o *options) { o.broker = b } }

// WithRegistry makes the server register its metrics on reg instead of a
// registry of its own (embedding). /metrics serves reg.
func WithRegistry(reg *prometheus.Registry) Option { return func(o *options) { o.reg = reg } }

// New builds a server from a validated configuration. Its metrics live on
// a Prometheus registry of its own (see WithRegistry), served at /metrics
// on the same listener as everything else.
func New(cfg *core.Config, opts ...Option) (*Server, error) {
	o := options{
		log:     slog.New(slog.DiscardHandler),
		version: "dev",
		now:     time.Now,
		newID:   func() string { return uuid.NewString() },
		jitter:  rand.Float64,
	}
	for _, opt := range opts {
		opt(&o)
	}
	warnings, err := cfg.SecurityCheck()
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		o.log.Warn("INSECURE CONFIGURATION: " + w)
	}
	keys, err := core.TokenKeysFromConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("token keys: %w", err)
	}
	b := o.broker
	if b == nil {
		switch cfg.Engine {
		case "", "memory":
			b = broker.NewMemory(o.now)
		case "redis":
			b, err = newRedisBroker(cfg, o.log)
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("engine %q is not available", cfg.Engine)
		}
	}
	if o.reg == nil {
		o.reg = metrics.NewRegistry()
	}
	m := metrics.New(o.reg)
	// As Centrifugo names a node: host_port, so that nodes on one host
	// can be told apart in info.
	host, _ := os.Hostname()
	host += "_" + strconv.Itoa(int(cfg.Port))
	n := &node{
		cfg:      cfg,
		keys:     keys,
		hub:      hub.New(),
		broker:   b,
		log:      o.log,
		now:      o.now,
		version:  o.version,
		uid:      o.newID(),
		name:     host,
		started:  o.now(),
		metrics:  m,
		sessions: make(map[*ws.Session]*sessionState),
		users:    make(map[string]map[*ws.Session]struct{}),
	}
	n.authState = newAuthState(cfg, keys, o.now, o.log)
	s := &Server{cfg: cfg, opts: o, node: n, broker: b}
	s.ws = ws.NewHandler(ws.Config{
		MessageSizeLimit: cfg.UniMessageSizeLimit,
		StaleCloseDelay:  cfg.ClientStaleCloseDelay.D(),
		PingInterval:     cfg.PingInterval.D(),
		PongTimeout:      cfg.PongTimeout.D(),
		QueueMaxSize:     cfg.ClientQueueMaxSize,
		JoinPushMessages: cfg.UniJoinPushMessages,
		AllowedOrigins:   cfg.AllowedOrigins,
		ConnectionLimit:  cfg.ClientConnectionLimit,
		ConnectionRate:   cfg.ClientConnectionRateLimit,
		WriteTimeout:     cfg.ClientWriteTimeout.D(),
		NewID:            o.newID,
		Jitter:           o.jitter,
		Metrics:          m,
	}, n, o.log)
	s.api = api.NewHandler(api.Config{
		Key:                  cfg.APIKey,
		Insecure:             cfg.APIInsecure,
		MaxBodySize:          int64(cfg.APIMaxBodySize),
		Timeout:              cfg.APITimeout.D(),
		BroadcastMaxChannels: cfg.APIBroadcastMaxChannels,
		TransportErrors:      cfg.APIErrorMode == "transport",
		Draining:             s.ws.Draining,
		Metrics:              m,
	}, executor{n}, o.log)
	s.mux = http.NewServeMux()
	s.mux.Handle("/connection/uni_websocket", s.ws)
	s.mux.Handle("/api", s.api)
	s.mux.Handle("/api/", s.api)
	s.mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}\n"))
	})
	metrics.RegisterState(o.reg, n, o.version)
	s.mux.Handle("/metrics", metrics.Handler(o.reg))
	if err := b.Run(n); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("start engine: %w", err)
	}
	return s, nil
}

// Handler returns the server's HTTP handler (for httptest).
func (s *Server) Handler() http.Handler { return s.mux }

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully: every client gets 3001 shutdown, in-flight API calls finish,
// the engine closes. It returns after all of that, or an error if serving
// failed. A connection that opens with a WebSocket upgrade of the endpoint
// is upgraded directly; every other one is served by net/http (listener.go),
// within http_read_timeout for the request, body included, and
// http_write_timeout for the handler and its response: a client that
// promises a body and never sends it, or never reads the answer, must not
// hold a connection and a goroutine for good. Upgraded connections clear
// these deadlines.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.HTTPReadHeaderTimeout.D(),
		ReadTimeout:       s.cfg.HTTPReadTimeout.D(),
		WriteTimeout:      s.cfg.HTTPWriteTimeout.D(),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.opts.log.Handler(), slog.LevelDebug),
	}
	acc := newAcceptor(ln, s.ws, s.cfg.HTTPReadHeaderTimeout.D(), s.opts.log)
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(acc.rest) }()
	acceptErr := make(chan error, 1)
	go func() { acceptErr <- acc.serve() }()
	s.opts.log.Info("serving", "address", ln.Addr().String(), "engine", s.cfg.Engine, "version", s.opts.version)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-acceptErr:
		acceptErr <- nil
	case serveErr = <-httpErr:
		httpErr <- nil
	}
	// One shutdown_timeout bounds the whole shutdown, in this order: the
	// clients drain (the API answers 503 meanwhile), then API calls in
	// flight finish within what is left of it, then the engine closes.
	deadline := time.Now().Add(s.cfg.ShutdownTimeout.D())
	shutdownCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	drained := false
	s.shutdownOnce.Do(func() {
		drained = true
		s.drain(shutdownCtx)
	})
	acc.close()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if drained { // else Shutdown closed the engine already
		s.closeEngine()
	}
	// Both loops have ended now; keep the first error.
	for _, err := range []error{<-acceptErr, <-httpErr} {
		if serveErr == nil && !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Shutdown disconnects every client with 3001 and closes the engine. Serve
// calls it; call it directly only when serving through Handler.
func (s *Server) Shutdown() {
	s.shutdownOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.D())
		defer cancel()
		s.drain(ctx)
		s.closeEngine()
	})
}

// drain sends every client 3001 and waits, until ctx is done, for them to
// go.
func (s *Server) drain(ctx context.Context) {
	s.ws.Shutdown(ctx, core.CodeShutdown.Disconnect())
}

// closeEngine ends token key refreshes and closes the engine.
func (s *Server) closeEngine() {
	s.node.closeAuth()
	if err := s.broker.Close(); err != nil {
		s.opts.log.Warn("engine close failed", "error", err.Error())
	}
	s.opts.log.Info("shut down")
}

// newRedisBroker builds the Redis engine from the redis_* keys.
func newRedisBroker(cfg *core.Config, log *slog.Logger) (*broker.Redis, error) {
	opts := broker.RedisOptions{
		Addresses:    cfg.RedisAddressList(),
		Prefix:       cfg.RedisPrefix,
		TLS:          cfg.RedisTLS,
		DialTimeout:  cfg.RedisConnectTimeout.D(),
		ReadTimeout:  cfg.RedisIOTimeout.D(),
		WriteTimeout: cfg.RedisIOTimeout.D(),
		Log:          log,
	}
	if cfg.RedisTLSInsecureSkipVerify {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by redis_tls_insecure_skip_verify
	}
	b, err := broker.NewRedis(opts)
	if err != nil {
		return nil, fmt.Errorf("redis engine: %w", err)
	}
	return b, nil
}
