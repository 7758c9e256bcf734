package cmd

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/client"
)

// completionTimeout bounds the channels API call behind channel completion:
// a shell waits for it on every Tab.
const completionTimeout = time.Second

// serverTarget is where a command finds the server API: its --server,
// --api-key and --config flags, read when completion runs.
type serverTarget struct {
	server, apiKey, configPath *string
}

// channelCompletion completes channel names from a running server's
// channels API. Any failure (no server, refused key, timeout) completes
// nothing, silently: completion must never get in the way.
func channelCompletion(f *factory, t serverTarget) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		names, err := f.serverChannels(ctx, t, toComplete)
		if err != nil {
			cobra.CompDebugln("channel completion: "+err.Error(), false)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// serverChannels lists the server's channels that start with prefix.
func (f *factory) serverChannels(ctx context.Context, t serverTarget, prefix string) ([]string, error) {
	server, key := *t.server, *t.apiKey
	if key == "" {
		key = f.ios.getenv(APIKeyEnv)
	}
	if server == "" || key == "" {
		cfg, _, err := f.loadConfig(*t.configPath)
		if err != nil {
			return nil, err
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
	pub := &client.Publisher{Server: server, APIKey: key, HTTPClient: &http.Client{Transport: transport, Timeout: completionTimeout}}
	params := map[string]string{}
	if prefix != "" && !strings.ContainsAny(prefix, `*?[\`) {
		params["pattern"] = prefix + "*"
	}
	var res struct {
		Channels map[string]struct{} `json:"channels"`
	}
	if err := pub.Call(ctx, "channels", params, &res); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Channels))
	for ch := range res.Channels {
		if strings.HasPrefix(ch, prefix) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out, nil
}
