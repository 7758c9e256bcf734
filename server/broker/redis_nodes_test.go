package broker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
	"github.com/uniws/uniws/server/broker/redistest"
)

// describedRecorder is a Handler that describes its node.
type describedRecorder struct {
	*brokertest.Recorder
	info broker.NodeInfo
}

func (d describedRecorder) Describe() broker.NodeInfo { return d.info }

func nodeNames(t *testing.T, b broker.Nodes) []string {
	t.Helper()
	nodes, err := b.Nodes(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// waitNodes polls b's node list until it is want.
func waitNodes(t *testing.T, b broker.Nodes, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := nodeNames(t, b)
		if jsonString(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes %s, want %s", jsonString(got), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRedisNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	opts := fast
	opts.Prefix = "nodes" + broker.NewEpoch()
	start := func(name string) *broker.Redis {
		b := newRedis(t, opts, srv)
		h := describedRecorder{brokertest.NewRecorder(t), broker.NodeInfo{UID: name + "-id", Name: name, NumClients: 2, Channels: map[string]int{"news": 2}}}
		if err := b.Run(h); err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := start("a"), start("b")
	waitNodes(t, a, `["a","b"]`)
	waitNodes(t, b, `["b","a"]`)
	nodes, err := a.Nodes(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if n := nodes[1]; n.UID != "b-id" || n.NumClients != 2 || n.Channels["news"] != 2 {
		t.Fatalf("node b as seen from a: %+v", n)
	}

	// A node that stops heartbeating drops out once its entry expires.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	ghost, _ := json.Marshal(broker.NodeInfo{UID: "ghost", Name: "c"})
	ctx := context.Background()
	if err := admin.Set(ctx, opts.Prefix+".node.ghost", ghost, 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.SAdd(ctx, opts.Prefix+".nodes", "ghost").Err(); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, a, `["a","b","c"]`)
	waitNodes(t, a, `["a","b"]`)

	// An id whose node key is gone leaves the registry with the next
	// heartbeat, without a reader; the registry expires with its nodes.
	if err := admin.SAdd(ctx, opts.Prefix+".nodes", "crashed").Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, err := admin.SIsMember(ctx, opts.Prefix+".nodes", "crashed").Result()
		if err != nil {
			t.Fatal(err)
		}
		if !left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a crashed node's id stays in the registry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ttl, err := admin.TTL(ctx, opts.Prefix+".nodes").Result(); err != nil || ttl <= 0 {
		t.Fatalf("registry TTL %v %v, want one", ttl, err)
	}

	// A node that closes leaves at once.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := jsonString(nodeNames(t, a)); got != `["a"]` {
		t.Fatalf("nodes after b closed: %s", got)
	}
}

func TestRedisShards(t *testing.T) {
	t.Parallel()
	srvs := []*redistest.Server{redistest.Start(t), redistest.Start(t)}
	opts := fast
	opts.Prefix = "shards" + broker.NewEpoch()
	a, rec := startRedis(t, opts, srvs...)
	b, _ := startRedis(t, opts, srvs...)
	hist := broker.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	const channels = 32
	for i := range channels {
		ch := "s" + string(rune('a'+i))
		if err := a.Subscribe(testCtx(t), ch); err != nil {
			t.Fatal(err)
		}
		if sp, err := a.Publish(testCtx(t), ch, []byte(`1`), hist); err != nil || sp.Offset != 1 {
			t.Fatalf("publish on a: %+v, %v", sp, err)
		}
		// The other node computes the same shard: one stream per channel.
		sp, err := b.Publish(testCtx(t), ch, []byte(`2`), hist)
		if err != nil || sp.Offset != 2 {
			t.Fatalf("publish on b: %+v, %v", sp, err)
		}
		if ds := rec.Pubs(t, ch, 2); ds[1].SP != sp {
			t.Fatalf("channel %s: delivered %+v, want %+v", ch, ds[1].SP, sp)
		}
	}
	for _, s := range srvs {
		c := redis.NewClient(&redis.Options{Addr: s.Addr()})
		n, err := c.Keys(testCtx(t), opts.Prefix+".meta.*").Result()
		c.Close()
		if err != nil || len(n) == 0 || len(n) == channels {
			t.Fatalf("redis %s holds %d of %d streams (%v): want a share", s.Addr(), len(n), channels, err)
		}
	}
}
