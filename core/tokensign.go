package core

import (
	"encoding/json"
	"errors"
	"fmt"
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
	Extra    map[string]any
}

// SignHMAC mints an HS256 connection token the way Centrifugo's gentoken
// does: sub (left out when empty), exp = now+ttl, iat.
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
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
