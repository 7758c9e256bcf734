package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/jwks"
)

type checktokenOptions struct {
	ConfigPath string
	Token      string
}

func newChecktokenCmd(f *factory, runF func(context.Context, *checktokenOptions) error) *cobra.Command {
	opts := &checktokenOptions{}
	cmd := &cobra.Command{
		Use:   "checktoken TOKEN",
		Short: "Explain whether the server would accept a connection token, and why",
		Long: `Decode a connection JWT and check it against the resolved configuration
exactly as serve does at connect: the decoded header and claims, whether the
signature is valid and with which configured key, the expiry (absolute and
relative), the audience and issuer checks, and the channels the connection
would be subscribed to (token channels or subs, the personal channel).
Secrets from the configuration are never printed.

TOKEN "-" reads the token from stdin. Exit codes: 0 when the server would
accept the token, 1 when it would refuse it (the disconnect code is printed).`,
		Example: `  uniws checktoken "$TOKEN"
  uniws gentoken -q -u 42 | uniws checktoken -
  uniws checktoken -c centrifugo.json eyJhbGciOi...`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Token = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runChecktoken(f, opts, cmd.CommandPath())
		},
	}
	cmd.Flags().StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file whose keys verify the token")
	return cmd
}

// tokenRefused is a token the server would not accept.
type tokenRefused struct {
	code   core.Code
	reason string
}

func (e *tokenRefused) Error() string {
	return fmt.Sprintf("the server would refuse this token: disconnect %d %q: %s", e.code, e.code.Reason(), e.reason)
}

func runChecktoken(f *factory, opts *checktokenOptions, path string) error {
	token := strings.TrimSpace(opts.Token)
	if token == "-" {
		if f.ios.In == nil {
			return usageErrorf(path, "TOKEN is - but there is no stdin")
		}
		b, err := io.ReadAll(io.LimitReader(f.ios.In, 1<<20))
		if err != nil {
			return fmt.Errorf("read token from stdin: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	token = strings.TrimPrefix(token, "Bearer ")
	if token == "" {
		return usageErrorf(path, "empty token")
	}
	cfg, choice, err := f.loadConfig(opts.ConfigPath)
	if err != nil {
		return err
	}
	keys, err := core.TokenKeysFromConfig(cfg)
	if err != nil {
		return fmt.Errorf("load token keys: %w", err)
	}
	if cfg.TokenJWKSPublicEndpoint != "" {
		// As the server does: the set's keys, and only those, verify.
		set := jwks.New(cfg.TokenJWKSPublicEndpoint, jwks.Options{Now: f.now})
		defer set.Close()
		keys.KeyFunc = set.Key
	}
	if keys.Empty() && !cfg.ClientInsecure {
		if choice.Path == "" {
			return errors.New(choice.noConfigHint())
		}
		return fmt.Errorf("%s configures no token key (token_hmac_secret_key, token_rsa_public_key, token_ecdsa_public_key or token_jwks_public_endpoint): nothing to check the token with", choice.Path)
	}
	dec, err := decodeToken(token)
	if err != nil {
		return &tokenRefused{code: core.CodeInvalidToken, reason: err.Error()}
	}
	r := &tokenReport{w: f.ios.Out, cfg: cfg, keys: keys, now: f.now(), dec: dec}
	return r.run(token, choice.Path)
}

// channels lists the subscriptions a connection with creds starts with,
// and returns the refusal the server would answer with, if any.
func (r *tokenReport) channels(creds *core.Credentials) *tokenRefused {
	type sub struct{ ch, from string }
	var subs []sub
	if len(creds.Subs) > 0 {
		names := make([]string, 0, len(creds.Subs))
		for ch := range creds.Subs {
			names = append(names, ch)
		}
		sort.Strings(names)
		for _, ch := range names {
			subs = append(subs, sub{ch, "token subs claim"})
		}
	} else {
		for _, ch := range creds.Channels {
			subs = append(subs, sub{ch, "token channels claim"})
		}
	}
	var refusal *tokenRefused
	for _, s := range subs {
		if _, ok := r.cfg.ChannelOptionsFor(s.ch); !ok && refusal == nil {
			refusal = &tokenRefused{code: core.CodeInternal, reason: fmt.Sprintf("token channel %q is in a namespace the configuration does not define", s.ch)}
			r.hint = "define the channel's namespace in the configuration, or leave the channel out of the token"
		}
	}
	if r.cfg.UserSubscribeToPersonal && creds.User != "" {
		ch := core.PersonalChannel(r.cfg.UserPersonalNamespace, creds.User)
		dup := false
		for _, s := range subs {
			dup = dup || s.ch == ch
		}
		if !dup {
			subs = append(subs, sub{ch, "personal channel: user_subscribe_to_personal"})
		}
	}
	if len(subs) == 0 {
		r.line("channels", "none from the token or configuration")
	} else {
		fmt.Fprintf(r.w, "channels:\n")
		for _, s := range subs {
			note := s.from
			if _, ok := r.cfg.ChannelOptionsFor(s.ch); !ok {
				note = "UNKNOWN NAMESPACE, " + note
			}
			fmt.Fprintf(r.w, "  %s (%s)\n", s.ch, note)
		}
	}
	fmt.Fprintf(r.w, "  (and each channel the client requests that the configuration allows)\n")
	if limit := r.cfg.ClientChannelLimit; refusal == nil && limit > 0 && len(subs) > limit {
		refusal = &tokenRefused{code: core.CodeChannelLimit, reason: fmt.Sprintf("%d channels, client_channel_limit is %d", len(subs), limit)}
		r.hint = "put fewer channels in the token, or raise client_channel_limit"
	}
	return refusal
}

// decodedToken is a JWT taken apart without checking anything.
type decodedToken struct {
	header, payload []byte
	alg             string
	claims          core.ConnectClaims
}

// decodeToken decodes a JWT's header and claims.
func decodeToken(token string) (*decodedToken, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT: %d dot-separated parts, want 3", len(parts))
	}
	d := &decodedToken{}
	var err error
	if d.header, err = decodeSegment(parts[0]); err != nil {
		return nil, fmt.Errorf("decode header: %w", err)
	}
	if d.payload, err = decodeSegment(parts[1]); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(d.header, &h); err != nil {
		return nil, fmt.Errorf("decode header: %w", err)
	}
	d.alg = h.Alg
	if err := json.Unmarshal(d.payload, &d.claims); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	return d, nil
}

func decodeSegment(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, errors.New("not JSON")
	}
	return b, nil
}
