package core

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// The fuzz targets below run their seeds as ordinary tests; run one for
// real with: go test -run='^$' -fuzz=FuzzDecodeConnectRequest ./core

func FuzzDecodeConnectRequest(f *testing.F) {
	for _, s := range []string{
		``, ` `, `null`, `{}`, `[]`, `"x"`, `1`, `{"token":1}`, `{} {}`, `{"token":"t"} x`,
		`{"token":"t","subs":{"abc":{}}}`,
		`{"token":"t","subs":{"a":null,"b":{"recover":true,"offset":5,"epoch":"e"}}}`,
		`{"data":{"x": 1},"name":"n","version":"v","headers":{"a":"b"},"unknown":[1]}`,
		`{"subs":{"a":{"offset":-1}}}`, `{"subs":null}`, "{\"token\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	for _, s := range decodeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkConnectAgainstReference(t, data)
		req, err := DecodeConnectRequest(data)
		valid := json.Valid(data)
		if err != nil {
			if req != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if req == nil {
			t.Fatal("nil request without an error")
		}
		for ch, sr := range req.Subs {
			if sr == nil {
				t.Fatalf("subs[%q] is nil", ch)
			}
		}
		if len(req.Data) != 0 && !json.Valid(req.Data) {
			t.Fatalf("data is not JSON: %q", req.Data)
		}
		// What was decoded survives an encode and decode.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeConnectRequest(again)
		if err != nil {
			t.Fatalf("re-decode %s: %v", again, err)
		}
		if back.Token != req.Token || len(back.Subs) != len(req.Subs) || back.Name != req.Name {
			t.Fatalf("round trip changed the request: %+v vs %+v", back, req)
		}
	})
}

func FuzzParseChannel(f *testing.F) {
	for _, s := range []string{
		"news", "$secret", "$public:chat", "ns:#42,43", "#user", "a#b#c", ":x", "ns:", "#", "",
		"open:x", "hist:y", "nope:x", "both:#42", "rx:abc", "wide:日本", "a\x00b", "a\xff", strings.Repeat("a", 256),
	} {
		f.Add(s, 0, "42")
	}
	f.Add("abcdefghijk", 10, "")
	cfg, err := ParseConfig("json", []byte(permissionsConfig), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string, maxLen int, user string) {
		c, err := ParseChannel(name, maxLen)
		limit := maxLen
		if limit <= 0 {
			limit = MaxChannelLength
		}
		if err != nil {
			if !IsChannelNameError(err) {
				t.Fatalf("error %v is not a channel-name error", err)
			}
		} else {
			if name == "" || len(name) > limit || !utf8.ValidString(name) {
				t.Fatalf("accepted %q (limit %d)", name, limit)
			}
			for _, r := range name {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted control character in %q", name)
				}
			}
			if c.Name != name || c.Private != strings.HasPrefix(name, PrivatePrefix) {
				t.Fatalf("parts of %q: %+v", name, c)
			}
			if c.Namespace != "" && !strings.Contains(name, c.Namespace+NamespaceBoundary) {
				t.Fatalf("namespace %q not in %q", c.Namespace, name)
			}
			if c.Limited != strings.Contains(strings.TrimPrefix(name, PrivatePrefix)[len(c.Namespace):], UserBoundary) {
				t.Fatalf("Limited wrong for %q: %+v", name, c)
			}
			if c.Limited && strings.Join(c.Users, UserSeparator) != name[strings.LastIndex(name, UserBoundary)+1:] {
				t.Fatalf("users of %q: %q", name, c.Users)
			}
		}
		refusal, err := cfg.ClientSubscribeAllowed(user, name)
		if err != nil {
			if !errors.Is(err, ErrUnknownNamespace) || refusal != "" {
				t.Fatalf("ClientSubscribeAllowed(%q): %q %v", name, refusal, err)
			}
			return
		}
		if refusal == "" {
			// Granted: never private, never invalid, always ASCII or
			// checked by a channel_regex.
			pc, perr := ParseChannel(name, cfg.ChannelMaxLength)
			if perr != nil || pc.Private {
				t.Fatalf("granted %q: %+v %v", name, pc, perr)
			}
			if opts, _ := cfg.NamespaceOptions(pc.Namespace); opts.ChannelRegex == "" && !isASCII(name) {
				t.Fatalf("granted non-ASCII %q without channel_regex", name)
			}
		}
	})
}

func FuzzVerifyConnectToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	exp := now.Add(time.Hour).Unix()
	for _, s := range []string{
		"", "bad", "a.b.c", "..", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
		sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "42", "exp": exp}),
		sign(jwt.SigningMethodHS384, []byte("secret"), jwt.MapClaims{"sub": "42", "exp": now.Add(-time.Hour).Unix()}),
		sign(jwt.SigningMethodHS512, []byte("old"), jwt.MapClaims{"sub": "", "expire_at": 0, "info": map[string]any{"a": 1}}),
		sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "u", "channel": "news"}),
		sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "u", "b64info": "eyJhIjoxfQ==", "channels": []string{"a"}}),
		sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "u", "subs": map[string]any{"a": map[string]any{"data": 1}}, "nbf": exp}),
		sign(jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "u", "aud": []string{"uniws"}, "iss": "me"}),
		sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u"}),
	} {
		f.Add(s)
	}
	keys := &TokenKeys{HMAC: [][]byte{[]byte("secret"), []byte("old")}}
	strict := &TokenKeys{HMAC: [][]byte{[]byte("secret")}, Audience: "uniws", Issuer: "me"}
	f.Fuzz(func(t *testing.T, token string) {
		for _, k := range []*TokenKeys{keys, strict} {
			creds, err := k.VerifyConnectToken(token, now)
			if err != nil {
				inv, expd := errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTokenExpired)
				if inv == expd {
					t.Fatalf("error %v must wrap exactly one token error", err)
				}
				if creds != nil {
					t.Fatal("credentials returned with an error")
				}
				continue
			}
			if creds == nil {
				t.Fatal("nil credentials without an error")
			}
			if len(creds.Info) != 0 && !json.Valid(creds.Info) {
				t.Fatalf("info is not JSON: %q", creds.Info)
			}
			if !creds.ExpireAt.IsZero() && !creds.ExpireAt.After(now) {
				t.Fatalf("accepted a token expiring at %v", creds.ExpireAt)
			}
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	formats := []string{"json", "yaml", "toml"}
	seeds := []struct {
		format int
		body   string
	}{
		{0, `{"token_hmac_secret_key":"secret","uni_websocket":true,"user_subscribe_to_personal":true}`},
		{0, `{"port":"9000","ping_interval":"20s","pong_timeout":5,"namespaces":[{"name":"ns","history_size":1,"history_ttl":"1m","channel_regex":"^a"}]}`},
		{0, `{"history_size":1}`}, {0, `null`}, {0, `[]`}, {0, `{"ping_interval":1e300}`}, {0, `{"port":99999999999999999999}`},
		{1, "token_hmac_secret_key: secret\nuni_websocket: true\nnamespaces:\n  - name: ns\n    presence: true\n"},
		{1, "port: .nan\n"}, {1, "1: x\n"}, {1, "a: &a [*a]\n"}, {1, "---\n"},
		{2, "token_hmac_secret_key = \"secret\"\n[[namespaces]]\nname = \"ns\"\n"},
		{2, "ping_interval = 1979-05-27T07:32:00Z\n"}, {2, "port = 1e3\n"},
		{0, `{"port":0}`}, // an explicit zero port survives validation
	}
	for _, s := range seeds {
		f.Add(uint8(s.format), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		cfg, err := ParseConfig(formats[int(format)%len(formats)], data, nil)
		if err != nil {
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if cfg.PingInterval <= cfg.PongTimeout || cfg.PongTimeout <= 0 {
			t.Fatalf("invalid ping/pong accepted: %v %v", cfg.PingInterval, cfg.PongTimeout)
		}
		if cfg.Port < 0 || cfg.Port > 65535 {
			t.Fatalf("port %d accepted", cfg.Port)
		}
		for _, ns := range cfg.Namespaces {
			if !ValidNamespaceName(ns.Name) {
				t.Fatalf("namespace %q accepted", ns.Name)
			}
		}
		// Validating again changes nothing.
		again := *cfg
		if err := again.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		// The accepted config's own JSON loads again. (Not to the same
		// values: omitempty drops explicit zeros such as "port":0, which
		// then read as defaults; nothing marshals a Config to reload it.)
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := ParseConfig("json", b, nil)
		if err != nil {
			t.Fatalf("re-parse %s: %v", b, err)
		}
		if len(back.Namespaces) != len(cfg.Namespaces) || back.PingInterval != cfg.PingInterval {
			t.Fatalf("round trip changed the config:\n%s", b)
		}
	})
}
