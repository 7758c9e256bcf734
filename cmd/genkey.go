package cmd

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/uniws/uniws/server/jwks"
)

type genkeyOptions struct {
	Alg   string
	Out   string
	Bits  int
	Force bool
}

func newGenkeyCmd(f *factory, runF func(context.Context, *genkeyOptions) error) *cobra.Command {
	opts := &genkeyOptions{}
	cmd := &cobra.Command{
		Use:   "genkey",
		Short: "Generate a signing key pair and a JWKS for local development",
		Long: `Generate a key pair for RS256..RS512, ES256..ES512 or EdDSA tokens and write
three files to --out: private.pem (PKCS #8, mode 0600, for 'uniws gentoken
--key @private.pem'), public.pem (for token_rsa_public_key or
token_ecdsa_public_key) and jwks.json (a JSON Web Key Set with the public
key, for token_jwks_public_endpoint). The key's kid is its RFC 7638
thumbprint; it is printed on stdout. Existing files are kept unless --force.

Keys made here are for development: production keys belong to your
identity provider or secret store.`,
		Example: `  uniws genkey --alg ES256 --out keys
  uniws gentoken --alg ES256 --key @keys/private.pem -u 42`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGenkey(f, cmd.CommandPath(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Alg, "alg", "ES256", "algorithm: RS256, RS384, RS512, ES256, ES384, ES512 or EdDSA")
	fl.StringVar(&opts.Out, "out", ".", "directory to write private.pem, public.pem and jwks.json to")
	fl.IntVar(&opts.Bits, "bits", 2048, "RSA key size")
	fl.BoolVar(&opts.Force, "force", false, "overwrite existing files")
	return cmd
}

func runGenkey(f *factory, path string, opts *genkeyOptions) error {
	priv, err := generateKey(opts.Alg, opts.Bits)
	if err != nil {
		return usageErrorf(path, "%v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	kid, err := keyThumbprint(priv.Public())
	if err != nil {
		return err
	}
	jwk, err := jwks.NewJWK(priv.Public())
	if err != nil {
		return err
	}
	jwk.Kid, jwk.Use, jwk.Alg = kid, "sig", opts.Alg
	set, err := json.MarshalIndent(jwks.SetJSON{Keys: []jwks.JWK{jwk}}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JWKS: %w", err)
	}
	dir := opts.Out
	if !filepath.IsAbs(dir) && f.ios.WorkDir != "" {
		dir = filepath.Join(f.ios.WorkDir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	files := []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{"private.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
		{"public.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644},
		{"jwks.json", append(set, '\n'), 0o644},
	}
	if !opts.Force {
		for _, file := range files {
			if _, err := os.Stat(filepath.Join(dir, file.name)); err == nil {
				return fmt.Errorf("write keys: %s exists (use --force to replace it)", filepath.Join(dir, file.name))
			}
		}
	}
	for _, file := range files {
		if err := writeFileMode(filepath.Join(dir, file.name), file.data, file.mode); err != nil {
			return err
		}
	}
	configKey := "token_ecdsa_public_key"
	switch opts.Alg[:2] {
	case "RS":
		configKey = "token_rsa_public_key"
	case "Ed":
		configKey = "token_jwks_public_endpoint (EdDSA keys only come from a JWKS)"
	}
	fmt.Fprintf(f.ios.ErrOut, "Wrote %s, %s and %s (%s, kid %s).\n", filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem"), filepath.Join(dir, "jwks.json"), opts.Alg, kid)
	fmt.Fprintf(f.ios.ErrOut, "Server: put public.pem in %s, or serve jwks.json and set token_jwks_public_endpoint.\n", configKey)
	fmt.Fprintf(f.ios.ErrOut, "Tokens: uniws gentoken --alg %s --key @%s -u USER\n", opts.Alg, filepath.Join(opts.Out, "private.pem"))
	_, err = fmt.Fprintln(f.ios.Out, kid)
	return err
}

// generateKey makes a private key for alg.
func generateKey(alg string, bits int) (crypto.Signer, error) {
	switch alg {
	case "RS256", "RS384", "RS512":
		if bits < 2048 {
			return nil, fmt.Errorf("--bits %d: RSA keys need at least 2048 bits", bits)
		}
		return rsa.GenerateKey(rand.Reader, bits)
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case "HS256", "HS384", "HS512":
		return nil, errors.New("--alg " + alg + ": HMAC needs a shared secret, not a key pair (set token_hmac_secret_key)")
	}
	return nil, fmt.Errorf("--alg %q: want RS256, RS384, RS512, ES256, ES384, ES512 or EdDSA", alg)
}

// writeFileMode writes data to path with mode, replacing an existing file.
func writeFileMode(path string, data []byte, mode fs.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile keeps an existing file's mode
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
