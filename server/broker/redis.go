package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// RedisOptions configure the Redis engine.
type RedisOptions struct {
	// Addresses of the Redis servers: "host:port" or
	// "redis://user:pass@host:port/db" ("rediss://" for TLS). With several,
	// channels are sharded over them by consistent hashing of the channel
	// name; every node must list the same addresses in the same order. The
	// first one also carries control messages and the node registry.
	Addresses []string
	// Prefix starts every key and PUB/SUB channel name (default "uniws"),
	// so that several deployments can share one Redis.
	Prefix string
	// TLS connects with TLS. TLSConfig, when set, is used as given
	// (and implies TLS).
	TLS       bool
	TLSConfig *tls.Config
	// DialTimeout bounds connecting (default 1s); ReadTimeout and
	// WriteTimeout bound one command (default 1s each). Together they bound
	// how long a publish can take while Redis is unreachable.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Heartbeat is how often the node announces itself (default 1s); a node
	// that misses three heartbeats drops out of Nodes.
	Heartbeat time.Duration
	// Log receives connection problems (default: discard).
	Log *slog.Logger
	// Now is the clock presence entries expire by (default time.Now). The
	// node that adds an entry sets its expiry and the node that reads
	// checks it, so nodes' clocks should agree to well within a TTL.
	Now func() time.Time
}

func (o RedisOptions) withDefaults() RedisOptions {
	if o.Prefix == "" {
		o.Prefix = "uniws"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// opTimeout bounds an operation that has to wait for Redis, such as a
// subscription, when the caller's context has no deadline of its own.
func (o RedisOptions) opTimeout() time.Duration {
	return 2 * (o.DialTimeout + o.ReadTimeout + o.WriteTimeout)
}

// Redis is the engine for many nodes: publications go through Redis
// PUB/SUB, streams (history, offsets, epochs) live in Redis, so every node
// sees one order per channel and a client can recover on any node.
//
// Presence (redis_presence.go) lives on the channel's shard; joins and
// leaves travel on the channel's PUB/SUB channel (redis_joinleave.go).
//
// Goroutines: per shard one subscriber (its connection's reader, plus a
// writer for batched SUBSCRIBE/UNSUBSCRIBE while connected), one control
// dispatcher and one heartbeat. All start in Run and end in Close. All
// methods are safe for concurrent use.
type Redis struct {
	opts    RedisOptions
	keys    redisKeys
	shards  []*redisShard
	control *controlQueue

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.RWMutex
	handler Handler
	uid     string // this node's id in the registry
	running bool
	closed  bool

	announced atomic.Bool // the registry got this node at least once
}

// NewRedis checks opts and prepares the clients; it does not connect.
func NewRedis(opts RedisOptions) (*Redis, error) {
	opts = opts.withDefaults()
	if len(opts.Addresses) == 0 {
		return nil, errors.New("redis engine: no address")
	}
	r := &Redis{opts: opts, keys: redisKeys{prefix: opts.Prefix}, control: newControlQueue()}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	for i, addr := range opts.Addresses {
		sh, err := newRedisShard(r, i, addr)
		if err != nil {
			r.closeClients()
			return nil, err
		}
		r.shards = append(r.shards, sh)
	}
	return r, nil
}

// Run implements Broker: it checks that every Redis answers, then starts
// the subscribers, the control dispatcher and the heartbeat, and returns
// once this node receives control messages.
func (r *Redis) Run(h Handler) error {
	r.mu.Lock()
	if r.closed || r.running {
		r.mu.Unlock()
		return errors.New("redis engine: Run called twice or after Close")
	}
	r.handler, r.running = h, true
	r.uid = NewEpoch() + NewEpoch()
	if d, ok := h.(Describer); ok && d.Describe().UID != "" {
		r.uid = d.Describe().UID
	}
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(r.ctx, r.opts.opTimeout())
	defer cancel()
	for _, sh := range r.shards {
		if err := sh.client.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("ping redis %s: %w", sh.addr, err)
		}
	}
	for _, sh := range r.shards {
		r.wg.Go(func() { sh.sub.run(r.ctx) })
	}
	r.wg.Go(func() { r.control.run(r.ctx, h) })
	r.wg.Go(func() { r.heartbeat(r.ctx) })
	select {
	case <-r.shards[0].sub.controlReady:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribe to redis %s: %w", r.shards[0].addr, ctx.Err())
	}
}

// live returns ErrClosed after Close.
func (r *Redis) live() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	return nil
}

func (r *Redis) shardFor(ch string) *redisShard {
	return r.shards[jumpHash(fnv64a(ch), len(r.shards))]
}

// Close implements Broker: it stops every goroutine, removes this node
// from the registry and closes the connections.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	running := r.running
	r.mu.Unlock()

	r.cancel()
	for _, sh := range r.shards {
		sh.sub.close()
	}
	r.wg.Wait()
	if running && r.announced.Load() {
		r.unregister()
	}
	return r.closeClients()
}

func (r *Redis) closeClients() error {
	var errs []error
	for _, sh := range r.shards {
		if err := sh.client.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close redis %s: %w", sh.addr, err))
		}
	}
	return errors.Join(errs...)
}

// withTimeout bounds ctx by the engine's operation timeout.
func (r *Redis) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.opTimeout())
}

// durationMS is d in whole milliseconds, at least 1.
func durationMS(d time.Duration) int64 {
	return max(int64(d/time.Millisecond), 1)
}
