package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/client"
)

// cutDialer records the client's TCP connections so a test can cut them.
type cutDialer struct {
	mu   sync.Mutex
	last net.Conn
}

func (d *cutDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.last = c
		d.mu.Unlock()
	}
	return c, err
}

// cut closes the latest connection from the client side.
func (d *cutDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil {
		d.last.Close()
	}
}

// TestSoakRecoveryAcrossCuts publishes 20,000 numbered messages at full
// speed while the subscriber's connection is cut again and again (API
// disconnect 3011 and client-side TCP close). The client recovers on every
// reconnect and must end with offsets 1..20000 exactly once, in order.
func TestSoakRecoveryAcrossCuts(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	const total = 20000
	ts := startServer(t, `"client_recovery_max_publication_limit":20000,"namespaces":[{"name":"hist","history_size":20000,"history_ttl":"600s","force_recovery":true}]`)
	tok := channelToken(t, "soak", "hist:soak")
	dialer := &cutDialer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := client.Dial(ctx, client.Options{
		URL:       ts.wsURL(),
		Token:     tok,
		Reconnect: true,
		Backoff:   client.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 2, Jitter: 0.2},
		Dialer:    &websocket.Dialer{NetDialContext: dialer.dial, HandshakeTimeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Wait for the first connect before publishing.
	for ev := range conn.Events() {
		if ev.Kind == client.KindState && ev.State == client.StateConnected {
			break
		}
	}

	start := time.Now()
	var published atomic.Int64
	pubDone := make(chan error, 1)
	go func() {
		httpc := &http.Client{}
		defer httpc.CloseIdleConnections()
		for i := 1; i <= total; i++ {
			body := fmt.Sprintf(`{"channel":"hist:soak","data":{"n":%d}}`, i)
			req, _ := http.NewRequest(http.MethodPost, ts.url+"/api/publish", strings.NewReader(body))
			req.Header.Set("X-API-Key", testAPIKey)
			resp, err := httpc.Do(req)
			if err != nil {
				pubDone <- err
				return
			}
			resp.Body.Close()
			published.Store(int64(i))
		}
		pubDone <- nil
	}()

	// Cut the connection every 1,000 publications, alternating the ways.
	cutsDone := make(chan int, 1)
	go func() {
		cuts := 0
		for next := int64(500); next < total; next += 900 {
			for published.Load() < next {
				if ctx.Err() != nil {
					cutsDone <- cuts
					return
				}
				time.Sleep(time.Millisecond)
			}
			if cuts%2 == 0 {
				ts.api("disconnect", testAPIKey, `{"user":"soak","disconnect":{"code":3011,"reason":"force reconnect"}}`)
			} else {
				dialer.cut()
			}
			cuts++
		}
		cutsDone <- cuts
	}()

	var last uint64
	dups, gaps, recovered, reconnects := 0, 0, 0, 0
	deadline := time.After(3 * time.Minute)
	for last < total {
		var ev client.Event
		select {
		case ev = <-conn.Events():
		case <-deadline:
			t.Fatalf("stalled at offset %d of %d", last, total)
		}
		switch {
		case ev.Kind == client.KindGap:
			t.Fatalf("gap reported: %+v", ev.Gap)
		case ev.Kind == client.KindState && ev.State == client.StateReconnecting:
			reconnects++
		case ev.Kind == client.KindState && ev.State == client.StateClosed:
			t.Fatalf("stream closed: %d %s %v", ev.Code, ev.Reason, ev.Err)
		case ev.Kind == client.KindPush && ev.Push.Pub != nil:
			off := ev.Push.Pub.Offset
			switch {
			case off <= last:
				dups++
			case off != last+1:
				gaps++
			}
			if off > last {
				last = off
			}
			if ev.Recovered {
				recovered++
			}
		}
	}
	if err := <-pubDone; err != nil {
		t.Fatalf("publish: %v", err)
	}
	cancel()
	cuts := <-cutsDone
	t.Logf("soak: %d messages, %d cuts, %d reconnects, %d recovered, %d duplicates, %d gaps, %s",
		total, cuts, reconnects, recovered, dups, gaps, time.Since(start).Round(time.Millisecond))
	if dups != 0 || gaps != 0 {
		t.Fatalf("%d duplicates, %d gaps", dups, gaps)
	}
	if cuts < 20 || reconnects < 20 {
		t.Fatalf("only %d cuts and %d reconnects", cuts, reconnects)
	}
}

// TestRestartChangesEpochAndClientReportsGap: a memory engine restart gives
// a new epoch; the reconnecting client is told of the gap.
func TestRestartChangesEpochAndClientReportsGap(t *testing.T) {
	t.Parallel()
	cfg := `"namespaces":[{"name":"hist","history_size":100,"history_ttl":"600s","force_recovery":true}]`
	first := startServer(t, cfg)
	first.publish("hist:r", `{"n":1}`)
	tok := channelToken(t, "u", "hist:r")

	// One address for both lives of the server: a tiny proxy in front.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var target atomic.Value
	target.Store(strings.TrimPrefix(first.url, "http://"))
	proxyDone := make(chan struct{})
	var proxies sync.WaitGroup
	go func() {
		defer close(proxyDone)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			proxies.Add(1)
			go func() {
				defer proxies.Done()
				pipe(c, target.Load().(string))
			}()
		}
	}()
	defer func() {
		ln.Close()
		<-proxyDone
		proxies.Wait()
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := client.Dial(ctx, client.Options{
		URL:       "ws://" + ln.Addr().String() + "/connection/uni_websocket",
		Token:     tok,
		Reconnect: true,
		Backoff:   client.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, conn, func(ev client.Event) bool { return ev.Kind == client.KindState && ev.State == client.StateConnected })
	first.publish("hist:r", `{"n":2}`)
	waitFor(t, conn, func(ev client.Event) bool { return ev.Kind == client.KindPush && ev.Push.Pub != nil })

	second := startServer(t, cfg)
	target.Store(strings.TrimPrefix(second.url, "http://"))
	first.srv.Shutdown() // every client gets 3001 and reconnects through the proxy
	gap := waitFor(t, conn, func(ev client.Event) bool { return ev.Kind == client.KindGap })
	if gap.Gap.Channel != "hist:r" || gap.Gap.From.Offset != 2 || gap.Gap.To.Epoch == gap.Gap.From.Epoch {
		t.Fatalf("gap %+v", gap.Gap)
	}
}

func waitFor(t *testing.T, conn *client.Conn, match func(client.Event) bool) client.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				t.Fatal("event stream ended")
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("timed out waiting for an event")
		}
	}
}

// pipe copies bytes both ways between c and a new connection to addr.
func pipe(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { copyConn(up, c); done <- struct{}{} }()
	go func() { copyConn(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
