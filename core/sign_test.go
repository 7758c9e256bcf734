package core

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSignHMACMatchesCentrifugoGentoken holds SignHMAC to tokens minted by
// Centrifugo v6.9.1's `centrifugo gentoken -q` with hmac_secret_key
// "secret", at the second they carry as iat.
func TestSignHMACMatchesCentrifugoGentoken(t *testing.T) {
	t.Parallel()
	iat := time.Unix(1795794746, 0)
	tests := []struct {
		args string
		opts TokenOptions
		want string
	}{
		{"-u test_user", TokenOptions{User: "test_user", TTL: 604800 * time.Second},
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0X3VzZXIiLCJleHAiOjE3OTYzOTk1NDYsImlhdCI6MTc5NTc5NDc0Nn0.BE7ugxFv-6H9fqY4R_PBsazaAelOONt74yn6K7ZB7qw"},
		{"-u test_user -t -1", TokenOptions{User: "test_user"},
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0X3VzZXIiLCJpYXQiOjE3OTU3OTQ3NDZ9.psdgnE-7e7-a7J8inkF75JZwz1dPUzPfKPQR_J_9MDQ"},
		{"-t 3600", TokenOptions{TTL: time.Hour},
			"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTU3OTgzNDYsImlhdCI6MTc5NTc5NDc0Nn0.HguguivJ9hQoAfRPNw7uLWW28hCOsqAwOatWPgMAdX8"},
	}
	for _, tt := range tests {
		tt.opts.Now = iat
		got, err := SignHMAC("secret", tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("gentoken %s:\n got %s\nwant %s", tt.args, got, tt.want)
		}
	}
}

// TestSignClaimOrder: registered claims first, in RegisteredClaims order,
// then the rest by name; every value as given.
func TestSignClaimOrder(t *testing.T) {
	t.Parallel()
	exp := int64(1795800000)
	tok, err := SignHMAC("secret", TokenOptions{
		User: "42", TTL: time.Hour, Now: time.Unix(1795794746, 0),
		Info: json.RawMessage(`{"name":"Ann"}`), Channels: []string{"news"}, ExpireAt: &exp,
		Audience: "uniws", Issuer: "me", Extra: map[string]any{"b": 1, "a": "x", "sub": "overridden"},
	})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"me","sub":"42","aud":"uniws","exp":1795798346,"iat":1795794746,` +
		`"a":"x","b":1,"channels":["news"],"expire_at":1795800000,"info":{"name":"Ann"}}`
	if string(payload) != want {
		t.Errorf("payload\n got %s\nwant %s", payload, want)
	}
	creds, err := hmacKeys("secret").VerifyConnectToken(tok, time.Unix(1795794746, 0))
	if err != nil || creds.User != "42" {
		t.Fatalf("verify: %+v %v", creds, err)
	}
}
