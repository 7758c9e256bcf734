package core

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults of the keys validateAuth fills in when they are zero.
const (
	DefaultProxyRefreshTimeout    = time.Second
	DefaultPresenceUpdateInterval = 25 * time.Second
)

// validateAuth checks the token, proxy and presence keys and fills in their
// defaults. Zero durations take the default.
func (c *Config) validateAuth() error {
	if c.ProxyConnectTimeout <= 0 {
		c.ProxyConnectTimeout = Duration(time.Second)
	}
	if c.ProxyRefreshTimeout <= 0 {
		c.ProxyRefreshTimeout = Duration(DefaultProxyRefreshTimeout)
	}
	if c.ClientPresenceUpdateInterval <= 0 {
		c.ClientPresenceUpdateInterval = Duration(DefaultPresenceUpdateInterval)
	}
	if c.TokenAudience != "" && c.TokenAudienceRegex != "" {
		return keyErr("token_audience_regex", "set token_audience or token_audience_regex, not both")
	}
	if c.TokenIssuer != "" && c.TokenIssuerRegex != "" {
		return keyErr("token_issuer_regex", "set token_issuer or token_issuer_regex, not both")
	}
	for key, expr := range map[string]string{"token_audience_regex": c.TokenAudienceRegex, "token_issuer_regex": c.TokenIssuerRegex} {
		if _, err := regexp.Compile(expr); err != nil {
			return keyErr(key, "%v", err)
		}
	}
	for key, endpoint := range map[string]string{
		"token_jwks_public_endpoint": c.TokenJWKSPublicEndpoint,
		"proxy_connect_endpoint":     c.ProxyConnectEndpoint,
		"proxy_refresh_endpoint":     c.ProxyRefreshEndpoint,
	} {
		if endpoint == "" {
			continue
		}
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return keyErr(key, "%q is not an http:// or https:// URL", RedactURL(endpoint))
		}
	}
	for key, names := range map[string][]string{"proxy_http_headers": c.ProxyHTTPHeaders, "proxy_emulated_headers": c.ProxyEmulatedHeaders} {
		for _, h := range names {
			if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " \t:") {
				return keyErr(key, "%q is not a header name", h)
			}
		}
	}
	if c.ClientUserPersonalSingle {
		if !c.UserSubscribeToPersonal {
			return keyErr("client_user_personal_single_connection", "needs user_subscribe_to_personal")
		}
		opts, _ := c.NamespaceOptions(c.UserPersonalNamespace)
		if !opts.Presence {
			return keyErr("client_user_personal_single_connection", "needs presence on the personal channel's namespace")
		}
	}
	return nil
}
