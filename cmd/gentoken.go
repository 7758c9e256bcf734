package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/core"
)

// defaultTokenTTL is gentoken's default TTL in seconds: one week.
const defaultTokenTTL = 7 * 24 * 3600

type gentokenOptions struct {
	ConfigPath string
	User       string
	TTL        int64
	Quiet      bool
}

func newGentokenCmd(f *factory, runF func(context.Context, *gentokenOptions) error) *cobra.Command {
	opts := &gentokenOptions{}
	cmd := &cobra.Command{
		Use:   "gentoken",
		Short: "Generate a connection JWT signed with the config's HMAC secret",
		Long: `Generate an HS256 connection token with the claims sub (left out for an
empty user), exp (now + TTL; none with a negative TTL) and iat, signed with
token_hmac_secret_key. Output matches Centrifugo's gentoken.`,
		Example: `  uniws gentoken -u test_user
  TOKEN=$(uniws gentoken -q -u test_user)
  uniws gentoken -c config.json -u 42 -t -1`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGentoken(f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file (JSON, YAML or TOML)")
	fl.StringVarP(&opts.User, "user", "u", "", "user ID, by default anonymous")
	fl.Int64VarP(&opts.TTL, "ttl", "t", defaultTokenTTL, "token TTL in seconds, use -1 for token without expiration")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "only output the token without anything else")
	return cmd
}

func runGentoken(f *factory, opts *gentokenOptions) error {
	cfg, choice, err := f.loadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	if cfg.TokenHMACSecretKey == "" {
		if choice.Path == "" {
			return errors.New(choice.noConfigHint())
		}
		return fmt.Errorf("no token_hmac_secret_key in %s", choice.Path)
	}
	token, err := mintToken(cfg.TokenHMACSecretKey, opts.User, time.Duration(max(opts.TTL, 0))*time.Second, f.now())
	if err != nil {
		return err
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
	_, err = fmt.Fprintf(f.ios.Out, "HMAC SHA-256 JWT for %s %s:\n%s\n", user, exp, token)
	return err
}

// mintToken signs an HS256 connection token; ttl <= 0 means no exp.
func mintToken(secret, user string, ttl time.Duration, now time.Time) (string, error) {
	token, err := core.SignHMAC(secret, core.TokenOptions{User: user, TTL: ttl, Now: now})
	if err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return token, nil
}
