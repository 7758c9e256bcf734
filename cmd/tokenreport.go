package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/uniws/uniws/core"
)

// tokenReport writes checktoken's explanation.
type tokenReport struct {
	w    io.Writer
	cfg  *core.Config
	keys *core.TokenKeys
	now  time.Time
	dec  *decodedToken
	hint string // how to fix the first problem found
}

func (r *tokenReport) line(label, format string, args ...any) {
	fmt.Fprintf(r.w, "%-10s %s\n", label+":", fmt.Sprintf(format, args...))
}

func (r *tokenReport) block(label string, raw []byte) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "  ", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	fmt.Fprintf(r.w, "%s:\n  %s\n", label, buf.String())
}

func (r *tokenReport) run(token, cfgPath string) error {
	if cfgPath == "" {
		cfgPath = "(no file: defaults and environment)"
	}
	r.line("config", "%s", cfgPath)
	r.block("header", r.dec.header)
	r.block("claims", r.dec.payload)

	var creds *core.Credentials
	var err error
	if r.keys.Empty() && r.cfg.ClientInsecure {
		r.line("signature", "not checked: client_insecure is on and no token key is configured")
		creds, err = core.UnverifiedCredentials(token, r.now)
	} else {
		var key core.TokenKey
		creds, key, err = r.keys.VerifyConnectTokenKey(token, r.now)
		r.line("signature", "%s", r.signature(key, err))
	}
	r.expiry()
	r.check("audience", "token_audience", r.keys.Audience, r.dec.claims.Audience)
	var iss []string
	if r.dec.claims.Issuer != "" {
		iss = []string{r.dec.claims.Issuer}
	}
	r.check("issuer", "token_issuer", r.keys.Issuer, iss)

	var refusal *tokenRefused
	switch {
	case errors.Is(err, core.ErrTokenExpired):
		refusal = &tokenRefused{code: core.CodeExpired, reason: err.Error()}
	case err != nil:
		refusal = &tokenRefused{code: core.CodeInvalidToken, reason: err.Error()}
	default:
		user := creds.User
		if user == "" {
			user = "(anonymous)"
		}
		r.line("user", "%s", user)
		refusal = r.channels(creds)
	}
	if refusal != nil {
		r.line("result", "REFUSED: disconnect %d %q", refusal.code, refusal.code.Reason())
		if refusal.code == core.CodeExpired && r.hint == "" {
			r.hint = "mint a fresh token (its exp must be in the future), and check that the clocks of the token issuer and the server agree"
			if nbf := r.dec.claims.NotBefore; nbf != nil && nbf.After(r.now) {
				r.hint = "the token's nbf is still in the future: check that the clocks of the token issuer and the server agree"
			}
		}
		if r.hint != "" {
			r.line("fix", "%s", r.hint)
		}
		return refusal
	}
	r.line("result", "accepted: the server would connect this token")
	return nil
}

// signature explains the outcome of the signature check.
func (r *tokenReport) signature(key core.TokenKey, err error) string {
	if key != "" {
		return fmt.Sprintf("valid (%s), signed with %s", r.dec.alg, describeKey(key))
	}
	alg := r.dec.alg
	family, accepted := map[string]string{
		"HS256": "hmac", "HS384": "hmac", "HS512": "hmac",
		"RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
		"ES256": "ecdsa", "ES384": "ecdsa", "ES512": "ecdsa", "EdDSA": "eddsa",
	}[alg]
	configured := map[string]bool{
		"hmac":  len(r.keys.HMAC) > 0,
		"rsa":   r.keys.RSA != nil || r.keys.KeyFunc != nil,
		"ecdsa": r.keys.ECDSA != nil || r.keys.KeyFunc != nil,
		"eddsa": r.keys.KeyFunc != nil,
	}
	need := map[string]string{"hmac": "token_hmac_secret_key", "rsa": "token_rsa_public_key", "ecdsa": "token_ecdsa_public_key", "eddsa": "token_jwks_public_endpoint"}
	switch {
	case alg == "" || strings.EqualFold(alg, "none"):
		return fmt.Sprintf("INVALID: algorithm %q is never accepted", alg)
	case !accepted:
		return fmt.Sprintf("INVALID: algorithm %s is not accepted (HS256/384/512, RS256/384/512, ES256/384/512, or EdDSA through JWKS)", alg)
	case !configured[family]:
		r.hint = fmt.Sprintf("configure %s with the key the token issuer signs with, or mint %s tokens", need[family], strings.Join(r.acceptedAlgs(), "/"))
		return fmt.Sprintf("INVALID: signed with %s, but %s is not configured (configured: %s)", alg, need[family], strings.Join(r.configuredKeys(), ", "))
	case errors.Is(err, core.ErrTokenInvalid) && family == "hmac":
		tried := "token_hmac_secret_key"
		if len(r.keys.HMAC) > 1 {
			if !r.keys.PreviousValidUntil.IsZero() && !r.now.Before(r.keys.PreviousValidUntil) {
				tried += " (token_hmac_previous_secret_key stopped counting at " + r.keys.PreviousValidUntil.UTC().Format(time.RFC3339) + ")"
			} else {
				tried += " or token_hmac_previous_secret_key"
			}
		}
		r.hint = "the token was signed with another secret: the backend that mints tokens and uniws must share token_hmac_secret_key"
		return fmt.Sprintf("INVALID: the %s signature does not match %s", alg, tried)
	}
	return "INVALID: " + strings.TrimPrefix(err.Error(), core.ErrTokenInvalid.Error()+": ")
}

func describeKey(k core.TokenKey) string {
	switch k {
	case core.KeyHMAC:
		return "the current HMAC secret (token_hmac_secret_key)"
	case core.KeyHMACPrevious:
		return "the previous HMAC secret (token_hmac_previous_secret_key)"
	case core.KeyRSA:
		return "the RSA public key (token_rsa_public_key)"
	case core.KeyECDSA:
		return "the ECDSA public key (token_ecdsa_public_key)"
	case core.KeyJWKS:
		return "a key from the JWKS endpoint (token_jwks_public_endpoint)"
	}
	return string(k)
}

// acceptedAlgs lists the algorithms the configured keys accept.
func (r *tokenReport) acceptedAlgs() []string {
	var out []string
	if len(r.keys.HMAC) > 0 {
		out = append(out, "HS256")
	}
	if r.keys.RSA != nil {
		out = append(out, "RS256")
	}
	if r.keys.ECDSA != nil {
		out = append(out, "ES256")
	}
	return out
}

func (r *tokenReport) configuredKeys() []string {
	var out []string
	if len(r.keys.HMAC) > 0 {
		out = append(out, "token_hmac_secret_key")
	}
	if r.keys.RSA != nil {
		out = append(out, "token_rsa_public_key")
	}
	if r.keys.ECDSA != nil {
		out = append(out, "token_ecdsa_public_key")
	}
	if r.keys.KeyFunc != nil {
		out = append(out, "token_jwks_public_endpoint")
	}
	return out
}

// expiry explains exp, expire_at and nbf.
func (r *tokenReport) expiry() {
	c := &r.dec.claims
	if c.ExpiresAt != nil {
		r.line("expires", "%s", r.expires(c.ExpiresAt.Time))
	} else {
		r.line("expires", "never: no exp claim")
	}
	switch {
	case c.ExpireAt != nil && *c.ExpireAt <= 0:
		r.line("conn ends", "never: expire_at is 0 (the connection outlives exp)")
	case c.ExpireAt != nil && *c.ExpireAt > r.now.Unix()+int64(core.MaxTTL/time.Second):
		// Unix seconds this far out may not even fit a time.Time.
		r.line("conn ends", "expire_at %d: %s", *c.ExpireAt, farExpiry)
	case c.ExpireAt != nil:
		r.line("conn ends", "%s (expire_at: the connection's end instead of exp)", r.expires(time.Unix(*c.ExpireAt, 0)))
	}
	if c.NotBefore != nil && c.NotBefore.After(r.now) {
		r.line("not before", "%s: the token is not valid yet", r.when(c.NotBefore.Time))
	}
	if c.IssuedAt != nil {
		r.line("issued", "%s", r.when(c.IssuedAt.Time))
	}
}

// farExpiry says what the server makes of an expiry over a year away.
const farExpiry = "more than a year away: the server counts a year from connect (ttl 31536000), as Centrifugo does"

// expires is an expiry time and whether it has passed.
func (r *tokenReport) expires(t time.Time) string {
	if t.After(r.now.Add(core.MaxTTL)) {
		return t.UTC().Format(time.RFC3339) + ": " + farExpiry
	}
	if t.After(r.now) {
		return r.when(t)
	}
	return fmt.Sprintf("%s (EXPIRED %s ago)", t.UTC().Format(time.RFC3339), r.now.Sub(t).Round(time.Second))
}

// when is an absolute time and how far it is from now.
func (r *tokenReport) when(t time.Time) string {
	d := t.Sub(r.now).Round(time.Second)
	switch {
	case d > 0:
		return fmt.Sprintf("%s (in %s)", t.UTC().Format(time.RFC3339), d)
	case d < 0:
		return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), -d)
	}
	return t.UTC().Format(time.RFC3339) + " (now)"
}

// check explains an aud or iss check.
func (r *tokenReport) check(label, key, want string, got []string) {
	has := "none"
	if len(got) > 0 {
		sorted := append([]string(nil), got...)
		sort.Strings(sorted)
		has = fmt.Sprintf("%q", sorted)
	}
	switch {
	case want == "":
		r.line(label, "not checked (%s is not set); token has %s", key, has)
	case contains(got, want):
		r.line(label, "ok: token has %s, %s is %q", has, key, want)
	default:
		r.line(label, "MISMATCH: token has %s, %s is %q", has, key, want)
		if r.hint == "" {
			r.hint = fmt.Sprintf("mint the token with %s %q, or change %s", label[:3], want, key)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
