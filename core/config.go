package core

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Config is the server configuration in the seed's flat key style
// (PROTOCOL.md §10). The zero value is not usable: start from Default().
type Config struct {
	TokenHMACSecretKey         string `json:"token_hmac_secret_key,omitempty"`
	TokenHMACPreviousSecretKey string `json:"token_hmac_previous_secret_key,omitempty"`
	// TokenHMACPreviousSecretKeyValidUntil ends the previous key's use (Unix
	// seconds; 0: no end), as in Centrifugo v6.
	TokenHMACPreviousSecretKeyValidUntil int64    `json:"token_hmac_previous_secret_key_valid_until,omitempty"`
	TokenRSAPublicKey                    string   `json:"token_rsa_public_key,omitempty"`
	TokenECDSAPublicKey                  string   `json:"token_ecdsa_public_key,omitempty"`
	TokenJWKSPublicEndpoint              string   `json:"token_jwks_public_endpoint,omitempty"`
	TokenAudience                        string   `json:"token_audience,omitempty"`
	TokenIssuer                          string   `json:"token_issuer,omitempty"`
	UniWebSocket                         bool     `json:"uni_websocket,omitempty"`
	UniMessageSizeLimit                  int      `json:"uni_websocket_message_size_limit,omitempty"`
	UniJoinPushMessages                  bool     `json:"uni_websocket_join_push_messages,omitempty"`
	UserSubscribeToPersonal              bool     `json:"user_subscribe_to_personal,omitempty"`
	UserPersonalNamespace                string   `json:"user_personal_channel_namespace,omitempty"`
	APIKey                               string   `json:"api_key,omitempty"`
	APIInsecure                          bool     `json:"api_insecure,omitempty"`
	APIErrorMode                         string   `json:"api_error_mode,omitempty"`
	AllowedOrigins                       []string `json:"allowed_origins,omitempty"`
	Port                                 Port     `json:"port,omitempty"`
	Address                              string   `json:"address,omitempty"`
	PingInterval                         Duration `json:"ping_interval,omitempty"`
	PongTimeout                          Duration `json:"pong_timeout,omitempty"`
	ClientQueueMaxSize                   int      `json:"client_queue_max_size,omitempty"`
	ClientChannelLimit                   int      `json:"client_channel_limit,omitempty"`
	ClientStaleCloseDelay                Duration `json:"client_stale_close_delay,omitempty"`
	ClientExpiredCloseDelay              Duration `json:"client_expired_close_delay,omitempty"`
	ClientRecoveryMaxPubLimit            int      `json:"client_recovery_max_publication_limit,omitempty"`
	ChannelMaxLength                     int      `json:"channel_max_length,omitempty"`
	AllowAnonymousConnect                bool     `json:"allow_anonymous_connect_without_token,omitempty"`
	ClientInsecure                       bool     `json:"client_insecure,omitempty"`
	ClientConnectionLimit                int      `json:"client_connection_limit,omitempty"`
	ClientConnectionRateLimit            int      `json:"client_connection_rate_limit,omitempty"`
	ClientUserConnectionLimit            int      `json:"client_user_connection_limit,omitempty"`
	ClientConnectSubsLimit               int      `json:"client_connect_subs_limit,omitempty"`
	ClientWriteTimeout                   Duration `json:"client_write_timeout,omitempty"`
	HTTPReadHeaderTimeout                Duration `json:"http_read_header_timeout,omitempty"`
	HTTPReadTimeout                      Duration `json:"http_read_timeout,omitempty"`
	HTTPWriteTimeout                     Duration `json:"http_write_timeout,omitempty"`
	APIMaxBodySize                       int      `json:"api_max_body_size,omitempty"`
	APITimeout                           Duration `json:"api_timeout,omitempty"`
	APIBroadcastMaxChannels              int      `json:"api_broadcast_max_channels,omitempty"`
	ProxyConnectEndpoint                 string   `json:"proxy_connect_endpoint,omitempty"`
	ProxyConnectTimeout                  Duration `json:"proxy_connect_timeout,omitempty"`
	ShutdownTimeout                      Duration `json:"shutdown_timeout,omitempty"`
	Engine                               string   `json:"engine,omitempty"`
	RedisAddress                         string   `json:"redis_address,omitempty"`
	RedisPrefix                          string   `json:"redis_prefix,omitempty"`
	RedisAddresses                       []string `json:"redis_addresses,omitempty"`
	RedisTLS                             bool     `json:"redis_tls,omitempty"`
	RedisTLSInsecureSkipVerify           bool     `json:"redis_tls_insecure_skip_verify,omitempty"`
	RedisConnectTimeout                  Duration `json:"redis_connect_timeout,omitempty"`
	RedisIOTimeout                       Duration `json:"redis_io_timeout,omitempty"`

	// ChannelOptions apply to channels without a namespace.
	ChannelOptions
	Namespaces []Namespace `json:"namespaces,omitempty"`

	// Token claims, proxies and presence (docs/auth.md); defaults and
	// checks are in authconfig.go.
	TokenAudienceRegex           string            `json:"token_audience_regex,omitempty"`
	TokenIssuerRegex             string            `json:"token_issuer_regex,omitempty"`
	ProxyHTTPHeaders             []string          `json:"proxy_http_headers,omitempty"`
	ProxyEmulatedHeaders         []string          `json:"proxy_emulated_headers,omitempty"`
	ProxyStaticHTTPHeaders       map[string]string `json:"proxy_static_http_headers,omitempty"`
	ProxyRefreshEndpoint         string            `json:"proxy_refresh_endpoint,omitempty"`
	ProxyRefreshTimeout          Duration          `json:"proxy_refresh_timeout,omitempty"`
	ClientPresenceUpdateInterval Duration          `json:"client_presence_update_interval,omitempty"`
	ClientUserPersonalSingle     bool              `json:"client_user_personal_single_connection,omitempty"`
}

// ChannelOptions are the per-namespace channel options (PROTOCOL.md §6).
type ChannelOptions struct {
	HistorySize                int      `json:"history_size,omitempty"`
	HistoryTTL                 Duration `json:"history_ttl,omitempty"`
	HistoryMetaTTL             Duration `json:"history_meta_ttl,omitempty"`
	ForceRecovery              bool     `json:"force_recovery,omitempty"`
	ForcePositioning           bool     `json:"force_positioning,omitempty"`
	Presence                   bool     `json:"presence,omitempty"`
	JoinLeave                  bool     `json:"join_leave,omitempty"`
	ForcePushJoinLeave         bool     `json:"force_push_join_leave,omitempty"`
	AllowSubscribeForClient    bool     `json:"allow_subscribe_for_client,omitempty"`
	AllowSubscribeForAnonymous bool     `json:"allow_subscribe_for_anonymous,omitempty"`
	AllowUserLimitedChannels   bool     `json:"allow_user_limited_channels,omitempty"`
	ChannelRegex               string   `json:"channel_regex,omitempty"`

	channelRegexp *regexp.Regexp
}

// HistoryEnabled reports whether channels with these options keep a stream.
func (o ChannelOptions) HistoryEnabled() bool { return o.HistorySize > 0 && o.HistoryTTL > 0 }

// Namespace is a named set of channel options; channels "name:..." use it.
type Namespace struct {
	Name string `json:"name"`
	ChannelOptions
}

// Default returns the configuration with every default of PROTOCOL.md.
func Default() Config {
	return Config{
		Port:                      8000,
		PingInterval:              Duration(25 * time.Second),
		PongTimeout:               Duration(8 * time.Second),
		UniMessageSizeLimit:       65536,
		ClientQueueMaxSize:        1 << 20,
		ClientChannelLimit:        128,
		ClientStaleCloseDelay:     Duration(10 * time.Second),
		ClientExpiredCloseDelay:   Duration(25 * time.Second),
		ClientRecoveryMaxPubLimit: 300,
		ClientConnectSubsLimit:    1024,
		ClientWriteTimeout:        Duration(time.Second),
		HTTPReadHeaderTimeout:     Duration(10 * time.Second),
		HTTPReadTimeout:           Duration(30 * time.Second),
		HTTPWriteTimeout:          Duration(60 * time.Second),
		APIMaxBodySize:            10 << 20,
		APITimeout:                Duration(10 * time.Second),
		APIBroadcastMaxChannels:   1000,
		ChannelMaxLength:          MaxChannelLength,
		ProxyConnectTimeout:       Duration(time.Second),
		ShutdownTimeout:           Duration(5 * time.Second),
		Engine:                    "memory",
		RedisPrefix:               "uniws",
		RedisConnectTimeout:       Duration(time.Second),
		RedisIOTimeout:            Duration(time.Second),
	}
}

// ConfigError names the key a configuration problem is about.
type ConfigError struct {
	Key string
	Err error
}

func (e *ConfigError) Error() string { return fmt.Sprintf("config key %q: %v", e.Key, e.Err) }
func (e *ConfigError) Unwrap() error { return e.Err }

func keyErr(key, format string, args ...any) error {
	return &ConfigError{Key: key, Err: fmt.Errorf(format, args...)}
}

// Validate checks the configuration and fills in derived values (compiled
// regexes, zero limits replaced by defaults). It reports every problem it
// finds, each a *ConfigError naming its key, joined with errors.Join; the
// first one comes first.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	def := Default()
	if c.UniMessageSizeLimit <= 0 {
		c.UniMessageSizeLimit = def.UniMessageSizeLimit
	}
	if c.ChannelMaxLength <= 0 {
		c.ChannelMaxLength = def.ChannelMaxLength
	}
	if c.Port < 0 || c.Port > 65535 {
		add(keyErr("port", "%d is not a TCP port", c.Port))
	}
	switch {
	case c.PingInterval <= 0:
		add(keyErr("ping_interval", "must be positive"))
	case c.PongTimeout <= 0:
	case c.PingInterval <= c.PongTimeout:
		add(keyErr("ping_interval", "%s must be greater than pong_timeout %s", c.PingInterval, c.PongTimeout))
	}
	if c.PongTimeout <= 0 {
		add(keyErr("pong_timeout", "must be positive"))
	}
	for _, k := range []struct {
		key string
		v   Duration
	}{
		{"client_stale_close_delay", c.ClientStaleCloseDelay},
		{"client_expired_close_delay", c.ClientExpiredCloseDelay},
		{"client_write_timeout", c.ClientWriteTimeout},
		{"proxy_connect_timeout", c.ProxyConnectTimeout},
		{"shutdown_timeout", c.ShutdownTimeout},
		{"http_read_header_timeout", c.HTTPReadHeaderTimeout},
		{"http_read_timeout", c.HTTPReadTimeout},
		{"http_write_timeout", c.HTTPWriteTimeout},
		{"api_timeout", c.APITimeout},
	} {
		if k.v < 0 {
			return keyErr(k.key, "must not be negative")
		}
	}
	for _, k := range []struct {
		key string
		v   int
	}{
		{"client_queue_max_size", c.ClientQueueMaxSize},
		{"client_channel_limit", c.ClientChannelLimit},
		{"client_recovery_max_publication_limit", c.ClientRecoveryMaxPubLimit},
		{"client_connection_limit", c.ClientConnectionLimit},
		{"client_connection_rate_limit", c.ClientConnectionRateLimit},
		{"client_user_connection_limit", c.ClientUserConnectionLimit},
		{"client_connect_subs_limit", c.ClientConnectSubsLimit},
		{"api_max_body_size", c.APIMaxBodySize},
		{"api_broadcast_max_channels", c.APIBroadcastMaxChannels},
	} {
		if k.v < 0 {
			add(keyErr(k.key, "must not be negative"))
		}
	}
	if c.TokenHMACPreviousSecretKey != "" && c.TokenHMACSecretKey == "" {
		add(keyErr("token_hmac_previous_secret_key", "needs token_hmac_secret_key: the previous secret is the one being rotated out"))
	}
	if c.TokenHMACPreviousSecretKeyValidUntil < 0 {
		add(keyErr("token_hmac_previous_secret_key_valid_until", "must not be negative (a Unix time in seconds, 0 for no end)"))
	}
	switch c.Engine {
	case "", "memory":
		c.Engine = "memory"
	case "redis":
		add(c.validateRedis())
	default:
		add(keyErr("engine", "%q is not an engine (memory or redis)", c.Engine))
	}
	if c.APIErrorMode != "" && c.APIErrorMode != "transport" {
		add(keyErr("api_error_mode", "%q is not an error mode (\"transport\", or empty for errors in the reply)", c.APIErrorMode))
	}
	add(c.ChannelOptions.validate(""))
	seen := map[string]bool{}
	for i := range c.Namespaces {
		ns := &c.Namespaces[i]
		if !ValidNamespaceName(ns.Name) {
			add(keyErr("namespaces", "namespace name %q must match %s", ns.Name, namespaceNameRegex))
			continue
		}
		if seen[ns.Name] {
			add(keyErr("namespaces", "namespace %q defined twice", ns.Name))
			continue
		}
		seen[ns.Name] = true
		add(ns.ChannelOptions.validate("namespaces[" + ns.Name + "]."))
	}
	if c.UserPersonalNamespace != "" && !seen[c.UserPersonalNamespace] {
		add(keyErr("user_personal_channel_namespace", "namespace %q is not defined", c.UserPersonalNamespace))
	}
	add(c.validateAuth())
	return errors.Join(errs...)
}

func (o *ChannelOptions) validate(prefix string) error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, keyErr(prefix+key, format, args...))
	}
	switch {
	case o.HistorySize < 0:
		add("history_size", "must not be negative")
	case o.HistorySize > 0 && o.HistoryTTL <= 0:
		add("history_ttl", "must be set when history_size is set")
	case o.HistoryTTL > 0 && o.HistorySize <= 0:
		add("history_size", "must be set when history_ttl is set")
	}
	if (o.ForceRecovery || o.ForcePositioning) && !o.HistoryEnabled() {
		key := "force_recovery"
		if !o.ForceRecovery {
			key = "force_positioning"
		}
		add(key, "needs history_size and history_ttl")
	}
	if o.HistoryMetaTTL > 0 && o.HistoryMetaTTL < o.HistoryTTL {
		add("history_meta_ttl", "must not be shorter than history_ttl")
	}
	if o.ChannelRegex != "" {
		re, err := regexp.Compile(o.ChannelRegex)
		if err != nil {
			add("channel_regex", "%v", err)
		} else {
			o.channelRegexp = re
		}
	}
	return errors.Join(errs...)
}

// ListenAddr is the host:port the server listens on.
func (c *Config) ListenAddr() string {
	return net.JoinHostPort(c.Address, strconv.Itoa(int(c.Port)))
}

// SecurityCheck refuses configurations that would run unsafely by accident
// and returns warnings for the explicitly insecure ones. With no token key,
// no connect proxy and no anonymous access, nobody could ever connect: that
// is an error unless client_insecure is set. With no api_key the HTTP API
// refuses every request (PROTOCOL.md §8), which is a warning, so that the
// seed configuration runs as it is.
func (c *Config) SecurityCheck() (warnings []string, err error) {
	hasKey := c.TokenHMACSecretKey != "" || c.TokenRSAPublicKey != "" || c.TokenECDSAPublicKey != "" || c.TokenJWKSPublicEndpoint != ""
	if !hasKey && c.ProxyConnectEndpoint == "" && !c.AllowAnonymousConnect && !c.ClientInsecure {
		return nil, keyErr("token_hmac_secret_key", "no token key is configured, so no client could connect: set token_hmac_secret_key (or token_rsa_public_key, token_ecdsa_public_key, token_jwks_public_endpoint), proxy_connect_endpoint, or client_insecure for local development")
	}
	if c.TokenJWKSPublicEndpoint != "" {
		for key, v := range map[string]string{"token_hmac_secret_key": c.TokenHMACSecretKey, "token_rsa_public_key": c.TokenRSAPublicKey, "token_ecdsa_public_key": c.TokenECDSAPublicKey} {
			if v != "" {
				warnings = append(warnings, key+" is ignored: with token_jwks_public_endpoint set, only the JWKS keys verify tokens (as in Centrifugo)")
			}
		}
		sort.Strings(warnings)
	}
	if c.ClientInsecure {
		warnings = append(warnings, "client_insecure is on: connections need no valid token and may subscribe to any public channel; never use this in production")
	}
	if c.APIInsecure {
		warnings = append(warnings, "api_insecure is on: the HTTP API accepts requests without an API key; never expose it")
	} else if c.APIKey == "" {
		warnings = append(warnings, "api_key is not set: the HTTP API refuses every request (set api_key, or api_insecure for local development)")
	}
	return warnings, nil
}
