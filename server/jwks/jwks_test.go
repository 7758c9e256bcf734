package jwks_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/uniws/uniws/server/jwks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// endpoint serves a JWKS that tests change, and counts fetches.
type endpoint struct {
	srv     *httptest.Server
	fetches atomic.Int32

	mu     sync.Mutex
	keys   []jwks.JWK
	status int
}

func newEndpoint(t *testing.T, keys ...jwks.JWK) *endpoint {
	t.Helper()
	e := &endpoint{keys: keys, status: http.StatusOK}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.fetches.Add(1)
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.status != http.StatusOK {
			w.WriteHeader(e.status)
			return
		}
		_ = json.NewEncoder(w).Encode(jwks.SetJSON{Keys: e.keys})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) serve(status int, keys ...jwks.JWK) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status, e.keys = status, keys
}

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSet(t *testing.T, e *endpoint, c *clock) *jwks.Set {
	t.Helper()
	s := jwks.New(e.srv.URL, jwks.Options{MaxAge: time.Hour, MinInterval: 10 * time.Second, Now: c.Now})
	t.Cleanup(s.Close)
	return s
}

func jwk(t *testing.T, pub crypto.PublicKey, kid, alg string) jwks.JWK {
	t.Helper()
	j, err := jwks.NewJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	j.Kid, j.Alg, j.Use = kid, alg, "sig"
	return j
}

func ecKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	t.Parallel()
	a, b := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	e := newEndpoint(t, jwk(t, &a.PublicKey, "a", "ES256"))
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	s := newSet(t, e, c)

	if _, err := s.Key("ES256", "a"); err != nil {
		t.Fatal(err)
	}
	e.serve(http.StatusOK, jwk(t, &a.PublicKey, "a", "ES256"), jwk(t, &b.PublicKey, "b", "ES256"))
	if _, err := s.Key("ES256", "b"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Fatalf("kid b within the refresh interval: %v, want ErrUnknownKey", err)
	}
	for range 5 {
		_, _ = s.Key("ES256", "unknown")
	}
	if n := e.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the refresh interval, want 1", n)
	}
	c.advance(10 * time.Second)
	got, err := s.Key("ES256", "b")
	if err != nil {
		t.Fatalf("kid b after the refresh interval: %v", err)
	}
	if !b.PublicKey.Equal(got) {
		t.Fatal("kid b returned another key")
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestRotationAfterMaxAge(t *testing.T) {
	t.Parallel()
	old, next := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384())
	e := newEndpoint(t, jwk(t, &old.PublicKey, "old", ""))
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	s := newSet(t, e, c)
	if _, err := s.Key("ES384", "old"); err != nil {
		t.Fatal(err)
	}
	e.serve(http.StatusOK, jwk(t, &next.PublicKey, "next", ""))
	c.advance(30 * time.Minute)
	if _, err := s.Key("ES384", "old"); err != nil {
		t.Fatalf("cached key before max age: %v", err)
	}
	c.advance(30 * time.Minute)
	if _, err := s.Key("ES384", "old"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Fatalf("rotated-out key after max age: %v, want ErrUnknownKey", err)
	}
	if _, err := s.Key("ES384", "next"); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestFailedFetchKeepsKeys(t *testing.T) {
	t.Parallel()
	k := ecKey(t, elliptic.P521())
	e := newEndpoint(t, jwk(t, &k.PublicKey, "k", "ES512"))
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	s := newSet(t, e, c)
	if _, err := s.Key("ES512", "k"); err != nil {
		t.Fatal(err)
	}
	e.serve(http.StatusInternalServerError)
	c.advance(2 * time.Hour)
	if _, err := s.Key("ES512", "k"); err != nil {
		t.Fatalf("stale key after a failed fetch: %v", err)
	}
	if n := e.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestConcurrentLookupsFetchOnce(t *testing.T) {
	t.Parallel()
	k := ecKey(t, elliptic.P256())
	e := newEndpoint(t, jwk(t, &k.PublicKey, "k", "ES256"))
	s := newSet(t, e, &clock{now: time.Unix(1_800_000_000, 0)})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.Key("ES256", "k"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := e.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestKeyChecks(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := ecKey(t, elliptic.P256())
	enc := jwk(t, &p256.PublicKey, "enc", "")
	enc.Use = "enc"
	broken := jwks.JWK{Kty: "EC", Kid: "broken", Crv: "P-256", X: "AAAA", Y: "AAAA"}
	e := newEndpoint(t, jwk(t, &rsaKey.PublicKey, "rsa", "RS256"), jwk(t, edPub, "ed", ""), jwk(t, &p256.PublicKey, "p256", ""), enc, broken)
	s := newSet(t, e, &clock{now: time.Unix(1_800_000_000, 0)})
	tests := []struct {
		alg, kid string
		want     error
	}{
		{"RS256", "rsa", nil},
		{"RS512", "rsa", jwks.ErrKeyMismatch}, // the JWK names RS256
		{"ES256", "rsa", jwks.ErrKeyMismatch},
		{"EdDSA", "ed", nil},
		{"ES256", "ed", jwks.ErrKeyMismatch},
		{"ES256", "p256", nil},
		{"ES384", "p256", jwks.ErrKeyMismatch},
		{"ES256", "enc", jwks.ErrUnknownKey},
		{"ES256", "broken", jwks.ErrUnknownKey},
		{"ES256", "", jwks.ErrNoKeyID},
	}
	for _, tc := range tests {
		_, err := s.Key(tc.alg, tc.kid)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("Key(%s, %q) = %v, want %v", tc.alg, tc.kid, err, tc.want)
		}
	}
}

func TestJWKRoundTripAndThumbprint(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, pub := range []crypto.PublicKey{&rsaKey.PublicKey, &ecKey(t, elliptic.P256()).PublicKey, &ecKey(t, elliptic.P384()).PublicKey, &ecKey(t, elliptic.P521()).PublicKey, edPub} {
		j, err := jwks.NewJWK(pub)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(j)
		var back jwks.JWK
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.PublicKey()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(got) {
			t.Errorf("%T does not round-trip", pub)
		}
	}
	// RFC 7638 §3.1.
	rfc := jwks.JWK{Kty: "RSA", E: "AQAB", N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	pub, err := rfc.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if tp, _ := jwks.Thumbprint(pub); tp != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("thumbprint = %s", tp)
	}
}

// TestKnownKidDoesNotWaitForAFetch: while a fetch for an unknown kid hangs
// on a slow endpoint, a lookup of a cached, fresh kid answers at once: made-up
// kids cannot hold every sign-in up.
func TestKnownKidDoesNotWaitForAFetch(t *testing.T) {
	t.Parallel()
	a := ecKey(t, elliptic.P256())
	body, _ := json.Marshal(jwks.SetJSON{Keys: []jwks.JWK{jwk(t, &a.PublicKey, "a", "ES256")}})
	hold := make(chan struct{})
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) > 1 {
			<-hold
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	defer close(hold)
	s := jwks.New(srv.URL, jwks.Options{MaxAge: time.Hour, MinInterval: time.Nanosecond})
	defer s.Close()
	if _, err := s.Key("ES256", "a"); err != nil {
		t.Fatal(err)
	}
	unknown := make(chan error, 1)
	go func() {
		_, err := s.Key("ES256", "made-up")
		unknown <- err
	}()
	for fetches.Load() < 2 { // the second fetch hangs
		time.Sleep(time.Millisecond)
	}
	known := make(chan error, 1)
	go func() {
		_, err := s.Key("ES256", "a")
		known <- err
	}()
	select {
	case err := <-known:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second): // the hanging fetch gives up after DefaultTimeout, 5 s
		t.Fatal("a cached kid waited for the fetch of an unknown one")
	}
	hold <- struct{}{}
	if err := <-unknown; !errors.Is(err, jwks.ErrUnknownKey) {
		t.Fatalf("made-up kid: %v", err)
	}
}
