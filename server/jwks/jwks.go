// Package jwks keeps the JSON Web Key Set that token_jwks_public_endpoint
// names, for verifying connection tokens by their kid.
package jwks

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
)

// Defaults for Options.
const (
	DefaultMaxAge      = time.Hour
	DefaultMinInterval = 10 * time.Second
	DefaultTimeout     = 5 * time.Second
	maxSetSize         = 1 << 20
)

// Errors Key returns (wrapped).
var (
	ErrNoKeyID     = errors.New("token has no kid")
	ErrUnknownKey  = errors.New("no key with this kid in the JWKS")
	ErrKeyMismatch = errors.New("JWKS key does not fit the token's algorithm")
)

// Options tune a Set. Zero values take the defaults.
type Options struct {
	// Client fetches the set (default: a client with DefaultTimeout).
	Client *http.Client
	// MaxAge is how long a fetched set is used before the next lookup
	// fetches it again (DefaultMaxAge).
	MaxAge time.Duration
	// MinInterval is the least time between two fetches, so that tokens
	// with unknown kids cannot make the server hammer the endpoint
	// (DefaultMinInterval).
	MinInterval time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives fetch failures (discarded when nil).
	Log *slog.Logger
}

// Set is a cached JWKS. It starts no goroutine: a lookup that finds the set
// older than MaxAge, or does not find its kid, fetches the set in the
// caller's goroutine, at most once per MinInterval; concurrent lookups wait
// for that one fetch. When a fetch fails the previous keys stay in use. A
// Set is safe for concurrent use.
type Set struct {
	url    string
	client *http.Client
	opts   Options

	mu       sync.Mutex
	keys     map[string]JWK
	fetched  time.Time     // last successful fetch
	tried    time.Time     // last fetch attempt
	fetching chan struct{} // closed when the running fetch ends; nil when none runs
}

// New returns a Set for the endpoint. Nothing is fetched until the first
// lookup.
func New(url string, opts Options) *Set {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = DefaultMinInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Set{url: url, client: client, opts: opts}
}

// Key returns the public key with this kid for a token signed with alg. It
// has the shape of core.TokenKeys.KeyFunc.
func (s *Set) Key(alg, kid string) (crypto.PublicKey, error) {
	if kid == "" {
		return nil, ErrNoKeyID
	}
	s.mu.Lock()
	for {
		now := s.opts.Now()
		_, ok := s.keys[kid]
		stale := s.fetched.IsZero() || now.Sub(s.fetched) >= s.opts.MaxAge
		if ok && !stale {
			break // no wait for a fetch that another kid started
		}
		if s.fetching != nil {
			wait := s.fetching
			s.mu.Unlock()
			<-wait
			s.mu.Lock()
			continue
		}
		if !s.tried.IsZero() && now.Sub(s.tried) < s.opts.MinInterval {
			break
		}
		s.fetching = make(chan struct{})
		s.tried = now
		s.mu.Unlock()
		keys, err := s.fetch()
		s.mu.Lock()
		if err != nil {
			s.opts.Log.Warn("JWKS fetch failed", "endpoint", core.RedactURL(s.url), "error", err.Error())
		} else {
			s.keys, s.fetched = keys, s.opts.Now()
		}
		close(s.fetching)
		s.fetching = nil
		break
	}
	k, ok := s.keys[kid]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, kid)
	}
	if (k.Alg != "" && k.Alg != alg) || !fits(k.pub, alg) {
		return nil, fmt.Errorf("%w: kid %q, alg %s", ErrKeyMismatch, kid, alg)
	}
	return k.pub, nil
}

// Close releases the idle connections of the set's HTTP client.
func (s *Set) Close() { s.client.CloseIdleConnections() }

// fetch reads and decodes the set. Keys for other uses than signing, keys
// without kid and keys of unsupported types are left out.
func (s *Set) fetch() (map[string]JWK, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSetSize))
	if err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	var set SetJSON
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]JWK, len(set.Keys))
	for _, j := range set.Keys {
		if j.Kid == "" || (j.Use != "" && j.Use != "sig") {
			continue
		}
		pub, err := j.PublicKey()
		if err != nil {
			s.opts.Log.Info("JWKS key skipped", "kid", j.Kid, "error", err.Error())
			continue
		}
		j.pub = pub
		keys[j.Kid] = j
	}
	return keys, nil
}
