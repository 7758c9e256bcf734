package broker_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
	"github.com/uniws/uniws/server/broker/redistest"
)

// newRedis returns an engine on srvs under a prefix no other engine of the
// test run uses, closed at the end of the test.
func newRedis(t *testing.T, opts broker.RedisOptions, srvs ...*redistest.Server) *broker.Redis {
	t.Helper()
	for _, s := range srvs {
		opts.Addresses = append(opts.Addresses, s.Addr())
	}
	if opts.Prefix == "" {
		opts.Prefix = "t" + broker.NewEpoch()
	}
	b, err := broker.NewRedis(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		return newRedis(t, broker.RedisOptions{Heartbeat: 100 * time.Millisecond}, srv)
	})
}

// TestRedisPresence runs the presence checks on an engine whose clock the
// test moves: entries expire by the clock of the node that reads them.
func TestRedisPresence(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := &testClock{now: time.Now()}
	b := newRedis(t, broker.RedisOptions{Now: clk.Now}, srv)
	if err := b.Run(brokertest.NewRecorder(t)); err != nil {
		t.Fatal(err)
	}
	brokertest.Presence(t, b, func() { clk.Advance(brokertest.PresenceTTL + time.Second) })
	_ = b.Close()
	if err := b.AddPresence(testCtx(t), "ch", "c", core.ClientInfo{}, time.Minute); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("add presence after close: %v, want ErrClosed", err)
	}
}

func TestRedisJoinLeave(t *testing.T) {
	t.Parallel()
	brokertest.JoinLeave(t, newRedis(t, broker.RedisOptions{}, redistest.Start(t)))
}

// testClock is a clock the test moves; safe for concurrent use.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRedisSubscriptionsAreCounted holds the engine to the Broker contract
// the node relies on: every session subscribes, and the channel stays
// subscribed until each of them has unsubscribed.
func TestRedisSubscriptionsAreCounted(t *testing.T) {
	t.Parallel()
	b, rec := startRedis(t, broker.RedisOptions{}, redistest.Start(t))
	ctx := testCtx(t)
	subscribe := func(ch string) {
		t.Helper()
		if err := b.Subscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	unsubscribe := func(ch string) {
		t.Helper()
		if err := b.Unsubscribe(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(ch string) {
		t.Helper()
		if _, err := b.Publish(ctx, ch, []byte(`{}`), broker.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	subscribe("counted")
	subscribe("counted")
	unsubscribe("counted")
	publish("counted")
	rec.Pubs(t, "counted", 1) // one subscription is left

	unsubscribe("counted")
	// The UNSUBSCRIBE goes out with the engine's next batch of commands;
	// the second of two confirmed subscriptions went out after it.
	subscribe("barrier-1")
	subscribe("barrier-2")
	publish("counted")
	publish("barrier-2")
	rec.Pubs(t, "barrier-2", 1)
	if got := len(rec.Pubs(t, "counted", 0)); got != 1 {
		t.Fatalf("%d publications on the unsubscribed channel, want the 1 from before", got)
	}
}
