package cmd

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/jwks"
)

// maxTokenTTL is the longest TTL in seconds a time.Duration holds.
const maxTokenTTL = int64(math.MaxInt64 / time.Second)

// tokenOptions turns gentoken's claim flags into core.TokenOptions.
func tokenOptions(path string, opts *gentokenOptions, now time.Time) (core.TokenOptions, error) {
	if opts.TTL > maxTokenTTL {
		return core.TokenOptions{}, usageErrorf(path, "--ttl %d: at most %d seconds (292 years)", opts.TTL, maxTokenTTL)
	}
	for _, c := range opts.Channels {
		if c == "" {
			return core.TokenOptions{}, usageErrorf(path, "--channels %q: an empty channel name", strings.Join(opts.Channels, ","))
		}
	}
	to := core.TokenOptions{
		User:     opts.User,
		TTL:      time.Duration(max(opts.TTL, 0)) * time.Second,
		Now:      now,
		Channels: opts.Channels,
		ExpireAt: opts.ExpireAt,
		Audience: opts.Audience,
		Issuer:   opts.Issuer,
		KeyID:    opts.KeyID,
	}
	if opts.Info != "" {
		if !json.Valid([]byte(opts.Info)) {
			return to, usageErrorf(path, "--info %q is not valid JSON", opts.Info)
		}
		to.Info = json.RawMessage(opts.Info)
	}
	for _, c := range opts.Claims {
		k, v, ok := strings.Cut(c, "=")
		if !ok || k == "" {
			return to, usageErrorf(path, "--claim %q: want KEY=VALUE", c)
		}
		if to.Extra == nil {
			to.Extra = map[string]any{}
		}
		if json.Valid([]byte(v)) {
			to.Extra[k] = json.RawMessage(v)
		} else {
			to.Extra[k] = v
		}
	}
	return to, nil
}

// readKeyArg reads --key: @- is stdin, @PATH a file (relative to the work
// directory), anything else the value itself.
func readKeyArg(f *factory, arg string) ([]byte, error) {
	name, isFile := strings.CutPrefix(arg, "@")
	switch {
	case !isFile:
		return []byte(arg), nil
	case name == "-":
		b, err := io.ReadAll(f.ios.In)
		if err != nil {
			return nil, fmt.Errorf("read key from stdin: %w", err)
		}
		return b, nil
	}
	if !filepath.IsAbs(name) && f.ios.WorkDir != "" {
		name = filepath.Join(f.ios.WorkDir, name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return b, nil
}

func trimNewline(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

// parsePrivateKey reads a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1
// EC) and checks that it fits alg.
func parsePrivateKey(pemBytes []byte, alg string) (crypto.Signer, crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !keyFits(signer.Public(), alg) {
		return nil, nil, fmt.Errorf("the %s does not sign %s", keyKind(key), alg)
	}
	return signer, signer.Public(), nil
}

// keyFits reports whether a public key belongs to alg's family (and curve).
func keyFits(pub crypto.PublicKey, alg string) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS")
	case *ecdsa.PublicKey:
		return map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg] == k.Curve
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

func keyKind(key any) string {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return "RSA key"
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name + " key"
	case ed25519.PrivateKey:
		return "Ed25519 key"
	}
	return fmt.Sprintf("%T", key)
}

// keyThumbprint is the kid gentoken and genkey use for a key.
func keyThumbprint(pub crypto.PublicKey) (string, error) {
	kid, err := jwks.Thumbprint(pub)
	if err != nil {
		return "", fmt.Errorf("key thumbprint: %w", err)
	}
	return kid, nil
}

// algName names an algorithm in gentoken's output line: "HMAC SHA-256"
// (Centrifugo's wording for HS256), "RSA SHA-384", "ECDSA SHA-512", "EdDSA".
func algName(alg string) string {
	if len(alg) != 5 {
		return alg
	}
	family := map[string]string{"HS": "HMAC", "RS": "RSA", "ES": "ECDSA"}[alg[:2]]
	if family == "" {
		return alg
	}
	return family + " SHA-" + alg[2:]
}
