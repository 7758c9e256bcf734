package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"

	"github.com/uniws/uniws/core"
)

// defaultTokenTTL is gentoken's default TTL in seconds: one week.
const defaultTokenTTL = 7 * 24 * 3600

// tokenAlg reports whether gentoken signs with alg (uniws verifies all of
// these).
func tokenAlg(alg string) bool {
	switch alg {
	case "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

type gentokenOptions struct {
	ConfigPath string
	User       string
	TTL        int64
	Quiet      bool

	// Beyond Centrifugo's gentoken.
	Alg      string
	Key      string // @file, @- or a literal HMAC secret
	KeyID    string
	Info     string
	Channels []string
	ExpireAt *int64
	Claims   []string // k=v
	Audience string
	Issuer   string
}

func newGentokenCmd(f *factory, runF func(context.Context, *gentokenOptions) error) *cobra.Command {
	opts := &gentokenOptions{}
	var expireAt int64
	cmd := &cobra.Command{
		Use:   "gentoken",
		Short: "Generate a connection JWT (HMAC from the config, or RSA, ECDSA and Ed25519 keys)",
		Long: `Generate a connection token with the claims sub (left out for an empty user),
exp (now + TTL; none with a negative TTL) and iat. By default it is HS256,
signed with token_hmac_secret_key, and the output matches Centrifugo's
gentoken.

Beyond Centrifugo: --alg picks HS384, HS512, RS256..RS512, ES256..ES512 or
EdDSA; --key gives the secret or the PEM private key (@file, or @- for
stdin). Asymmetric tokens carry a kid header: the key's RFC 7638 thumbprint,
as in the jwks.json that 'uniws genkey' writes (--kid overrides it).
--info, --channels, --expire-at, --aud, --iss and --claim add claims;
--claim k=v takes a JSON value when v parses as JSON, a string otherwise,
and the named flags win over a --claim of the same name.`,
		Example: `  uniws gentoken -u test_user
  TOKEN=$(uniws gentoken -q -u test_user)
  uniws gentoken -c config.json -u 42 -t -1
  uniws gentoken --alg ES256 --key @keys/private.pem -u 42 --channels news,chat:lobby
  uniws gentoken -u 42 --info '{"name":"Ann"}' --claim 'meta={"plan":"pro"}' --aud uniws`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("expire-at") {
				opts.ExpireAt = &expireAt
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGentoken(f, cmd.CommandPath(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file (JSON, YAML or TOML)")
	fl.StringVarP(&opts.User, "user", "u", "", "user ID, by default anonymous")
	fl.Int64VarP(&opts.TTL, "ttl", "t", defaultTokenTTL, "token TTL in seconds (at most 292 years), use -1 for token without expiration")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "only output the token without anything else")
	fl.StringVar(&opts.Alg, "alg", "HS256", "signing algorithm: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 or EdDSA")
	fl.StringVar(&opts.Key, "key", "", "HMAC secret or PEM private key: @FILE, @- (stdin) or the value itself")
	fl.StringVar(&opts.KeyID, "kid", "", "kid header (default for asymmetric keys: the key's thumbprint)")
	fl.StringVar(&opts.Info, "info", "", "client info claim, JSON")
	fl.StringSliceVar(&opts.Channels, "channels", nil, "channels claim: server-side subscriptions, comma-separated")
	fl.Int64Var(&expireAt, "expire-at", 0, "expire_at claim: when the connection expires, UNIX seconds (0: never)")
	fl.StringArrayVar(&opts.Claims, "claim", nil, "extra claim k=v, repeatable; v is JSON when it parses")
	fl.StringVar(&opts.Audience, "aud", "", "aud claim")
	fl.StringVar(&opts.Issuer, "iss", "", "iss claim")
	return cmd
}

func runGentoken(f *factory, path string, opts *gentokenOptions) error {
	method := jwt.GetSigningMethod(opts.Alg)
	if !tokenAlg(opts.Alg) || method == nil {
		return usageErrorf(path, "--alg %q: want HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 or EdDSA", opts.Alg)
	}
	to, err := tokenOptions(path, opts, f.now())
	if err != nil {
		return err
	}
	key, kid, err := signingKey(f, path, opts, method)
	if err != nil {
		return err
	}
	if to.KeyID == "" {
		to.KeyID = kid
	}
	token, err := core.Sign(method, key, to)
	if err != nil {
		return fmt.Errorf("generate token: %w", err)
	}
	if opts.Quiet {
		_, err = fmt.Fprintln(f.ios.Out, token)
		return err
	}
	user := fmt.Sprintf("user \"%s\"", opts.User) // as Centrifugo prints it: no escaping
	if opts.User == "" {
		user = "anonymous user"
	}
	exp := "without expiration"
	if opts.TTL >= 0 {
		exp = fmt.Sprintf("with expiration TTL %s", time.Duration(opts.TTL)*time.Second)
	}
	_, err = fmt.Fprintf(f.ios.Out, "%s JWT for %s %s:\n%s\n", algName(opts.Alg), user, exp, token)
	return err
}

// signingKey returns the key to sign with and, for asymmetric keys, the
// default kid. HMAC secrets come from --key or the configuration.
func signingKey(f *factory, path string, opts *gentokenOptions, method jwt.SigningMethod) (key any, kid string, err error) {
	if _, hmac := method.(*jwt.SigningMethodHMAC); hmac {
		if opts.Key != "" {
			if opts.ConfigPath != "" {
				// A file named with -c must load, even when --key makes it unneeded.
				if _, _, err := f.loadConfig(opts.ConfigPath); err != nil {
					return nil, "", err
				}
			}
			secret, err := readKeyArg(f, opts.Key)
			if err != nil {
				return nil, "", err
			}
			return trimNewline(secret), "", nil
		}
		cfg, choice, err := f.loadConfig(opts.ConfigPath)
		if err != nil {
			return nil, "", err
		}
		if cfg.TokenHMACSecretKey == "" {
			if choice.Path == "" {
				return nil, "", errors.New(choice.noConfigHint())
			}
			return nil, "", fmt.Errorf("no token_hmac_secret_key in %s", choice.Path)
		}
		return []byte(cfg.TokenHMACSecretKey), "", nil
	}
	if opts.Key == "" {
		return nil, "", usageErrorf(path, "--alg %s needs --key @FILE with a PEM private key (see 'uniws genkey')", opts.Alg)
	}
	pemBytes, err := readKeyArg(f, opts.Key)
	if err != nil {
		return nil, "", err
	}
	priv, pub, err := parsePrivateKey(pemBytes, opts.Alg)
	if err != nil {
		return nil, "", usageErrorf(path, "--key: %v", err)
	}
	kid, err = keyThumbprint(pub)
	if err != nil {
		return nil, "", err
	}
	return priv, kid, nil
}

// mintToken signs an HS256 connection token; ttl <= 0 means no exp.
func mintToken(secret, user string, ttl time.Duration, now time.Time) (string, error) {
	token, err := core.SignHMAC(secret, core.TokenOptions{User: user, TTL: ttl, Now: now})
	if err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return token, nil
}
