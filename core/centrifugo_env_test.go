package core

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCentrifugoEnvName(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"client.token.hmac_secret_key":                      "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY",
		"http_api.key":                                      "CENTRIFUGO_HTTP_API_KEY",
		"channel.without_namespace.history_size":            "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_HISTORY_SIZE",
		"client.subscribe_to_user_personal_channel.enabled": "CENTRIFUGO_CLIENT_SUBSCRIBE_TO_USER_PERSONAL_CHANNEL_ENABLED",
		"channel.namespaces.my-ns.presence":                 "CENTRIFUGO_CHANNEL_NAMESPACES_MY_NS_PRESENCE",
	} {
		if got := CentrifugoEnvName(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func TestCentrifugoEnv(t *testing.T) {
	t.Parallel()
	genconfig := filepath.Join(configDir, "centrifugo-genconfig.json")
	seed := filepath.Join(configDir, "seed.json")
	nsFile := filepath.Join(configDir, "centrifugo-namespaces.json")
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		check func(*Config) bool
		key   string // the problem's key; "" for success
	}{
		{"no file at all", "", map[string]string{"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY": "env", "CENTRIFUGO_HTTP_API_KEY": "k"},
			func(c *Config) bool { return c.TokenHMACSecretKey == "env" && c.APIKey == "k" }, ""},
		{"beside a flat file", seed, map[string]string{"CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY": "env"},
			func(c *Config) bool { return c.TokenHMACSecretKey == "env" && c.UserSubscribeToPersonal }, ""},
		{"over a nested file", genconfig, map[string]string{"CENTRIFUGO_HTTP_API_KEY": "env-key"},
			func(c *Config) bool { return c.APIKey == "env-key" }, ""},
		{"UNIWS_ wins", genconfig, map[string]string{"CENTRIFUGO_HTTP_API_KEY": "c", "UNIWS_API_KEY": "u"},
			func(c *Config) bool { return c.APIKey == "u" }, ""},
		{"lists are space-separated", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "true", "CENTRIFUGO_CLIENT_ALLOWED_ORIGINS": "https://a.example https://b.example"},
			func(c *Config) bool {
				return slices.Equal(c.AllowedOrigins, []string{"https://a.example", "https://b.example"})
			}, ""},
		{"typed values", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "1", "CENTRIFUGO_CLIENT_PING_INTERVAL": "40s", "CENTRIFUGO_HTTP_SERVER_PORT": "9100", "CENTRIFUGO_CLIENT_CHANNEL_LIMIT": "7"},
			func(c *Config) bool {
				return c.ClientInsecure && c.PingInterval.D() == 40*time.Second && c.Port == 9100 && c.ClientChannelLimit == 7
			}, ""},
		{"channel options", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "true", "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_ALLOW_SUBSCRIBE_FOR_CLIENT": "true"},
			func(c *Config) bool { return c.AllowSubscribeForClient }, ""},
		{"namespaces as JSON", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "true", "CENTRIFUGO_CHANNEL_NAMESPACES": `[{"name":"chat","presence":true}]`},
			func(c *Config) bool { o, ok := c.NamespaceOptions("chat"); return ok && o.Presence }, ""},
		{"one option of one namespace", nsFile, map[string]string{"CENTRIFUGO_CHANNEL_NAMESPACES_ROOMS_CHANNEL_REGEX": "^[0-9]+$"},
			func(c *Config) bool { o, _ := c.NamespaceOptions("rooms"); return o.ChannelRegex == "^[0-9]+$" }, ""},
		{"the connect proxy switch", "", map[string]string{"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED": "true", "CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT": "http://p"},
			func(c *Config) bool { return c.ProxyConnectEndpoint == "http://p" }, ""},
		{"the refresh proxy switch", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "true", "CENTRIFUGO_CLIENT_PROXY_REFRESH_ENABLED": "true", "CENTRIFUGO_CLIENT_PROXY_REFRESH_ENDPOINT": "http://p/refresh", "CENTRIFUGO_CLIENT_PROXY_REFRESH_TIMEOUT": "3s"},
			func(c *Config) bool {
				return c.ProxyRefreshEndpoint == "http://p/refresh" && c.ProxyRefreshTimeout.D() == 3*time.Second
			}, ""},
		{"an object value is JSON", "", map[string]string{"CENTRIFUGO_CLIENT_PROXY_CONNECT_ENABLED": "true", "CENTRIFUGO_CLIENT_PROXY_CONNECT_ENDPOINT": "http://p", "CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS": `{"X-Static":"v"}`},
			func(c *Config) bool { return c.ProxyStaticHTTPHeaders["X-Static"] == "v" }, ""},
		{"redis engine", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "true", "CENTRIFUGO_ENGINE_TYPE": "redis", "CENTRIFUGO_ENGINE_REDIS_ADDRESS": "redis://r:6379"},
			func(c *Config) bool { return c.Engine == "redis" && c.RedisAddress == "redis://r:6379" }, ""},
		{"bad boolean", "", map[string]string{"CENTRIFUGO_CLIENT_INSECURE": "yes please"}, nil, "client.insecure"},
		{"bad duration", "", map[string]string{"CENTRIFUGO_CLIENT_PONG_TIMEOUT": "8"}, nil, "client.pong_timeout"},
		{"env value failing validation", genconfig, map[string]string{"CENTRIFUGO_CLIENT_PING_INTERVAL": "2s"}, nil, "client.ping_interval"},
		{"bad namespace JSON", "", map[string]string{"CENTRIFUGO_CHANNEL_NAMESPACES": `[{`}, nil, "channel.namespaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := LoadConfigReport(tc.file, env(tc.env))
			if tc.key != "" {
				wantConfigErr(t, err, tc.key, "CENTRIFUGO_")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}

// A flat file and a Centrifugo file that say the same thing stay equal
// under the same variables.
func TestCentrifugoEnvOverridesBothStyles(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{"CENTRIFUGO_CLIENT_PING_INTERVAL": "45s", "UNIWS_PORT": "9300"})
	a, err := LoadConfig(filepath.Join(configDir, "namespaces.yaml"), vars)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadConfig(filepath.Join(configDir, "centrifugo-namespaces.yaml"), vars)
	if err != nil {
		t.Fatal(err)
	}
	if a.PingInterval.D() != 45*time.Second || a.Port != 9300 || a.PingInterval != b.PingInterval || a.Port != b.Port {
		t.Errorf("flat %v %v, nested %v %v", a.PingInterval, a.Port, b.PingInterval, b.Port)
	}
}
