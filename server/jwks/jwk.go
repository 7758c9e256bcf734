package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// JWK is one JSON Web Key (RFC 7517) holding a public signing key: RSA
// (kty RSA), ECDSA on P-256, P-384 or P-521 (kty EC) or Ed25519 (kty OKP).
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	// RSA
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
	// EC and OKP
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`

	pub crypto.PublicKey // decoded by Set.fetch
}

// SetJSON is the JSON form of a key set: {"keys":[...]}.
type SetJSON struct {
	Keys []JWK `json:"keys"`
}

// b64 is the JWK encoding of binary values.
func b64() *base64.Encoding { return base64.RawURLEncoding }

// curve returns the named NIST curve.
func curve(name string) (elliptic.Curve, bool) {
	switch name {
	case "P-256":
		return elliptic.P256(), true
	case "P-384":
		return elliptic.P384(), true
	case "P-521":
		return elliptic.P521(), true
	}
	return nil, false
}

// PublicKey decodes the key: *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		n, err := b64().DecodeString(j.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New("bad RSA modulus")
		}
		e, err := b64().DecodeString(j.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA exponent")
		}
		exp := new(big.Int).SetBytes(e)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	case "EC":
		c, ok := curve(j.Crv)
		if !ok {
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		size := (c.Params().BitSize + 7) / 8
		x, errX := b64().DecodeString(j.X)
		y, errY := b64().DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad EC coordinates")
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(c, point)
		if err != nil {
			return nil, fmt.Errorf("bad EC point: %w", err)
		}
		return pub, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		x, err := b64().DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", j.Kty)
}

// NewJWK encodes a public key as a JWK (without kid, use or alg).
func NewJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64().EncodeToString(k.N.Bytes()), E: b64().EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	case *ecdsa.PublicKey:
		point, err := k.Bytes()
		if err != nil {
			return JWK{}, fmt.Errorf("encode EC key: %w", err)
		}
		size := (len(point) - 1) / 2
		return JWK{Kty: "EC", Crv: k.Curve.Params().Name, X: b64().EncodeToString(point[1 : 1+size]), Y: b64().EncodeToString(point[1+size:])}, nil
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64().EncodeToString(k)}, nil
	}
	return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url-encoded:
// a stable kid that needs no bookkeeping.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := NewJWK(pub)
	if err != nil {
		return "", err
	}
	// The required members in lexicographic order, no whitespace (§3.2);
	// base64url values need no JSON escaping.
	var canonical string
	switch j.Kty {
	case "RSA":
		canonical = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	case "EC":
		canonical = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	default:
		canonical = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64().EncodeToString(sum[:]), nil
}

// fits reports whether a key may verify tokens signed with alg.
func fits(pub crypto.PublicKey, alg string) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "RS384" || alg == "RS512"
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return alg == "ES256"
		case elliptic.P384():
			return alg == "ES384"
		case elliptic.P521():
			return alg == "ES512"
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
