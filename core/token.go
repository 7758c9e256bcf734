package core

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// ConnectClaims are the claims of a connection token (PROTOCOL.md §5).
type ConnectClaims struct {
	jwt.RegisteredClaims
	ExpireAt *int64                     `json:"expire_at,omitempty"`
	Info     json.RawMessage            `json:"info,omitempty"`
	B64Info  string                     `json:"b64info,omitempty"`
	Channels []string                   `json:"channels,omitempty"`
	Subs     map[string]SubscribeClaims `json:"subs,omitempty"`
	Meta     json.RawMessage            `json:"meta,omitempty"`
	// Channel marks a subscription token; it is refused on connection.
	Channel string `json:"channel,omitempty"`
}

// SubscribeClaims are the options of one channel in a token's subs claim.
type SubscribeClaims struct {
	Info     json.RawMessage `json:"info,omitempty"`
	B64Info  string          `json:"b64info,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	B64Data  string          `json:"b64data,omitempty"`
	Override json.RawMessage `json:"override,omitempty"`
}

// Credentials are what a verified token grants a connection.
type Credentials struct {
	User string
	// ExpireAt is when the connection expires (zero: never).
	ExpireAt time.Time
	Info     json.RawMessage
	// Channels are the server-side subscriptions, in the token's order.
	Channels []string
	// Subs carry per-channel options when the token has a subs claim.
	Subs map[string]SubscribeClaims
	Meta json.RawMessage
}

// Token errors. Verify wraps one of them.
var (
	// ErrTokenInvalid maps to disconnect 3500.
	ErrTokenInvalid = errors.New("invalid token")
	// ErrTokenExpired maps to disconnect 3005.
	ErrTokenExpired = errors.New("token expired")
)

// TokenKeys are the keys a server verifies tokens with. An algorithm whose
// key is not configured is refused.
type TokenKeys struct {
	HMAC [][]byte // current secret first, then previous ones
	// PreviousValidUntil, when set, ends the use of the previous HMAC
	// secrets (HMAC[1:]) at that time.
	PreviousValidUntil time.Time
	RSA                crypto.PublicKey
	ECDSA              crypto.PublicKey
	Audience           string
	Issuer             string
	// AudienceRegex, when set, must match one of the token's aud values;
	// IssuerRegex must match its iss.
	AudienceRegex *regexp.Regexp
	IssuerRegex   *regexp.Regexp
	// KeyFunc, when set, resolves keys by header (JWKS); it is then the
	// only source of keys: HMAC, RSA and ECDSA are not used (as in
	// Centrifugo).
	KeyFunc func(alg, kid string) (crypto.PublicKey, error)

	// macs pools keyed HMAC states, per secret and hash, made on first
	// use: keying one costs as much as checking a token.
	macsOnce sync.Once
	macs     []macPools
}

// macPools are the pooled states keyed with one secret, which they keep a
// copy of: a secret replaced in HMAC after first use is not matched.
type macPools struct {
	secret []byte
	pools  [len(macHashes)]sync.Pool
}

// TokenKeysFromConfig builds the verification keys a configuration names.
func TokenKeysFromConfig(c *Config) (*TokenKeys, error) {
	k := &TokenKeys{Audience: c.TokenAudience, Issuer: c.TokenIssuer}
	for _, r := range []struct {
		key, expr string
		dst       **regexp.Regexp
	}{
		{"token_audience_regex", c.TokenAudienceRegex, &k.AudienceRegex},
		{"token_issuer_regex", c.TokenIssuerRegex, &k.IssuerRegex},
	} {
		if r.expr == "" {
			continue
		}
		re, err := regexp.Compile(r.expr)
		if err != nil {
			return nil, &ConfigError{Key: r.key, Err: err}
		}
		*r.dst = re
	}
	if c.TokenHMACSecretKey != "" {
		k.HMAC = append(k.HMAC, []byte(c.TokenHMACSecretKey))
	}
	if c.TokenHMACPreviousSecretKey != "" {
		k.HMAC = append(k.HMAC, []byte(c.TokenHMACPreviousSecretKey))
		if c.TokenHMACPreviousSecretKeyValidUntil > 0 {
			k.PreviousValidUntil = time.Unix(c.TokenHMACPreviousSecretKeyValidUntil, 0)
		}
	}
	if c.TokenRSAPublicKey != "" {
		pub, err := jwt.ParseRSAPublicKeyFromPEM([]byte(c.TokenRSAPublicKey))
		if err != nil {
			return nil, &ConfigError{Key: "token_rsa_public_key", Err: err}
		}
		k.RSA = pub
	}
	if c.TokenECDSAPublicKey != "" {
		pub, err := jwt.ParseECPublicKeyFromPEM([]byte(c.TokenECDSAPublicKey))
		if err != nil {
			return nil, &ConfigError{Key: "token_ecdsa_public_key", Err: err}
		}
		k.ECDSA = pub
	}
	return k, nil
}

// Empty reports whether no verification key is configured.
func (k *TokenKeys) Empty() bool {
	return len(k.HMAC) == 0 && k.RSA == nil && k.ECDSA == nil && k.KeyFunc == nil
}

// VerifyConnectToken checks a connection token's signature and claims at the
// given time. The error wraps ErrTokenExpired or ErrTokenInvalid.
//
// As in Centrifugo, every reason to call a token invalid (signature,
// algorithm, aud, iss, a channel claim) wins over expiry. A token whose nbf
// is still in the future counts as expired (3005), as in Centrifugo v6.
func (k *TokenKeys) VerifyConnectToken(token string, now time.Time) (*Credentials, error) {
	creds, _, err := k.VerifyConnectTokenKey(token, now)
	return creds, err
}

// VerifyConnectTokenKey is VerifyConnectToken that also names the key the
// signature matched, or "" when no configured key matched it. A token can
// carry a valid signature and still be refused for its claims; the key is
// reported then too.
func (k *TokenKeys) VerifyConnectTokenKey(token string, now time.Time) (*Credentials, TokenKey, error) {
	// The signature first; claims are validated below, in Centrifugo's order.
	t, err := parseJWS(token)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	claims := &ConnectClaims{}
	if err := claims.UnmarshalJSON(t.claims); err != nil {
		return nil, "", fmt.Errorf("%w: %v: could not JSON decode claim: %v", ErrTokenInvalid, jwt.ErrTokenMalformed, err)
	}
	method, err := t.method(k.allows)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	var used TokenKey
	verified := false
	var lastErr error
	hm, isHMAC := method.(*jwt.SigningMethodHMAC)
	for i := range k.numKeys(now) {
		var name TokenKey
		if isHMAC && i < len(k.HMAC) {
			name, err = KeyHMAC, k.verifyHMAC(i, hm, t.signing, t.sig)
			if i > 0 {
				name = KeyHMACPrevious
			}
		} else {
			var key any
			key, name, err = k.key(i, method, t.kid)
			if err != nil {
				lastErr = fmt.Errorf("%w: error while executing keyfunc: %v", jwt.ErrTokenUnverifiable, err)
				break
			}
			err = method.Verify(t.signing, t.sig, key)
		}
		if err != nil {
			lastErr = fmt.Errorf("%w: %v", jwt.ErrTokenSignatureInvalid, err)
			continue
		}
		used, verified = name, true
		break
	}
	if !verified {
		return nil, "", fmt.Errorf("%w: %v", ErrTokenInvalid, lastErr)
	}
	creds, err := k.checkClaims(claims, now)
	return creds, used, err
}

// macHashes are the hashes of HS256, HS384 and HS512, in macs' order.
var macHashes = [...]crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// verifyHMAC checks the signature of an HMAC token against secret i as
// jwt.SigningMethodHMAC.Verify does, with a keyed state from a pool.
func (k *TokenKeys) verifyHMAC(i int, m *jwt.SigningMethodHMAC, signing string, sig []byte) error {
	slot := slices.Index(macHashes[:], m.Hash)
	k.macsOnce.Do(func() {
		k.macs = make([]macPools, len(k.HMAC))
		for j, secret := range k.HMAC {
			k.macs[j].secret = bytes.Clone(secret)
		}
	})
	if slot < 0 || i >= len(k.macs) || !bytes.Equal(k.macs[i].secret, k.HMAC[i]) || !m.Hash.Available() {
		return m.Verify(signing, sig, k.HMAC[i])
	}
	pool := &k.macs[i].pools[slot]
	h, ok := pool.Get().(hash.Hash)
	if ok {
		h.Reset()
	} else {
		h = hmac.New(m.Hash.New, k.HMAC[i])
	}
	// A hash reads what it is given and keeps none of it: the string's
	// bytes are written without a copy.
	h.Write(unsafe.Slice(unsafe.StringData(signing), len(signing)))
	var sum [64]byte
	valid := hmac.Equal(sig, h.Sum(sum[:0]))
	pool.Put(h)
	if !valid {
		return jwt.ErrSignatureInvalid
	}
	return nil
}

// checkClaims validates the claims of a token whose signature is good.
func (k *TokenKeys) checkClaims(claims *ConnectClaims, now time.Time) (*Credentials, error) {
	opts := []jwt.ParserOption{jwt.WithTimeFunc(func() time.Time { return now })}
	if k.Audience != "" {
		opts = append(opts, jwt.WithAudience(k.Audience))
	}
	if k.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(k.Issuer))
	}
	err := jwt.NewValidator(opts...).Validate(claims)
	// Expired and not-yet-valid are both "expired" (3005), as in
	// Centrifugo: the client may reconnect with a fresh token.
	timeOnly := err != nil && (errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet)) &&
		!errors.Is(err, jwt.ErrTokenInvalidAudience) &&
		!errors.Is(err, jwt.ErrTokenInvalidIssuer) && !errors.Is(err, jwt.ErrTokenRequiredClaimMissing) &&
		!errors.Is(err, jwt.ErrTokenUsedBeforeIssued)
	switch {
	case err != nil && !timeOnly:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	case k.claimsRefused(claims) != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, k.claimsRefused(claims))
	case claims.Channel != "":
		return nil, fmt.Errorf("%w: channel claim is for subscription tokens", ErrTokenInvalid)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenExpired, err)
	}
	return credentials(claims, now)
}

// claimsRefused checks aud and iss against the configured regular
// expressions.
func (k *TokenKeys) claimsRefused(claims *ConnectClaims) error {
	if k.AudienceRegex != nil {
		matched := false
		for _, aud := range claims.Audience {
			if k.AudienceRegex.MatchString(aud) {
				matched = true
				break
			}
		}
		if !matched {
			return errors.New("audience does not match token_audience_regex")
		}
	}
	if k.IssuerRegex != nil && !k.IssuerRegex.MatchString(claims.Issuer) {
		return errors.New("issuer does not match token_issuer_regex")
	}
	return nil
}

// UnverifiedCredentials reads a token's claims without checking its
// signature or expiry. Only client_insecure mode with no key uses it.
func UnverifiedCredentials(token string, now time.Time) (*Credentials, error) {
	claims := &ConnectClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	// Not verified, but timed: an expired (or not yet valid) token is
	// expired, 3005, as a verified one would be.
	if err := jwt.NewValidator(jwt.WithTimeFunc(func() time.Time { return now })).Validate(claims); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenExpired, err)
	}
	return credentials(claims, now)
}

// credentials turns checked claims into what they grant.
func credentials(claims *ConnectClaims, now time.Time) (*Credentials, error) {
	if claims.Channel != "" {
		return nil, fmt.Errorf("%w: channel claim is for subscription tokens", ErrTokenInvalid)
	}
	creds := &Credentials{User: claims.Subject, Info: claims.Info, Channels: claims.Channels, Subs: claims.Subs, Meta: claims.Meta}
	if claims.B64Info != "" {
		info, err := base64.StdEncoding.DecodeString(claims.B64Info)
		if err != nil {
			return nil, fmt.Errorf("%w: bad b64info: %v", ErrTokenInvalid, err)
		}
		creds.Info = info
	}
	if len(creds.Info) != 0 && !json.Valid(creds.Info) {
		return nil, fmt.Errorf("%w: info is not JSON", ErrTokenInvalid)
	}
	switch {
	case claims.ExpireAt != nil:
		if *claims.ExpireAt > 0 {
			creds.ExpireAt = ExpireAtUnix(*claims.ExpireAt, now)
			if !creds.ExpireAt.After(now) {
				return nil, fmt.Errorf("%w: expire_at passed", ErrTokenExpired)
			}
		}
	case claims.ExpiresAt != nil:
		creds.ExpireAt = claims.ExpiresAt.Time
		if limit := now.Add(MaxTTL); creds.ExpireAt.After(limit) {
			creds.ExpireAt = limit
		}
	}
	return creds, nil
}

// MaxTTL bounds how long a token, the connect or refresh proxy or an API
// refresh can make a connection live before its expiry is checked again, as
// in Centrifugo: a later expiry (most likely a mistake, and past what a
// time.Duration holds after 292 years) counts as a year from now.
const MaxTTL = 365 * 24 * time.Hour

// ExpireAtUnix turns an expire_at in Unix seconds into the expiry it sets,
// at most MaxTTL from now; zero (never) for 0 or less.
func ExpireAtUnix(sec int64, now time.Time) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(min(sec, now.Unix()+int64(MaxTTL/time.Second)), 0)
}
