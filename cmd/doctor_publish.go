package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
)

func (d *doctor) checkPing(context.Context) checkResult {
	if d.connect == nil {
		return skipped("needs a connection")
	}
	if d.connect.Ping == 0 {
		return failed("the connect push announces no ping interval",
			"a Centrifugo v6 uni_websocket server always sends ping; check that --server is one")
	}
	return passed("the server pings every %ds; a client that hears nothing for longer should reconnect", d.connect.Ping)
}

func (d *doctor) checkPublish(ctx context.Context) checkResult {
	switch {
	case d.conn == nil:
		return skipped("needs a connection")
	case d.channel == "":
		return skipped("the token subscribes to no channel, so a publication has nowhere to arrive")
	case d.apiKey == "":
		return failed("no API key to publish with", "pass --api-key, set $"+APIKeyEnv+", or -c with a configuration that has "+key("api_key"))
	}
	nonce := core.GenerateSecret(8)
	data, _ := json.Marshal(map[string]string{"uniws_doctor": nonce})
	pub := &client.Publisher{Server: d.base.String(), APIKey: d.apiKey, HTTPClient: d.http, UserAgent: "uniws-doctor/" + buildVersion()}
	start := time.Now()
	if _, err := pub.Publish(ctx, client.PublishRequest{Channel: d.channel, Data: data}); err != nil {
		var apiErr *core.Error
		var status *client.StatusError
		switch {
		case errors.Is(err, client.ErrAuthRefused):
			return failed("the server refused the API key (HTTP 401)",
				"use the server's "+key("api_key")+" through --api-key or $"+APIKeyEnv)
		case errors.As(err, &apiErr):
			return failed(fmt.Sprintf("publish to %s answered error %d %s", d.channel, apiErr.Code, apiErr.Message),
				"see the API error codes in PROTOCOL.md §8; 102 means the channel's namespace is not defined")
		case errors.As(err, &status) && status.Status == http.StatusNotFound:
			return failed("no HTTP API at "+d.base.String()+"/api (HTTP 404)", "a proxy must forward /api to the server, or Centrifugo's http_api.external must be on")
		}
		return failed("publish failed: "+err.Error(), "check --server and the server log")
	}
	for {
		push, err := d.readPush(ctx, d.conn)
		if err != nil {
			return failed(fmt.Sprintf("published to %s, but it did not come back on the WebSocket: %v", d.channel, err),
				"see the server log; with a Redis engine check that every node reaches Redis")
		}
		if push.Pub != nil && push.Channel == d.channel && bytes.Contains(push.Pub.Data, []byte(nonce)) {
			return passed("round trip in %s (API publish to %s, back on the WebSocket)", time.Since(start).Round(time.Microsecond), d.channel)
		}
	}
}

// readPush reads the next push that is not a ping, splitting frames that
// join several pushes with "\n". It stops at ctx's deadline.
func (d *doctor) readPush(ctx context.Context, conn *websocket.Conn) (*core.Push, error) {
	for {
		if len(d.pending) > 0 {
			p := d.pending[0]
			d.pending = d.pending[1:]
			return p, nil
		}
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(d.opts.Timeout)
		}
		_ = conn.SetReadDeadline(deadline)
		_, data, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 || string(bytes.TrimSpace(line)) == "{}" {
				continue
			}
			var p core.Push
			if err := json.Unmarshal(line, &p); err != nil {
				return nil, fmt.Errorf("bad push %q: %w", line, err)
			}
			d.pending = append(d.pending, &p)
		}
	}
}
