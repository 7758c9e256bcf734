package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/broker"
)

// gatedEngine is the memory engine with a gate in front of one channel's
// Subscribe (standing in for a slow Redis SUBSCRIBE) or in front of the
// first AddPresence (the round trips Connect makes after registering the
// session). It counts the gated channel's subscriptions.
type gatedEngine struct {
	*broker.Memory
	channel  string // Subscribe of this channel waits
	presence bool   // the first AddPresence waits
	entered  chan struct{}
	gate     chan struct{}

	mu      sync.Mutex
	once    bool
	balance int // Subscribe minus Unsubscribe of channel
}

func newGatedEngine(channel string, presence bool) *gatedEngine {
	return &gatedEngine{Memory: broker.NewMemory(nil), channel: channel, presence: presence,
		entered: make(chan struct{}), gate: make(chan struct{})}
}

// wait blocks the first caller at the gate.
func (g *gatedEngine) wait() {
	g.mu.Lock()
	first := !g.once
	g.once = true
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.gate
	}
}

func (g *gatedEngine) Subscribe(ctx context.Context, ch string) error {
	if ch == g.channel {
		g.mu.Lock()
		g.balance++
		g.mu.Unlock()
		g.wait()
	}
	return g.Memory.Subscribe(ctx, ch)
}

func (g *gatedEngine) Unsubscribe(ctx context.Context, ch string) error {
	if ch == g.channel {
		g.mu.Lock()
		g.balance--
		g.mu.Unlock()
	}
	return g.Memory.Unsubscribe(ctx, ch)
}

func (g *gatedEngine) AddPresence(ctx context.Context, ch, client string, info core.ClientInfo, ttl time.Duration) error {
	if g.presence {
		g.wait()
	}
	return g.Memory.AddPresence(ctx, ch, client, info, ttl)
}

func (g *gatedEngine) subscriptions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.balance
}

// TestAPISubscribeRacingDisconnectLeavesNothing: a client leaves while an
// API subscribe for it waits for the engine. Once the subscribe is done the
// channel must be gone from the hub and the engine, as if it had never
// been subscribed.
func TestAPISubscribeRacingDisconnectLeavesNothing(t *testing.T) {
	t.Parallel()
	g := newGatedEngine("slow", false)
	ts := startServer(t, "", server.WithBroker(g))
	conn, push := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	if !strings.Contains(push, `"connect"`) {
		t.Fatalf("connect: %s", push)
	}
	done := make(chan string, 1)
	go func() {
		_, out := ts.api("subscribe", testAPIKey, `{"user":"u","channel":"slow"}`)
		done <- out
	}()
	<-g.entered
	conn.Close()
	waitUntil(t, "the client to be gone", func() bool {
		_, out := ts.api("info", testAPIKey, `{}`)
		return strings.Contains(out, `"num_clients":0`)
	})
	close(g.gate)
	if out := <-done; out != `{"result":{}}` {
		t.Fatalf("subscribe: %s", out)
	}
	if _, out := ts.api("channels", testAPIKey, `{}`); out != `{"result":{"channels":{}}}` {
		t.Errorf("no client is connected, yet channels: %s", out)
	}
	if _, out := ts.api("info", testAPIKey, `{}`); !strings.Contains(out, `"num_subs":0`) {
		t.Errorf("info: %s", out)
	}
	if n := g.subscriptions(); n != 0 {
		t.Errorf("engine subscriptions of the channel: %d, want 0", n)
	}
}

// TestAPISubscribeWhileConnecting: an API subscribe with recover_since that
// finds its session registered but not yet connected (Connect is still
// adding presence) reaches the client after the connect push: the
// subscribe push, the recovered publications, then live ones.
func TestAPISubscribeWhileConnecting(t *testing.T) {
	t.Parallel()
	g := newGatedEngine("", true)
	ts := startServer(t, `"namespaces":[{"name":"pres","presence":true},{"name":"hist","history_size":10,"history_ttl":"300s","force_recovery":true}]`, server.WithBroker(g))
	for range 3 {
		ts.publish("hist:x", `{}`)
	}
	_, epoch := topOf(t, ts, "hist:x")
	conn := ts.dial(nil)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+channelToken(t, "u", "pres:a")+`"}`)); err != nil {
		t.Fatal(err)
	}
	<-g.entered // the session is registered; Connect waits in AddPresence
	if _, out := ts.api("subscribe", testAPIKey, `{"user":"u","channel":"hist:x","recover_since":{"offset":1,"epoch":"`+epoch+`"}}`); out != `{"result":{}}` {
		t.Fatalf("subscribe: %s", out)
	}
	ts.publish("hist:x", `{"live":4}`)
	close(g.gate)
	want := []string{
		`{"connect":`,
		`{"channel":"hist:x","subscribe":{"recoverable":true,"epoch":"` + epoch + `","offset":3,"positioned":true}}`,
		`{"channel":"hist:x","pub":{"data":{},"offset":2}}`,
		`{"channel":"hist:x","pub":{"data":{},"offset":3}}`,
		`{"channel":"hist:x","pub":{"data":{"live":4},"offset":4}}`,
	}
	for i, w := range want {
		got := readFrame(t, conn)
		if !strings.HasPrefix(got, w) {
			t.Fatalf("frame %d: %s\nwant %s", i, got, w)
		}
	}
}

// TestParallelAPISubscribesSendOnce: two API subscribes of one session to
// one channel in a parallel batch subscribe it once: one subscribe push and
// each recovered publication once.
func TestParallelAPISubscribesSendOnce(t *testing.T) {
	t.Parallel()
	ts := startServer(t, histNS)
	for range 3 {
		ts.publish("hist:d", `{}`)
	}
	_, epoch := topOf(t, ts, "hist:d")
	for try := range 50 {
		user := fmt.Sprintf("u%d", try)
		conn, _ := ts.connect(`{"token":"` + ts.token(user, time.Hour) + `"}`)
		cmd := `{"method":"subscribe","params":{"user":"` + user + `","channel":"hist:d","recover_since":{"offset":1,"epoch":"` + epoch + `"}}}`
		ts.api("batch", testAPIKey, `{"parallel":true,"commands":[`+cmd+`,`+cmd+`]}`)
		ts.publish("#"+user, `{"end":1}`)
		var frames []string
		for {
			f := readFrame(t, conn)
			if strings.Contains(f, `"end"`) {
				break
			}
			frames = append(frames, f)
		}
		conn.Close()
		if len(frames) != 3 {
			t.Fatalf("try %d: want the subscribe push and offsets 2 and 3, got:\n%s", try, strings.Join(frames, "\n"))
		}
	}
}

// historyGate is the memory engine that hands the test its Handler and,
// once armed, holds the next History call of a channel at a gate.
type historyGate struct {
	*broker.Memory
	handler broker.Handler
	channel string
	armed   chan struct{} // closed to arm
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (g *historyGate) Run(h broker.Handler) error {
	g.handler = h
	return g.Memory.Run(h)
}

func (g *historyGate) History(ctx context.Context, ch string, opts broker.HistoryOptions) ([]*core.Publication, broker.StreamPosition, error) {
	select {
	case <-g.armed:
		if ch == g.channel {
			g.once.Do(func() {
				close(g.entered)
				<-g.gate
			})
		}
	default:
	}
	return g.Memory.History(ctx, ch, opts)
}

// TestEngineLossWhileReadingPositionCloses3010: when the engine reports
// that publications of a channel may have been lost (a Redis PUB/SUB
// reconnect) while a connecting session reads the channel's position, the
// session is closed with 3010 and recovers on reconnect, instead of
// starting at a top that may miss what was lost.
func TestEngineLossWhileReadingPositionCloses3010(t *testing.T) {
	t.Parallel()
	g := &historyGate{Memory: broker.NewMemory(nil), channel: "hist:x",
		armed: make(chan struct{}), entered: make(chan struct{}), gate: make(chan struct{})}
	ts := startServer(t, histNS, server.WithBroker(g))
	ts.publish("hist:x", `{}`)
	close(g.armed)
	conn := ts.dial(nil)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"token":"`+channelToken(t, "u", "hist:x")+`"}`)); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	g.handler.HandleResubscribe([]string{"hist:x"})
	close(g.gate)
	frames := expectClose(t, conn, 3010, "insufficient state")
	if len(frames) != 1 || frames[0] != `{"disconnect":{"code":3010,"reason":"insufficient state"}}` {
		t.Fatalf("frames before the close: %q", frames)
	}
}

// connectGates is the memory engine that holds the first History of a
// channel and the first AddPresence at gates of their own.
type connectGates struct {
	*broker.Memory
	channel                   string
	historyIn, historyGate    chan struct{}
	presenceIn, presenceGate  chan struct{}
	historyOnce, presenceOnce sync.Once
	armed                     atomic.Bool
}

func (g *connectGates) History(ctx context.Context, ch string, opts broker.HistoryOptions) ([]*core.Publication, broker.StreamPosition, error) {
	if g.armed.Load() && ch == g.channel {
		g.historyOnce.Do(func() {
			close(g.historyIn)
			<-g.historyGate
		})
	}
	return g.Memory.History(ctx, ch, opts)
}

func (g *connectGates) AddPresence(ctx context.Context, ch, client string, info core.ClientInfo, ttl time.Duration) error {
	if g.armed.Load() {
		g.presenceOnce.Do(func() {
			close(g.presenceIn)
			<-g.presenceGate
		})
	}
	return g.Memory.AddPresence(ctx, ch, client, info, ttl)
}

// TestAPIUnsubscribeWhileConnectingSendsNoDuplicate: a publication that
// arrived while a connecting session read its recovery, and that the
// connect push recovers, is not sent again when an API unsubscribe of the
// channel lands before the connect push.
func TestAPIUnsubscribeWhileConnectingSendsNoDuplicate(t *testing.T) {
	t.Parallel()
	g := &connectGates{Memory: broker.NewMemory(nil), channel: "hist:x",
		historyIn: make(chan struct{}), historyGate: make(chan struct{}),
		presenceIn: make(chan struct{}), presenceGate: make(chan struct{})}
	ts := startServer(t, `"namespaces":[{"name":"pres","presence":true},{"name":"hist","history_size":10,"history_ttl":"300s","force_recovery":true}]`, server.WithBroker(g))
	for range 3 {
		ts.publish("hist:x", `{}`)
	}
	_, epoch := topOf(t, ts, "hist:x")
	g.armed.Store(true)
	conn := ts.dial(nil)
	req := `{"token":"` + channelToken(t, "u", "hist:x", "pres:a") + `","subs":{"hist:x":{"recover":true,"offset":1,"epoch":"` + epoch + `"}}}`
	if err := conn.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
		t.Fatal(err)
	}
	<-g.historyIn
	ts.publish("hist:x", `{"late":4}`) // held for the session, and recovered below
	close(g.historyGate)
	<-g.presenceIn // the session is registered, still connecting
	if _, out := ts.api("unsubscribe", testAPIKey, `{"user":"u","channel":"hist:x"}`); out != `{"result":{}}` {
		t.Fatalf("unsubscribe: %s", out)
	}
	close(g.presenceGate)
	connect := readFrame(t, conn)
	if !strings.Contains(connect, `{"data":{"late":4},"offset":4}`) {
		t.Fatalf("connect push without the recovered publication: %s", connect)
	}
	if got := readFrame(t, conn); got != `{"channel":"hist:x","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}` {
		t.Fatalf("after the connect push: %s", got)
	}
}
