package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenOptions are the claims gentoken puts in a token.
type TokenOptions struct {
	User string
	// TTL is the token's lifetime; zero or negative means no exp claim.
	TTL      time.Duration
	Now      time.Time
	Info     json.RawMessage
	Channels []string
	ExpireAt *int64
	Audience string
	Issuer   string
	// Extra claims; the named options above win over keys of the same name.
	Extra map[string]any
	// KeyID, when set, goes in the header as kid (JWKS key selection).
	KeyID string
}

// SignHMAC mints an HS256 connection token the way Centrifugo's gentoken
// does, byte for byte: sub (left out when empty), exp = now+ttl, iat.
func SignHMAC(secret string, o TokenOptions) (string, error) {
	return Sign(jwt.SigningMethodHS256, []byte(secret), o)
}

// Sign mints a connection token with any golang-jwt signing method and key.
func Sign(method jwt.SigningMethod, key any, o TokenOptions) (string, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	claims := jwt.MapClaims{}
	for k, v := range o.Extra {
		claims[k] = v
	}
	if o.User != "" {
		claims["sub"] = o.User
	}
	if o.TTL > 0 {
		claims["exp"] = o.Now.Add(o.TTL).Unix()
	}
	claims["iat"] = o.Now.Unix()
	if len(o.Info) != 0 {
		if !json.Valid(o.Info) {
			return "", errors.New("sign token: info is not valid JSON")
		}
		claims["info"] = json.RawMessage(o.Info)
	}
	if len(o.Channels) != 0 {
		claims["channels"] = o.Channels
	}
	if o.ExpireAt != nil {
		claims["expire_at"] = *o.ExpireAt
	}
	if o.Audience != "" {
		claims["aud"] = o.Audience
	}
	if o.Issuer != "" {
		claims["iss"] = o.Issuer
	}
	t := jwt.NewWithClaims(method, orderedClaims{claims})
	if o.KeyID != "" {
		t.Header["kid"] = o.KeyID
	}
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// registeredRank is a claim's place in golang-jwt's RegisteredClaims, the
// order Centrifugo's gentoken marshals ({"sub","exp","iat"}), or -1.
func registeredRank(claim string) int {
	switch claim {
	case "iss":
		return 0
	case "sub":
		return 1
	case "aud":
		return 2
	case "exp":
		return 3
	case "nbf":
		return 4
	case "iat":
		return 5
	case "jti":
		return 6
	}
	return -1
}

// orderedClaims marshals the registered claims first, in RegisteredClaims
// order, then the others by name (a jwt.MapClaims alone sorts them all).
type orderedClaims struct {
	jwt.MapClaims
}

func (c orderedClaims) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(c.MapClaims))
	for k := range c.MapClaims {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ra, rb := registeredRank(a), registeredRank(b)
		switch {
		case ra >= 0 && rb >= 0:
			return ra - rb
		case ra >= 0:
			return -1
		case rb >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(c.MapClaims[k])
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", k, err)
		}
		b = append(append(append(b, name...), ':'), v...)
	}
	return append(b, '}'), nil
}
