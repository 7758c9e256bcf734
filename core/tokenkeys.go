package core

import (
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

// methods lists the algorithms whose keys are configured.
func (k *TokenKeys) methods() []string {
	var m []string
	if len(k.HMAC) > 0 {
		m = append(m, "HS256", "HS384", "HS512")
	}
	if k.RSA != nil || k.KeyFunc != nil {
		m = append(m, "RS256", "RS384", "RS512")
	}
	if k.ECDSA != nil || k.KeyFunc != nil {
		m = append(m, "ES256", "ES384", "ES512")
	}
	if k.KeyFunc != nil {
		m = append(m, "EdDSA")
	}
	if len(m) == 0 {
		// Nothing is configured: refuse every algorithm.
		m = append(m, "no-key-configured")
	}
	return m
}

// keyFunc picks the key for a token's signing method and kid.
type keyFunc func(method jwt.SigningMethod, kid string) (any, error)

// candidates returns one keyFunc per HMAC secret (to support rotation;
// previous secrets only until PreviousValidUntil), the first also picking
// the asymmetric key by algorithm. Each records the key it hands out in
// *used.
func (k *TokenKeys) candidates(now time.Time, used *TokenKey) []keyFunc {
	asym := func(method jwt.SigningMethod, kid string) (any, error) {
		*used = ""
		switch method.(type) {
		case *jwt.SigningMethodHMAC:
			if len(k.HMAC) == 0 {
				return nil, errors.New("no HMAC key configured")
			}
			*used = KeyHMAC
			return k.HMAC[0], nil
		case *jwt.SigningMethodRSA:
			if k.KeyFunc != nil {
				if key, err := k.KeyFunc(method.Alg(), kid); err == nil {
					*used = KeyJWKS
					return key, nil
				} else if k.RSA == nil {
					return nil, err
				}
			}
			if k.RSA == nil {
				return nil, errors.New("no RSA key configured")
			}
			*used = KeyRSA
			return k.RSA, nil
		case *jwt.SigningMethodECDSA:
			if k.KeyFunc != nil {
				if key, err := k.KeyFunc(method.Alg(), kid); err == nil {
					*used = KeyJWKS
					return key, nil
				} else if k.ECDSA == nil {
					return nil, err
				}
			}
			if k.ECDSA == nil {
				return nil, errors.New("no ECDSA key configured")
			}
			*used = KeyECDSA
			return k.ECDSA, nil
		case *jwt.SigningMethodEd25519:
			if k.KeyFunc != nil {
				*used = KeyJWKS
				return k.KeyFunc(method.Alg(), kid)
			}
		}
		return nil, fmt.Errorf("algorithm %s not allowed", method.Alg())
	}
	out := []keyFunc{asym}
	if !k.PreviousValidUntil.IsZero() && !now.Before(k.PreviousValidUntil) {
		return out
	}
	for _, secret := range k.HMAC[min(1, len(k.HMAC)):] {
		out = append(out, func(method jwt.SigningMethod, _ string) (any, error) {
			if _, ok := method.(*jwt.SigningMethodHMAC); !ok {
				return nil, errors.New("not an HMAC token")
			}
			*used = KeyHMACPrevious
			return secret, nil
		})
	}
	return out
}
