package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/client/bench"
	"github.com/uniws/uniws/core"
)

// defaultSoakSample is the sampling interval of --duration runs.
const defaultSoakSample = 10 * time.Second

type benchOptions struct {
	ConfigPath string
	Server     string
	API        string
	APIKey     string
	Token      string
	Secret     string
	User       string
	UserSet    bool
	Channel    string
	bench.Load
	Sample      time.Duration
	SampleSet   bool
	MessagesSet bool
	PID         int
	JSON        bool
	AllowLoss   bool
	Quiet       bool
}

func newBenchCmd(f *factory, runF func(context.Context, *benchOptions) error) *cobra.Command {
	opts := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a uni_websocket server: connections, deliveries, latency",
		Long: `Open --conns uni_websocket connections, publish --messages seq-numbered,
timestamped messages to --channel through the HTTP API, and report how the
server coped. bench speaks only the public protocol, so it measures uniws and
Centrifugo v6 alike.

Connections are dialled --dial-concurrency at a time, spread over source
addresses 127.0.0.1..N with --source-ips, or when one address would use more
than three eighths of the ephemeral port range (about 10,500 connections with
Linux's default range): past that the kernel's search for a free port makes
the generator, not the server, set the pace. The open-file limit is raised to
the hard limit first. Each connection waits for its connect push. The token is
--token, or one minted with --secret (or the configuration's
token_hmac_secret_key) with a channels claim for --channel: one user per
connection (bench-0, bench-1, ...), or all as --user.

Publishing is as fast as --inflight concurrent API requests and --max-backlog
(publications sent but not yet received everywhere) allow, or at --rate per
second; --duration publishes steadily for that long (a soak run), sampling
every --sample. Each payload is {"run":"R","seq":N,"ts":UNIX_NANOS,"pad":"x..."}
of --payload bytes; only this run's R counts, so other publications to the
channel (another bench, say) are not taken for deliveries. As fast as
possible measures throughput: its latency is mostly the backlog's queueing;
measure latency at a --rate the server keeps up with.

The report: connect rate, failures by reason and time to connect push;
publishes and API round trip; deliveries per second, lost (expected minus
unique received), duplicate and out-of-order messages, and connections that
got the messages in another order than most; end-to-end latency
p50/p90/p99/max; the generator's own CPU (near its CPU count means it, not the
server, set the pace). With --pid (same machine) the server's RSS before and
after connecting (per connection), threads, CPU per connect and CPU seconds
per million deliveries from /proc, and a note when the generator spent about
as much CPU per delivery as the server (its reading then shapes the
latencies); with an API key, every numeric field of the
API info result. A table on a terminal, JSON with --json or when stdout is not
a terminal; progress on stderr.

Exit codes: 0 when the run completes, 1 when a connection or a publish
failed, a message was lost (unless --allow-loss) or the run was interrupted,
4 when the API refused the key.`,
		Example: `  uniws bench --conns 1000 --messages 1000
  uniws bench --conns 1000 --rate 20 --messages 600 --pid $(pgrep -x uniws)
  uniws bench --conns 10000 --messages 0 --hold 5s --pid 1234 --json
  uniws bench --conns 5000 --rate 10 --duration 10m --sample 30s
  uniws bench --server ws://127.0.0.1:8000 --api-key KEY --secret SECRET`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.UserSet = cmd.Flags().Changed("user")
			opts.SampleSet = cmd.Flags().Changed("sample")
			opts.MessagesSet = cmd.Flags().Changed("messages")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runBench(cmd.Context(), f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file to take the port, HMAC secret and api_key from")
	fl.StringVar(&opts.Server, "server", "", "endpoint URL (default ws://localhost:<config port>/connection/uni_websocket)")
	fl.StringVar(&opts.API, "api", "", "API base URL (default http://<--server host:port>)")
	fl.StringVar(&opts.APIKey, "api-key", "", "API key (default $"+APIKeyEnv+" or the config's api_key)")
	fl.StringVar(&opts.Token, "token", "", "connection token for every connection; it must subscribe them to --channel")
	fl.StringVar(&opts.Secret, "secret", "", "HMAC secret to mint tokens with (default the config's token_hmac_secret_key)")
	fl.StringVarP(&opts.User, "user", "u", "", "one user for every connection (default bench-N per connection)")
	fl.StringVar(&opts.Channel, "channel", bench.DefaultChannel, "channel to publish to and subscribe every connection to")
	fl.IntVarP(&opts.Conns, "conns", "n", 100, "connections to open")
	fl.IntVar(&opts.DialConcurrency, "dial-concurrency", bench.DefaultDialConcurrency, "connections being opened at once")
	fl.IntVar(&opts.SourceIPs, "source-ips", 0, "spread connections over 127.0.0.1..N (default: as many as --conns needs)")
	fl.DurationVar(&opts.ConnectTimeout, "connect-timeout", bench.DefaultConnectTimeout, "limit on dial, upgrade and connect push per connection")
	fl.Int64VarP(&opts.Messages, "messages", "m", 1000, "messages to publish (0: connect only)")
	fl.IntVar(&opts.Payload, "payload", bench.DefaultPayload, "bytes of data per message")
	fl.Float64Var(&opts.Rate, "rate", 0, "publishes per second (default as fast as possible)")
	fl.IntVar(&opts.Inflight, "inflight", bench.DefaultInflight, "concurrent publish requests")
	fl.Int64Var(&opts.MaxBacklog, "max-backlog", bench.DefaultMaxBacklog, "publications sent but not yet delivered everywhere (0: no bound)")
	fl.DurationVar(&opts.Duration, "duration", 0, "publish steadily for this long (soak run; --messages then ends it early only when given)")
	fl.DurationVar(&opts.Hold, "hold", 0, "stay connected and idle this long before measuring and publishing")
	fl.StringVar(&opts.Reader, "reader", "", "how connections are read: io_uring (one thread reads all; Linux, ws://) or goroutines (default io_uring where the kernel offers it)")
	fl.DurationVar(&opts.ReadWait, "read-wait", bench.DefaultReadWait, "io_uring reader: how long a received frame may wait for others before the reading thread wakes (0: it wakes for each; Linux 6.12 or later)")
	fl.DurationVar(&opts.DrainTimeout, "drain-timeout", bench.DefaultDrainTimeout, "stop waiting for deliveries after this long without progress")
	fl.DurationVar(&opts.Sample, "sample", 0, "sample server RSS, threads and info this often (default 10s with --duration)")
	fl.IntVar(&opts.PID, "pid", 0, "server process id on this machine, for RSS, threads and CPU from /proc")
	fl.BoolVar(&opts.JSON, "json", false, "print the JSON summary even on a terminal")
	fl.BoolVar(&opts.AllowLoss, "allow-loss", false, "exit 0 even when messages were lost")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

func runBench(ctx context.Context, f *factory, opts *benchOptions, path string) error {
	switch {
	case opts.Conns < 1:
		return usageErrorf(path, "--conns must be at least 1")
	case opts.Inflight < 1 || opts.DialConcurrency < 1:
		return usageErrorf(path, "--inflight and --dial-concurrency must be at least 1")
	case opts.Messages < 0 || opts.Rate < 0 || opts.Duration < 0 || opts.Hold < 0 || opts.MaxBacklog < 0 || opts.PID < 0:
		return usageErrorf(path, "--messages, --rate, --duration, --hold, --max-backlog and --pid must not be negative")
	case opts.Payload < bench.MinPayload:
		return usageErrorf(path, "--payload must be at least %d bytes", bench.MinPayload)
	case opts.SourceIPs < 0 || opts.SourceIPs > 254:
		return usageErrorf(path, "--source-ips must be between 0 and 254")
	case opts.Token != "" && (opts.UserSet || opts.Secret != ""):
		return usageErrorf(path, "--token excludes --user and --secret")
	case opts.Channel == "":
		return usageErrorf(path, "empty --channel")
	case opts.ReadWait < 0:
		return usageErrorf(path, "--read-wait must not be negative")
	case opts.Reader != "" && opts.Reader != bench.ReaderRing && opts.Reader != bench.ReaderGoroutines:
		return usageErrorf(path, "--reader must be %s or %s", bench.ReaderRing, bench.ReaderGoroutines)
	}
	cfg, err := benchConfig(f, opts, path)
	if err != nil {
		return err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = opts.Inflight + 2
	transport.MaxIdleConnsPerHost = opts.Inflight + 2
	defer transport.CloseIdleConnections()
	if cfg.API != nil {
		cfg.API.HTTPClient = &http.Client{Transport: transport}
	}
	if !opts.Quiet {
		cfg.Log, cfg.Progress = f.ios.ErrOut, f.ios.ErrTTY
	}
	rep, err := bench.Run(ctx, cfg)
	switch {
	case rep == nil && errors.Is(err, bench.ErrBadPID):
		return &usageError{cmd: path, err: err}
	case rep == nil:
		return fmt.Errorf("bench: %w", err)
	}
	if werr := printBenchReport(f.ios, opts, rep); werr != nil {
		return werr
	}
	switch {
	case err != nil:
		return fmt.Errorf("bench: %w", err)
	case rep.Interrupted:
		return errors.New("bench interrupted")
	case rep.Connect.Connected == 0:
		return fmt.Errorf("bench: no connection succeeded (%d failed)", rep.Connect.Failed)
	case rep.Connect.Failed > 0:
		// The per-connection figures would describe another load.
		return fmt.Errorf("bench: %d of %d connections failed", rep.Connect.Failed, rep.Connect.Attempted)
	case rep.Publish != nil && rep.Publish.Failed > 0:
		// Failed publishes are not expected anywhere, so "0 lost" would
		// hide them.
		return fmt.Errorf("bench: %d of %d publishes failed", rep.Publish.Failed, rep.Publish.Failed+rep.Publish.Published)
	case rep.Delivery != nil && rep.Delivery.Lost > 0 && !opts.AllowLoss:
		return fmt.Errorf("bench: %d of %d deliveries lost (--allow-loss exits 0)", rep.Delivery.Lost, rep.Delivery.Expected)
	}
	return nil
}

// benchConfig resolves the endpoint, API, key and token source from the
// flags, the environment and, for whatever they leave open, the config.
func benchConfig(f *factory, opts *benchOptions, path string) (bench.Config, error) {
	server, key, secret := opts.Server, opts.APIKey, opts.Secret
	if key == "" {
		key = f.ios.getenv(APIKeyEnv)
	}
	if server == "" || key == "" || (opts.Token == "" && secret == "") || opts.ConfigPath != "" {
		c, choice, err := f.loadConfig(opts.ConfigPath)
		if err != nil {
			return bench.Config{}, err
		}
		if server == "" {
			server = serverHostPort(c)
		}
		key = firstNonEmpty(key, c.APIKey)
		secret = firstNonEmpty(secret, c.TokenHMACSecretKey)
		if opts.Token == "" && secret == "" {
			if choice.Path == "" {
				return bench.Config{}, errors.New(choice.noConfigHint())
			}
			return bench.Config{}, fmt.Errorf("no token: give --token or --secret, or token_hmac_secret_key in %s", choice.Path)
		}
	}
	url := wsURL(server)
	api := opts.API
	if api == "" {
		api = apiBase(url)
	}
	var pub *client.Publisher
	switch {
	case key != "":
		pub = &client.Publisher{Server: api, APIKey: key, UserAgent: "uniws-bench/" + buildVersion()}
	case opts.Messages != 0 || opts.Duration > 0:
		return bench.Config{}, usageErrorf(path, "publishing needs an API key: --api-key, $%s or the config's api_key (--messages 0 without --duration only connects)", APIKeyEnv)
	}
	cfg := bench.Config{
		URL: url, API: pub,
		Version: buildVersion(), Channel: opts.Channel, SharedUser: opts.Token != "" || opts.UserSet,
		Load: opts.Load, PID: opts.PID, Sample: opts.Sample,
	}
	if opts.Duration > 0 && !opts.SampleSet {
		cfg.Sample = defaultSoakSample
	}
	if opts.Duration > 0 && !opts.MessagesSet {
		cfg.Messages = 0 // the duration alone ends publishing
	}
	cfg.Token = benchTokens(opts.Token, secret, opts.User, opts.UserSet, opts.Channel)
	return cfg, nil
}

// benchTokens returns the token source: the given token, or HS256 tokens
// without expiry whose channels claim holds the channel, for one shared
// user or user bench-<i> per connection.
func benchTokens(token, secret, user string, shared bool, channel string) func(int) (string, error) {
	if token != "" {
		return func(int) (string, error) { return token, nil }
	}
	mint := func(u string) (string, error) {
		t, err := core.SignHMAC(secret, core.TokenOptions{User: u, Channels: []string{channel}})
		if err != nil {
			return "", fmt.Errorf("generate token: %w", err)
		}
		return t, nil
	}
	if shared {
		t, err := mint(user)
		return func(int) (string, error) { return t, err }
	}
	return func(i int) (string, error) { return mint("bench-" + strconv.Itoa(i)) }
}

func firstNonEmpty(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func printBenchReport(ios *IOStreams, opts *benchOptions, rep *bench.Report) error {
	if opts.JSON || !ios.OutTTY {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
		_, err = fmt.Fprintf(ios.Out, "%s\n", b)
		return err
	}
	return rep.WriteText(ios.Out)
}
