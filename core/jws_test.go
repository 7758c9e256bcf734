package core

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// refVerify is VerifyConnectTokenKey through jwt.Parser and reflection, as
// it was before jws.go: the reference the token reader is held against.
func refVerify(k *TokenKeys, token string, now time.Time) (*Credentials, TokenKey, error) {
	parser := jwt.NewParser(jwt.WithValidMethods(refMethods(k)), jwt.WithoutClaimsValidation())
	var claims *refJWTClaims
	var lastErr error
	var used TokenKey
	verified := false
	for _, keyFor := range refCandidates(k, now, &used) {
		claims = &refJWTClaims{}
		_, err := parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			return keyFor(t.Method, kid)
		})
		if err == nil {
			verified = true
			break
		}
		lastErr = err
		if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			break
		}
	}
	if !verified {
		return nil, "", errors.Join(ErrTokenInvalid, lastErr)
	}
	cc := ConnectClaims(*claims)
	creds, err := k.checkClaims(&cc, now)
	return creds, used, err
}

func tokenClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTokenInvalid):
		return "invalid"
	case errors.Is(err, ErrTokenExpired):
		return "expired"
	}
	return "other: " + err.Error()
}

func checkTokenAgainstReference(t *testing.T, k *TokenKeys, token string, now time.Time) {
	t.Helper()
	creds, used, err := k.VerifyConnectTokenKey(token, now)
	rcreds, rused, rerr := refVerify(k, token, now)
	if tokenClass(err) != tokenClass(rerr) || used != rused {
		t.Fatalf("%q: got %s %q (%v), jwt.Parser %s %q (%v)", token, tokenClass(err), used, err, tokenClass(rerr), rused, rerr)
	}
	if !reflect.DeepEqual(creds, rcreds) {
		t.Fatalf("%q: credentials differ:\n got %#v\nwant %#v", token, creds, rcreds)
	}
}

// signSegments signs header.claims with the HMAC method the header names
// (HS256 when it names none).
func signSegments(header, claims []byte, secret string) string {
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(header, &h)
	method := jwt.GetSigningMethod(h.Alg)
	if _, ok := method.(*jwt.SigningMethodHMAC); !ok {
		method = jwt.SigningMethodHS256
	}
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sig, err := method.Sign(signing, []byte(secret))
	if err != nil {
		panic(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

var tokenHeaders = []string{
	`{"alg":"HS256","typ":"JWT"}`, `{"alg":"HS384"}`, `{"alg":"HS512","kid":"k1"}`, `{"alg":"none"}`, `{"alg":"RS256"}`,
	`{"alg":"ES256","kid":1}`, `{"alg":1}`, `{}`, `null`, `[]`, `{"alg":"HS256","alg":null}`, `{"alg":null,"alg":"HS256"}`,
	`{"ALG":"HS256"}`, `{"\u0061lg":"HS256"}`, `{"alg":"HS256"} x`, `{"alg":"HS256","crit":["exp"]}`, `{"alg":"HS256","x":{"y":[1,{}]}}`,
	`{"alg":"HS2\u0035\u0036"}`, `{"alg":"EdDSA"}`, `{"alg":"HS256",}`,
	`{"alg":"HS256","x":1e400}`, `{"alg":"HS256","x":[-1e999]}`, `{"alg":"HS256","kid":1e400}`, `{"alg":"HS256","x":1e300}`,
}

var tokenClaims = []string{
	`{"sub":"u","exp":1800003600}`, `{"sub":"u","exp":1700000000}`, `{"sub":"u","nbf":1800003600}`, `{}`, `null`, `[]`, `"x"`,
	`{"sub":"u","channels":["a","b"],"info":{"n":1}}`, `{"sub":"u","b64info":"eyJhIjoxfQ=="}`, `{"sub":"u","b64info":"%%"}`,
	`{"sub":"u","channel":"c"}`, `{"sub":"u","expire_at":1800003600}`, `{"sub":"u","expire_at":1}`, `{"sub":"u","expire_at":0,"exp":1}`,
	`{"sub":"u","aud":"uniws","iss":"me"}`, `{"sub":"u","aud":["x","uniws"],"iss":"me"}`, `{"sub":"u","aud":"other"}`,
	`{"sub":"u","subs":{"a":{"data":{"x":1},"b64info":"e30="}}}`, `{"sub":"u","exp":"1800003600"}`, `{"sub":"u","iat":1900000000}`,
	`{"sub":5}`, `{"sub":"u"} x`, `{"sub":"u","info":"not json object"}`, `{"sub":"u","meta":{"m":1}}`,
	`{"ıss":"evil","sub":"u"}`, `{"sub":"u","İat":1}`, `{"sub":"u","aud":["uniws",1e400]}`,
}

func tokenKeySets() []*TokenKeys {
	return []*TokenKeys{
		{HMAC: [][]byte{[]byte("secret"), []byte("old")}},
		{HMAC: [][]byte{[]byte("secret")}, Audience: "uniws", Issuer: "me"},
		{HMAC: [][]byte{[]byte("secret"), []byte("old")}, PreviousValidUntil: time.Unix(1_700_000_000, 0)},
	}
}

func TestTokenReaderMatchesJWTParser(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, k := range tokenKeySets() {
		for _, h := range tokenHeaders {
			for _, c := range tokenClaims {
				for _, secret := range []string{"secret", "old", "wrong"} {
					checkTokenAgainstReference(t, k, signSegments([]byte(h), []byte(c), secret), now)
				}
			}
		}
		for _, s := range []string{"", ".", "..", "a.b.c", "a.b.c.d", "e30.e30.", "e30=.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.!!"} {
			checkTokenAgainstReference(t, k, s, now)
		}
	}
}

func FuzzTokenReader(f *testing.F) {
	for _, h := range tokenHeaders {
		for _, c := range tokenClaims[:6] {
			f.Add([]byte(h), []byte(c), uint8(0))
		}
	}
	for _, c := range tokenClaims {
		f.Add([]byte(tokenHeaders[0]), []byte(c), uint8(1))
	}
	now := time.Unix(1_800_000_000, 0)
	keys := tokenKeySets()
	f.Fuzz(func(t *testing.T, header, claims []byte, which uint8) {
		secret := []string{"secret", "old", "wrong"}[which%3]
		token := signSegments(header, claims, secret)
		for _, k := range keys {
			checkTokenAgainstReference(t, k, token, now)
			// A token cut or extended by the fuzzer's byte, unsigned.
			checkTokenAgainstReference(t, k, token[:len(token)-int(which)%len(token)], now)
		}
	})
}

// refMethods lists the algorithms whose keys are configured, as the
// server did before allows.
func refMethods(k *TokenKeys) []string {
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

// refCandidates returns one keyFunc per HMAC secret (to support rotation;
// previous secrets only until PreviousValidUntil), the first also picking
// the asymmetric key by algorithm. Each records the key it hands out in
// *used. It is how the server chose keys before numKeys and key.
func refCandidates(k *TokenKeys, now time.Time, used *TokenKey) []keyFunc {
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
