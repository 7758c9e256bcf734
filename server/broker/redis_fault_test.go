package broker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
	"github.com/uniws/uniws/server/broker/redistest"
)

// fast makes a Redis outage show within about a second.
var fast = broker.RedisOptions{
	DialTimeout:  100 * time.Millisecond,
	ReadTimeout:  200 * time.Millisecond,
	WriteTimeout: 200 * time.Millisecond,
	Heartbeat:    100 * time.Millisecond,
}

func startRedis(t *testing.T, opts broker.RedisOptions, srvs ...*redistest.Server) (*broker.Redis, *brokertest.Recorder) {
	t.Helper()
	b := newRedis(t, opts, srvs...)
	rec := brokertest.NewRecorder(t)
	if err := b.Run(rec); err != nil {
		t.Fatal(err)
	}
	return b, rec
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// publishEventually retries until Redis accepts the publish again.
func publishEventually(t *testing.T, b broker.Broker, ch string, opts broker.PublishOptions) broker.StreamPosition {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sp, err := b.Publish(testCtx(t), ch, []byte(`"again"`), opts)
		if err == nil {
			return sp
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish never succeeded again: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisOutageFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b, rec := startRedis(t, fast, srv)
	ch := "faults." + broker.NewEpoch()
	hist := broker.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	if err := b.Subscribe(testCtx(t), ch); err != nil {
		t.Fatal(err)
	}
	before, err := b.Publish(testCtx(t), ch, []byte(`1`), hist)
	if err != nil {
		t.Fatal(err)
	}
	rec.Pubs(t, ch, 1)

	srv.Kill()
	if _, err := b.Publish(testCtx(t), ch, []byte(`2`), hist); err == nil || errors.Is(err, broker.ErrClosed) {
		t.Fatalf("publish while Redis is down: %v", err)
	}
	if _, _, err := b.History(testCtx(t), ch, broker.HistoryOptions{}); err == nil {
		t.Fatal("history while Redis is down succeeded")
	}
	if err := b.PublishControl(testCtx(t), []byte(`x`)); err == nil {
		t.Fatal("control publish while Redis is down succeeded")
	}
	// Once the subscriber saw its connection go, a new channel is refused
	// at once (not after the operation timeout), and a channel this node
	// subscribes already takes another subscriber.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := b.Subscribe(testCtx(t), "other."+ch)
		if err == nil {
			t.Fatal("subscribe while Redis is down succeeded")
		}
		if strings.Contains(err.Error(), "connection lost") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribe while Redis is down: %v", err)
		}
	}
	if err := b.Subscribe(testCtx(t), ch); err != nil {
		t.Fatalf("another subscriber of a subscribed channel while Redis is down: %v", err)
	}

	// Redis comes back empty: the subscription is restored and reported,
	// and the stream starts a new epoch.
	srv.Restart()
	rec.Resubscribed(t, ch)
	after := publishEventually(t, b, ch, hist)
	if after.Offset != 1 || after.Epoch == before.Epoch {
		t.Fatalf("first publish after the restart: %+v (before %+v)", after, before)
	}
	if d := rec.Pubs(t, ch, 2)[1]; d.SP != after {
		t.Fatalf("delivered %+v after the restart, want %+v", d.SP, after)
	}
	if err := b.PublishControl(testCtx(t), []byte(`back`)); err != nil {
		t.Fatal(err)
	}
	rec.Controls(t, 1)
}

func TestRedisResubscribeReportsOnlyUnproven(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b, rec := startRedis(t, fast, srv)
	seen, quiet := "seen."+broker.NewEpoch(), "quiet."+broker.NewEpoch()
	for _, ch := range []string{seen, quiet} {
		if err := b.Subscribe(testCtx(t), ch); err != nil {
			t.Fatal(err)
		}
	}
	hist := broker.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	if _, err := b.Publish(testCtx(t), seen, []byte(`1`), hist); err != nil {
		t.Fatal(err)
	}
	rec.Pubs(t, seen, 1)

	// Only the subscriber connection breaks; Redis keeps its data. The
	// channel whose last delivery is the stream's top is proven complete;
	// the one with no delivery to compare cannot be.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.Do(testCtx(t), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	rec.Resubscribed(t, quiet)
	if sp, err := b.Publish(testCtx(t), seen, []byte(`2`), hist); err != nil || sp.Offset != 2 {
		t.Fatalf("publish after resubscribe: %+v, %v", sp, err)
	}
	if d := rec.Pubs(t, seen, 2)[1]; d.Pub.Offset != 2 {
		t.Fatalf("delivered offset %d", d.Pub.Offset)
	}
	for _, call := range rec.ResubscribeCalls() {
		if slices.Contains(call, seen) {
			t.Fatalf("channel %s reported although its last delivery is the top", seen)
		}
	}
}

func TestRedisRunFailsFastWithoutRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	addr := srv.URL()
	srv.Kill()
	b, err := broker.NewRedis(broker.RedisOptions{Addresses: []string{addr}, DialTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Run(brokertest.NewRecorder(t)); err == nil {
		t.Fatal("Run succeeded without Redis")
	}
	for _, bad := range []string{"no-port", "redis://[::1", "http://x:1"} {
		if _, err := broker.NewRedis(broker.RedisOptions{Addresses: []string{bad}}); err == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
}

// TestRedisUnconfirmedChannelWaitsWhenLost: a channel whose first
// subscription was never confirmed when the connection went is not in the
// reconnect's check, so while the connection is lost it takes no
// subscriber without Redis either.
func TestRedisUnconfirmedChannelWaitsWhenLost(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	b, _ := startRedis(t, fast, srv)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	// Redis holds every command from now on: the SUBSCRIBE below is sent
	// but never confirmed.
	if err := admin.Do(testCtx(t), "CLIENT", "PAUSE", "5000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	ch := "pending." + broker.NewEpoch()
	first := make(chan error, 1)
	go func() { first <- b.Subscribe(testCtx(t), ch) }()
	time.Sleep(100 * time.Millisecond)
	srv.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := b.Subscribe(testCtx(t), "other."+ch)
		if err != nil && strings.Contains(err.Error(), "connection lost") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the subscriber never saw its connection go: %v", err)
		}
	}
	if err := b.Subscribe(testCtx(t), ch); err == nil {
		t.Fatal("a channel never confirmed took a subscriber while the connection was lost")
	}
	if err := <-first; err == nil {
		t.Fatal("the unconfirmed subscription succeeded")
	}
}
