package bench

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
)

// defaultPortsPerSource is the number of connections one source address
// takes when the kernel's ephemeral port range cannot be read: what
// connsPerSource gives for Linux's default range, 32768-60999.
const defaultPortsPerSource = 10587

// target is the endpoint every connection dials, resolved once.
type target struct {
	addr    string // ip:port dialled
	host    string // Host header
	path    string // request URI
	tls     *tls.Config
	sources []net.IP // local addresses, used in turn; nil: the kernel picks
	run     string   // the run's name, in every payload it publishes
	prefix  []byte   // pubPrefix of the bench channel and run
	runMark []byte   // runMarker of the run
}

// newTarget resolves a ws:// or wss:// URL and picks the source addresses:
// sourceIPs of them (127.0.0.1, .2, ...) or, with sourceIPs 0, as many as
// conns needs ephemeral ports. Spreading needs an IPv4 loopback target.
func newTarget(ctx context.Context, raw string, conns, sourceIPs int) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	port := u.Port()
	switch u.Scheme {
	case "ws":
		port = orDefault(port, "80")
	case "wss":
		port = orDefault(port, "443")
	default:
		return nil, fmt.Errorf("url %q: scheme must be ws or wss", raw)
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", u.Hostname(), err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no address", u.Hostname())
	}
	ip := ips[0]
	for _, cand := range ips {
		if cand.To4() != nil {
			ip = cand
			break
		}
	}
	t := &target{addr: net.JoinHostPort(ip.String(), port), host: u.Host, path: u.RequestURI()}
	if u.Scheme == "wss" {
		t.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	loopback := ip.To4() != nil && ip.IsLoopback()
	n := sourceIPs
	if n == 0 {
		n = sourcesFor(conns, connsPerSource(readPortRange()))
		if n > 1 && !loopback {
			n = 1 // cannot spread; connections past the port range fail and are counted
		}
	}
	switch {
	case n > 254:
		return nil, fmt.Errorf("%d source addresses: at most 254", n)
	case n > 1 || sourceIPs > 0:
		if !loopback {
			return nil, fmt.Errorf("source addresses 127.0.0.x need an IPv4 loopback target, not %s", ip)
		}
		for i := range n {
			t.sources = append(t.sources, net.IPv4(127, 0, 0, byte(i+1)))
		}
	}
	return t, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readPortRange returns the kernel's ephemeral port range, or "" where it
// cannot be read.
func readPortRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return ""
	}
	return string(b)
}

// connsPerSource is how many connections one source address takes, given
// the ephemeral port range ("low high"). Linux (4.6 and later) gives
// connect() ports of one parity first, scanning them from a random start
// for a free one, and turns to the other half only when the first is used
// up: past half the range every connect scans thousands of ports. A
// 19,000-connection run from one address spent 30 s of the generator's CPU
// connecting (4 s from two addresses) and stretched the server's connect
// phase, with its CPU per connect, accordingly. So an address takes three
// quarters of half the range, where the scan stays a few probes long.
func connsPerSource(portRange string) int {
	f := strings.Fields(portRange)
	if len(f) != 2 {
		return defaultPortsPerSource
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi-lo < 2000 {
		return defaultPortsPerSource
	}
	return (hi - lo + 1) / 2 * 3 / 4
}

// sourcesFor is how many source addresses conns connections need at per
// connections each.
func sourcesFor(conns, per int) int { return (conns + per - 1) / per }

// failure is a connection that did not get its connect push.
type failure struct {
	stage string // dial, handshake, connect
	err   error
}

func (f *failure) Error() string { return f.stage + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// reason groups failures by stage and kind.
func (f *failure) reason() string { return f.stage + ": " + errorReason(f.err) }

// errNotGranted is a connect push without the bench channel in its subs.
var errNotGranted = errors.New("channel not granted")

// dial opens connection i: TCP (from its source address), the WebSocket
// upgrade, the connect request, and the wait for the connect push, all
// within timeout. Pushes joined after the connect push are counted.
func (t *target) dial(ctx context.Context, i int, timeout time.Duration, req *core.ConnectRequest, channel string) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	if len(t.sources) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: t.sources[i%len(t.sources)]}
	}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, &failure{"dial", err}
	}
	if t.tls != nil {
		nc = tls.Client(nc, t.tls)
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	c := &conn{nc: nc, buf: make([]byte, initialBuffer), prefix: t.prefix, runMark: t.runMark}
	if err := c.connect(t, req, channel); err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Time{})
	return c, nil
}

func (c *conn) connect(t *target, req *core.ConnectRequest, channel string) error {
	if err := c.handshake(t.host, t.path); err != nil {
		return &failure{"handshake", err}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return &failure{"connect", fmt.Errorf("encode connect request: %w", err)}
	}
	if err := c.writeFrame(opText, b); err != nil {
		return &failure{"connect", err}
	}
	msg, err := c.message()
	if err != nil {
		return &failure{"connect", err}
	}
	line, rest := nextLine(msg)
	p, err := client.DecodePush(line)
	switch {
	case err != nil:
		return &failure{"connect", err}
	case p.Disconnect != nil:
		return &failure{"connect", errors.New(describeDisconnect(line))}
	case p.Connect == nil:
		return &failure{"connect", fmt.Errorf("first push is %s, not connect", p.Kind())}
	}
	if _, ok := p.Connect.Subs[channel]; !ok {
		return &failure{"connect", errNotGranted}
	}
	if len(rest) > 0 {
		c.handle(rest)
	}
	return nil
}
