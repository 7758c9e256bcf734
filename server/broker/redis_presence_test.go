package broker_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
	"github.com/uniws/uniws/server/broker/redistest"
)

// redisKeys lists the keys of srv that start with prefix.
func redisKeys(t *testing.T, srv *redistest.Server, prefix string) []string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	keys, err := c.Keys(testCtx(t), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func presenceIDs(t *testing.T, pm broker.PresenceManager, ch string) []string {
	t.Helper()
	p, err := pm.Presence(testCtx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(p))
}

func addPresence(t *testing.T, pm broker.PresenceManager, ch, client, user string, ttl time.Duration) {
	t.Helper()
	if err := pm.AddPresence(testCtx(t), ch, client, core.ClientInfo{User: user, Client: client}, ttl); err != nil {
		t.Fatal(err)
	}
}

// pollUntil checks cond every few milliseconds until it holds, and fails
// the test after 10s.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisPresenceOfDeadNode: a node closed without removing its entries
// (as a crash leaves them) stays present until their TTL, then disappears
// from every other node's reads; once no node adds anything to a channel,
// Redis drops its keys.
func TestRedisPresenceOfDeadNode(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	opts := fast
	opts.Prefix = "dead" + broker.NewEpoch()
	a, _ := startRedis(t, opts, srv)
	b, _ := startRedis(t, opts, srv)
	const ttl = 500 * time.Millisecond
	shared, alone := "room", "alone"
	start := time.Now()
	addPresence(t, a, shared, "a1", "ann", ttl)
	addPresence(t, a, alone, "a2", "ann", ttl)
	addPresence(t, b, shared, "b1", "bob", time.Minute)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := presenceIDs(t, b, shared)
	if time.Since(start) < ttl/2 && !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("presence before the dead node's TTL passed: %q", got)
	}
	pollUntil(t, "the dead node's entries to expire", func() bool {
		return slices.Equal(presenceIDs(t, b, shared), []string{"b1"})
	})
	if st, err := b.PresenceStats(testCtx(t), shared); err != nil || st != (broker.PresenceStats{NumClients: 1, NumUsers: 1}) {
		t.Fatalf("stats after expiry: %+v, %v", st, err)
	}
	pollUntil(t, "redis to drop the keys of a channel nobody renews", func() bool {
		return len(redisKeys(t, srv, opts.Prefix+".presence")) == 3 // shared's only
	})
	if ids := presenceIDs(t, b, alone); len(ids) != 0 {
		t.Fatalf("presence of %s: %q", alone, ids)
	}
}

// TestRedisPresenceCountsUsers: users are counted by their live clients,
// through adds, expiry and removal, and an empty channel leaves no keys.
func TestRedisPresenceCountsUsers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := &testClock{now: time.Now()}
	prefix := "users" + broker.NewEpoch()
	b, _ := startRedis(t, broker.RedisOptions{Prefix: prefix, Now: clk.Now}, srv)
	stats := func(clients, users int) {
		t.Helper()
		st, err := b.PresenceStats(testCtx(t), "ch")
		if err != nil || st != (broker.PresenceStats{NumClients: clients, NumUsers: users}) {
			t.Fatalf("stats %+v, %v; want %d clients, %d users", st, err, clients, users)
		}
	}
	addPresence(t, b, "ch", "c1", "u1", time.Second)
	addPresence(t, b, "ch", "c2", "u1", time.Hour)
	addPresence(t, b, "ch", "c3", "u2", time.Second)
	stats(3, 2)
	clk.Advance(2 * time.Second)
	stats(1, 1) // c1 and c3 expired; u1 keeps c2
	addPresence(t, b, "ch", "c1", "u1", time.Hour)
	addPresence(t, b, "ch", "c3", "u3", time.Hour) // an id back with another user
	stats(3, 2)
	for _, id := range []string{"c1", "c2", "c3", "c3"} {
		if err := b.RemovePresence(testCtx(t), "ch", id, ""); err != nil {
			t.Fatal(err)
		}
	}
	stats(0, 0)
	if keys := redisKeys(t, srv, prefix+".presence"); len(keys) != 0 {
		t.Fatalf("keys left after every client left: %q", keys)
	}
}

// TestRedisPresenceSharded: a channel's presence lives under the prefix on
// the shard that holds its stream, and every node reads it there.
func TestRedisPresenceSharded(t *testing.T) {
	t.Parallel()
	srvs := []*redistest.Server{redistest.Start(t), redistest.Start(t)}
	opts := fast
	opts.Prefix = "pshards" + broker.NewEpoch()
	a, _ := startRedis(t, opts, srvs...)
	b, _ := startRedis(t, opts, srvs...)
	const channels = 16
	for i := range channels {
		ch := "p" + string(rune('a'+i))
		addPresence(t, a, ch, "c", "u", time.Minute)
		if _, err := a.Publish(testCtx(t), ch, []byte(`1`), broker.PublishOptions{HistorySize: 1, HistoryTTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if ids := presenceIDs(t, b, ch); !slices.Equal(ids, []string{"c"}) {
			t.Fatalf("presence of %s read on another node: %q", ch, ids)
		}
	}
	total := 0
	for _, s := range srvs {
		keys := redisKeys(t, s, "")
		perChannel := map[string]int{}
		for _, k := range keys {
			if !strings.HasPrefix(k, opts.Prefix+".") {
				t.Fatalf("redis %s holds %q outside the prefix", s.Addr(), k)
			}
			if i := strings.LastIndexByte(k, '.'); strings.HasPrefix(k[i+1:], "p") && len(k)-i == 3 {
				perChannel[k[i+1:]]++
			}
		}
		for ch, n := range perChannel {
			if n != 5 { // three of presence, the stream and its meta
				t.Fatalf("redis %s holds %d keys of %s: %q", s.Addr(), n, ch, keys)
			}
		}
		if len(perChannel) == 0 || len(perChannel) == channels {
			t.Fatalf("redis %s holds %d of %d channels: want a share", s.Addr(), len(perChannel), channels)
		}
		total += len(perChannel)
	}
	if total != channels {
		t.Fatalf("%d channels found, want %d", total, channels)
	}
}

// TestRedisJoinLeaveAcrossNodes: joins and leaves published on one node
// reach another node's handler in order with the channel's publications;
// a handler without JoinLeaveHandler gets the publications only.
func TestRedisJoinLeaveAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	opts := fast
	opts.Prefix = "jl" + broker.NewEpoch()
	a, rec := startRedis(t, opts, srv)
	b := newRedis(t, opts, srv)
	log := brokertest.NewEventLog()
	if err := b.Run(log); err != nil {
		t.Fatal(err)
	}
	for _, n := range []broker.Broker{a, b} {
		if err := n.Subscribe(testCtx(t), "room"); err != nil {
			t.Fatal(err)
		}
	}
	info := core.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{"n": 1}`)}
	pub := func(data string) {
		if _, err := a.Publish(testCtx(t), "room", []byte(data), broker.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pub("1")
	if err := a.PublishJoin(testCtx(t), "room", info); err != nil {
		t.Fatal(err)
	}
	pub("2")
	if err := a.PublishLeave(testCtx(t), "room", info); err != nil {
		t.Fatal(err)
	}
	pub("3")
	want := []string{"pub 1", `join u c {"n": 1} `, "pub 2", `leave u c {"n": 1} `, "pub 3"}
	if got := log.Events(t, "room", len(want)); !slices.Equal(got, want) {
		t.Fatalf("node b got %q, want %q", got, want)
	}
	var data []string
	for _, d := range rec.Pubs(t, "room", 3) {
		data = append(data, string(d.Pub.Data))
	}
	if !slices.Equal(data, []string{"1", "2", "3"}) {
		t.Fatalf("node a's publications: %q", data)
	}
}
