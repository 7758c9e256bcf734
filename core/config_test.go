package core

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const configDir = "../testdata/config"

// env is a getenv backed by a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// wantConfigErr checks that err is a *ConfigError naming key and that its
// message holds every one of the words.
func wantConfigErr(t *testing.T, err error, key string, words ...string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *ConfigError for %q", err, err, key)
	}
	if ce.Key != key {
		t.Errorf("key = %q, want %q (err %v)", ce.Key, key, err)
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("message %q does not name %q", err, key)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message %q lacks %q", err, w)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"port", cfg.Port, Port(8000)},
		{"address", cfg.Address, ""},
		{"ping_interval", cfg.PingInterval.D(), 25 * time.Second},
		{"pong_timeout", cfg.PongTimeout.D(), 8 * time.Second},
		{"uni_websocket_message_size_limit", cfg.UniMessageSizeLimit, 65536},
		{"client_queue_max_size", cfg.ClientQueueMaxSize, 1 << 20},
		{"client_channel_limit", cfg.ClientChannelLimit, 128},
		{"client_stale_close_delay", cfg.ClientStaleCloseDelay.D(), 10 * time.Second},
		{"client_recovery_max_publication_limit", cfg.ClientRecoveryMaxPubLimit, 300},
		{"channel_max_length", cfg.ChannelMaxLength, 255},
		{"proxy_connect_timeout", cfg.ProxyConnectTimeout.D(), time.Second},
		{"engine", cfg.Engine, "memory"},
		{"allowed_origins", cfg.AllowedOrigins, []string(nil)},
		{"user_subscribe_to_personal", cfg.UserSubscribeToPersonal, false},
		{"api_insecure", cfg.APIInsecure, false},
		{"allow_anonymous_connect_without_token", cfg.AllowAnonymousConnect, false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.key, c.got, c.want)
		}
	}
	if got := cfg.ListenAddr(); got != ":8000" {
		t.Errorf("ListenAddr = %q", got)
	}
	def := Default()
	if err := def.Validate(); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
}

func TestSeedConfigInEveryFormat(t *testing.T) {
	t.Parallel()
	var configs []*Config
	for _, name := range []string{"seed.json", "seed.yaml", "seed.toml"} {
		cfg, err := LoadConfig(filepath.Join(configDir, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.TokenHMACSecretKey != "secret" || !cfg.UniWebSocket || !cfg.UserSubscribeToPersonal || cfg.Port != 8000 || cfg.PingInterval.D() != 25*time.Second {
			t.Errorf("%s: %+v", name, cfg)
		}
		configs = append(configs, cfg)
	}
	for i := 1; i < len(configs); i++ {
		if !reflect.DeepEqual(configs[0], configs[i]) {
			t.Errorf("format %d differs:\n%+v\n%+v", i, configs[0], configs[i])
		}
	}
}

func TestNamespacesConfigInEveryFormat(t *testing.T) {
	t.Parallel()
	var configs []*Config
	for _, name := range []string{"namespaces.json", "namespaces.yaml", "namespaces.toml"} {
		cfg, err := LoadConfig(filepath.Join(configDir, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		configs = append(configs, cfg)
	}
	cfg := configs[0]
	if cfg.Port != 9000 || cfg.Address != "127.0.0.1" || cfg.ListenAddr() != "127.0.0.1:9000" {
		t.Errorf("port/address: %v %q", cfg.Port, cfg.Address)
	}
	if cfg.PingInterval.D() != 20*time.Second || cfg.PongTimeout.D() != 5*time.Second || cfg.ClientStaleCloseDelay.D() != 3*time.Second {
		t.Errorf("durations: %v %v %v", cfg.PingInterval, cfg.PongTimeout, cfg.ClientStaleCloseDelay)
	}
	if !slices.Equal(cfg.AllowedOrigins, []string{"https://example.com", "https://*.example.com"}) {
		t.Errorf("allowed_origins = %v", cfg.AllowedOrigins)
	}
	if !cfg.HistoryEnabled() || cfg.HistoryTTL.D() != time.Minute {
		t.Errorf("top-level history: %+v", cfg.ChannelOptions)
	}
	if len(cfg.Namespaces) != 4 {
		t.Fatalf("namespaces = %+v", cfg.Namespaces)
	}
	hist, ok := cfg.NamespaceOptions("hist")
	if !ok || !hist.HistoryEnabled() || hist.HistorySize != 10 || hist.HistoryTTL.D() != 300*time.Second ||
		!hist.ForceRecovery || !hist.ForcePositioning || !hist.JoinLeave || !hist.Presence {
		t.Errorf("hist = %+v", hist)
	}
	if r, err := cfg.ClientSubscribeAllowed("u", "rooms:lobby"); r != "" || err != nil {
		t.Errorf("rooms:lobby refused: %q %v", r, err)
	}
	if r, _ := cfg.ClientSubscribeAllowed("u", "rooms:Lobby"); r != RefusedRegex {
		t.Errorf("rooms:Lobby: %q", r)
	}
	if got := PersonalChannel(cfg.UserPersonalNamespace, "42"); got != "personal:#42" {
		t.Errorf("personal channel %q", got)
	}
	for i := 1; i < len(configs); i++ {
		if !reflect.DeepEqual(configs[0], configs[i]) {
			t.Errorf("format %d differs:\n%+v\n%+v", i, configs[0], configs[i])
		}
	}
}

func TestLoadConfigByExtension(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, body string
		port             Port
		err              bool
	}{
		{"json", "a.json", `{"port":1}`, 1, false},
		{"yaml", "a.yaml", "port: 2\n", 2, false},
		{"yml", "a.yml", "port: 3\n", 3, false},
		{"toml", "a.toml", "port = 4\n", 4, false},
		{"upper-case extension", "b.YAML", "port: 5\n", 5, false},
		{"unknown extension is JSON", "a.conf", `{"port":6}`, 6, false},
		{"empty JSON file", "empty.json", "  \n", 8000, false},
		{"empty YAML file", "empty.yaml", "", 8000, false},
		{"empty TOML file", "empty.toml", "", 8000, false},
		{"JSON null", "null.json", "null", 8000, false},
		{"YAML parsed as JSON fails", "y.json", "port: 1\n", 0, true},
		{"JSON array", "arr.json", "[1]", 0, true},
		{"bad TOML", "bad.toml", "port = = 1", 0, true},
		{"bad YAML", "bad.yaml", "port: [1", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(tc.file, tc.body)
			cfg, err := LoadConfig(p, nil)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.file) {
					t.Fatalf("err = %v, want a parse error naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Port != tc.port {
				t.Errorf("port = %d, want %d", cfg.Port, tc.port)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.json"), nil); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestPortAndDurationForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		json  string
		check func(*Config) bool
		key   string // error key; "" for success
	}{
		{"port number", `{"port":8001}`, func(c *Config) bool { return c.Port == 8001 }, ""},
		{"port string", `{"port":"8002"}`, func(c *Config) bool { return c.Port == 8002 }, ""},
		{"port string with spaces", `{"port":" 8003 "}`, func(c *Config) bool { return c.Port == 8003 }, ""},
		{"port zero", `{"port":0}`, func(c *Config) bool { return c.Port == 0 }, ""},
		{"port not a number", `{"port":"http"}`, nil, "port"},
		{"port fraction", `{"port":80.5}`, nil, "port"},
		{"port bool", `{"port":true}`, nil, "port"},
		{"port too big", `{"port":70000}`, nil, "port"},
		{"port negative", `{"port":-1}`, nil, "port"},
		{"duration string", `{"ping_interval":"1m30s"}`, func(c *Config) bool { return c.PingInterval.D() == 90*time.Second }, ""},
		{"duration milliseconds", `{"pong_timeout":"1500ms"}`, func(c *Config) bool { return c.PongTimeout.D() == 1500*time.Millisecond }, ""},
		{"duration bare number is seconds", `{"client_stale_close_delay":12}`, func(c *Config) bool { return c.ClientStaleCloseDelay.D() == 12*time.Second }, ""},
		{"duration fraction of seconds", `{"proxy_connect_timeout":0.5}`, func(c *Config) bool { return c.ProxyConnectTimeout.D() == 500*time.Millisecond }, ""},
		{"bad duration", `{"ping_interval":"soon"}`, nil, "ping_interval"},
		{"duration without unit", `{"ping_interval":"25"}`, nil, "ping_interval"},
		{"duration of wrong type", `{"history_ttl":true}`, nil, "history_ttl"},
		{"bad duration in namespace", `{"namespaces":[{"name":"ns","history_ttl":"x"}]}`, nil, "namespaces"},
		{"wrong type", `{"client_channel_limit":"many"}`, nil, "client_channel_limit"},
		{"string for bool", `{"uni_websocket":"yes"}`, nil, "uni_websocket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig("json", []byte(tc.json), nil)
			if tc.key != "" {
				wantConfigErr(t, err, tc.key)
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

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	seed, err := os.ReadFile(filepath.Join(configDir, "seed.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		check func(*Config) bool
		key   string // error key; "" for success
	}{
		{"string overrides the file", map[string]string{"UNIWS_TOKEN_HMAC_SECRET_KEY": "env-secret"},
			func(c *Config) bool { return c.TokenHMACSecretKey == "env-secret" }, ""},
		{"string that looks like JSON stays a string", map[string]string{"UNIWS_API_KEY": `{"a":1}`},
			func(c *Config) bool { return c.APIKey == `{"a":1}` }, ""},
		{"bool true", map[string]string{"UNIWS_API_INSECURE": "true"}, func(c *Config) bool { return c.APIInsecure }, ""},
		{"bool 1", map[string]string{"UNIWS_ALLOW_ANONYMOUS_CONNECT_WITHOUT_TOKEN": "1"}, func(c *Config) bool { return c.AllowAnonymousConnect }, ""},
		{"bool false overrides the file", map[string]string{"UNIWS_USER_SUBSCRIBE_TO_PERSONAL": "false"}, func(c *Config) bool { return !c.UserSubscribeToPersonal }, ""},
		{"bad bool", map[string]string{"UNIWS_API_INSECURE": "maybe"}, nil, "api_insecure"},
		{"int", map[string]string{"UNIWS_CLIENT_CHANNEL_LIMIT": "5"}, func(c *Config) bool { return c.ClientChannelLimit == 5 }, ""},
		{"large int", map[string]string{"UNIWS_CLIENT_QUEUE_MAX_SIZE": "10485760"}, func(c *Config) bool { return c.ClientQueueMaxSize == 10<<20 }, ""},
		{"bad int", map[string]string{"UNIWS_CLIENT_CHANNEL_LIMIT": "lots"}, nil, "client_channel_limit"},
		{"fractional int", map[string]string{"UNIWS_CLIENT_CHANNEL_LIMIT": "1.5"}, nil, "client_channel_limit"},
		{"port", map[string]string{"UNIWS_PORT": "9001"}, func(c *Config) bool { return c.Port == 9001 }, ""},
		{"bad port", map[string]string{"UNIWS_PORT": "high"}, nil, "port"},
		{"duration", map[string]string{"UNIWS_PING_INTERVAL": "30s"}, func(c *Config) bool { return c.PingInterval.D() == 30*time.Second }, ""},
		{"duration in seconds, as in a file", map[string]string{"UNIWS_PING_INTERVAL": "30"}, func(c *Config) bool { return c.PingInterval.D() == 30*time.Second }, ""},
		{"bad duration", map[string]string{"UNIWS_PONG_TIMEOUT": "later"}, nil, "pong_timeout"},
		{"list comma separated", map[string]string{"UNIWS_ALLOWED_ORIGINS": "https://a.example, https://b.example"},
			func(c *Config) bool {
				return slices.Equal(c.AllowedOrigins, []string{"https://a.example", "https://b.example"})
			}, ""},
		{"list as JSON", map[string]string{"UNIWS_ALLOWED_ORIGINS": `["*"]`}, func(c *Config) bool { return slices.Equal(c.AllowedOrigins, []string{"*"}) }, ""},
		{"namespaces as JSON", map[string]string{"UNIWS_NAMESPACES": `[{"name":"open","allow_subscribe_for_client":true}]`},
			func(c *Config) bool { o, ok := c.NamespaceOptions("open"); return ok && o.AllowSubscribeForClient }, ""},
		{"bad namespaces JSON", map[string]string{"UNIWS_NAMESPACES": `[{`}, nil, "namespaces"},
		{"empty value is ignored", map[string]string{"UNIWS_TOKEN_HMAC_SECRET_KEY": ""}, func(c *Config) bool { return c.TokenHMACSecretKey == "secret" }, ""},
		{"lower-case name is not read", map[string]string{"uniws_port": "1"}, func(c *Config) bool { return c.Port == 8000 }, ""},
		{"other variables are ignored", map[string]string{"UNIWS_NOT_A_KEY": "1", "PORT": "1"}, func(c *Config) bool { return c.Port == 8000 }, ""},
		{"env values are validated", map[string]string{"UNIWS_PING_INTERVAL": "5s"}, nil, "ping_interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig("json", seed, env(tc.env))
			if tc.key != "" {
				wantConfigErr(t, err, tc.key)
				if tc.key != "ping_interval" && !strings.Contains(err.Error(), EnvPrefix) {
					t.Errorf("error %q does not say it came from the environment", err)
				}
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
	// LoadConfig applies the environment too, with no file at all.
	cfg, err := LoadConfig("", env(map[string]string{"UNIWS_PORT": "7000"}))
	if err != nil || cfg.Port != 7000 {
		t.Errorf("LoadConfig env: %+v %v", cfg, err)
	}
}

func TestValidationErrorsNameTheirKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, key string
		words           []string
	}{
		{"unknown key", `{"token_hmac_secret":"x"}`, "token_hmac_secret", []string{"unknown key"}},
		{"unknown key in YAML style typo", `{"pingInterval":"25s"}`, "pingInterval", []string{"unknown key"}},
		{"unknown key inside a namespace", `{"namespaces":[{"name":"ns","histroy_size":1}]}`, "namespaces", []string{"histroy_size"}},
		{"ping not above pong", `{"ping_interval":"8s"}`, "ping_interval", []string{"pong_timeout"}},
		{"ping below pong", `{"ping_interval":"5s","pong_timeout":"10s"}`, "ping_interval", []string{"pong_timeout"}},
		{"zero ping", `{"ping_interval":"0s"}`, "ping_interval", nil},
		{"negative pong", `{"pong_timeout":"-1s"}`, "pong_timeout", nil},
		{"history_size without history_ttl", `{"history_size":10}`, "history_ttl", []string{"history_size"}},
		{"history_ttl without history_size", `{"history_ttl":"60s"}`, "history_size", []string{"history_ttl"}},
		{"negative history_size", `{"history_size":-1}`, "history_size", nil},
		{"history_size without ttl in namespace", `{"namespaces":[{"name":"ns","history_size":10}]}`, "namespaces[ns].history_ttl", []string{"history_size"}},
		{"history_ttl without size in namespace", `{"namespaces":[{"name":"ns","history_ttl":"1m"}]}`, "namespaces[ns].history_size", []string{"history_ttl"}},
		{"force_recovery without history", `{"force_recovery":true}`, "force_recovery", []string{"history"}},
		{"force_positioning without history in namespace", `{"namespaces":[{"name":"ns","force_positioning":true}]}`, "namespaces[ns].force_positioning", nil},
		{"history_meta_ttl shorter than history_ttl", `{"history_size":1,"history_ttl":"1h","history_meta_ttl":"1m"}`, "history_meta_ttl", nil},
		{"namespace name too short", `{"namespaces":[{"name":"a"}]}`, "namespaces", []string{`"a"`}},
		{"namespace name with a space", `{"namespaces":[{"name":"a b"}]}`, "namespaces", []string{`"a b"`}},
		{"namespace name with a colon", `{"namespaces":[{"name":"ns:x"}]}`, "namespaces", []string{`"ns:x"`}},
		{"namespace without name", `{"namespaces":[{"presence":true}]}`, "namespaces", nil},
		{"namespace defined twice", `{"namespaces":[{"name":"ns"},{"name":"ns"}]}`, "namespaces", []string{"twice"}},
		{"unknown engine", `{"engine":"postgres"}`, "engine", []string{"postgres"}},
		{"redis without address", `{"engine":"redis"}`, "redis_address", nil},
		{"personal namespace not defined", `{"user_personal_channel_namespace":"personal"}`, "user_personal_channel_namespace", []string{"personal"}},
		{"bad channel_regex", `{"channel_regex":"("}`, "channel_regex", nil},
		{"bad channel_regex in namespace", `{"namespaces":[{"name":"ns","channel_regex":"[a-"}]}`, "namespaces[ns].channel_regex", nil},
		{"negative limit", `{"client_channel_limit":-1}`, "client_channel_limit", []string{"negative"}},
		{"negative queue", `{"client_queue_max_size":-5}`, "client_queue_max_size", []string{"negative"}},
		{"negative stale delay", `{"client_stale_close_delay":"-1s"}`, "client_stale_close_delay", []string{"negative"}},
		{"negative proxy timeout", `{"proxy_connect_timeout":-1}`, "proxy_connect_timeout", []string{"negative"}},
		{"duration out of range", `{"client_stale_close_delay":1e300}`, "client_stale_close_delay", []string{"range"}},
		{"ping out of range", `{"ping_interval":1e10}`, "ping_interval", []string{"range"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig("json", []byte(tc.json), nil)
			wantConfigErr(t, err, tc.key, tc.words...)
		})
	}
}

func TestValidateFillsDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("json", []byte(`{"uni_websocket_message_size_limit":0,"channel_max_length":0,"engine":""}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UniMessageSizeLimit != 65536 || cfg.ChannelMaxLength != 255 || cfg.Engine != "memory" {
		t.Errorf("zero values not defaulted: %d %d %q", cfg.UniMessageSizeLimit, cfg.ChannelMaxLength, cfg.Engine)
	}
	cfg, err = ParseConfig("json", []byte(`{"engine":"redis","redis_address":"127.0.0.1:6379"}`), nil)
	if err != nil || cfg.Engine != "redis" {
		t.Errorf("redis engine: %+v %v", cfg, err)
	}
}

func TestConfigKeysCoverProtocol(t *testing.T) {
	t.Parallel()
	keys := ConfigKeys()
	if !slices.IsSorted(keys) {
		t.Error("ConfigKeys is not sorted")
	}
	// PROTOCOL.md §10 and the channel options of §6.
	for _, k := range []string{
		"token_hmac_secret_key", "token_rsa_public_key", "token_ecdsa_public_key",
		"token_jwks_public_endpoint", "token_audience", "token_issuer", "uni_websocket",
		"uni_websocket_message_size_limit", "uni_websocket_join_push_messages",
		"user_subscribe_to_personal", "user_personal_channel_namespace", "api_key", "api_insecure",
		"allowed_origins", "port", "address", "ping_interval", "pong_timeout", "client_queue_max_size",
		"client_channel_limit", "client_stale_close_delay", "client_expired_close_delay",
		"allow_anonymous_connect_without_token", "proxy_connect_endpoint", "proxy_connect_timeout",
		"history_size", "history_ttl", "force_recovery", "force_positioning", "presence", "join_leave",
		"force_push_join_leave", "allow_subscribe_for_client", "allow_subscribe_for_anonymous",
		"allow_user_limited_channels", "channel_regex", "namespaces", "engine", "redis_address",
	} {
		if _, found := slices.BinarySearch(keys, k); !found {
			t.Errorf("key %q missing", k)
		}
	}
	// Every key loads: a config naming each one with its default value
	// is accepted.
	def := Default()
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig("json", b, nil); err != nil {
		t.Errorf("marshalled default config does not load: %v", err)
	}
}

func TestWriteConfigFileRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"dev.json", "dev.yaml", "dev.toml", "sub/dir/dev.yml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			dev := DevConfig()
			if err := WriteConfigFile(path, dev, false); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600 (the file holds secrets)", st.Mode().Perm())
			}
			cfg, err := LoadConfig(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TokenHMACSecretKey != dev["token_hmac_secret_key"] || cfg.APIKey != dev["api_key"] || !cfg.UserSubscribeToPersonal || !cfg.UniWebSocket {
				t.Errorf("round trip: %+v", cfg)
			}
			if err := WriteConfigFile(path, dev, false); err == nil {
				t.Error("existing file overwritten without force")
			}
			if err := WriteConfigFile(path, map[string]any{"port": 1234}, true); err != nil {
				t.Fatalf("force: %v", err)
			}
			if cfg, err := LoadConfig(path, nil); err != nil || cfg.Port != 1234 {
				t.Errorf("after force: %+v %v", cfg, err)
			}
		})
	}
}

func TestDevConfigSecretsAreFresh(t *testing.T) {
	t.Parallel()
	a, b := DevConfig(), DevConfig()
	if a["token_hmac_secret_key"] == b["token_hmac_secret_key"] || a["api_key"] == b["api_key"] {
		t.Error("DevConfig repeats its secrets")
	}
	if s := GenerateSecret(16); len(s) != 32 {
		t.Errorf("GenerateSecret(16) = %q", s)
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Errorf("marshal: %s %v", b, err)
	}
	var d Duration
	if err := json.Unmarshal(b, &d); err != nil || d.D() != 90*time.Second || d.String() != "1m30s" {
		t.Errorf("unmarshal: %v %v", d, err)
	}
	var p Port
	if err := json.Unmarshal([]byte(`"65535"`), &p); err != nil || p != 65535 {
		t.Errorf("port: %v %v", p, err)
	}
}

func TestConfigErrorUnwraps(t *testing.T) {
	t.Parallel()
	inner := errors.New("boom")
	err := error(&ConfigError{Key: "k", Err: inner})
	if !errors.Is(err, inner) || err.Error() != `config key "k": boom` {
		t.Errorf("err = %v", err)
	}
}

func TestSecurityCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		json     string
		err      bool
		warnings []string // substrings, in order
	}{
		{"seed: no api key is a warning", `{"token_hmac_secret_key":"secret"}`, false, []string{"api_key is not set"}},
		{"keys everywhere", `{"token_hmac_secret_key":"s","api_key":"k"}`, false, nil},
		{"no way to connect", `{"api_key":"k"}`, true, nil},
		{"proxy is a way to connect", `{"proxy_connect_endpoint":"http://127.0.0.1:1/connect","api_key":"k"}`, false, nil},
		{"anonymous is a way to connect", `{"allow_anonymous_connect_without_token":true,"api_key":"k"}`, false, nil},
		{"jwks is a key", `{"token_jwks_public_endpoint":"http://127.0.0.1:1/jwks","api_key":"k"}`, false, nil},
		{"static keys next to a jwks are ignored", `{"token_jwks_public_endpoint":"http://127.0.0.1:1/jwks","token_hmac_secret_key":"s","api_key":"k"}`, false,
			[]string{"token_hmac_secret_key is ignored: with token_jwks_public_endpoint set"}},
		{"insecure modes warn", `{"client_insecure":true,"api_insecure":true}`, false, []string{"client_insecure", "api_insecure"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig("json", []byte(tc.json), nil)
			if err != nil {
				t.Fatal(err)
			}
			warnings, err := cfg.SecurityCheck()
			if tc.err {
				wantConfigErr(t, err, "token_hmac_secret_key")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want %q", i, warnings[i], w)
				}
			}
		})
	}
}
