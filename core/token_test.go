package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenNow() is the fixed clock of the token tests.
func tokenNow() time.Time { return time.Unix(1_800_000_000, 0) }

func signClaims(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func hmacKeys(secrets ...string) *TokenKeys {
	k := &TokenKeys{}
	for _, s := range secrets {
		k.HMAC = append(k.HMAC, []byte(s))
	}
	return k
}

func rsaKeyPEM(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func ecKeyPEM(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// wantTokenErr checks that err wraps want (nil for success) and never both
// token errors.
func wantTokenErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if errors.Is(err, ErrTokenInvalid) && errors.Is(err, ErrTokenExpired) {
		t.Fatalf("err %v wraps both token errors", err)
	}
}

func TestVerifyConnectTokenHMAC(t *testing.T) {
	t.Parallel()
	keys := hmacKeys("secret")
	exp := tokenNow().Add(time.Hour).Unix()
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
		t.Run(m.Alg(), func(t *testing.T) {
			t.Parallel()
			tok := signClaims(t, m, []byte("secret"), jwt.MapClaims{"sub": "42", "exp": exp})
			creds, err := keys.VerifyConnectToken(tok, tokenNow())
			wantTokenErr(t, err, nil)
			if creds.User != "42" || !creds.ExpireAt.Equal(time.Unix(exp, 0)) {
				t.Errorf("creds = %+v", creds)
			}
			wrong := signClaims(t, m, []byte("other"), jwt.MapClaims{"sub": "42", "exp": exp})
			_, err = keys.VerifyConnectToken(wrong, tokenNow())
			wantTokenErr(t, err, ErrTokenInvalid)
		})
	}
}

func TestVerifyConnectTokenRefusals(t *testing.T) {
	t.Parallel()
	rsaKey, rsaPEM := rsaKeyPEM(t)
	ecKey, _ := ecKeyPEM(t)
	valid := jwt.MapClaims{"sub": "42", "exp": tokenNow().Add(time.Hour).Unix()}
	good := signClaims(t, jwt.SigningMethodHS256, []byte("secret"), valid)
	parts := strings.Split(good, ".")

	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","exp":1900000000}`))
	none := signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	noneHS := noneHeader + "." + parts[1] + "." + parts[2] // none header, HMAC signature
	rsaOnly := &TokenKeys{RSA: &rsaKey.PublicKey}
	rsaAndHMAC := &TokenKeys{HMAC: [][]byte{[]byte("secret")}, RSA: &rsaKey.PublicKey}

	tests := []struct {
		name  string
		keys  *TokenKeys
		token string
		want  error
	}{
		{"valid", hmacKeys("secret"), good, nil},
		{"tampered signature", hmacKeys("secret"), parts[0] + "." + parts[1] + "." + flip(parts[2]), ErrTokenInvalid},
		{"tampered payload", hmacKeys("secret"), parts[0] + "." + otherPayload + "." + parts[2], ErrTokenInvalid},
		{"signature dropped", hmacKeys("secret"), parts[0] + "." + parts[1] + ".", ErrTokenInvalid},
		{"alg none", hmacKeys("secret"), none, ErrTokenInvalid},
		{"alg none header on an HMAC signature", hmacKeys("secret"), noneHS, ErrTokenInvalid},
		{"RS256 with only HMAC configured", hmacKeys("secret"), signClaims(t, jwt.SigningMethodRS256, rsaKey, valid), ErrTokenInvalid},
		{"ES256 with only HMAC configured", hmacKeys("secret"), signClaims(t, jwt.SigningMethodES256, ecKey, valid), ErrTokenInvalid},
		{"ES256 with only RSA configured", rsaOnly, signClaims(t, jwt.SigningMethodES256, ecKey, valid), ErrTokenInvalid},
		{"HS256 with RSA PEM as secret, RSA configured", rsaOnly, signClaims(t, jwt.SigningMethodHS256, []byte(rsaPEM), valid), ErrTokenInvalid},
		{"HS256 with RSA PEM as secret, RSA and HMAC configured", rsaAndHMAC, signClaims(t, jwt.SigningMethodHS256, []byte(rsaPEM), valid), ErrTokenInvalid},
		{"RS256 accepted next to HMAC", rsaAndHMAC, signClaims(t, jwt.SigningMethodRS256, rsaKey, valid), nil},
		{"PS256 is not an allowed algorithm", rsaOnly, signClaims(t, jwt.SigningMethodPS256, rsaKey, valid), ErrTokenInvalid},
		{"no key configured", &TokenKeys{}, good, ErrTokenInvalid},
		{"empty token", hmacKeys("secret"), "", ErrTokenInvalid},
		{"not a JWT", hmacKeys("secret"), "bad", ErrTokenInvalid},
		{"garbage segments", hmacKeys("secret"), "a.b.c", ErrTokenInvalid},
		{"too many segments", hmacKeys("secret"), good + ".x", ErrTokenInvalid},
		{"claims not an object", hmacKeys("secret"), signRaw(t, "secret", `[1,2]`), ErrTokenInvalid},
		{"exp not a number", hmacKeys("secret"), signRaw(t, "secret", `{"sub":"42","exp":"soon"}`), ErrTokenInvalid},
		{"channels not a list", hmacKeys("secret"), signRaw(t, "secret", `{"sub":"42","channels":"news"}`), ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.keys.VerifyConnectToken(tc.token, tokenNow())
			wantTokenErr(t, err, tc.want)
		})
	}
}

// signRaw signs an arbitrary claims segment with HS256.
func signRaw(t *testing.T, secret, claims string) string {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(claims))
	sig, err := jwt.SigningMethodHS256.Sign(header+"."+payload, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return header + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyConnectTokenTime(t *testing.T) {
	t.Parallel()
	keys := hmacKeys("secret")
	at := func(d time.Duration) int64 { return tokenNow().Add(d).Unix() }
	tests := []struct {
		name     string
		claims   jwt.MapClaims
		want     error
		expireAt time.Time // zero: never
	}{
		{"no exp never expires", jwt.MapClaims{"sub": "u"}, nil, time.Time{}},
		{"exp sets the expiry", jwt.MapClaims{"sub": "u", "exp": at(time.Hour)}, nil, time.Unix(at(time.Hour), 0)},
		{"expired", jwt.MapClaims{"sub": "u", "exp": at(-time.Second)}, ErrTokenExpired, time.Time{}},
		{"expires now", jwt.MapClaims{"sub": "u", "exp": at(0)}, ErrTokenExpired, time.Time{}},
		{"nbf in the past", jwt.MapClaims{"sub": "u", "nbf": at(-time.Minute)}, nil, time.Time{}},
		// Refused as invalid (3500). Centrifugo v6 answers it as expired
		// (3005); the server's bad-input matrix pins 3500 for now.
		{"nbf in the future", jwt.MapClaims{"sub": "u", "nbf": at(time.Minute)}, ErrTokenExpired, time.Time{}},
		{"nbf in the future on an expired token", jwt.MapClaims{"sub": "u", "exp": at(-time.Hour), "nbf": at(time.Minute)}, ErrTokenExpired, time.Time{}},
		{"iat in the future is not checked", jwt.MapClaims{"sub": "u", "iat": at(time.Hour)}, nil, time.Time{}},
		{"expire_at overrides exp", jwt.MapClaims{"sub": "u", "exp": at(time.Hour), "expire_at": at(2 * time.Hour)}, nil, time.Unix(at(2*time.Hour), 0)},
		{"expire_at alone", jwt.MapClaims{"sub": "u", "expire_at": at(time.Minute)}, nil, time.Unix(at(time.Minute), 0)},
		{"expire_at 0 means never", jwt.MapClaims{"sub": "u", "exp": at(time.Hour), "expire_at": 0}, nil, time.Time{}},
		{"expire_at negative means never", jwt.MapClaims{"sub": "u", "expire_at": -5}, nil, time.Time{}},
		{"expire_at passed", jwt.MapClaims{"sub": "u", "exp": at(time.Hour), "expire_at": at(-time.Second)}, ErrTokenExpired, time.Time{}},
		{"exp still checked with expire_at", jwt.MapClaims{"sub": "u", "exp": at(-time.Second), "expire_at": at(time.Hour)}, ErrTokenExpired, time.Time{}},
		// Invalid beats expired, in Centrifugo's order.
		{"channel claim on an expired token", jwt.MapClaims{"sub": "u", "exp": at(-time.Hour), "channel": "news"}, ErrTokenInvalid, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds, err := keys.VerifyConnectToken(signClaims(t, jwt.SigningMethodHS256, []byte("secret"), tc.claims), tokenNow())
			wantTokenErr(t, err, tc.want)
			if tc.want == nil && !creds.ExpireAt.Equal(tc.expireAt) {
				t.Errorf("ExpireAt = %v, want %v", creds.ExpireAt, tc.expireAt)
			}
		})
	}
}

func TestVerifyConnectTokenClaims(t *testing.T) {
	t.Parallel()
	keys := hmacKeys("secret")
	verify := func(t *testing.T, claims jwt.MapClaims) (*Credentials, error) {
		t.Helper()
		return keys.VerifyConnectToken(signClaims(t, jwt.SigningMethodHS256, []byte("secret"), claims), tokenNow())
	}

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		creds, err := verify(t, jwt.MapClaims{})
		wantTokenErr(t, err, nil)
		if creds.User != "" || creds.Info != nil || creds.Channels != nil || creds.Subs != nil || !creds.ExpireAt.IsZero() {
			t.Errorf("creds = %+v", creds)
		}
	})
	t.Run("info kept byte for byte", func(t *testing.T) {
		t.Parallel()
		tok := signRaw(t, "secret", `{"sub":"u","info":{"name": "Ann",  "n":1}}`)
		creds, err := keys.VerifyConnectToken(tok, tokenNow())
		wantTokenErr(t, err, nil)
		if string(creds.Info) != `{"name": "Ann",  "n":1}` {
			t.Errorf("Info = %s", creds.Info)
		}
	})
	t.Run("b64info", func(t *testing.T) {
		t.Parallel()
		creds, err := verify(t, jwt.MapClaims{"sub": "u", "b64info": base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))})
		wantTokenErr(t, err, nil)
		if string(creds.Info) != `{"a":1}` {
			t.Errorf("Info = %s", creds.Info)
		}
	})
	t.Run("b64info wins over info", func(t *testing.T) {
		t.Parallel()
		creds, err := verify(t, jwt.MapClaims{"sub": "u", "info": map[string]int{"x": 1}, "b64info": base64.StdEncoding.EncodeToString([]byte(`{"b":2}`))})
		wantTokenErr(t, err, nil)
		if string(creds.Info) != `{"b":2}` {
			t.Errorf("Info = %s", creds.Info)
		}
	})
	t.Run("b64info not base64", func(t *testing.T) {
		t.Parallel()
		_, err := verify(t, jwt.MapClaims{"sub": "u", "b64info": "%%%"})
		wantTokenErr(t, err, ErrTokenInvalid)
	})
	t.Run("b64info not JSON", func(t *testing.T) {
		t.Parallel()
		_, err := verify(t, jwt.MapClaims{"sub": "u", "b64info": base64.StdEncoding.EncodeToString([]byte("not json"))})
		wantTokenErr(t, err, ErrTokenInvalid)
	})
	t.Run("channels", func(t *testing.T) {
		t.Parallel()
		creds, err := verify(t, jwt.MapClaims{"sub": "u", "channels": []string{"news", "open:a"}})
		wantTokenErr(t, err, nil)
		if !reflect.DeepEqual(creds.Channels, []string{"news", "open:a"}) {
			t.Errorf("Channels = %v", creds.Channels)
		}
	})
	t.Run("subs", func(t *testing.T) {
		t.Parallel()
		tok := signRaw(t, "secret", `{"sub":"u","channels":["ignored"],"subs":{"news":{"info":{"r": 1},"data":{"d":2},"b64data":"eA==","override":{"presence":{"value":true}}},"open:a":{}},"meta":{"m":1}}`)
		creds, err := keys.VerifyConnectToken(tok, tokenNow())
		wantTokenErr(t, err, nil)
		if len(creds.Subs) != 2 {
			t.Fatalf("Subs = %v", creds.Subs)
		}
		news := creds.Subs["news"]
		if string(news.Info) != `{"r": 1}` || string(news.Data) != `{"d":2}` || news.B64Data != "eA==" || string(news.Override) != `{"presence":{"value":true}}` {
			t.Errorf("news = %+v", news)
		}
		if string(creds.Meta) != `{"m":1}` {
			t.Errorf("Meta = %s", creds.Meta)
		}
	})
	t.Run("channel claim refused", func(t *testing.T) {
		t.Parallel()
		_, err := verify(t, jwt.MapClaims{"sub": "u", "channel": "news"})
		wantTokenErr(t, err, ErrTokenInvalid)
	})
}

func TestVerifyConnectTokenRotation(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.TokenHMACSecretKey = "new"
	cfg.TokenHMACPreviousSecretKey = "old"
	keys, err := TokenKeysFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "u", "exp": tokenNow().Add(time.Hour).Unix()}
	expired := jwt.MapClaims{"sub": "u", "exp": tokenNow().Add(-time.Hour).Unix()}
	tests := []struct {
		name   string
		secret string
		claims jwt.MapClaims
		want   error
	}{
		{"current secret", "new", claims, nil},
		{"previous secret", "old", claims, nil},
		{"unknown secret", "other", claims, ErrTokenInvalid},
		{"previous secret, expired", "old", expired, ErrTokenExpired},
		{"unknown secret, expired", "other", expired, ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := keys.VerifyConnectToken(signClaims(t, jwt.SigningMethodHS512, []byte(tc.secret), tc.claims), tokenNow())
			wantTokenErr(t, err, tc.want)
		})
	}
}

func TestVerifyConnectTokenAudienceIssuer(t *testing.T) {
	t.Parallel()
	strict := &TokenKeys{HMAC: [][]byte{[]byte("secret")}, Audience: "uniws", Issuer: "https://auth.example"}
	loose := hmacKeys("secret")
	ok := jwt.MapClaims{"sub": "u", "aud": "uniws", "iss": "https://auth.example"}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range ok {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		keys   *TokenKeys
		claims jwt.MapClaims
		want   error
	}{
		{"matching", strict, ok, nil},
		{"audience in a list", strict, with("aud", []string{"other", "uniws"}), nil},
		{"wrong audience", strict, with("aud", "other"), ErrTokenInvalid},
		{"missing audience", strict, with("aud", nil), ErrTokenInvalid},
		{"wrong issuer", strict, with("iss", "https://evil.example"), ErrTokenInvalid},
		{"missing issuer", strict, with("iss", nil), ErrTokenInvalid},
		{"wrong audience beats expiry", strict, jwt.MapClaims{"sub": "u", "aud": "other", "iss": "https://auth.example", "exp": tokenNow().Add(-time.Hour).Unix()}, ErrTokenInvalid},
		{"not configured: anything goes", loose, with("aud", "other"), nil},
		{"not configured: no claims", loose, jwt.MapClaims{"sub": "u"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.keys.VerifyConnectToken(signClaims(t, jwt.SigningMethodHS256, []byte("secret"), tc.claims), tokenNow())
			wantTokenErr(t, err, tc.want)
		})
	}
	cfg := Default()
	cfg.TokenHMACSecretKey, cfg.TokenAudience, cfg.TokenIssuer = "secret", "uniws", "https://auth.example"
	keys, err := TokenKeysFromConfig(&cfg)
	if err != nil || keys.Audience != "uniws" || keys.Issuer != "https://auth.example" {
		t.Errorf("TokenKeysFromConfig: %+v %v", keys, err)
	}
}

func TestVerifyConnectTokenAsymmetricFromConfig(t *testing.T) {
	t.Parallel()
	rsaKey, rsaPEM := rsaKeyPEM(t)
	ecKey, ecPEM := ecKeyPEM(t)
	cfg := Default()
	cfg.TokenRSAPublicKey = rsaPEM
	cfg.TokenECDSAPublicKey = ecPEM
	keys, err := TokenKeysFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.HMAC) != 0 || keys.RSA == nil || keys.ECDSA == nil || keys.Empty() {
		t.Fatalf("keys = %+v", keys)
	}
	claims := jwt.MapClaims{"sub": "42", "exp": tokenNow().Add(time.Hour).Unix()}
	otherRSA, _ := rsaKeyPEM(t)
	otherEC, _ := ecKeyPEM(t)
	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    any
		want   error
	}{
		{"RS256", jwt.SigningMethodRS256, rsaKey, nil},
		{"RS384", jwt.SigningMethodRS384, rsaKey, nil},
		{"RS512", jwt.SigningMethodRS512, rsaKey, nil},
		{"ES256", jwt.SigningMethodES256, ecKey, nil},
		{"RS256 other key", jwt.SigningMethodRS256, otherRSA, ErrTokenInvalid},
		{"ES256 other key", jwt.SigningMethodES256, otherEC, ErrTokenInvalid},
		{"HS256 with the RSA PEM as secret", jwt.SigningMethodHS256, []byte(rsaPEM), ErrTokenInvalid},
		{"HS256 with the EC PEM as secret", jwt.SigningMethodHS256, []byte(ecPEM), ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds, err := keys.VerifyConnectToken(signClaims(t, tc.method, tc.key, claims), tokenNow())
			wantTokenErr(t, err, tc.want)
			if tc.want == nil && creds.User != "42" {
				t.Errorf("User = %q", creds.User)
			}
		})
	}
}

func TestTokenKeysFromConfigErrors(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"token_rsa_public_key", "token_ecdsa_public_key"} {
		cfg := Default()
		if key == "token_rsa_public_key" {
			cfg.TokenRSAPublicKey = "not a pem"
		} else {
			cfg.TokenECDSAPublicKey = "not a pem"
		}
		_, err := TokenKeysFromConfig(&cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != key {
			t.Errorf("%s: err = %v", key, err)
		}
	}
	// An EC key where an RSA key is expected is refused.
	_, ecPEM := ecKeyPEM(t)
	cfg := Default()
	cfg.TokenRSAPublicKey = ecPEM
	if _, err := TokenKeysFromConfig(&cfg); err == nil {
		t.Error("EC PEM accepted as RSA key")
	}
	empty := Default()
	keys, err := TokenKeysFromConfig(&empty)
	if err != nil || !keys.Empty() {
		t.Errorf("empty config: %+v %v", keys, err)
	}
}

// TestGentokenStyleTokenVerifies checks a token made as Centrifugo's
// gentoken makes it: plain golang-jwt/v5 MapClaims with sub and exp.
func TestGentokenStyleTokenVerifies(t *testing.T) {
	t.Parallel()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "test_user",
		"exp": tokenNow().Add(168 * time.Hour).Unix(),
	}).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := hmacKeys("secret").VerifyConnectToken(tok, tokenNow())
	wantTokenErr(t, err, nil)
	if creds.User != "test_user" || creds.ExpireAt.Sub(tokenNow()) != 168*time.Hour {
		t.Errorf("creds = %+v", creds)
	}
}

func unverifiedClaims(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Header, parsed.Claims.(jwt.MapClaims)
}

func TestSignHMAC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts TokenOptions
		want map[string]float64 // numeric claims; sub checked apart
		sub  string
	}{
		{"seed", TokenOptions{User: "test_user", TTL: 168 * time.Hour, Now: tokenNow()},
			map[string]float64{"exp": float64(tokenNow().Add(168 * time.Hour).Unix()), "iat": float64(tokenNow().Unix())}, "test_user"},
		{"empty user leaves sub out", TokenOptions{TTL: time.Hour, Now: tokenNow()},
			map[string]float64{"exp": float64(tokenNow().Add(time.Hour).Unix()), "iat": float64(tokenNow().Unix())}, ""},
		{"no ttl leaves exp out", TokenOptions{User: "u", Now: tokenNow()},
			map[string]float64{"iat": float64(tokenNow().Unix())}, "u"},
		{"negative ttl leaves exp out", TokenOptions{User: "u", TTL: -time.Second, Now: tokenNow()},
			map[string]float64{"iat": float64(tokenNow().Unix())}, "u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := SignHMAC("secret", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			header, claims := unverifiedClaims(t, tok)
			if header["alg"] != "HS256" || header["typ"] != "JWT" || len(header) != 2 {
				t.Errorf("header = %v", header)
			}
			var names []string
			for k := range claims {
				names = append(names, k)
			}
			sort.Strings(names)
			var wantNames []string
			for k := range tc.want {
				wantNames = append(wantNames, k)
			}
			if tc.sub != "" {
				wantNames = append(wantNames, "sub")
			}
			sort.Strings(wantNames)
			if !reflect.DeepEqual(names, wantNames) {
				t.Errorf("claims %v, want exactly %v", names, wantNames)
			}
			for k, v := range tc.want {
				if claims[k] != v {
					t.Errorf("%s = %v, want %v", k, claims[k], v)
				}
			}
			if tc.sub != "" && claims["sub"] != tc.sub {
				t.Errorf("sub = %v", claims["sub"])
			}
			creds, err := hmacKeys("secret").VerifyConnectToken(tok, tokenNow())
			wantTokenErr(t, err, nil)
			if creds.User != tc.sub {
				t.Errorf("verified user %q", creds.User)
			}
		})
	}
}

func TestSignOptions(t *testing.T) {
	t.Parallel()
	expireAt := tokenNow().Add(time.Minute).Unix()
	tok, err := SignHMAC("secret", TokenOptions{
		User: "u", TTL: time.Hour, Now: tokenNow(),
		Info: json.RawMessage(`{"n": 1}`), Channels: []string{"news"}, ExpireAt: &expireAt,
		Audience: "uniws", Issuer: "me", Extra: map[string]any{"meta": map[string]int{"m": 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	keys := &TokenKeys{HMAC: [][]byte{[]byte("secret")}, Audience: "uniws", Issuer: "me"}
	creds, err := keys.VerifyConnectToken(tok, tokenNow())
	wantTokenErr(t, err, nil)
	if creds.User != "u" || string(creds.Info) != `{"n":1}` || !reflect.DeepEqual(creds.Channels, []string{"news"}) ||
		creds.ExpireAt.Unix() != expireAt || string(creds.Meta) != `{"m":1}` {
		t.Errorf("creds = %+v (info %s meta %s)", creds, creds.Info, creds.Meta)
	}
	if _, err := SignHMAC("secret", TokenOptions{User: "u", Info: json.RawMessage(`{bad`)}); err == nil {
		t.Error("invalid info accepted")
	}
	// A zero Now means the current time.
	tok, err = SignHMAC("secret", TokenOptions{User: "u", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hmacKeys("secret").VerifyConnectToken(tok, time.Now()); err != nil {
		t.Errorf("token signed now: %v", err)
	}
	// Sign works with asymmetric methods too.
	rsaKey, rsaPEM := rsaKeyPEM(t)
	tok, err = Sign(jwt.SigningMethodRS256, rsaKey, TokenOptions{User: "r", Now: tokenNow()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.TokenRSAPublicKey = rsaPEM
	rk, err := TokenKeysFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if creds, err := rk.VerifyConnectToken(tok, tokenNow()); err != nil || creds.User != "r" {
		t.Errorf("RS256 Sign: %+v %v", creds, err)
	}
	if _, err := Sign(jwt.SigningMethodRS256, []byte("not a key"), TokenOptions{}); err == nil {
		t.Error("Sign with a wrong key type succeeded")
	}
}

func TestVerifyConnectTokenKeyFunc(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsaKeyPEM(t)
	ecKey, _ := ecKeyPEM(t)
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fallbackRSA, _ := rsaKeyPEM(t)
	byKid := map[string]crypto.PublicKey{
		"rsa": &rsaKey.PublicKey, "ec": &ecKey.PublicKey, "ed": edPriv.Public(),
	}
	keyFunc := func(alg, kid string) (crypto.PublicKey, error) {
		if k, ok := byKid[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid " + kid)
	}
	jwks := &TokenKeys{KeyFunc: keyFunc}
	// With a key set, only its keys verify tokens (as in Centrifugo).
	withStatic := &TokenKeys{KeyFunc: keyFunc, RSA: &fallbackRSA.PublicKey, HMAC: [][]byte{[]byte("secret")}}
	claims := jwt.MapClaims{"sub": "42"}
	signKid := func(m jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(m, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name  string
		keys  *TokenKeys
		token string
		want  error
	}{
		{"RS256 by kid", jwks, signKid(jwt.SigningMethodRS256, rsaKey, "rsa"), nil},
		{"ES256 by kid", jwks, signKid(jwt.SigningMethodES256, ecKey, "ec"), nil},
		{"EdDSA by kid", jwks, signKid(jwt.SigningMethodEdDSA, edPriv, "ed"), nil},
		{"unknown kid", jwks, signKid(jwt.SigningMethodRS256, rsaKey, "nope"), ErrTokenInvalid},
		{"kid naming a key of another type", jwks, signKid(jwt.SigningMethodRS256, rsaKey, "ec"), ErrTokenInvalid},
		{"HS256 refused with only a key set", jwks, signKid(jwt.SigningMethodHS256, []byte("secret"), "rsa"), ErrTokenInvalid},
		{"no falling back to a static RSA key", withStatic, signKid(jwt.SigningMethodRS256, fallbackRSA, "nope"), ErrTokenInvalid},
		{"no HMAC secret next to a key set", withStatic, signKid(jwt.SigningMethodHS256, []byte("secret"), "rsa"), ErrTokenInvalid},
		{"the key set next to static keys", withStatic, signKid(jwt.SigningMethodRS256, rsaKey, "rsa"), nil},
		{"EdDSA without a key set", hmacKeys("secret"), signKid(jwt.SigningMethodEdDSA, edPriv, "ed"), ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds, err := tc.keys.VerifyConnectToken(tc.token, tokenNow())
			wantTokenErr(t, err, tc.want)
			if tc.want == nil && creds.User != "42" {
				t.Errorf("User = %q", creds.User)
			}
		})
	}
	if jwks.Empty() {
		t.Error("a key set alone is not Empty")
	}
}

func TestUnverifiedCredentials(t *testing.T) {
	t.Parallel()
	tok := signClaims(t, jwt.SigningMethodHS256, []byte("any secret"), jwt.MapClaims{"sub": "u", "channels": []string{"a"}})
	creds, err := UnverifiedCredentials(tok, tokenNow())
	if err != nil || creds.User != "u" || len(creds.Channels) != 1 {
		t.Errorf("creds %+v err %v", creds, err)
	}
	for _, bad := range []string{"", "bad", signClaims(t, jwt.SigningMethodHS256, []byte("x"), jwt.MapClaims{"channel": "a"})} {
		if _, err := UnverifiedCredentials(bad, tokenNow()); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	expired := signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "admin", "exp": 1})
	if _, err := UnverifiedCredentials(expired, tokenNow()); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired token: err = %v, want expired", err)
	}
}

// Pooled HMAC states belong to the secret they were keyed with: a secret
// replaced after first use verifies with the new one only.
func TestHMACSecretReplacedAfterUse(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sign := func(secret string) string {
		tok, err := SignHMAC(secret, TokenOptions{User: "u", TTL: time.Hour, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	k := &TokenKeys{HMAC: [][]byte{[]byte("first")}}
	for range 3 { // states go back to the pool and come out again
		if _, err := k.VerifyConnectToken(sign("first"), now); err != nil {
			t.Fatalf("first secret: %v", err)
		}
	}
	k.HMAC = [][]byte{[]byte("second")}
	if _, err := k.VerifyConnectToken(sign("first"), now); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token of the replaced secret: %v, want invalid", err)
	}
	if _, err := k.VerifyConnectToken(sign("second"), now); err != nil {
		t.Fatalf("second secret: %v", err)
	}
}
