package core

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Problems in a Centrifugo v6 file are named by the keys the file uses.
func TestCentrifugoProblemsNameNestedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		keys      []string
		words     []string
	}{
		{"unknown key with a suggestion", `{"client":{"token":{"hmac_secret_kye":"x"}}}`,
			[]string{"client.token.hmac_secret_kye"}, []string{"unknown key", "did you mean client.token.hmac_secret_key"}},
		{"unknown section", `{"client":{"insecure":true},"nonsense":{"a":1}}`, []string{"nonsense"}, []string{"unknown key"}},
		{"every unknown key is named", `{"client":{"pingInterval":"1s","token":{"secret":"x"}}}`,
			[]string{"client.pingInterval", "client.token.secret"}, nil},
		{"flat key mixed into a nested file", `{"client":{"insecure":true},"api_key":"k"}`,
			[]string{"api_key"}, []string{"http_api.key"}},
		{"flat channel option mixed in", `{"client":{"insecure":true},"history_size":1}`,
			[]string{"history_size"}, []string{"channel.without_namespace.history_size"}},
		{"unknown namespace option", `{"client":{"insecure":true},"channel":{"namespaces":[{"name":"chat","histroy_size":1}]}}`,
			[]string{"channel.namespaces[chat].histroy_size"}, []string{"did you mean channel.namespaces[chat].history_size"}},
		{"validation error names the nested key", `{"client":{"ping_interval":"5s","pong_timeout":"8s"}}`,
			[]string{"client.ping_interval"}, []string{"pong_timeout"}},
		{"namespace validation", `{"channel":{"namespaces":[{"name":"chat","history_size":10}]}}`,
			[]string{"channel.namespaces[chat].history_ttl"}, []string{"history_size"}},
		{"bad value type", `{"client":{"channel_limit":"many"}}`, []string{"client.channel_limit"}, nil},
		{"section that is not an object", `{"client":{"token":"x"}}`, []string{"client.token"}, []string{"object"}},
		{"fixed value", `{"channel":{"user_boundary":"@"}}`, []string{"channel.user_boundary"}, []string{`"#"`}},
		{"handler prefix", `{"uni_websocket":{"handler_prefix":"/ws"}}`, []string{"uni_websocket.handler_prefix"}, []string{"/connection/uni_websocket"}},
		{"unsupported TLS", `{"http_server":{"tls":{"enabled":true}}}`, []string{"http_server.tls.enabled"}, []string{"TLS"}},
		{"bad redis address", `{"client":{"insecure":true},"engine":{"type":"redis","redis":{"address":"ftp://x"}}}`, []string{"engine.redis.address"}, []string{"scheme"}},
		{"nats broker", `{"broker":{"enabled":true,"type":"nats"}}`, []string{"broker.type"}, []string{"nats"}},
		{"port out of range", `{"http_server":{"port":70000}}`, []string{"http_server.port"}, nil},
		{"connect proxy on without an endpoint", `{"client":{"insecure":true,"proxy":{"connect":{"enabled":true}}}}`,
			[]string{"client.proxy.connect.endpoint"}, []string{"not set"}},
		{"refresh proxy on without an endpoint", `{"client":{"insecure":true,"proxy":{"refresh":{"enabled":true}}}}`,
			[]string{"client.proxy.refresh.endpoint"}, []string{"not set"}},
		{"history_ttl as a number is nanoseconds", `{"client":{"insecure":true},"channel":{"namespaces":[{"name":"hh","history_size":10,"history_ttl":60}]}}`,
			[]string{"channel.namespaces[hh].history_ttl"}, []string{"sub-second precision"}},
		{"history_meta_ttl under a second", `{"client":{"insecure":true},"channel":{"history_meta_ttl":"1500ms"}}`,
			[]string{"channel.history_meta_ttl"}, []string{"sub-second precision"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := jsonConfig(t, tc.doc, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			var keys []string
			for _, p := range ConfigProblems(err) {
				ce, ok := p.(*ConfigError)
				if !ok {
					t.Fatalf("problem %v (%T) is not a *ConfigError", p, p)
				}
				keys = append(keys, ce.Key)
			}
			if !slices.Equal(keys, tc.keys) {
				t.Errorf("keys %q, want %q\n%v", keys, tc.keys, err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// Known Centrifugo features that uniws does not have are warnings, named
// key by key, only when the file sets them to something other than
// Centrifugo's default.
func TestCentrifugoWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"defaults are silent", `{"client":{"insecure":true},"uni_websocket":{"enabled":true},"admin":{"enabled":false},"websocket":{"compression":false},"prometheus":{"enabled":true}}`, nil},
		{"grouped by reason", `{"client":{"insecure":true},"uni_websocket":{"enabled":true},"sse":{"enabled":true},"http_stream":{"enabled":true},"grpc_api":{"enabled":true,"port":10001}}`, []string{
			"grpc_api.enabled, grpc_api.port: uniws has no gRPC server API; use the HTTP API; ignored",
			"http_stream.enabled, sse.enabled: bidirectional transports are not part of uniws; ignored",
		}},
		{"channel options", `{"client":{"insecure":true},"uni_websocket":{"enabled":true},"channel":{"namespaces":[{"name":"chat","allow_publish_for_client":true}]}}`, []string{
			"channel.namespaces[chat].allow_publish_for_client: a channel option uniws does not implement (uni_websocket clients cannot publish, read history or presence, or use map and shared-poll channels); ignored",
		}},
		{"a disabled connect proxy is silent", `{"client":{"insecure":true,"proxy":{"connect":{"endpoint":"http://x"}}},"uni_websocket":{"enabled":true}}`, nil},
		{"log level", `{"client":{"insecure":true},"uni_websocket":{"enabled":true},"log":{"level":"debug"}}`, []string{
			"log.level: use 'uniws serve --log-level' and '--log-format'; logs go to stderr; ignored",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, rep, err := jsonConfig(t, tc.doc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.Warnings, tc.want) {
				t.Errorf("warnings\n%q\nwant\n%q", rep.Warnings, tc.want)
			}
		})
	}
}

func TestCentrifugoSpecialMappings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		check     func(*Config) bool
	}{
		{"enabled connect proxy", `{"client":{"proxy":{"connect":{"enabled":true,"endpoint":"http://127.0.0.1:3000/connect","timeout":"2s"}}}}`,
			func(c *Config) bool {
				return c.ProxyConnectEndpoint == "http://127.0.0.1:3000/connect" && c.ProxyConnectTimeout.D() == 2*time.Second
			}},
		{"redis engine, one address in a list", `{"client":{"insecure":true},"engine":{"type":"redis","redis":{"address":["redis://10.0.0.1:6379"],"prefix":"app"}}}`,
			func(c *Config) bool {
				return c.Engine == "redis" && c.RedisAddress == "redis://10.0.0.1:6379" && c.RedisPrefix == "app"
			}},
		{"redis engine sharded over several addresses", `{"client":{"insecure":true},"engine":{"type":"redis","redis":{"address":["redis://a:6379","redis://b:6379"]}}}`,
			func(c *Config) bool {
				return c.RedisAddress == "" && slices.Equal(c.RedisAddresses, []string{"redis://a:6379", "redis://b:6379"})
			}},
		{"redis TLS and timeouts", `{"client":{"insecure":true},"engine":{"type":"redis","redis":{"address":"rediss://a:6380","connect_timeout":"2s","io_timeout":"3s","tls":{"enabled":true,"insecure_skip_verify":true}}}}`,
			func(c *Config) bool {
				return c.RedisTLS && c.RedisTLSInsecureSkipVerify && c.RedisConnectTimeout.D() == 2*time.Second && c.RedisIOTimeout.D() == 3*time.Second
			}},
		{"redis engine with Centrifugo's default address", `{"client":{"insecure":true},"engine":{"type":"redis"}}`,
			func(c *Config) bool { return c.RedisAddress == "redis://127.0.0.1:6379" }},
		{"redis settings of a memory engine are unused", `{"client":{"insecure":true},"engine":{"type":"memory","redis":{"address":"a:1"}}}`,
			func(c *Config) bool { return c.Engine == "memory" && c.RedisAddress == "" }},
		{"redis broker is the engine", `{"client":{"insecure":true},"broker":{"enabled":true,"type":"redis","redis":{"address":"b:2"}}}`,
			func(c *Config) bool { return c.Engine == "redis" && c.RedisAddress == "b:2" }},
		{"numbers are nanoseconds, as in Centrifugo", `{"client":{"insecure":true,"ping_interval":30000000000}}`,
			func(c *Config) bool { return c.PingInterval.D() == 30*time.Second }},
		{"global history_meta_ttl fills namespaces", `{"client":{"insecure":true},"channel":{"history_meta_ttl":"48h","namespaces":[{"name":"aa"},{"name":"bb","history_meta_ttl":"72h"}]}}`,
			func(c *Config) bool {
				a, _ := c.NamespaceOptions("aa")
				b, _ := c.NamespaceOptions("bb")
				return c.HistoryMetaTTL.D() == 48*time.Hour && a.HistoryMetaTTL.D() == 48*time.Hour && b.HistoryMetaTTL.D() == 72*time.Hour
			}},
		{"previous secret with an end", `{"client":{"token":{"hmac_secret_key":"a","hmac_previous_secret_key":"b","hmac_previous_secret_key_valid_until":1800000000}}}`,
			func(c *Config) bool { return c.TokenHMACPreviousSecretKeyValidUntil == 1800000000 }},
		{"health and metrics switches are accepted", `{"client":{"insecure":true},"health":{"enabled":true},"prometheus":{"enabled":false}}`,
			func(c *Config) bool { return c.ClientInsecure }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := jsonConfig(t, tc.doc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}
