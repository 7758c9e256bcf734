package core

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenKey names the configured key whose signature a token carries.
type TokenKey string

// The keys VerifyConnectTokenKey reports.
const (
	KeyHMAC         TokenKey = "token_hmac_secret_key"
	KeyHMACPrevious TokenKey = "token_hmac_previous_secret_key"
	KeyRSA          TokenKey = "token_rsa_public_key"
	KeyECDSA        TokenKey = "token_ecdsa_public_key"
	KeyJWKS         TokenKey = "token_jwks_public_endpoint"
)

// allows reports whether alg's key is configured. With a JWKS (KeyFunc)
// only its keys verify tokens, as in Centrifugo: no HMAC secret, no static
// RSA or ECDSA key.
func (k *TokenKeys) allows(alg string) bool {
	if k.KeyFunc != nil {
		switch alg {
		case "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA":
			return true
		}
		return false
	}
	switch alg {
	case "HS256", "HS384", "HS512":
		return len(k.HMAC) > 0
	case "RS256", "RS384", "RS512":
		return k.RSA != nil || k.KeyFunc != nil
	case "ES256", "ES384", "ES512":
		return k.ECDSA != nil || k.KeyFunc != nil
	case "EdDSA":
		return k.KeyFunc != nil
	}
	return false
}

// numKeys is how many keys may have signed a token at now: the current
// HMAC secret or the asymmetric key for the algorithm, then the previous
// HMAC secrets (to support rotation) until PreviousValidUntil.
func (k *TokenKeys) numKeys(now time.Time) int {
	if !k.PreviousValidUntil.IsZero() && !now.Before(k.PreviousValidUntil) {
		return 1
	}
	return max(1, len(k.HMAC))
}

// key returns key i (of numKeys) for a token that is not HMAC-signed, and
// names it. HMAC tokens are checked by verifyHMAC; keys after the first are
// previous HMAC secrets, which no other token can match.
func (k *TokenKeys) key(i int, method jwt.SigningMethod, kid string) (any, TokenKey, error) {
	if i > 0 {
		return nil, "", errors.New("not an HMAC token")
	}
	switch method.(type) {
	case *jwt.SigningMethodRSA:
		return k.publicKey(method, kid, k.RSA, KeyRSA)
	case *jwt.SigningMethodECDSA:
		return k.publicKey(method, kid, k.ECDSA, KeyECDSA)
	case *jwt.SigningMethodEd25519:
		if k.KeyFunc != nil {
			key, err := k.KeyFunc(method.Alg(), kid)
			if err != nil {
				return nil, "", err
			}
			return key, KeyJWKS, nil
		}
	}
	return nil, "", fmt.Errorf("algorithm %s not allowed", method.Alg())
}

// publicKey picks an RSA or ECDSA key: with a JWKS the set's key for the
// token's algorithm and kid (and no other), else the configured key named
// name.
func (k *TokenKeys) publicKey(method jwt.SigningMethod, kid string, configured crypto.PublicKey, name TokenKey) (any, TokenKey, error) {
	if k.KeyFunc != nil {
		key, err := k.KeyFunc(method.Alg(), kid)
		if err != nil {
			return nil, "", err
		}
		return key, KeyJWKS, nil
	}
	if configured == nil {
		return nil, "", fmt.Errorf("no %s configured", name)
	}
	return configured, name, nil
}
