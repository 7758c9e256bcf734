package core

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The connect path's two decodes, against encoding/json in the same run:
//
//	go test -run '^$' -bench 'Decode|Verify' -benchmem ./core
func BenchmarkDecodeConnectRequest(b *testing.B) {
	frame := []byte(`{"token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0X3VzZXIiLCJleHAiOjE3ODAwMDAwMDB9.sig",` +
		`"subs":{"news":{"recover":true,"offset":42,"epoch":"abcd"}},"name":"js","version":"1.0"}`)
	b.Run("decoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeConnectRequest(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refDecodeConnect(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyConnectToken(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	token, err := SignHMAC("secret", TokenOptions{User: "test_user", TTL: time.Hour, Now: now, Info: json.RawMessage(`{"name":"x"}`), Channels: []string{"news"}})
	if err != nil {
		b.Fatal(err)
	}
	keys := &TokenKeys{HMAC: [][]byte{[]byte("secret")}}
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := keys.VerifyConnectToken(token, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Parsing alone, the claims decoded by decode.go or through reflection.
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	key := func(*jwt.Token) (any, error) { return []byte("secret"), nil }
	b.Run("parse/decoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseWithClaims(token, &ConnectClaims{}, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse/encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseWithClaims(token, &refJWTClaims{}, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// refJWTClaims is refClaims as jwt.Claims.
type refJWTClaims refClaims

func (c *refJWTClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *refJWTClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *refJWTClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *refJWTClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *refJWTClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *refJWTClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }
