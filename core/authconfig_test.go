package core

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAuthConfigErrorsNameTheirKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, key string
		words           []string
	}{
		{"audience and its regex", `{"token_audience":"a","token_audience_regex":"a"}`, "token_audience_regex", []string{"not both"}},
		{"issuer and its regex", `{"token_issuer":"a","token_issuer_regex":"a"}`, "token_issuer_regex", []string{"not both"}},
		{"bad audience regex", `{"token_audience_regex":"("}`, "token_audience_regex", nil},
		{"bad issuer regex", `{"token_issuer_regex":"[a-"}`, "token_issuer_regex", nil},
		{"jwks endpoint not http", `{"token_jwks_public_endpoint":"ftp://x/jwks"}`, "token_jwks_public_endpoint", []string{"http"}},
		{"connect proxy without host", `{"proxy_connect_endpoint":"http://"}`, "proxy_connect_endpoint", nil},
		{"refresh proxy relative", `{"proxy_refresh_endpoint":"/refresh"}`, "proxy_refresh_endpoint", nil},
		{"header with a colon", `{"proxy_http_headers":["X-A:"]}`, "proxy_http_headers", []string{"X-A:"}},
		{"previous secret without a current one", `{"token_hmac_previous_secret_key":"old"}`, "token_hmac_previous_secret_key", []string{"token_hmac_secret_key"}},
		{"emulated header with a space", `{"proxy_emulated_headers":["X A"]}`, "proxy_emulated_headers", []string{"X A"}},
		{"single connection without personal channel", `{"client_user_personal_single_connection":true}`, "client_user_personal_single_connection", []string{"user_subscribe_to_personal"}},
		{"single connection without presence", `{"client_user_personal_single_connection":true,"user_subscribe_to_personal":true}`, "client_user_personal_single_connection", []string{"presence"}},
		{"single connection without presence in the personal namespace", `{"client_user_personal_single_connection":true,"user_subscribe_to_personal":true,"presence":true,"user_personal_channel_namespace":"pp","namespaces":[{"name":"pp"}]}`, "client_user_personal_single_connection", []string{"presence"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig("json", []byte(tc.json), nil)
			wantConfigErr(t, err, tc.key, tc.words...)
		})
	}
}

func TestAuthConfigDefaultsAndForms(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig("json", []byte(`{
		"proxy_http_headers":["Authorization","X-Real-IP"],
		"proxy_static_http_headers":{"X-Static":"1"},
		"client_user_personal_single_connection":true,"user_subscribe_to_personal":true,
		"user_personal_channel_namespace":"pp","namespaces":[{"name":"pp","presence":true}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ProxyRefreshTimeout.D() != DefaultProxyRefreshTimeout || cfg.ClientPresenceUpdateInterval.D() != DefaultPresenceUpdateInterval || cfg.ProxyConnectTimeout.D() != time.Second {
		t.Errorf("defaults: refresh %s presence %s connect %s", cfg.ProxyRefreshTimeout, cfg.ClientPresenceUpdateInterval, cfg.ProxyConnectTimeout)
	}
	if len(cfg.ProxyHTTPHeaders) != 2 || cfg.ProxyHTTPHeaders[0] != "Authorization" {
		t.Errorf("proxy_http_headers = %q", cfg.ProxyHTTPHeaders)
	}
	if cfg.ProxyStaticHTTPHeaders["X-Static"] != "1" {
		t.Errorf("static headers = %v", cfg.ProxyStaticHTTPHeaders)
	}
	env := map[string]string{
		"UNIWS_PROXY_HTTP_HEADERS":        "Authorization, Cookie",
		"UNIWS_PROXY_STATIC_HTTP_HEADERS": `{"X-From-Env":"yes"}`,
		"UNIWS_TOKEN_ISSUER_REGEX":        `^https://auth\.`,
	}
	cfg, err = ParseConfig("json", nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ProxyHTTPHeaders) != 2 || cfg.ProxyHTTPHeaders[1] != "Cookie" || cfg.ProxyStaticHTTPHeaders["X-From-Env"] != "yes" || cfg.TokenIssuerRegex != `^https://auth\.` {
		t.Errorf("from env: %q %v %q", cfg.ProxyHTTPHeaders, cfg.ProxyStaticHTTPHeaders, cfg.TokenIssuerRegex)
	}
}

func TestVerifyConnectTokenAudienceIssuerRegex(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.TokenHMACSecretKey = "secret"
	cfg.TokenAudienceRegex = `^uniws-(dev|prod)$`
	cfg.TokenIssuerRegex = `^https://[a-z]+\.auth\.example$`
	keys, err := TokenKeysFromConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	expired := tokenNow().Add(-time.Hour).Unix()
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   error
	}{
		{"both match", jwt.MapClaims{"aud": "uniws-dev", "iss": "https://eu.auth.example"}, nil},
		{"one audience of many matches", jwt.MapClaims{"aud": []string{"other", "uniws-prod"}, "iss": "https://eu.auth.example"}, nil},
		{"audience does not match", jwt.MapClaims{"aud": "uniws-test", "iss": "https://eu.auth.example"}, ErrTokenInvalid},
		{"no audience", jwt.MapClaims{"iss": "https://eu.auth.example"}, ErrTokenInvalid},
		{"issuer does not match", jwt.MapClaims{"aud": "uniws-dev", "iss": "https://evil.example"}, ErrTokenInvalid},
		{"no issuer", jwt.MapClaims{"aud": "uniws-dev"}, ErrTokenInvalid},
		{"mismatch beats expiry", jwt.MapClaims{"aud": "nope", "iss": "https://eu.auth.example", "exp": expired}, ErrTokenInvalid},
		{"match, expired", jwt.MapClaims{"aud": "uniws-dev", "iss": "https://eu.auth.example", "exp": expired}, ErrTokenExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.claims["sub"] = "u"
			_, err := keys.VerifyConnectToken(signClaims(t, jwt.SigningMethodHS256, []byte("secret"), tc.claims), tokenNow())
			wantTokenErr(t, err, tc.want)
		})
	}
	cfg.TokenAudienceRegex = "("
	if _, err := TokenKeysFromConfig(&cfg); err == nil {
		t.Error("TokenKeysFromConfig accepted a bad regex")
	}
}

func TestSignKeyID(t *testing.T) {
	t.Parallel()
	tok, err := Sign(jwt.SigningMethodHS256, []byte("secret"), TokenOptions{User: "u", KeyID: "k1", Now: tokenNow()})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil || parsed.Header["kid"] != "k1" {
		t.Fatalf("kid header = %v (%v)", parsed.Header["kid"], err)
	}
}
