package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/jwks"
)

// jwksServer serves a key set that a test can change, and counts fetches.
type jwksServer struct {
	url     string
	fetches atomic.Int32
	mu      sync.Mutex
	keys    []jwks.JWK
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	j := &jwksServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		j.mu.Lock()
		defer j.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jwks.SetJSON{Keys: j.keys})
	}))
	t.Cleanup(srv.Close)
	j.url = srv.URL + "/.well-known/jwks.json"
	return j
}

// serve replaces the set with these public keys, by kid.
func (j *jwksServer) serve(t *testing.T, keys map[string]crypto.PublicKey) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = nil
	for kid, pub := range keys {
		k, err := jwks.NewJWK(pub)
		if err != nil {
			t.Fatal(err)
		}
		k.Kid, k.Use = kid, "sig"
		j.keys = append(j.keys, k)
	}
}

// manualClock is a server clock a test moves forward.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func publicPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tamper swaps a token's payload for another user's, keeping the signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	other, err := core.Sign(jwt.SigningMethodHS256, []byte("x"), core.TokenOptions{User: "admin", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]
}

// TestTokenKinds connects with a token of every kind, valid and tampered:
// HMAC with the current and the previous secret, RSA and ECDSA public keys
// from the configuration, and RSA, ECDSA and Ed25519 keys from a JWKS. With
// a JWKS configured only its keys verify tokens, as in Centrifugo: the
// same static keys configured next to it are not used.
func TestTokenKinds(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwksRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := newJWKSServer(t)
	keys.serve(t, map[string]crypto.PublicKey{"rsa": &jwksRSA.PublicKey, "p384": &p384.PublicKey, "p521": &p521.PublicKey, "ed": edPub})
	static := `"token_hmac_previous_secret_key":"old-secret",` +
		`"token_rsa_public_key":` + jsonString(publicPEM(t, &rsaKey.PublicKey)) + `,` +
		`"token_ecdsa_public_key":` + jsonString(publicPEM(t, &p256.PublicKey))
	tsStatic := startServer(t, static, server.WithClock(clock()))
	tsJWKS := startServer(t, static+`,"token_jwks_public_endpoint":`+jsonString(keys.url), server.WithClock(clock()))

	sign := func(method jwt.SigningMethod, key any, kid string) string {
		tok, err := core.Sign(method, key, core.TokenOptions{User: "42", TTL: time.Hour, Now: fixedNow, KeyID: kid})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	type tokenCase struct {
		name  string
		ts    *testServer
		token string
		ok    bool
	}
	var tests []tokenCase
	add := func(name string, ts *testServer, tok string) {
		tests = append(tests, tokenCase{name, ts, tok, true}, tokenCase{name + " tampered", ts, tamper(t, tok), false})
	}
	staticTokens := []struct{ name, token string }{
		{"HS256", sign(jwt.SigningMethodHS256, []byte(testSecret), "")},
		{"HS384", sign(jwt.SigningMethodHS384, []byte(testSecret), "")},
		{"HS512", sign(jwt.SigningMethodHS512, []byte(testSecret), "")},
		{"HS256 previous secret", sign(jwt.SigningMethodHS256, []byte("old-secret"), "")},
		{"RS256 config key", sign(jwt.SigningMethodRS256, rsaKey, "")},
		{"RS384 config key", sign(jwt.SigningMethodRS384, rsaKey, "")},
		{"RS512 config key", sign(jwt.SigningMethodRS512, rsaKey, "")},
		{"ES256 config key", sign(jwt.SigningMethodES256, p256, "")},
		{"RS256 config key with an unknown kid", sign(jwt.SigningMethodRS256, rsaKey, "nope")},
	}
	for _, st := range staticTokens {
		add(st.name, tsStatic, st.token)
		tests = append(tests, tokenCase{st.name + " next to a JWKS", tsJWKS, st.token, false})
	}
	add("RS256 JWKS", tsJWKS, sign(jwt.SigningMethodRS256, jwksRSA, "rsa"))
	add("ES384 JWKS", tsJWKS, sign(jwt.SigningMethodES384, p384, "p384"))
	add("ES512 JWKS", tsJWKS, sign(jwt.SigningMethodES512, p521, "p521"))
	add("EdDSA JWKS", tsJWKS, sign(jwt.SigningMethodEdDSA, edKey, "ed"))
	tests = append(tests,
		tokenCase{"HS256 unknown secret", tsStatic, sign(jwt.SigningMethodHS256, []byte("other"), ""), false},
		tokenCase{"EdDSA unknown kid", tsJWKS, sign(jwt.SigningMethodEdDSA, edKey, "nope"), false},
		tokenCase{"EdDSA without kid", tsJWKS, sign(jwt.SigningMethodEdDSA, edKey, ""), false},
		tokenCase{"EdDSA without a JWKS", tsStatic, sign(jwt.SigningMethodEdDSA, edKey, "ed"), false},
		tokenCase{"ES384 kid of another curve", tsJWKS, sign(jwt.SigningMethodES384, p384, "p521"), false},
		tokenCase{"RS256 JWKS key under the config key's name", tsStatic, sign(jwt.SigningMethodRS256, jwksRSA, ""), false},
		tokenCase{"none", tsJWKS, sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ""), false},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, first := tc.ts.connect(`{"token":"` + tc.token + `"}`)
			if tc.ok {
				if !strings.HasPrefix(first, `{"connect":`) || !strings.Contains(first, `"#42":{}`) {
					t.Fatalf("connect push %s", first)
				}
				return
			}
			if first != `{"disconnect":{"code":3500,"reason":"invalid token"}}` {
				t.Fatalf("first push %s, want 3500", first)
			}
			expectClose(t, conn, 3500, "invalid token")
		})
	}
}

// TestJWKSRotation: a key published after the set was cached is found by a
// refresh once the refresh interval has passed; before it, unknown kids do
// not make the server fetch the set again.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	first, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	second, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := newJWKSServer(t)
	keys.serve(t, map[string]crypto.PublicKey{"k1": &first.PublicKey})
	clk := &manualClock{now: fixedNow}
	ts := startServer(t, `"token_jwks_public_endpoint":`+jsonString(keys.url), server.WithClock(clk.Now))
	token := func(key *ecdsa.PrivateKey, kid string) string {
		tok, err := core.Sign(jwt.SigningMethodES256, key, core.TokenOptions{User: "u", Now: clk.Now(), TTL: time.Hour, KeyID: kid})
		if err != nil {
			t.Fatal(err)
		}
		return `{"token":"` + tok + `"}`
	}
	if _, push := ts.connect(token(first, "k1")); !strings.HasPrefix(push, `{"connect":`) {
		t.Fatalf("k1: %s", push)
	}
	keys.serve(t, map[string]crypto.PublicKey{"k1": &first.PublicKey, "k2": &second.PublicKey})
	for range 3 {
		conn, push := ts.connect(token(second, "k2"))
		if !strings.Contains(push, `"code":3500`) {
			t.Fatalf("k2 within the refresh interval: %s", push)
		}
		expectClose(t, conn, 3500, "invalid token")
	}
	if n := keys.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the refresh interval, want 1", n)
	}
	clk.advance(jwks.DefaultMinInterval)
	if _, push := ts.connect(token(second, "k2")); !strings.HasPrefix(push, `{"connect":`) {
		t.Fatalf("k2 after the refresh interval: %s", push)
	}
	if n := keys.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}
