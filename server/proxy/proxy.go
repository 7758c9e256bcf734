// Package proxy asks the application backend about connections over HTTP:
// the connect proxy authenticates a connection that came without a token,
// and the refresh proxy extends or ends one when it expires.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxReplySize bounds what is read of a backend reply.
const maxReplySize = 4 << 20

var errNotJSON = errors.New("connect data is not JSON")

// Config names the endpoints and the headers to send.
type Config struct {
	ConnectEndpoint string
	ConnectTimeout  time.Duration
	RefreshEndpoint string
	RefreshTimeout  time.Duration
	// Headers are the names of the upgrade request's headers forwarded to
	// the backend (compared case-insensitively).
	Headers []string
	// EmulatedHeaders are the names of headers a client may put in its
	// connect request's headers map to have them forwarded. A client sets
	// those freely, so no other name goes through from there.
	EmulatedHeaders []string
	// StaticHeaders are set on every request.
	StaticHeaders map[string]string
}

// Client calls the configured endpoints. It starts no goroutines of its
// own (its HTTP transport keeps idle connections until Close). It is safe
// for concurrent use.
type Client struct {
	cfg       Config
	transport *http.Transport
	http      *http.Client
}

// New returns a client for the endpoints in cfg.
func New(cfg Config) *Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &Client{cfg: cfg, transport: t, http: &http.Client{Transport: t}}
}

// ConnectEnabled reports whether a connect endpoint is configured.
func (c *Client) ConnectEnabled() bool { return c != nil && c.cfg.ConnectEndpoint != "" }

// RefreshEnabled reports whether a refresh endpoint is configured.
func (c *Client) RefreshEnabled() bool { return c != nil && c.cfg.RefreshEndpoint != "" }

// Close drops the idle connections to the backend.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Header builds the headers of a backend request: the emulated headers a
// client sent in its connect request (only those listed in
// Config.EmulatedHeaders), then the headers of its HTTP upgrade request
// (only those listed in Config.Headers), then the static headers, then
// Content-Type.
func (c *Client) Header(upgrade http.Header, emulated map[string]string) http.Header {
	h := http.Header{}
	for k, v := range emulated {
		if listed(c.cfg.EmulatedHeaders, k) {
			h.Set(k, v)
		}
	}
	for k, vv := range upgrade {
		if listed(c.cfg.Headers, k) {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), vv...)
		}
	}
	for k, v := range c.cfg.StaticHeaders {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	return h
}

func listed(names []string, name string) bool {
	for _, f := range names {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// Connect asks the connect endpoint about a connection, within the connect
// timeout. An error means the backend could not be asked or answered
// something other than HTTP 200 with a JSON reply.
func (c *Client) Connect(ctx context.Context, req *ConnectRequest, h http.Header) (*ConnectReply, error) {
	body, err := req.encode()
	if err != nil {
		return nil, fmt.Errorf("encode connect request: %w", err)
	}
	var reply ConnectReply
	if err := c.call(ctx, c.cfg.ConnectEndpoint, c.cfg.ConnectTimeout, h, body, &reply); err != nil {
		return nil, fmt.Errorf("connect proxy: %w", err)
	}
	return &reply, nil
}

// Refresh asks the refresh endpoint whether an expiring connection lives
// on, within the refresh timeout.
func (c *Client) Refresh(ctx context.Context, req *RefreshRequest, h http.Header) (*RefreshReply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode refresh request: %w", err)
	}
	var reply RefreshReply
	if err := c.call(ctx, c.cfg.RefreshEndpoint, c.cfg.RefreshTimeout, h, body, &reply); err != nil {
		return nil, fmt.Errorf("refresh proxy: %w", err)
	}
	return &reply, nil
}

// call POSTs body and decodes a 200 reply into out.
func (c *Client) call(ctx context.Context, endpoint string, timeout time.Duration, h http.Header, body []byte, out any) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplySize))
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	return nil
}
