package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/redistest"
)

// holdProxy forwards TCP connections to Redis and, once armed, holds back
// the first write from a node that subscribes to a PUB/SUB channel whose
// name contains match, until release is called; everything else passes
// straight through.
type holdProxy struct {
	ln     net.Listener
	target string
	match  []byte

	mu      sync.Mutex
	armed   bool
	held    chan struct{} // closed when a subscribe is being held
	release chan struct{}
	wg      sync.WaitGroup
	conns   []net.Conn
}

func startHoldProxy(t *testing.T, target, match string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{ln: ln, target: target, match: []byte(match), held: make(chan struct{}), release: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.releaseHeld()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *holdProxy) addr() string { return p.ln.Addr().String() }

func (p *holdProxy) arm() {
	p.mu.Lock()
	p.armed = true
	p.mu.Unlock()
}

func (p *holdProxy) releaseHeld() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.release:
	default:
		close(p.release)
	}
}

func (p *holdProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		r, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, r)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(c, r); c.Close() })
		p.wg.Go(func() { p.forward(r, c); r.Close() })
	}
}

// forward copies what a node writes to Redis, holding a matching
// subscribe while armed.
func (p *holdProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if bytes.Contains(bytes.ToLower(chunk), []byte("subscribe")) && bytes.Contains(chunk, p.match) {
				p.mu.Lock()
				hold := p.armed
				if hold {
					p.armed = false
					close(p.held)
				}
				p.mu.Unlock()
				if hold {
					<-p.release
				}
			}
			if _, err := dst.Write(chunk); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestSecondSubscriberWaitsForTheEngine connects two clients to one
// positioned channel of a Redis-backed node while Redis has not yet
// confirmed the node's subscription for the first, and publishes in that
// window. The second client must not be positioned before the node can
// receive the channel's publications: it ends at the stream's top (or is
// told of a gap and recovers), never behind it with nothing to show for it.
func TestSecondSubscriberWaitsForTheEngine(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	ch := "hist:second"
	proxy := startHoldProxy(t, rs.Addr(), ch)
	cfgJSON := fmt.Sprintf(`{"token_hmac_secret_key":%q,"api_key":%q,"engine":"redis","redis_address":%q,"redis_prefix":%q,`+
		`"redis_io_timeout":"10s"%s}`, testSecret, testAPIKey, proxy.addr(), "s"+broker.NewEpoch(), clusterNS)
	cfg, err := core.ParseConfig("json", []byte(cfgJSON), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ts, _ := serveConfig(t, cfg, server.WithVersion("test"), server.WithIDs(uuid.NewString))
	ts.publish(ch, `{"n":0}`) // the stream exists: offset 1

	tok := channelToken(t, "u", ch)
	first := newStreamClient(ch, tok, fixed(ts.url))
	second := newStreamClient(ch, tok, fixed(ts.url))
	proxy.arm()
	runClients(t, first)
	<-proxy.held // the node waits for Redis to confirm the first subscription
	runClients(t, second)
	// Give the second client the time it takes to connect if nothing holds
	// it back; either way the publication below lands in the window.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, _, ok := second.position(); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.publish(ch, `{"n":1}`) // offset 2, which the node cannot receive yet
	proxy.releaseHeld()

	top, epoch := topOf(t, ts, ch)
	if top != 2 {
		t.Fatalf("stream top %d, want 2", top)
	}
	for _, cl := range []*streamClient{first, second} {
		waitUntil(t, "client at the stream's top", func() bool {
			o, e, _ := cl.position()
			return o == top && e == epoch || cl.broken()
		})
		if cl.broken() {
			t.Fatalf("client %s", cl.report())
		}
		t.Logf("client %s", cl.report())
	}
}
