package core

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// jws is a compact token split and decoded. Tokens are read here, with the
// decoders of decode.go, instead of by jwt.Parser, whose header map and
// reflection-based claims cost a connect more than the signature check; the
// signature is still checked by golang-jwt's signing methods and the claims
// by its validator.
type jws struct {
	alg, kid string
	signing  string // header.claims: what the signature covers
	claims   []byte
	sig      []byte
}

// parseJWS splits and decodes a token as jwt.Parser does with its default
// options: three base64url segments without padding, a header that is a
// JSON object whose "alg" is a string ("kid" is read when it is one).
func parseJWS(token string) (jws, error) {
	h, rest, ok1 := strings.Cut(token, ".")
	c, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return jws{}, fmt.Errorf("%w: token contains an invalid number of segments", jwt.ErrTokenMalformed)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, enc.DecodedLen(len(h))+enc.DecodedLen(len(c))+enc.DecodedLen(len(s)))
	header, err := decodeSegment(buf, h)
	if err != nil {
		return jws{}, fmt.Errorf("%w: could not base64 decode header: %v", jwt.ErrTokenMalformed, err)
	}
	claims, err := decodeSegment(buf[len(header):], c)
	if err != nil {
		return jws{}, fmt.Errorf("%w: could not base64 decode claim: %v", jwt.ErrTokenMalformed, err)
	}
	sig, err := decodeSegment(buf[len(header)+len(claims):], s)
	if err != nil {
		return jws{}, fmt.Errorf("%w: could not base64 decode signature: %v", jwt.ErrTokenMalformed, err)
	}
	t := jws{signing: token[:len(h)+1+len(c)], claims: claims, sig: sig}
	algSet, err := t.readHeader(header)
	if err != nil {
		return jws{}, fmt.Errorf("%w: could not JSON decode header: %v", jwt.ErrTokenMalformed, err)
	}
	if !algSet {
		return jws{}, fmt.Errorf("%w: signing method (alg) is unspecified", jwt.ErrTokenUnverifiable)
	}
	return t, nil
}

func decodeSegment(dst []byte, seg string) ([]byte, error) {
	n, err := base64.RawURLEncoding.Decode(dst, []byte(seg))
	return dst[:n:n], err
}

// readHeader reads alg and kid from the header object, as a map would
// hold them: names match exactly, the last of repeated names wins, a value
// of another type leaves alg unset and kid empty.
func (t *jws) readHeader(b []byte) (algSet bool, err error) {
	r := jsonReader{b: b}
	err = r.document("header", func(key []byte) error {
		name := string(key)
		if (name == "alg" || name == "kid") && r.next() == '"' {
			s, err := r.str()
			if err != nil {
				return err
			}
			if name == "alg" {
				t.alg, algSet = string(s), true
			} else {
				t.kid = string(s)
			}
			return nil
		}
		switch name {
		case "alg":
			algSet = false
		case "kid":
			t.kid = ""
		}
		// A map[string]any would hold it: numbers must fit a float64.
		return r.skipAny(1)
	})
	return algSet && err == nil, err
}

// method returns the signing method of alg if allowed(alg).
func (t *jws) method(allowed func(alg string) bool) (jwt.SigningMethod, error) {
	m := jwt.GetSigningMethod(t.alg)
	if m == nil {
		return nil, fmt.Errorf("%w: signing method (alg) is unavailable", jwt.ErrTokenUnverifiable)
	}
	if !allowed(t.alg) {
		return nil, fmt.Errorf("%w: signing method %s is invalid", jwt.ErrTokenSignatureInvalid, t.alg)
	}
	return m, nil
}
