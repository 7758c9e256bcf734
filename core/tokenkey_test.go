package core

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyConnectTokenKeyNamesTheKey(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsaKeyPEM(t)
	ecKey, _ := ecKeyPEM(t)
	keys := &TokenKeys{
		HMAC:  [][]byte{[]byte("current"), []byte("previous")},
		RSA:   &rsaKey.PublicKey,
		ECDSA: &ecKey.PublicKey,
	}
	claims := jwt.MapClaims{"sub": "42", "exp": tokenNow().Add(time.Hour).Unix()}
	expired := jwt.MapClaims{"sub": "42", "exp": tokenNow().Add(-time.Hour).Unix()}
	tests := []struct {
		name  string
		token string
		want  TokenKey
		err   error
	}{
		{"current secret", signClaims(t, jwt.SigningMethodHS256, []byte("current"), claims), KeyHMAC, nil},
		{"previous secret", signClaims(t, jwt.SigningMethodHS384, []byte("previous"), claims), KeyHMACPrevious, nil},
		{"rsa", signClaims(t, jwt.SigningMethodRS256, rsaKey, claims), KeyRSA, nil},
		{"ecdsa", signClaims(t, jwt.SigningMethodES256, ecKey, claims), KeyECDSA, nil},
		{"good signature, expired", signClaims(t, jwt.SigningMethodHS256, []byte("current"), expired), KeyHMAC, ErrTokenExpired},
		{"unknown secret", signClaims(t, jwt.SigningMethodHS256, []byte("other"), claims), "", ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, key, err := keys.VerifyConnectTokenKey(tc.token, tokenNow())
			wantTokenErr(t, err, tc.err)
			if key != tc.want {
				t.Errorf("key = %q, want %q", key, tc.want)
			}
		})
	}
}

func TestPreviousSecretValidUntil(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.TokenHMACSecretKey = "current"
	cfg.TokenHMACPreviousSecretKey = "previous"
	cfg.TokenHMACPreviousSecretKeyValidUntil = tokenNow().Unix()
	keys, err := TokenKeysFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := signClaims(t, jwt.SigningMethodHS256, []byte("previous"), jwt.MapClaims{"sub": "1"})
	if _, err := keys.VerifyConnectToken(tok, tokenNow().Add(-time.Second)); err != nil {
		t.Errorf("before valid_until: %v", err)
	}
	_, key, err := keys.VerifyConnectTokenKey(tok, tokenNow())
	wantTokenErr(t, err, ErrTokenInvalid)
	if key != "" {
		t.Errorf("key = %q after valid_until", key)
	}
	if _, err := ParseConfig("json", []byte(`{"token_hmac_previous_secret_key_valid_until":-1}`), nil); err == nil {
		t.Error("negative valid_until accepted")
	}
}
