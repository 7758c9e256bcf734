package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

type checkStatus string

const (
	statusOK   checkStatus = "ok"
	statusFail checkStatus = "FAIL"
	statusSkip checkStatus = "skip"
)

// checkResult is one check's outcome: a sentence, and for a failure the fix.
type checkResult struct {
	status   checkStatus
	msg, fix string
}

func passed(format string, args ...any) checkResult {
	return checkResult{status: statusOK, msg: fmt.Sprintf(format, args...)}
}

func failed(msg, fix string) checkResult { return checkResult{status: statusFail, msg: msg, fix: fix} }

func skipped(msg string) checkResult { return checkResult{status: statusSkip, msg: msg} }

// doctor holds what the checks learn from each other. Its checks run one
// after the other on the command's goroutine.
type doctor struct {
	f      *factory
	opts   *doctorOptions
	cfg    *core.Config // nil without a configuration
	base   *url.URL
	origin string
	apiKey string
	token  string
	http   *http.Client

	unreachable bool
	upgraded    bool
	conn        *websocket.Conn
	connect     *core.Connect
	channel     string       // the channel the publish check uses
	pending     []*core.Push // pushes read but not yet handled
}

func (d *doctor) close() {
	if d.conn != nil {
		_ = d.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = d.conn.Close()
	}
}

// key names a configuration key, with its Centrifugo name.
func key(flat string) string {
	if nested, ok := core.CentrifugoKey(flat); ok {
		return flat + " (" + nested + " in a Centrifugo file)"
	}
	return flat
}

func (d *doctor) checkHealth(ctx context.Context) checkResult {
	u := d.base.String() + "/health"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return failed(err.Error(), "pass --server as http(s)://host:port")
	}
	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		d.unreachable = true
		return failed(fmt.Sprintf("cannot reach %s: %v", u, err),
			"start the server (uniws serve), or pass --server with the address it listens on")
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		// Centrifugo serves /health only with health.enabled: the checks
		// below tell whether the server works.
		return skipped(fmt.Sprintf("%s answered HTTP 404: no health endpoint (Centrifugo serves one only with health.enabled)", u))
	}
	if resp.StatusCode != http.StatusOK {
		return failed(fmt.Sprintf("%s answered HTTP %d", u, resp.StatusCode),
			"check that --server points at the server itself; a Centrifugo server serves /health only with health.enabled")
	}
	return passed("%s answered 200 in %s", u, time.Since(start).Round(time.Microsecond))
}

func (d *doctor) wsURL() string {
	scheme := "ws"
	if d.base.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + d.base.Host + d.base.Path + "/connection/uni_websocket"
}

// dial opens the uni_websocket endpoint, with an Origin header when origin
// is set.
func (d *doctor) dial(ctx context.Context, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	h.Set("User-Agent", "uniws-doctor/"+buildVersion())
	if origin != "" {
		h.Set("Origin", origin)
	}
	dialer := websocket.Dialer{HandshakeTimeout: d.opts.Timeout}
	return dialer.DialContext(ctx, d.wsURL(), h)
}

func (d *doctor) checkUpgrade(ctx context.Context) checkResult {
	if d.unreachable {
		return skipped("needs a reachable server")
	}
	conn, resp, err := d.dial(ctx, "")
	if err != nil {
		return upgradeFailure(d.wsURL(), "", resp, err)
	}
	_ = conn.Close()
	d.upgraded = true
	return passed("%s upgrades clients that send no Origin (servers, CLIs, mobile apps)", d.wsURL())
}

// upgradeFailure explains a refused upgrade.
func upgradeFailure(u, origin string, resp *http.Response, err error) checkResult {
	if resp == nil {
		return failed(fmt.Sprintf("upgrade at %s failed: %v", u, err), "check --server, and any proxy in front of the server: it must pass WebSocket upgrades through")
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return failed(fmt.Sprintf("no uni_websocket endpoint at %s (HTTP 404)", u),
			"point --server at a uniws server, or a Centrifugo server with uni_websocket.enabled; a proxy must forward /connection/uni_websocket")
	case http.StatusForbidden:
		return failed(fmt.Sprintf("the server refused the upgrade from Origin %q (HTTP 403)", origin), "see the origin check")
	case http.StatusServiceUnavailable:
		return failed(fmt.Sprintf("the server refused the upgrade at %s (HTTP 503)", u),
			"it is shutting down, or at client_connection_limit or client_connection_rate_limit")
	}
	return failed(fmt.Sprintf("upgrade at %s answered HTTP %d instead of 101", u, resp.StatusCode),
		"a proxy in front of the server must pass WebSocket upgrades (Upgrade and Connection headers) through")
}

func (d *doctor) checkOrigin(ctx context.Context) checkResult {
	if !d.upgraded {
		return skipped("needs a working upgrade")
	}
	conn, resp, err := d.dial(ctx, d.origin)
	if err == nil {
		_ = conn.Close()
		msg := fmt.Sprintf("a browser page on %s may connect", d.origin)
		if d.cfg != nil && len(d.cfg.AllowedOrigins) > 0 {
			msg += fmt.Sprintf(" (allowed_origins: %s)", strings.Join(d.cfg.AllowedOrigins, ", "))
		}
		return passed("%s", msg)
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		return upgradeFailure(d.wsURL(), d.origin, resp, err)
	}
	needs := "with no allowed_origins uniws accepts only pages served from its own host, and Centrifugo none at all"
	if d.cfg != nil && len(d.cfg.AllowedOrigins) > 0 {
		needs = "allowed_origins is " + strings.Join(d.cfg.AllowedOrigins, ", ")
	}
	return failed(fmt.Sprintf("the server refused Origin %s (HTTP 403): browsers on that origin cannot connect; %s", d.origin, needs),
		fmt.Sprintf("add %q to %s, or run doctor with --origin set to the origin of your web app", d.origin, key("allowed_origins")))
}

func (d *doctor) checkConnect(ctx context.Context) checkResult {
	if !d.upgraded {
		return skipped("needs a working upgrade")
	}
	token, from := d.token, "the --token"
	if token == "" {
		if d.cfg == nil || d.cfg.TokenHMACSecretKey == "" {
			return failed("no token to connect with", "pass --token, or -c with a configuration that has "+key("token_hmac_secret_key"))
		}
		d.channel = "uniws-doctor-" + core.GenerateSecret(6)
		var err error
		token, err = core.SignHMAC(d.cfg.TokenHMACSecretKey, core.TokenOptions{User: d.opts.User, TTL: 10 * time.Minute, Channels: []string{d.channel}})
		if err != nil {
			return failed(err.Error(), "")
		}
		from = fmt.Sprintf("a token minted for user %q with the configuration's secret", d.opts.User)
	}
	conn, resp, err := d.dial(ctx, "")
	if err != nil {
		return upgradeFailure(d.wsURL(), "", resp, err)
	}
	req, _ := json.Marshal(map[string]string{"token": token})
	_ = conn.SetWriteDeadline(time.Now().Add(d.opts.Timeout))
	if err := conn.WriteMessage(websocket.TextMessage, req); err != nil {
		_ = conn.Close()
		return failed("sending the connect request failed: "+err.Error(), "")
	}
	push, err := d.readPush(ctx, conn)
	switch {
	case err != nil:
		_ = conn.Close()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return connectRefused(core.Code(ce.Code), from)
		}
		return failed("no connect push: "+err.Error(), "see the server log")
	case push.Disconnect != nil:
		_ = conn.Close()
		return connectRefused(core.Code(push.Disconnect.Code), from)
	case push.Connect == nil:
		_ = conn.Close()
		return failed("the first push was not a connect push", "this does not look like a Centrifugo v6 uni_websocket endpoint")
	}
	d.conn, d.connect = conn, push.Connect
	subs := make([]string, 0, len(push.Connect.Subs))
	for ch := range push.Connect.Subs {
		subs = append(subs, ch)
	}
	sort.Strings(subs)
	if d.channel == "" && len(subs) > 0 {
		d.channel = subs[0]
	}
	return passed("%s connected: client %s, subscribed to %s", from, push.Connect.Client, strings.Join(subs, ", "))
}

// connectRefused explains a connection the server closed.
func connectRefused(code core.Code, from string) checkResult {
	msg := fmt.Sprintf("%s was refused with %d %s: %s", from, code, code.Reason(), code.Explain())
	switch code {
	case core.CodeInvalidToken:
		return failed(msg, "run 'uniws checktoken -c <the server's config> TOKEN': it shows whether the secret, the algorithm, aud or iss is at fault")
	case core.CodeExpired:
		return failed(msg, "mint a fresh token, and check that the clocks of the token issuer and the server agree")
	case core.CodeInternal:
		return failed(msg, "the server log says why: with the Redis engine, Redis unreachable; or a token channel in a namespace the server does not define; or a failed connect proxy")
	}
	return failed(msg, "see the server log for the reason")
}
