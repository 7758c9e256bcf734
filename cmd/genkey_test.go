package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/jwks"
)

func TestGentokenClaimFlagsParse(t *testing.T) {
	t.Parallel()
	var g *gentokenOptions
	cmd := newGentokenCmd(newFactory(&IOStreams{}), func(_ context.Context, o *gentokenOptions) error { g = o; return nil })
	cmd.SetArgs([]string{"--alg", "ES256", "--key", "@k.pem", "--kid", "K", "--info", `{"a":1}`, "--channels", "a,b",
		"--expire-at", "0", "--claim", "x=1", "--claim", "y=z", "--aud", "A", "--iss", "I"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	want := gentokenOptions{TTL: defaultTokenTTL, Alg: "ES256", Key: "@k.pem", KeyID: "K", Info: `{"a":1}`, Channels: []string{"a", "b"},
		ExpireAt: &zero, Claims: []string{"x=1", "y=z"}, Audience: "A", Issuer: "I"}
	if !reflect.DeepEqual(*g, want) {
		t.Errorf("options\n got %+v\nwant %+v", *g, want)
	}
}

// genkey runs uniws genkey into a fresh directory and returns it and the kid.
func genkey(t *testing.T, e *testEnv, alg string) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	r := e.run("genkey", "--alg", alg, "--out", dir)
	r.expect(t, ExitOK)
	return dir, strings.TrimSpace(r.out.String())
}

// TestGenkeyAndGentokenVerifyElsewhere: tokens signed with genkey's private
// key verify with plain golang-jwt and its public.pem, and through a JWKS
// served from its jwks.json.
func TestGenkeyAndGentokenVerifyElsewhere(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t)
			e.now = time.Unix(1_800_000_000, 0)
			dir, kid := genkey(t, e, alg)
			for name, mode := range map[string]os.FileMode{"private.pem": 0o600, "public.pem": 0o644, "jwks.json": 0o644} {
				info, err := os.Stat(filepath.Join(dir, name))
				if err != nil || info.Mode().Perm() != mode {
					t.Fatalf("%s: %v, mode %v", name, err, info.Mode().Perm())
				}
			}
			r := e.run("gentoken", "--alg", alg, "--key", "@"+filepath.Join(dir, "private.pem"), "-u", "42", "-q")
			r.expect(t, ExitOK)
			token := strings.TrimSpace(r.out.String())
			at := jwt.WithTimeFunc(func() time.Time { return e.now })

			pubPEM, err := os.ReadFile(filepath.Join(dir, "public.pem"))
			if err != nil {
				t.Fatal(err)
			}
			var pub any
			switch alg[:2] {
			case "RS":
				pub, err = jwt.ParseRSAPublicKeyFromPEM(pubPEM)
			case "ES":
				pub, err = jwt.ParseECPublicKeyFromPEM(pubPEM)
			default:
				pub, err = jwt.ParseEdPublicKeyFromPEM(pubPEM)
			}
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			parsed, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{alg}), at)
			if err != nil {
				t.Fatalf("golang-jwt refused the token: %v", err)
			}
			if claims["sub"] != "42" || parsed.Header["kid"] != kid {
				t.Fatalf("claims %v, header %v, want sub 42 and kid %s", claims, parsed.Header, kid)
			}

			set, err := os.ReadFile(filepath.Join(dir, "jwks.json"))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
			defer srv.Close()
			keys := jwks.New(srv.URL, jwks.Options{})
			defer keys.Close()
			creds, err := (&core.TokenKeys{KeyFunc: keys.Key}).VerifyConnectToken(token, e.now)
			if err != nil || creds.User != "42" {
				t.Fatalf("JWKS verification: %+v, %v", creds, err)
			}
		})
	}
}

func TestGentokenClaimsAndOutput(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.now = time.Unix(1_800_000_000, 0)
	dir, kid := genkey(t, e, "ES512")
	key, err := os.ReadFile(filepath.Join(dir, "private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	r := e.runIn(string(key), "gentoken", "--alg", "ES512", "--key", "@-", "-u", "u", "-t", "60",
		"--info", `{"name": "Ann"}`, "--channels", "news,chat:lobby", "--expire-at", "1800003600",
		"--claim", `meta={"plan":"pro"}`, "--claim", "note=plain text", "--claim", "sub=ignored", "--aud", "uniws", "--iss", "me")
	r.expect(t, ExitOK)
	line, token, _ := strings.Cut(strings.TrimSpace(r.out.String()), "\n")
	if line != `ECDSA SHA-512 JWT for user "u" with expiration TTL 1m0s:` {
		t.Errorf("first line %q", line)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(parsed.Claims)
	want := `{"aud":"uniws","channels":["news","chat:lobby"],"exp":1800000060,"expire_at":1800003600,"iat":1800000000,` +
		`"info":{"name":"Ann"},"iss":"me","meta":{"plan":"pro"},"note":"plain text","sub":"u"}`
	if string(got) != want {
		t.Errorf("claims\n got %s\nwant %s", got, want)
	}
	if parsed.Header["kid"] != kid || parsed.Header["alg"] != "ES512" {
		t.Errorf("header %v", parsed.Header)
	}

	// HMAC with --key needs no configuration; --kid is set as given.
	r = e.run("gentoken", "--alg", "HS384", "--key", "literal-secret", "--kid", "k1", "-u", "u")
	r.expect(t, ExitOK)
	line, token, _ = strings.Cut(strings.TrimSpace(r.out.String()), "\n")
	if !strings.HasPrefix(line, "HMAC SHA-384 JWT for") {
		t.Errorf("first line %q", line)
	}
	parsed, err = jwt.Parse(token, func(*jwt.Token) (any, error) { return []byte("literal-secret"), nil }, jwt.WithValidMethods([]string{"HS384"}))
	if err != nil || parsed.Header["kid"] != "k1" {
		t.Errorf("HS384 token: %v, header %v", err, parsed.Header)
	}
}

func TestGenkeyAndGentokenErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	dir, _ := genkey(t, e, "ES256")
	keyArg := "@" + filepath.Join(dir, "private.pem")
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"gentoken", "--alg", "RS256"}, ExitUsage, "needs --key"},
		{[]string{"gentoken", "--alg", "RS256", "--key", keyArg}, ExitUsage, "does not sign RS256"},
		{[]string{"gentoken", "--alg", "ES384", "--key", keyArg}, ExitUsage, "does not sign ES384"},
		{[]string{"gentoken", "--alg", "none", "--key", keyArg}, ExitUsage, "--alg"},
		{[]string{"gentoken", "--alg", "PS256", "--key", keyArg}, ExitUsage, "--alg"},
		{[]string{"gentoken", "--alg", "ES256", "--key", "@" + filepath.Join(dir, "missing.pem")}, ExitError, "read key"},
		{[]string{"gentoken", "--alg", "ES256", "--key", "not a pem"}, ExitUsage, "no PEM block"},
		{[]string{"gentoken", "--key", "s", "--info", "{nope"}, ExitUsage, "--info"},
		{[]string{"gentoken", "--key", "s", "--claim", "novalue"}, ExitUsage, "KEY=VALUE"},
		{[]string{"gentoken", "--key", "s", "--expire-at", "soon"}, ExitUsage, "expire-at"},
		{[]string{"genkey", "--alg", "HS256", "--out", t.TempDir()}, ExitUsage, "shared secret"},
		{[]string{"genkey", "--alg", "RS256", "--bits", "1024", "--out", t.TempDir()}, ExitUsage, "2048"},
		{[]string{"genkey", "--alg", "ES256", "--out", dir}, ExitError, "--force"},
	} {
		r := e.run(tc.args...)
		r.expect(t, tc.code)
		if !strings.Contains(r.errOut.String(), tc.text) {
			t.Errorf("%q: stderr %q lacks %q", tc.args, r.errOut, tc.text)
		}
	}
	// --force replaces the pair: a new kid.
	r := e.run("genkey", "--alg", "ES256", "--out", dir, "--force")
	r.expect(t, ExitOK)
	set, _ := os.ReadFile(filepath.Join(dir, "jwks.json"))
	if !strings.Contains(string(set), strings.TrimSpace(r.out.String())) {
		t.Errorf("jwks.json %s lacks the new kid %s", set, r.out)
	}
}
