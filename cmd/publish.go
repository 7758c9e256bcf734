package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/client"
)

// APIKeyEnv names the environment variable holding the API key.
const APIKeyEnv = "UNIWS_API_KEY"

// publishTimeout is --timeout's default.
const publishTimeout = 30 * time.Second

type publishOptions struct {
	ConfigPath string
	Server     string
	APIKey     string
	Channel    string
	Data       string // "-" or unset: read NDJSON from stdin
	DataSet    bool
	JSON       bool
	Quiet      bool
	Timeout    time.Duration
}

func newPublishCmd(f *factory, runF func(context.Context, *publishOptions) error) *cobra.Command {
	opts := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish CHANNEL [DATA]",
		Short: "Publish JSON data to a channel through the HTTP API",
		Long: `Publish DATA, a JSON value, to CHANNEL with POST /api/publish. With DATA
"-" or missing, read stdin: each non-empty line is one JSON value and one
publish (NDJSON). Every line is checked before anything is sent: invalid JSON
exits 2 and publishes nothing.

The server defaults to http://localhost:<port> with the port of the resolved
configuration (8000 without one); --server takes http(s) or ws(s) URLs, with
or without the endpoint path (the same value as watch's --server). The API
key comes from --api-key, then $UNIWS_API_KEY, then the configuration's
api_key.

On a terminal the result is printed in words; otherwise, or with --json, each
publish prints one JSON line: {} or {"offset":N,"epoch":"..."} for channels
with history. Each publish waits at most --timeout for its answer. Exit codes:
0 ok, 1 error reply, 2 usage, 3 no answer within --timeout, 4 auth refused.`,
		Example: `  uniws publish '#test_user' '{"text":"hi"}'
  printf '{"n":1}\n{"n":2}\n' | uniws publish news
  uniws publish --server http://host:8000 --api-key KEY news '{"a":1}'`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Channel = args[0]
			if len(args) > 1 {
				opts.Data, opts.DataSet = args[1], true
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPublish(cmd.Context(), f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file to take the port and api_key from")
	fl.StringVar(&opts.Server, "server", "", "server URL (default http://localhost:<config port>)")
	fl.StringVar(&opts.APIKey, "api-key", "", "API key (default $"+APIKeyEnv+" or the config's api_key)")
	fl.BoolVar(&opts.JSON, "json", false, "print one JSON result line per publish, even on a terminal")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing on success")
	fl.DurationVar(&opts.Timeout, "timeout", publishTimeout, "how long each publish waits for the server's answer (exit 3 past it)")
	complete := channelCompletion(f, serverTarget{&opts.Server, &opts.APIKey, &opts.ConfigPath})
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, toComplete)
	}
	return cmd
}

func runPublish(ctx context.Context, f *factory, opts *publishOptions, path string) error {
	if opts.Channel == "" {
		return usageErrorf(path, "empty channel")
	}
	if opts.Timeout <= 0 {
		return usageErrorf(path, "--timeout must be positive")
	}
	stdin := !opts.DataSet || opts.Data == "-"
	if stdin && f.ios.InTTY {
		fmt.Fprintln(f.ios.ErrOut, "reading JSON lines from stdin; end with Ctrl-D")
	}
	var payloads []json.RawMessage
	var err error
	if stdin {
		payloads, err = readPayloads(f.ios.In)
	} else {
		payloads, err = argPayload(opts.Data)
	}
	if err != nil {
		return &usageError{cmd: path, err: err}
	}
	server, key := opts.Server, opts.APIKey
	if key == "" {
		key = f.ios.getenv(APIKeyEnv)
	}
	if server == "" || key == "" || opts.ConfigPath != "" {
		// A file named with -c must load, even when flags give all it holds.
		cfg, _, err := f.loadConfig(opts.ConfigPath)
		if err != nil {
			return err
		}
		if server == "" {
			server = "http://" + serverHostPort(cfg)
		}
		if key == "" {
			key = cfg.APIKey
		}
	}
	server = apiBase(server)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	pub := &client.Publisher{Server: server, APIKey: key, HTTPClient: &http.Client{Transport: transport},
		UserAgent: "uniws/" + buildVersion()}
	keepWritingAfterSIGPIPE()
	printing := true
	for i, data := range payloads {
		rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		res, err := pub.Publish(rctx, client.PublishRequest{Channel: opts.Channel, Data: data})
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = &timeoutError{msg: fmt.Sprintf("no answer within %s (--timeout)", opts.Timeout)}
		}
		if err != nil {
			if len(payloads) > 1 {
				return fmt.Errorf("publish line %d to %s: %w", i+1, opts.Channel, err)
			}
			return fmt.Errorf("publish to %s: %w", opts.Channel, err)
		}
		if printing {
			err := printPublishResult(f.ios, opts, res)
			switch {
			case errors.Is(err, errOutputClosed):
				// Nobody reads the results (`| head -1`): every line
				// is still published.
				printing = false
			case err != nil:
				return err
			}
		}
	}
	return nil
}

// argPayload checks the DATA argument.
func argPayload(arg string) ([]json.RawMessage, error) {
	if err := checkJSON([]byte(arg)); err != nil {
		return nil, fmt.Errorf("data is not valid JSON: %w", err)
	}
	return []json.RawMessage{json.RawMessage(arg)}, nil
}

// readPayloads reads every non-empty stdin line, each checked to be valid
// JSON, before anything is published.
func readPayloads(in io.Reader) ([]json.RawMessage, error) {
	if in == nil {
		return nil, fmt.Errorf("no data: give DATA or pipe NDJSON to stdin")
	}
	var out []json.RawMessage
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := checkJSON(line); err != nil {
			return nil, fmt.Errorf("stdin line %d is not valid JSON: %w", n, err)
		}
		out = append(out, json.RawMessage(bytes.Clone(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no data: stdin held no JSON lines")
	}
	return out, nil
}

func checkJSON(b []byte) error {
	var v any
	return json.Unmarshal(b, &v)
}

func printPublishResult(ios *IOStreams, opts *publishOptions, res client.PublishResult) error {
	if opts.Quiet {
		return nil
	}
	if opts.JSON || !ios.OutTTY {
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		_, err = fmt.Fprintf(ios.Out, "%s\n", b)
		return err
	}
	msg := "published to " + opts.Channel
	if res.Offset != 0 || res.Epoch != "" {
		msg += fmt.Sprintf(": offset %d, epoch %s", res.Offset, res.Epoch)
	}
	_, err := fmt.Fprintln(ios.Out, msg)
	return err
}
