package cmd

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/core"
)

type doctorOptions struct {
	ConfigPath string
	Server     string
	Token      string
	APIKey     string
	Origin     string
	User       string
	Timeout    time.Duration
}

func newDoctorCmd(f *factory, runF func(context.Context, *doctorOptions) error) *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a running server end to end and explain what fails",
		Long: `Check a running uniws (or Centrifugo) server from the outside, step by step:

  health     GET /health answers
  upgrade    /connection/uni_websocket upgrades a client without an Origin
  origin     it upgrades a browser with --origin (default: the server's own
             origin, as for a page served by the same host)
  connect    a token connects: --token, or one minted for --user with the
             configuration's token_hmac_secret_key (it also subscribes the
             connection to a private test channel)
  ping       the connect push announces the ping interval
  publish    a publish through the HTTP API (--api-key, $UNIWS_API_KEY or
             the configuration's api_key) comes back on the WebSocket, with
             the measured latency

Every failure is explained with its fix. The server defaults to
http://localhost:<port of the resolved configuration>. Exit codes: 0 when
no check fails (the last line says how many were skipped, e.g. publish with
a token that subscribes to no channel), 1 when one fails.`,
		Example: `  uniws doctor
  uniws doctor --server http://10.0.0.5:8000 -c config.json
  uniws doctor --server https://rt.example.com --origin https://app.example.com --token "$TOKEN" --api-key "$KEY"`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDoctor(cmd.Context(), f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration to take the port, HMAC secret and API key from")
	fl.StringVar(&opts.Server, "server", "", "server URL (default http://localhost:<config port>)")
	fl.StringVar(&opts.Token, "token", "", "connection token to test (default: minted for --user)")
	fl.StringVar(&opts.APIKey, "api-key", "", "API key (default $"+APIKeyEnv+" or the config's api_key)")
	fl.StringVar(&opts.Origin, "origin", "", "Origin a browser client would send (default: the server's own origin)")
	fl.StringVarP(&opts.User, "user", "u", "uniws-doctor", "user to mint the test token for")
	fl.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "time allowed for each check")
	return cmd
}

// doctorFailed says how many checks failed.
type doctorFailed struct{ n int }

func (e *doctorFailed) Error() string {
	return fmt.Sprintf("%d %s failed", e.n, plural(e.n, "check"))
}

func runDoctor(ctx context.Context, f *factory, opts *doctorOptions, path string) error {
	if opts.Timeout <= 0 {
		return usageErrorf(path, "--timeout must be positive")
	}
	d := &doctor{f: f, opts: opts, apiKey: opts.APIKey, token: opts.Token}
	if d.apiKey == "" {
		d.apiKey = f.ios.getenv(APIKeyEnv)
	}
	if opts.Server == "" || d.token == "" || d.apiKey == "" || opts.ConfigPath != "" {
		cfg, choice, err := f.loadConfig(opts.ConfigPath)
		switch {
		case err == nil:
			d.cfg = cfg
			if d.apiKey == "" {
				d.apiKey = cfg.APIKey
			}
		case opts.ConfigPath != "" || choice.Path != "":
			return err
		}
	}
	base := opts.Server
	if base == "" {
		cfg := d.cfg
		if cfg == nil {
			def := core.Default()
			cfg = &def
		}
		base = "http://" + serverHostPort(cfg)
	}
	u, err := url.Parse(apiBase(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf(path, "--server %q: want http(s):// or ws(s)://host:port", base)
	}
	d.base = u
	d.origin = opts.Origin
	if d.origin == "" {
		d.origin = u.Scheme + "://" + u.Host
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	d.http = &http.Client{Transport: transport, Timeout: opts.Timeout}
	defer d.close()

	fmt.Fprintf(f.ios.Out, "checking %s\n", u)
	failed, skipped := 0, 0
	for _, c := range []struct {
		name string
		run  func(context.Context) checkResult
	}{
		{"health", d.checkHealth},
		{"upgrade", d.checkUpgrade},
		{"origin", d.checkOrigin},
		{"connect", d.checkConnect},
		{"ping", d.checkPing},
		{"publish", d.checkPublish},
	} {
		cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		r := c.run(cctx)
		cancel()
		d.report(c.name, r)
		switch r.status {
		case statusFail:
			failed++
		case statusSkip:
			skipped++
		}
	}
	switch {
	case failed > 0:
		return &doctorFailed{n: failed}
	case skipped > 0:
		// Nothing failed, but not everything was checked: still exit 0.
		fmt.Fprintf(f.ios.Out, "no check failed; %d skipped (see why above)\n", skipped)
		return nil
	}
	fmt.Fprintln(f.ios.Out, "all checks passed")
	return nil
}

// report prints one check's outcome and its fix.
func (d *doctor) report(name string, r checkResult) {
	fmt.Fprintf(d.f.ios.Out, "%-4s  %-8s %s\n", r.status, name, r.msg)
	if r.fix != "" {
		fmt.Fprintf(d.f.ios.Out, "      %-8s fix: %s\n", "", r.fix)
	}
}
