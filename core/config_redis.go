package core

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// RedisAddressList returns the Redis servers to use: redis_addresses when
// set (channels are sharded over them), else redis_address.
func (c *Config) RedisAddressList() []string {
	if len(c.RedisAddresses) > 0 {
		return c.RedisAddresses
	}
	if c.RedisAddress != "" {
		return []string{c.RedisAddress}
	}
	return nil
}

// validateRedis checks the redis_* keys for engine "redis" and fills in
// their defaults.
func (c *Config) validateRedis() error {
	def := Default()
	switch {
	case c.RedisAddress != "" && len(c.RedisAddresses) > 0:
		return keyErr("redis_addresses", "set redis_address or redis_addresses, not both")
	case c.RedisAddress == "" && len(c.RedisAddresses) == 0:
		return keyErr("redis_address", "required when engine is redis (or redis_addresses to shard over several)")
	}
	key := "redis_address"
	if len(c.RedisAddresses) > 0 {
		key = "redis_addresses"
	}
	seen := map[string]bool{}
	for _, addr := range c.RedisAddressList() {
		if err := checkRedisAddress(addr); err != nil {
			return keyErr(key, "%q: %v", RedactURL(addr), err)
		}
		if seen[addr] {
			return keyErr(key, "%q is listed twice", RedactURL(addr))
		}
		seen[addr] = true
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = def.RedisPrefix
	}
	for _, k := range []struct {
		key string
		v   *Duration
		def Duration
	}{
		{"redis_connect_timeout", &c.RedisConnectTimeout, def.RedisConnectTimeout},
		{"redis_io_timeout", &c.RedisIOTimeout, def.RedisIOTimeout},
	} {
		if *k.v < 0 {
			return keyErr(k.key, "must not be negative")
		}
		if *k.v == 0 {
			*k.v = k.def
		}
	}
	return nil
}

// checkRedisAddress accepts host:port and redis://, rediss:// and unix://
// URLs.
func checkRedisAddress(addr string) error {
	if !strings.Contains(addr, "://") {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return errors.New("want host:port or redis://[user:password@]host:port[/db]")
		}
		return nil
	}
	u, err := url.Parse(addr)
	if err != nil {
		return errors.New("not a URL")
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return fmt.Errorf("scheme %q is not redis, rediss or unix", u.Scheme)
	}
	if u.Scheme != "unix" && u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// RedactURL hides the password of a URL's user information (user:password@)
// for messages and logs, as url.URL.Redacted does. Any other text with an
// "@" (a password holding "/", "?" or "#", which a parser takes for the
// path, or a host:port without a scheme) is redacted from the first ":"
// after the scheme up to its last "@", to be safe rather than exact.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil && strings.Contains(s, "://") {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s[:at], "://"); i >= 0 {
		start = i + 3
	}
	colon := strings.IndexByte(s[start:at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon] + ":xxxxx" + s[at:]
}
