package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/uniws/uniws/client/bench"
	"github.com/uniws/uniws/core"
)

type serveOptions struct {
	ConfigPath string
	Port       int
	PortSet    bool
	Address    string
	AddressSet bool
	LogLevel   string
	LogFormat  string
	Debug      bool
	DebugAddr  string
}

func newServeCmd(f *factory, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the uni_websocket endpoint and the HTTP API",
		Long: `Serve /connection/uni_websocket, the HTTP API (/api), /health and the
Prometheus metrics (/metrics, uniws_* names), all on one listener.

The configuration may use uniws's flat keys or a Centrifugo v6 file as it is
(nested keys); keys without effect in uniws are logged as warnings. Run
'uniws checkconfig' to see every problem of a configuration at once.

Logs go to stderr, as text or JSON (--log-format). --debug serves the Go
profiler (pprof) on a separate, internal listener (--debug-address,
127.0.0.1:6060 by default), never on the public one.

With no configuration found (-c, $UNIWS_CONFIG, ./config.json), serve uses the
development config at <user config dir>/uniws/config.json, creating it with
random secrets on first use. SIGINT or SIGTERM shuts down gracefully: every
client gets disconnect 3001 shutdown, and serve exits 0.`,
		Example: `  uniws serve
  uniws serve -c config.json --port 9000
  uniws serve -c centrifugo.json --log-format json --log-level debug
  uniws serve --debug --debug-address 127.0.0.1:6060`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.PortSet = cmd.Flags().Changed("port")
			opts.AddressSet = cmd.Flags().Changed("address")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file (JSON, YAML or TOML)")
	fl.IntVar(&opts.Port, "port", 0, "port to listen on (overrides the config's port)")
	fl.StringVar(&opts.Address, "address", "", "address to listen on (overrides the config's address)")
	fl.StringVar(&opts.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.StringVar(&opts.LogFormat, "log-format", "text", "log format: text or json")
	fl.BoolVar(&opts.Debug, "debug", false, "serve pprof on --debug-address (internal only)")
	fl.StringVar(&opts.DebugAddr, "debug-address", defaultDebugAddress, "internal address for --debug's pprof listener")
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// redisLog takes the Redis client library's own messages (dial failures its
// connection pool retries, which the engine reports itself) into the
// server's log at debug level, so that --log-format json stays JSON.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}

func runServe(ctx context.Context, f *factory, opts *serveOptions, path string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return usageErrorf(path, "--log-level %q: want debug, info, warn or error", opts.LogLevel)
	}
	if opts.PortSet && (opts.Port < 0 || opts.Port > 65535) {
		return usageErrorf(path, "--port %d is not a TCP port", opts.Port)
	}
	var handler slog.Handler
	switch opts.LogFormat {
	case "text":
		handler = slog.NewTextHandler(f.ios.ErrOut, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(f.ios.ErrOut, &slog.HandlerOptions{Level: level})
	default:
		return usageErrorf(path, "--log-format %q: want text or json", opts.LogFormat)
	}
	log := slog.New(handler)
	loopback := true
	if opts.Debug {
		var err error
		if loopback, err = checkDebugAddress(opts.DebugAddr); err != nil {
			return &usageError{cmd: path, err: err}
		}
	}

	choice := f.findConfig(opts.ConfigPath)
	if choice.Path == "" {
		if choice.Dev == "" {
			return errors.New("no configuration found and no user config directory for the development config: pass -c PATH")
		}
		err := core.WriteConfigFile(choice.Dev, core.DevConfig(), false)
		switch {
		case err == nil:
			log.Info("created development config with random secrets", "path", choice.Dev)
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("create development config: %w", err)
		}
		choice.Path, choice.From = choice.Dev, "development config"
	}
	cfg, rep, err := core.LoadConfigReport(choice.Path, f.ios.Getenv)
	if err != nil {
		return fmt.Errorf("load config %s (run 'uniws checkconfig -c %s' for every problem explained): %w", choice.Path, choice.Path, err)
	}
	log.Info("using config", "path", choice.Path, "from", choice.From, "centrifugo_style", rep.Centrifugo)
	for _, w := range rep.Warnings {
		log.Warn("config: " + w)
	}
	portMoved := opts.PortSet && core.Port(opts.Port) != cfg.Port
	if opts.PortSet {
		cfg.Port = core.Port(opts.Port)
	}
	if opts.AddressSet {
		cfg.Address = opts.Address
	}
	if choice.From == "development config" {
		try := "uniws gentoken -u test_user; uniws watch -u test_user; uniws publish '#test_user' '{\"text\":\"hi\"}'"
		if portMoved {
			// The other commands take the port from the file, not this flag.
			try = "export " + core.EnvPrefix + "PORT=" + strconv.Itoa(opts.Port) + "; " + try
		}
		log.Info("try it: " + try)
	}
	if fl, err := bench.RaiseFileLimit(); err != nil {
		log.Warn("could not raise the open file limit", "error", err.Error(), "soft", fl.Soft, "hard", fl.Hard)
	} else {
		log.Info("open file limit", "soft", fl.Soft, "hard", fl.Hard, "was", fl.SoftBefore)
	}
	if cfg.Engine == "redis" {
		// The library's logger is the process's, not a client's: the
		// last serve with the Redis engine in a process has it.
		redis.SetLogger(redisLog{log})
	}
	srv, err := f.newServer(cfg, log, buildVersion())
	if err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	ln, err := f.listen(ctx, cfg.ListenAddr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr(), err)
	}
	if opts.Debug {
		if !loopback {
			log.Warn("pprof listens on a non-loopback address: make sure it is not reachable from outside", "address", opts.DebugAddr)
		}
		stop, err := startDebug(ctx, f, opts.DebugAddr, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stop()
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}
