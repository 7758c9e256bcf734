package core

import "strings"

// How uniws treats each key of a Centrifugo v6 configuration. The key set
// itself is Centrifugo's (centrifugo_v6_defaults.json); these functions say
// what uniws does with a key:
//
//   - mapped: read into the flat key it names;
//   - fixed: uniws has this setting built in; any other value is an error;
//   - unsupported: changing it would make uniws accept what Centrifugo
//     refuses (or the reverse), so a value other than Centrifugo's default is
//     an error;
//   - accepted: read and ignored without a word (the feature is always on);
//   - everything else Centrifugo knows: a warning when it is not at its
//     default, with a reason from notApplicable.

// centrifugoMapped lists the Centrifugo v6 keys that map onto a flat key.
// Channel options inside channel.without_namespace and each namespace map
// by their own name (see channelOptionKeys).
func centrifugoMapped() [][2]string {
	return [][2]string{
		{"client.token.hmac_secret_key", "token_hmac_secret_key"},
		{"client.token.hmac_previous_secret_key", "token_hmac_previous_secret_key"},
		{"client.token.hmac_previous_secret_key_valid_until", "token_hmac_previous_secret_key_valid_until"},
		{"client.token.rsa_public_key", "token_rsa_public_key"},
		{"client.token.ecdsa_public_key", "token_ecdsa_public_key"},
		{"client.token.jwks_public_endpoint", "token_jwks_public_endpoint"},
		{"client.token.audience", "token_audience"},
		{"client.token.issuer", "token_issuer"},
		{"client.token.audience_regex", "token_audience_regex"},
		{"client.token.issuer_regex", "token_issuer_regex"},
		{"client.allowed_origins", "allowed_origins"},
		{"client.allow_anonymous_connect_without_token", "allow_anonymous_connect_without_token"},
		{"client.insecure", "client_insecure"},
		{"client.ping_interval", "ping_interval"},
		{"client.pong_timeout", "pong_timeout"},
		{"client.expired_close_delay", "client_expired_close_delay"},
		{"client.stale_close_delay", "client_stale_close_delay"},
		{"client.channel_limit", "client_channel_limit"},
		{"client.queue_max_size", "client_queue_max_size"},
		{"client.connection_limit", "client_connection_limit"},
		{"client.user_connection_limit", "client_user_connection_limit"},
		{"client.connection_rate_limit", "client_connection_rate_limit"},
		{"client.recovery_max_publication_limit", "client_recovery_max_publication_limit"},
		{"client.subscribe_to_user_personal_channel.enabled", "user_subscribe_to_personal"},
		{"client.subscribe_to_user_personal_channel.personal_channel_namespace", "user_personal_channel_namespace"},
		{"client.subscribe_to_user_personal_channel.single_connection", "client_user_personal_single_connection"},
		{"client.presence_update_interval", "client_presence_update_interval"},
		{"client.proxy.connect.endpoint", "proxy_connect_endpoint"},
		{"client.proxy.connect.timeout", "proxy_connect_timeout"},
		{"client.proxy.connect.http_headers", "proxy_http_headers"},
		{"client.proxy.connect.emulated_headers", "proxy_emulated_headers"},
		{"client.proxy.connect.http.static_headers", "proxy_static_http_headers"},
		{"client.proxy.refresh.endpoint", "proxy_refresh_endpoint"},
		{"client.proxy.refresh.timeout", "proxy_refresh_timeout"},
		{"channel.max_length", "channel_max_length"},
		{"channel.namespaces", "namespaces"},
		{"uni_websocket.enabled", "uni_websocket"},
		{"uni_websocket.message_size_limit", "uni_websocket_message_size_limit"},
		{"uni_websocket.join_push_messages", "uni_websocket_join_push_messages"},
		{"uni_websocket.write_timeout", "client_write_timeout"},
		{"http_api.key", "api_key"},
		{"http_api.insecure", "api_insecure"},
		{"http_api.error_mode", "api_error_mode"},
		{"http_server.address", "address"},
		{"http_server.port", "port"},
		{"engine.type", "engine"},
		{"engine.redis.address", "redis_address"},
		{"engine.redis.prefix", "redis_prefix"},
		{"engine.redis.connect_timeout", "redis_connect_timeout"},
		{"engine.redis.io_timeout", "redis_io_timeout"},
		{"engine.redis.tls.enabled", "redis_tls"},
		{"engine.redis.tls.insecure_skip_verify", "redis_tls_insecure_skip_verify"},
		{"shutdown.timeout", "shutdown_timeout"},
	}
}

// centrifugoSpecial lists keys that steer the mapping of others: read, never
// mapped on their own.
func centrifugoSpecial(path string) bool {
	switch path {
	case "client.proxy.connect.enabled", "client.proxy.refresh.enabled", "channel.history_meta_ttl",
		"broker.enabled", "broker.type", "broker.redis.address", "broker.redis.prefix",
		"broker.redis.connect_timeout", "broker.redis.io_timeout",
		"broker.redis.tls.enabled", "broker.redis.tls.insecure_skip_verify":
		return true
	}
	return false
}

// centrifugoFixed returns the value uniws has built in for a key, if any.
func centrifugoFixed(path string) (string, bool) {
	switch path {
	case "channel.private_prefix":
		return PrivatePrefix, true
	case "channel.namespace_boundary":
		return NamespaceBoundary, true
	case "channel.user_boundary":
		return UserBoundary, true
	case "channel.user_separator":
		return UserSeparator, true
	case "uni_websocket.handler_prefix":
		return "/connection/uni_websocket", true
	case "http_api.handler_prefix":
		return "/api", true
	case "health.handler_prefix":
		return "/health", true
	case "prometheus.handler_prefix":
		return "/metrics", true
	}
	return "", false
}

// centrifugoAccepted reports keys read and ignored in silence: the feature
// they switch on is always on in uniws.
func centrifugoAccepted(path string) bool {
	switch path {
	case "health.enabled", "prometheus.enabled":
		return true
	}
	return false
}

// centrifugoUnsupported explains why a key cannot be ignored: uniws would
// authenticate or serve differently from what the file asks for.
func centrifugoUnsupported(path string) (string, bool) {
	switch path {
	case "client.token.user_id_claim":
		return "uniws reads the user from the sub claim only", true
	case "client.insecure_skip_token_signature_verify":
		return "uniws always verifies token signatures (client.insecure skips tokens altogether)", true
	case "client.user_id_http_header":
		return "uniws authenticates by token, connect proxy or anonymous access only", true
	case "client.disallow_anonymous_connection_tokens":
		return "uniws accepts tokens with an empty sub and has no switch to refuse them", true
	case "http_server.tls.enabled", "http_server.tls_autocert.enabled":
		return "uniws serves plain HTTP: terminate TLS in a proxy in front of it", true
	}
	return "", false
}

// notApplicable gives the reason a known Centrifugo key has no effect in
// uniws, by its longest matching section prefix.
func notApplicable(path string) string {
	reasons := [][2]string{
		{"admin", "Centrifugo's admin web UI is not part of uniws"},
		{"grpc_api", "uniws has no gRPC server API; use the HTTP API"},
		{"websocket", "uniws serves the unidirectional WebSocket only, not the bidirectional one"},
		{"sse", "bidirectional transports are not part of uniws"},
		{"http_stream", "bidirectional transports are not part of uniws"},
		{"webtransport", "bidirectional transports are not part of uniws"},
		{"emulation", "bidirectional transports are not part of uniws"},
		{"uni_sse", "uniws serves uni_websocket only"},
		{"uni_http_stream", "uniws serves uni_websocket only"},
		{"uni_grpc", "uniws serves uni_websocket only"},
		{"uni_websocket", "a uni_websocket option uniws does not implement (it always sends the disconnect push and closing handshake, uncompressed)"},
		{"prometheus", "uniws always serves /metrics with its own uniws_* metrics"},
		{"debug", "use 'uniws serve --debug' (pprof on an internal address)"},
		{"log", "use 'uniws serve --log-level' and '--log-format'; logs go to stderr"},
		{"swagger", "uniws serves no Swagger UI"},
		{"init", "the connection init endpoint is not part of uniws"},
		{"opentelemetry", "uniws does not export traces"},
		{"graphite", "uniws exports metrics through /metrics only"},
		{"usage_stats", "uniws sends no usage statistics"},
		{"node", "uniws names its node after the host name"},
		{"controller", "uniws nodes talk through their engine"},
		{"shared_poll", "shared poll subscriptions are not part of uniws"},
		{"map_broker", "map subscriptions are not part of uniws"},
		{"presence_manager", "uniws keeps no presence"},
		{"broker", "set the engine with engine.type and engine.redis"},
		{"rpc", "client RPC needs a bidirectional transport"},
		{"proxies", "named proxies are not part of uniws (the connect proxy is client.proxy.connect)"},
		{"consumers", "uniws consumes no queues; publish through the HTTP API"},
		{"pid_file", "uniws writes no PID file"},
		{"enable_unreleased_features", "uniws has no unreleased features to enable"},
		{"engine.redis", "a Redis option uniws's engine does not implement (put user, password and db in the address URL: redis://user:password@host:6379/db)"},
		{"engine", "uniws's engines are memory and redis"},
		{"http_server", "uniws serves everything on one plain-HTTP listener"},
		{"http_api", "an HTTP API option uniws does not implement"},
		{"client.subscription_token", "subscription tokens belong to bidirectional clients"},
		{"client.proxy.refresh", "uniws's refresh proxy takes only enabled, endpoint and timeout (HTTP)"},
		{"client.proxy.connect", "uniws's connect proxy takes enabled, endpoint, timeout, http_headers, emulated_headers and http.static_headers (HTTP)"},
		{"client", "a client option uniws does not implement"},
		{"channel.proxy", "subscribe and publish proxies belong to bidirectional clients"},
		{"channel", "a channel option uniws does not implement (uni_websocket clients cannot publish, read history or presence, or use map and shared-poll channels)"},
	}
	best, reason := -1, "not supported by uniws"
	for _, r := range reasons {
		if (path == r[0] || strings.HasPrefix(path, r[0]+".") || strings.HasPrefix(path, r[0]+"[")) && len(r[0]) > best {
			best, reason = len(r[0]), r[1]
		}
	}
	return reason
}

// CentrifugoKey returns the Centrifugo v6 key that maps onto a flat key,
// for messages about a Centrifugo-style file.
func CentrifugoKey(flat string) (string, bool) {
	for _, kv := range centrifugoMapped() {
		if kv[1] == flat {
			return kv[0], true
		}
	}
	if channelOptionKeys()[flat] {
		return "channel.without_namespace." + flat, true
	}
	return "", false
}
