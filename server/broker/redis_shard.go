package broker

import (
	"crypto/tls"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisShard is one Redis server: a client for commands and a subscriber
// for PUB/SUB.
type redisShard struct {
	index  int
	addr   string // host:port, for messages (never the password)
	client *redis.Client
	sub    *subscriber
}

func newRedisShard(r *Redis, index int, address string) (*redisShard, error) {
	opt, err := redisClientOptions(address, r.opts)
	if err != nil {
		return nil, err
	}
	sh := &redisShard{index: index, addr: opt.Addr, client: redis.NewClient(opt)}
	sh.sub = newSubscriber(r, sh)
	return sh, nil
}

// redisClientOptions turns an address ("host:port" or a redis:// URL) and
// the engine options into go-redis options.
func redisClientOptions(address string, o RedisOptions) (*redis.Options, error) {
	var opt *redis.Options
	if strings.Contains(address, "://") {
		parsed, err := redis.ParseURL(address)
		if err != nil {
			return nil, fmt.Errorf("parse redis address: %w", err)
		}
		opt = parsed
	} else {
		if _, _, err := net.SplitHostPort(address); err != nil {
			return nil, fmt.Errorf("parse redis address %q: want host:port or redis://...: %w", address, err)
		}
		opt = &redis.Options{Addr: address}
	}
	switch {
	case o.TLSConfig != nil:
		opt.TLSConfig = o.TLSConfig.Clone()
	case o.TLS && opt.TLSConfig == nil:
		host, _, _ := net.SplitHostPort(opt.Addr)
		opt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	opt.DialTimeout = o.DialTimeout
	opt.ReadTimeout = o.ReadTimeout
	opt.WriteTimeout = o.WriteTimeout
	opt.ContextTimeoutEnabled = true
	// A retried script could publish twice; callers retry with an
	// idempotency key instead.
	opt.MaxRetries = -1
	// One dial per attempt: while Redis is away, commands fail at once
	// and the subscriber's own backoff does the retrying.
	opt.DialerRetries = 1
	// RESP2 works with every Redis-compatible server (Valkey, KeyDB).
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// redisKeys names the Redis keys and PUB/SUB channels of one prefix. The
// variable part always comes last, so names of different kinds never
// collide.
type redisKeys struct{ prefix string }

func (k redisKeys) pubsub(ch string) string { return k.prefix + ".pub." + ch }
func (k redisKeys) pubsubPrefix() string    { return k.prefix + ".pub." }
func (k redisKeys) control() string         { return k.prefix + ".control" }
func (k redisKeys) stream(ch string) string { return k.prefix + ".stream." + ch }
func (k redisKeys) meta(ch string) string   { return k.prefix + ".meta." + ch }
func (k redisKeys) nodes() string           { return k.prefix + ".nodes" }
func (k redisKeys) node(uid string) string  { return k.prefix + ".node." + uid }

// idempotency names the result of one idempotent publish; the channel's
// length keeps (channel, key) pairs apart.
func (k redisKeys) idempotency(ch, key string) string {
	return k.prefix + ".idem." + strconv.Itoa(len(ch)) + ":" + ch + ":" + key
}

func fnv64a(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// jumpHash is Lamping and Veach's jump consistent hash: key's bucket among
// n, moving only 1/n of the keys when a bucket is added.
func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
