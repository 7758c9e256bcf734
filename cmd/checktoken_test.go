package cmd

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uniws/uniws/server/jwks"
)

// checktokenNow is the clock of the checktoken goldens.
func checktokenNow() time.Time { return time.Unix(1_800_000_000, 0) }

func signToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkGolden compares got with testdata/checktoken/<name>.golden;
// UNIWS_UPDATE_GOLDEN=1 rewrites the file.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "checktoken", name+".golden")
	if os.Getenv("UNIWS_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestChecktokenGoldens(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := checktokenNow().Unix()
	claims := func(exp int64) jwt.MapClaims {
		return jwt.MapClaims{"sub": "42", "exp": exp, "iat": now, "channels": []string{"news"}, "info": map[string]any{"name": "Ann"}}
	}
	tests := []struct {
		name  string
		token string
		code  int
		err   string
	}{
		{"valid", signToken(t, jwt.SigningMethodHS256, []byte("secret"), claims(now+3600)), ExitOK, ""},
		{"expired", signToken(t, jwt.SigningMethodHS256, []byte("secret"), claims(now-90)), ExitError, `disconnect 3005 "connection expired"`},
		{"wrong-key", signToken(t, jwt.SigningMethodHS256, []byte("not-the-secret"), claims(now+3600)), ExitError, `disconnect 3500 "invalid token"`},
		{"wrong-algorithm", signToken(t, jwt.SigningMethodRS256, rsaKey, claims(now+3600)), ExitError, `disconnect 3500 "invalid token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.now = checktokenNow()
			r := e.run("checktoken", "-c", "../testdata/config/seed.json", tc.token)
			r.expect(t, tc.code)
			checkGolden(t, tc.name, r.out.String())
			if !strings.Contains(r.errOut.String(), tc.err) {
				t.Errorf("stderr %q lacks %q", r.errOut, tc.err)
			}
			if strings.Contains(r.out.String()+r.errOut.String(), `"secret"`) {
				t.Error("the secret was printed")
			}
		})
	}
}

func TestChecktokenExplains(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, map[string]any{
		"token_hmac_secret_key": "current", "token_hmac_previous_secret_key": "previous",
		"token_audience": "app", "user_subscribe_to_personal": true, "user_personal_channel_namespace": "personal",
		"namespaces": []any{map[string]any{"name": "personal"}}, "client_channel_limit": 2,
	})
	now := checktokenNow().Unix()
	hs := func(secret string, claims jwt.MapClaims) string {
		return signToken(t, jwt.SigningMethodHS256, []byte(secret), claims)
	}
	tests := []struct {
		name  string
		stdin string
		token string
		code  int
		want  []string
	}{
		{"previous secret", "", hs("previous", jwt.MapClaims{"sub": "1", "aud": "app"}), ExitOK, []string{
			"signed with the previous HMAC secret (token_hmac_previous_secret_key)", "expires:   never: no exp claim",
			`audience:  ok: token has ["app"], token_audience is "app"`, "personal:#1 (personal channel"}},
		{"audience mismatch", "", hs("current", jwt.MapClaims{"sub": "1", "aud": []string{"web", "cli"}}), ExitError, []string{
			`audience:  MISMATCH: token has ["cli" "web"], token_audience is "app"`, "fix:       mint the token with aud \"app\""}},
		{"unknown namespace in the token", "", hs("current", jwt.MapClaims{"aud": "app", "channels": []string{"chat:1"}}), ExitError, []string{
			"user:      (anonymous)", "chat:1 (UNKNOWN NAMESPACE, token channels claim)", `disconnect 3004`}},
		{"subs claim wins over channels", "", hs("current", jwt.MapClaims{"aud": "app", "channels": []string{"x:1"}, "subs": map[string]any{"b": map[string]any{}, "a": map[string]any{}}}), ExitOK, []string{
			"a (token subs claim)\n  b (token subs claim)"}},
		{"over the channel limit", "", hs("current", jwt.MapClaims{"sub": "u", "aud": "app", "channels": []string{"a", "b"}}), ExitError, []string{"disconnect 3505", "client_channel_limit"}},
		{"expire_at sets the connection's end", "", hs("current", jwt.MapClaims{"aud": "app", "exp": now + 10, "expire_at": now + 60}), ExitOK, []string{
			"expires:   2027-01-15T08:00:10Z (in 10s)", "conn ends: 2027-01-15T08:01:00Z (in 1m0s) (expire_at"}},
		{"an expiry over a year away counts as a year", "", hs("current", jwt.MapClaims{"aud": "app", "exp": 1e11, "expire_at": int64(9223372036854775807)}), ExitOK, []string{
			"expires:   5138-11-16T09:46:40Z: more than a year away: the server counts a year from connect (ttl 31536000)",
			"conn ends: expire_at 9223372036854775807: more than a year away"}},
		{"expire_at does not save an expired exp", "", hs("current", jwt.MapClaims{"aud": "app", "exp": now - 10, "expire_at": now + 60}), ExitError, []string{
			"(EXPIRED 10s ago)", "disconnect 3005"}},
		{"not valid yet", "", hs("current", jwt.MapClaims{"aud": "app", "nbf": now + 60}), ExitError, []string{"not before", "disconnect 3005"}},
		{"a channel claim is refused", "", hs("current", jwt.MapClaims{"aud": "app", "channel": "news"}), ExitError, []string{"disconnect 3500", "subscription tokens"}},
		{"alg none", "", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.", ExitError, []string{`algorithm "none" is never accepted`}},
		{"from stdin", hs("current", jwt.MapClaims{"sub": "s", "aud": "app"}) + "\n", "-", ExitOK, []string{"user:      s"}},
		{"not a JWT", "", "abc.def", ExitError, []string{"not a JWT"}},
		{"empty", "", " ", ExitUsage, []string{"empty token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.now = checktokenNow()
			r := e.runIn(tc.stdin, "checktoken", "-c", cfg, tc.token)
			r.expect(t, tc.code)
			all := r.out.String() + r.errOut.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "previous\"") || strings.Contains(all, "current\"") {
				t.Errorf("a secret was printed:\n%s", all)
			}
		})
	}
}

func TestChecktokenNeedsAKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	cfg := writeConfig(t, t.TempDir(), map[string]any{"proxy_connect_endpoint": "http://127.0.0.1:1/connect"})
	r := e.run("checktoken", "-c", cfg, "a.b.c")
	r.expect(t, ExitError)
	if !strings.Contains(r.errOut.String(), "configures no token key") {
		t.Errorf("stderr: %s", r.errOut)
	}
}

// TestChecktokenWithJWKS: with token_jwks_public_endpoint, checktoken
// verifies as the server does: the set's keys, and only those.
func TestChecktokenWithJWKS(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jwks.NewJWK(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwk.Kid, jwk.Use = "k1", "sig"
	body, _ := json.Marshal(jwks.SetJSON{Keys: []jwks.JWK{jwk}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()
	cfg := writeConfig(t, t.TempDir(), map[string]any{"token_jwks_public_endpoint": srv.URL, "token_hmac_secret_key": "old"})
	rs := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "42"})
	rs.Header["kid"] = "k1"
	good, err := rs.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestEnv(t).run("checktoken", "-c", cfg, good)
	r.expect(t, ExitOK)
	if !strings.Contains(r.out.String(), "token_jwks_public_endpoint") {
		t.Errorf("the JWKS key is not named:\n%s", r.out)
	}
	old := signToken(t, jwt.SigningMethodHS256, []byte("old"), jwt.MapClaims{"sub": "42"})
	r = newTestEnv(t).run("checktoken", "-c", cfg, old)
	r.expect(t, ExitError)
	if all := r.out.String() + r.errOut.String(); !strings.Contains(all, "3500") {
		t.Errorf("an HMAC token next to a JWKS was not refused with 3500:\n%s", all)
	}
}
