package cmd

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uniws/uniws/core"
)

var tokenLine = regexp.MustCompile(`^HMAC SHA-256 JWT for (.+):\n([\w-]+\.[\w-]+\.[\w-]+)\n$`)

func TestGentokenOutputAndClaims(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		args    []string
		subject string
		what    string
		exp     time.Duration // 0: no exp claim
	}{
		{"seed", []string{"-u", "test_user"}, "test_user", `user "test_user" with expiration TTL 168h0m0s`, 7 * 24 * time.Hour},
		{"ttl", []string{"-u", "42", "-t", "60"}, "42", `user "42" with expiration TTL 1m0s`, time.Minute},
		{"no exp", []string{"-u", "42", "-t", "-1"}, "42", `user "42" without expiration`, 0},
		{"anonymous", []string{"-t", "-1"}, "", `anonymous user without expiration`, 0},
		{"anonymous ttl", []string{}, "", `anonymous user with expiration TTL 168h0m0s`, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.now = now
			cfg := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "secret"})
			r := e.run(append([]string{"gentoken", "-c", cfg}, tt.args...)...)
			r.expect(t, ExitOK)
			m := tokenLine.FindStringSubmatch(r.out.String())
			if m == nil || m[1] != tt.what {
				t.Fatalf("output %q, want the line %q then the token", r.out, "HMAC SHA-256 JWT for "+tt.what+":")
			}
			token := m[2]

			// core verifies it as the server would.
			keys := &core.TokenKeys{HMAC: [][]byte{[]byte("secret")}}
			creds, err := keys.VerifyConnectToken(token, now)
			if err != nil {
				t.Fatal("core refused the token:", err)
			}
			if creds.User != tt.subject {
				t.Errorf("core user = %q, want %q", creds.User, tt.subject)
			}
			if _, err := (&core.TokenKeys{HMAC: [][]byte{[]byte("other")}}).VerifyConnectToken(token, now); err == nil {
				t.Error("token verifies with another secret")
			}

			// golang-jwt reads exactly the claims Centrifugo expects.
			claims := jwt.MapClaims{}
			_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte("secret"), nil },
				jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
			if err != nil {
				t.Fatal("golang-jwt refused the token:", err)
			}
			if sub, ok := claims["sub"]; ok != (tt.subject != "") || (ok && sub != tt.subject) {
				t.Errorf("sub claim = %v (present %v), want %q", sub, ok, tt.subject)
			}
			if claims["iat"] != float64(now.Unix()) {
				t.Errorf("iat = %v, want %d", claims["iat"], now.Unix())
			}
			exp, hasExp := claims["exp"]
			switch {
			case tt.exp == 0 && hasExp:
				t.Errorf("exp = %v, want none", exp)
			case tt.exp != 0 && exp != float64(now.Add(tt.exp).Unix()):
				t.Errorf("exp = %v, want %d", exp, now.Add(tt.exp).Unix())
			}
		})
	}
}

func TestGentokenQuiet(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	cfg := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "secret"})
	r := e.run("gentoken", "-c", cfg, "-q", "-u", "test_user")
	r.expect(t, ExitOK)
	token := strings.TrimSuffix(r.out.String(), "\n")
	if strings.Contains(token, " ") || strings.Count(token, ".") != 2 || r.out.String() != token+"\n" {
		t.Fatalf("-q output %q, want only the token", r.out)
	}
	keys := &core.TokenKeys{HMAC: [][]byte{[]byte("secret")}}
	if creds, err := keys.VerifyConnectToken(token, time.Now()); err != nil || creds.User != "test_user" {
		t.Fatalf("verify = %+v, %v", creds, err)
	}
}

func TestConfigResolutionOrder(t *testing.T) {
	t.Parallel()
	secretOf := func(t *testing.T, e *testEnv, args ...string) string {
		t.Helper()
		r := e.run(append([]string{"gentoken", "-q", "-u", "u"}, args...)...)
		r.expect(t, ExitOK)
		for _, s := range []string{"flag", "env", "cwd", "dev"} {
			keys := &core.TokenKeys{HMAC: [][]byte{[]byte(s)}}
			if _, err := keys.VerifyConnectToken(strings.TrimSpace(r.out.String()), time.Now()); err == nil {
				return s
			}
		}
		return "?"
	}
	e := newTestEnv(t)
	writeConfig(t, filepath.Join(e.configDir, "uniws"), map[string]any{"token_hmac_secret_key": "dev"})
	if got := secretOf(t, e); got != "dev" {
		t.Errorf("with only the dev config: secret %s", got)
	}
	writeConfig(t, e.workDir, map[string]any{"token_hmac_secret_key": "cwd"})
	if got := secretOf(t, e); got != "cwd" {
		t.Errorf("with ./config.json: secret %s", got)
	}
	e.env[ConfigEnv] = writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "env"})
	if got := secretOf(t, e); got != "env" {
		t.Errorf("with %s: secret %s", ConfigEnv, got)
	}
	flag := writeConfig(t, t.TempDir(), map[string]any{"token_hmac_secret_key": "flag"})
	if got := secretOf(t, e, "-c", flag); got != "flag" {
		t.Errorf("with -c: secret %s", got)
	}
}

func TestGentokenErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.run("gentoken", "-u", "u")
	r.expect(t, ExitError)
	if !strings.Contains(r.errOut.String(), "uniws serve") {
		t.Errorf("no config: stderr %q lacks the hint", r.errOut)
	}
	e.run("gentoken", "-c", filepath.Join(t.TempDir(), "missing.json")).expect(t, ExitError)
	e.run("gentoken", "-t", "soon").expect(t, ExitUsage)
	e.run("gentoken", "extra").expect(t, ExitUsage)
	// A TTL past what a duration holds wrapped into a token without exp.
	e.run("gentoken", "--key", "s", "-u", "u", "-t", "9300000000").expect(t, ExitUsage)
	e.run("gentoken", "--key", "s", "-u", "u", "-t", "99999999999999").expect(t, ExitUsage)
	e.run("gentoken", "--key", "s", "-u", "u", "-t", "9223372036").expect(t, ExitOK)
	// An empty channel name makes a token the server refuses (3004).
	e.run("gentoken", "--key", "s", "-u", "u", "--channels", "a,,b").expect(t, ExitUsage)

	// The secret can come from the environment alone.
	e.env["UNIWS_TOKEN_HMAC_SECRET_KEY"] = "from-env"
	r = e.run("gentoken", "-q")
	r.expect(t, ExitOK)
	keys := &core.TokenKeys{HMAC: [][]byte{[]byte("from-env")}}
	if _, err := keys.VerifyConnectToken(strings.TrimSpace(r.out.String()), time.Now()); err != nil {
		t.Error(err)
	}
}
