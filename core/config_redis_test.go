package core

import (
	"errors"
	"testing"
	"time"
)

func TestRedisConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	cfg, err := ParseConfig("json", []byte(`{"engine":"redis","redis_address":"redis://u:p@127.0.0.1:6379/2","redis_io_timeout":"250ms"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.RedisAddressList(); len(got) != 1 || got[0] != "redis://u:p@127.0.0.1:6379/2" {
		t.Fatalf("addresses %v", got)
	}
	if cfg.RedisPrefix != "uniws" || cfg.RedisConnectTimeout.D() != time.Second || cfg.RedisIOTimeout.D() != 250*time.Millisecond {
		t.Fatalf("prefix %q connect %s io %s", cfg.RedisPrefix, cfg.RedisConnectTimeout, cfg.RedisIOTimeout)
	}
	cfg, err = ParseConfig("json", nil, env(map[string]string{
		"UNIWS_ENGINE":          "redis",
		"UNIWS_REDIS_ADDRESSES": "127.0.0.1:7000, 127.0.0.1:7001",
		"UNIWS_REDIS_TLS":       "true",
		"UNIWS_REDIS_PREFIX":    "app",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.RedisAddressList(); len(got) != 2 || got[1] != "127.0.0.1:7001" || !cfg.RedisTLS || cfg.RedisPrefix != "app" {
		t.Fatalf("from the environment: %v tls %v prefix %q", got, cfg.RedisTLS, cfg.RedisPrefix)
	}

	for _, c := range []struct{ json, key string }{
		{`{"engine":"redis"}`, "redis_address"},
		{`{"engine":"redis","redis_address":"localhost"}`, "redis_address"},
		{`{"engine":"redis","redis_address":"http://h:1"}`, "redis_address"},
		{`{"engine":"redis","redis_address":"h:1","redis_addresses":["h:2"]}`, "redis_addresses"},
		{`{"engine":"redis","redis_addresses":["h:1","h:1"]}`, "redis_addresses"},
		{`{"engine":"redis","redis_address":"h:1","redis_connect_timeout":"-1s"}`, "redis_connect_timeout"},
		{`{"engine":"redis","redis_address":"h:1","redis_io_timeout":"-1s"}`, "redis_io_timeout"},
	} {
		_, err := ParseConfig("json", []byte(c.json), nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: %v, want an error about %s", c.json, err, c.key)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"redis://u:secret@host:6379/0":  "redis://u:xxxxx@host:6379/0",
		"redis://:secret@host:6379":     "redis://:xxxxx@host:6379",
		"redis://u:REDIS%zzPASS@host:1": "redis://u:xxxxx@host:1",
		"https://u:p@idp/jwks?x=a@b":    "https://u:xxxxx@idp/jwks?x=a@b",
		"https://idp/path@x":            "https://idp/path@x",
		"redis://user@host:6379":        "redis://user@host:6379",
		"host:6379":                     "host:6379",
		"https://u:p:q@idp":             "https://u:xxxxx@idp",
		"redis://:Sec/ret+Pw@h:6379":    "redis://:xxxxx@h:6379",
		"redis://:Sec#ret@h:6379":       "redis://:xxxxx@h:6379",
		"u:SecretPw@h:6379":             "u:xxxxx@h:6379",
		"redis://:1234/pw@h:6379":       "redis://:xxxxx@h:6379",
		"redis://u:1234#pw@h:6379":      "redis://u:xxxxx@h:6379",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
