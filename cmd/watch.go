package cmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
)

// TokenEnv names the environment variable holding a connection token.
const TokenEnv = "UNIWS_TOKEN"

// watchTokenTTL is the lifetime of the tokens watch mints for -u. When the
// server disconnects with 3005 (expired), watch mints a fresh one.
const watchTokenTTL = time.Hour

type watchOptions struct {
	ConfigPath string
	Server     string
	Token      string
	User       string
	UserSet    bool
	Subs       []string
	Count      int
	Timeout    time.Duration
	Reconnect  bool
	JSON       bool
	ShowPings  bool
	FailOnGap  bool
	Buffer     int
	Since      []string

	// url is the endpoint actually dialled.
	url string
	// requested are the channels asked for by --sub and --since, for
	// telling which of them the server refused.
	requested []string

	// RunTUI shows the stream full-screen. watch calls it instead of
	// printing NDJSON when stdout is a terminal and --json is not given.
	// It owns conn's events until it returns; conn is closed afterwards.
	RunTUI func(ctx context.Context, conn *client.Conn, opts *watchOptions) error
}

func newWatchCmd(f *factory, runF func(context.Context, *watchOptions) error) *cobra.Command {
	opts := &watchOptions{}
	opts.RunTUI = func(ctx context.Context, conn *client.Conn, opts *watchOptions) error {
		return runWatchTUI(ctx, f.ios, conn, opts, opts.url)
	}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Connect to a uni_websocket endpoint and print every push",
		Long: `Connect to a uni_websocket endpoint and show every push as it arrives.

On a terminal (stdin and stdout, TERM not dumb, without --json, --count or
--timeout) watch opens a full-screen view: connection state, heartbeat,
channels (granted and refused), and a scrollable log; press ? there for the
keys. Otherwise it prints every push as it arrives, one
raw JSON line each (NDJSON) on stdout, exactly as the server sent it. The
connect push comes first; publications recovered on a reconnect follow it as
publication pushes of their own. Pings ({}) are reported on stderr unless
--show-pings puts them on stdout. State changes (connecting, connected,
reconnecting) are lines on stderr.

The token is --token, or $UNIWS_TOKEN, or minted for -u USER with the
token_hmac_secret_key of the resolved configuration (a fresh one is minted
when the server reports 3005 expired).

Reconnecting is on by default: network errors, missed pings and disconnect
codes that allow it (3000-3499, 4000-4499) lead to a reconnect with backoff and
recovery of channels with history. --reconnect=false ends on the first
disconnect. Exit codes: 0 after --count publications or on Ctrl-C, 3 when
--timeout passes before --count is reached (without --count, --timeout just
bounds the watch and exits 0), 5 on a disconnect that ends the watch (3500-3999,
4500-4999, WebSocket closes 1002, 1003, 1008 and 1009, 3005 expired with a
--token that cannot be renewed, any with --reconnect=false), 6 on a recovery
gap with --fail-on-gap. The full-screen view stays open on those; quitting it then
exits 5 or 6 (or 1 when the connection failed for good).`,
		Example: `  uniws watch -u test_user                 # full screen on a terminal
  uniws watch -u test_user --json | jq .
  uniws watch --token "$TOKEN" --sub news --sub chat | jq -c 'select(.pub) | .pub.data'
  uniws watch -u test_user --count 1 --timeout 10s`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.UserSet = cmd.Flags().Changed("user")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runWatch(cmd.Context(), f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file to take the port and HMAC secret from")
	fl.StringVar(&opts.Server, "server", "", "endpoint URL (default ws://localhost:<config port>/connection/uni_websocket)")
	fl.StringVar(&opts.Token, "token", "", "connection token (default $"+TokenEnv+")")
	fl.StringVarP(&opts.User, "user", "u", "", "mint a token for this user with the config's HMAC secret")
	fl.StringArrayVar(&opts.Subs, "sub", nil, "channel to subscribe to (repeatable)")
	fl.IntVar(&opts.Count, "count", 0, "exit 0 after this many publications")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "exit 3 if --count is not reached within this time")
	fl.BoolVar(&opts.Reconnect, "reconnect", true, "reconnect after network errors and reconnect codes")
	fl.BoolVar(&opts.JSON, "json", false, "print NDJSON even on a terminal")
	fl.BoolVar(&opts.ShowPings, "show-pings", false, "print pings ({}) on stdout too")
	fl.BoolVar(&opts.FailOnGap, "fail-on-gap", false, "exit 6 when a reconnect cannot recover missed publications")
	fl.IntVar(&opts.Buffer, "buffer", 1000, "entries the full-screen log keeps")
	fl.StringArrayVar(&opts.Since, "since", nil, "start a channel from a known position, CH:OFFSET[:EPOCH] (repeatable)")
	// --sub completes from the server's channels API, with the API key of
	// $UNIWS_API_KEY or the configuration.
	var noKey string
	_ = cmd.RegisterFlagCompletionFunc("sub", channelCompletion(f, serverTarget{&opts.Server, &noKey, &opts.ConfigPath}))
	return cmd
}

func runWatch(ctx context.Context, f *factory, opts *watchOptions, path string) error {
	switch {
	case opts.Count < 0:
		return usageErrorf(path, "--count must not be negative")
	case opts.Timeout < 0:
		return usageErrorf(path, "--timeout must not be negative")
	case opts.Buffer < 1:
		return usageErrorf(path, "--buffer must be at least 1")
	case opts.Token != "" && opts.UserSet:
		return usageErrorf(path, "--token and --user exclude each other")
	}
	var cfg *core.Config
	var choice configChoice
	config := func() (*core.Config, error) {
		if cfg != nil {
			return cfg, nil
		}
		var err error
		cfg, choice, err = f.loadConfig(opts.ConfigPath)
		return cfg, err
	}

	if opts.ConfigPath != "" {
		// A file named with -c must load, even when flags give all it holds.
		if _, err := config(); err != nil {
			return err
		}
	}
	url := opts.Server
	if url == "" {
		c, err := config()
		if err != nil {
			return err
		}
		url = "ws://" + serverHostPort(c)
	}
	url = wsURL(url)
	opts.url = url

	since, err := parseSince(opts.Since)
	if err != nil {
		return usageErrorf(path, "%v", err)
	}
	opts.requested = requestedChannels(opts.Subs, since)
	dopts := client.Options{URL: url, Subs: opts.Subs, Since: since, Version: buildVersion(), Reconnect: opts.Reconnect}
	if !opts.UserSet {
		dopts.Token = opts.Token
		if dopts.Token == "" {
			dopts.Token = f.ios.getenv(TokenEnv)
		}
	} else {
		c, err := config()
		if err != nil {
			return err
		}
		if c.TokenHMACSecretKey == "" {
			if choice.Path == "" {
				return errors.New(choice.noConfigHint())
			}
			return fmt.Errorf("mint token for -u: no token_hmac_secret_key in %s", choice.Path)
		}
		secret, user := c.TokenHMACSecretKey, opts.User
		dopts.TokenFunc = func(context.Context) (string, error) {
			return mintToken(secret, user, watchTokenTTL, f.now())
		}
	}
	conn, err := client.Dial(ctx, dopts)
	if err != nil {
		return &usageError{cmd: path, err: fmt.Errorf("--server: %w", err)}
	}
	defer conn.Close()
	// --count and --timeout are for scripts: they keep the stream mode, as
	// does a stdin that is not a terminal (xargs, < /dev/null): the screen
	// needs keys. A dumb terminal (Emacs' shell, expect) cannot draw it.
	if f.ios.OutTTY && f.ios.InTTY && f.ios.getenv("TERM") != "dumb" && !opts.JSON && opts.Count == 0 && opts.Timeout == 0 && opts.RunTUI != nil {
		return opts.RunTUI(ctx, conn, opts)
	}
	return streamNDJSON(ctx, f.ios, conn, opts)
}

// requestedChannels is subs followed by the channels only since names, in
// name order.
func requestedChannels(subs []string, since map[string]client.Position) []string {
	out := slices.Clone(subs)
	for _, ch := range slices.Sorted(maps.Keys(since)) {
		if !slices.Contains(subs, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// parseSince reads --since values CH:OFFSET[:EPOCH]. Channel names may hold
// ':' themselves, so the position is taken from the right: a numeric last
// part is the offset; otherwise the last part is the epoch and the one
// before it the offset.
func parseSince(values []string) (map[string]client.Position, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make(map[string]client.Position, len(values))
	for _, v := range values {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			return nil, fmt.Errorf("--since %q: want CH:OFFSET[:EPOCH]", v)
		}
		var pos client.Position
		last := parts[len(parts)-1]
		if off, err := strconv.ParseUint(last, 10, 64); err == nil {
			pos.Offset = off
			parts = parts[:len(parts)-1]
		} else {
			if len(parts) < 3 {
				return nil, fmt.Errorf("--since %q: want CH:OFFSET[:EPOCH]", v)
			}
			off, err := strconv.ParseUint(parts[len(parts)-2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("--since %q: offset must be a number", v)
			}
			pos = client.Position{Offset: off, Epoch: last}
			parts = parts[:len(parts)-2]
		}
		ch := strings.Join(parts, ":")
		if ch == "" {
			return nil, fmt.Errorf("--since %q: empty channel", v)
		}
		out[ch] = pos
	}
	return out, nil
}
