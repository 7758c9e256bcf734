package core

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The output of `centrifugo genconfig` (v6.9.1) in each format runs as it
// is: its secrets become the token and API keys, the admin settings are
// reported as not applicable.
func TestCentrifugoGenconfigLoads(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"centrifugo-genconfig.json", "centrifugo-genconfig.yaml", "centrifugo-genconfig.toml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(configDir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := parseConfig(filepath.Ext(name), data)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := normalize(raw)
			if err != nil {
				t.Fatal(err)
			}
			cfg, rep, err := LoadConfigReport(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Centrifugo {
				t.Error("not recognised as a Centrifugo v6 file")
			}
			if cfg.TokenHMACSecretKey == "" || cfg.TokenHMACSecretKey != lookupPath(tree, "client.token.hmac_secret_key") {
				t.Errorf("token_hmac_secret_key not mapped")
			}
			if cfg.APIKey == "" || cfg.APIKey != lookupPath(tree, "http_api.key") {
				t.Errorf("api_key not mapped")
			}
			if cfg.AllowedOrigins != nil || cfg.Port != 8000 || cfg.Engine != "memory" {
				t.Errorf("defaults changed: %+v", cfg)
			}
			want := []string{
				"admin.password, admin.secret: Centrifugo's admin web UI is not part of uniws; ignored",
				"uni_websocket.enabled is not true: Centrifugo would serve no uni_websocket endpoint with this file; uniws always serves it",
			}
			if !slices.Equal(rep.Warnings, want) {
				t.Errorf("warnings:\n%q\nwant\n%q", rep.Warnings, want)
			}
			for _, w := range rep.Warnings {
				if strings.Contains(w, cfg.TokenHMACSecretKey) || strings.Contains(w, cfg.APIKey) {
					t.Errorf("warning leaks a secret: %s", w)
				}
			}
		})
	}
}

// A Centrifugo v6 configuration with namespaces loads to exactly the
// Config its flat twin loads to, in every format.
func TestCentrifugoNamespacesMatchFlat(t *testing.T) {
	t.Parallel()
	flat, err := LoadConfig(filepath.Join(configDir, "namespaces.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"centrifugo-namespaces.json", "centrifugo-namespaces.yaml", "centrifugo-namespaces.toml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, rep, err := LoadConfigReport(filepath.Join(configDir, name), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Centrifugo || len(rep.Warnings) != 0 {
				t.Errorf("report %+v", rep)
			}
			if !reflect.DeepEqual(cfg, flat) {
				t.Errorf("differs from namespaces.json:\n%+v\n%+v", cfg, flat)
			}
		})
	}
}

// Every key of Centrifugo v6 is known: its full default configuration
// loads with no error, and its defaults are uniws's where both have one.
func TestCentrifugoDefaultConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, rep, err := ParseConfigReport("json", []byte(centrifugoDefaults), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], "uni_websocket.enabled") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	def := Default()
	def.ShutdownTimeout = Duration(30 * time.Second)              // Centrifugo's shutdown.timeout
	def.ClientPresenceUpdateInterval = Duration(27 * time.Second) // Centrifugo's client.presence_update_interval
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cfg, def) {
		t.Errorf("Centrifugo defaults differ from uniws's:\n%+v\n%+v", *cfg, def)
	}
}

// Each mapped key sets the same field as its flat key.
func TestCentrifugoKeysMapLikeFlatKeys(t *testing.T) {
	t.Parallel()
	sample := func(key string) any {
		switch key {
		case "port":
			return 9001.0
		case "engine":
			return "redis"
		case "redis_address":
			return "redis://127.0.0.1:6390"
		case "user_personal_channel_namespace":
			return "personal"
		case "namespaces":
			return []any{map[string]any{"name": "personal", "presence": true}}
		case "channel_regex":
			return "^a$"
		case "proxy_connect_endpoint", "proxy_refresh_endpoint", "token_jwks_public_endpoint":
			return "http://127.0.0.1:3000/" + key
		case "api_error_mode":
			return "transport"
		case "proxy_http_headers", "proxy_emulated_headers":
			return []any{"Authorization"}
		case "proxy_static_http_headers":
			return map[string]any{"X-Static": "1"}
		}
		var cfg Config
		f := configFields(&cfg)[key]
		switch {
		case f.Type() == reflect.TypeOf(Duration(0)):
			return "7s"
		case f.Kind() == reflect.Bool:
			return true
		case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
			return 3.0
		case f.Kind() == reflect.Slice:
			return []any{"https://a.example"}
		}
		return "value-" + key
	}
	keys := centrifugoMapped()
	for opt := range channelOptionKeys() {
		keys = append(keys, [2]string{"channel.without_namespace." + opt, opt})
	}
	for _, kv := range keys {
		path, key := kv[0], kv[1]
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			base := map[string]any{"ping_interval": "30s", "pong_timeout": "5s", "namespaces": []any{map[string]any{"name": "personal"}}, "engine": "redis", "redis_address": "a:1"}
			flatRaw := map[string]any{}
			// Both proxies on, with endpoints: a proxy on without one is refused.
			tree := map[string]any{"client": map[string]any{"proxy": map[string]any{
				"connect": map[string]any{"enabled": true, "endpoint": sample("proxy_connect_endpoint")},
				"refresh": map[string]any{"enabled": true, "endpoint": sample("proxy_refresh_endpoint")}}}}
			flatRaw["proxy_connect_endpoint"], flatRaw["proxy_refresh_endpoint"] = sample("proxy_connect_endpoint"), sample("proxy_refresh_endpoint")
			for k, v := range base {
				flatRaw[k] = v
			}
			for _, b := range centrifugoMapped() {
				if v, ok := base[b[1]]; ok && b[1] != key {
					mustSet(t, tree, b[0], v)
				}
			}
			flatRaw[key] = sample(key)
			mustSet(t, tree, path, sample(key))
			if key == "history_ttl" || key == "history_size" || key == "force_recovery" || key == "force_positioning" || key == "history_meta_ttl" {
				flatRaw["history_size"], flatRaw["history_ttl"] = 3.0, "7s"
				mustSet(t, tree, "channel.without_namespace.history_size", 3.0)
				mustSet(t, tree, "channel.without_namespace.history_ttl", "7s")
			}
			if key == "token_hmac_previous_secret_key" {
				flatRaw["token_hmac_secret_key"] = "current"
				mustSet(t, tree, "client.token.hmac_secret_key", "current")
			}
			if key == "client_user_personal_single_connection" {
				flatRaw["user_subscribe_to_personal"], flatRaw["presence"] = true, true
				mustSet(t, tree, "client.subscribe_to_user_personal_channel.enabled", true)
				mustSet(t, tree, "channel.without_namespace.presence", true)
			}
			want, _, err := buildConfig(flatRaw, nil)
			if err != nil {
				t.Fatalf("flat: %v", err)
			}
			got, rep, err := buildConfig(tree, nil)
			if err != nil {
				t.Fatalf("nested: %v", err)
			}
			if !rep.Centrifugo {
				t.Fatal("not detected as Centrifugo style")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s maps differently from %s:\n%+v\n%+v", path, key, got, want)
			}
		})
	}
}

func mustSet(t *testing.T, tree map[string]any, path string, v any) {
	t.Helper()
	if err := setPath(tree, path, v); err != nil {
		t.Fatal(err)
	}
}

// jsonConfig loads a Centrifugo-style JSON document.
func jsonConfig(t *testing.T, doc string, env map[string]string) (*Config, *ConfigReport, error) {
	t.Helper()
	if !json.Valid([]byte(doc)) {
		t.Fatalf("bad test JSON %s", doc)
	}
	return ParseConfigReport("json", []byte(doc), func(k string) string { return env[k] })
}
