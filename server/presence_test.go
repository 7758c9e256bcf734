package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/broker"
)

// presenceConfig has a channel namespace for every join/leave setting.
const presenceConfig = `"namespaces":[` +
	`{"name":"chat","presence":true,"join_leave":true,"force_push_join_leave":true,"allow_subscribe_for_client":true},` +
	`{"name":"quiet","presence":true,"join_leave":true,"allow_subscribe_for_client":true},` +
	`{"name":"plain","allow_subscribe_for_client":true}]`

// infoToken is a token for user with client info {"name":name}.
func infoToken(t *testing.T, user, name string) string {
	t.Helper()
	tok, err := core.Sign(jwt.SigningMethodHS256, []byte(testSecret), core.TokenOptions{User: user, TTL: time.Hour, Info: []byte(`{"name": "` + name + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPresenceAndJoinLeave runs two connections in one channel on one node;
// cluster_presence_test.go runs them across two nodes on Redis.
func TestPresenceAndJoinLeave(t *testing.T) {
	t.Parallel()
	ts := startServer(t, presenceConfig)
	subs := `,"subs":{"chat:room":{},"quiet:room":{},"plain:room":{}}}`
	ann, annConnect := ts.connect(`{"token":"` + infoToken(t, "1", "Ann") + `"` + subs)
	annID := between(annConnect, `"client":"`, `"`)
	annJoin := `{"channel":"chat:room","join":{"info":{"user":"1","client":"` + annID + `","conn_info":{"name":"Ann"}}}}`
	if got := readFrame(t, ann); got != annJoin {
		t.Fatalf("own join:\n got %s\nwant %s", got, annJoin)
	}

	bob, bobConnect := ts.connect(`{"token":"` + infoToken(t, "2", "Bob") + `"` + subs)
	bobID := between(bobConnect, `"client":"`, `"`)
	bobJoin := `{"channel":"chat:room","join":{"info":{"user":"2","client":"` + bobID + `","conn_info":{"name":"Bob"}}}}`
	for who, conn := range map[string]*websocket.Conn{"Ann": ann, "Bob": bob} {
		if got := readFrame(t, conn); got != bobJoin {
			t.Fatalf("%s got %s, want Bob's join %s", who, got, bobJoin)
		}
	}

	_, out := ts.api("presence", testAPIKey, `{"channel":"chat:room"}`)
	for _, want := range []string{
		`"` + annID + `":{"user":"1","client":"` + annID + `","conn_info":{"name":"Ann"}}`,
		`"` + bobID + `":{"user":"2","client":"` + bobID + `","conn_info":{"name":"Bob"}}`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("presence %s lacks %s", out, want)
		}
	}
	if _, out := ts.api("presence_stats", testAPIKey, `{"channel":"quiet:room"}`); out != `{"result":{"num_clients":2,"num_users":2}}` {
		t.Fatalf("presence_stats: %s", out)
	}

	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	bobLeave := strings.Replace(bobJoin, `"join"`, `"leave"`, 1)
	if got := readFrame(t, ann); got != bobLeave {
		t.Fatalf("Ann got %s, want Bob's leave %s", got, bobLeave)
	}
	// quiet (no force_push_join_leave) and plain pushed nothing: the next
	// frame is this publication.
	ts.publish("chat:room", `{"after":"leave"}`)
	if got := readFrame(t, ann); got != `{"channel":"chat:room","pub":{"data":{"after":"leave"}}}` {
		t.Fatalf("Ann got %s", got)
	}
	if _, out := ts.api("presence_stats", testAPIKey, `{"channel":"chat:room"}`); out != `{"result":{"num_clients":1,"num_users":1}}` {
		t.Fatalf("presence_stats after leave: %s", out)
	}

	for body, want := range map[string]string{
		`{"channel":"plain:room"}`: `{"error":{"code":108,"message":"not available"}}`,
		`{"channel":"nope:room"}`:  `{"error":{"code":102,"message":"unknown channel"}}`,
		`{"channel":""}`:           `{"error":{"code":107,"message":"bad request"}}`,
		`{"channel":"chat:empty"}`: `{"result":{"presence":{}}}`,
	} {
		if _, out := ts.api("presence", testAPIKey, body); out != want {
			t.Errorf("presence %s = %s, want %s", body, out, want)
		}
	}
}

// TestAPISubscribeJoinsAndUnsubscribeLeaves: server-side subscriptions
// through the API join and leave like connect-time ones, with the channel
// info the API gave.
func TestAPISubscribeJoinsAndUnsubscribeLeaves(t *testing.T) {
	t.Parallel()
	ts := startServer(t, presenceConfig)
	watcher, _ := ts.connect(`{"token":"` + infoToken(t, "w", "Wat") + `","subs":{"chat:room":{}}}`)
	readFrame(t, watcher) // own join
	conn, connect := ts.connect(`{"token":"` + infoToken(t, "u", "Una") + `"}`)
	id := between(connect, `"client":"`, `"`)
	// Data and info reach clients byte for byte, spaces included.
	ts.api("subscribe", testAPIKey, `{"user":"u","channel":"chat:room","info":{"role" : "guest"},"data":{"d" : [1, 2]}}`)
	join := `{"channel":"chat:room","join":{"info":{"user":"u","client":"` + id + `","conn_info":{"name":"Una"},"chan_info":{"role" : "guest"}}}}`
	if got := readFrame(t, conn); got != `{"channel":"chat:room","subscribe":{"data":{"d" : [1, 2]}}}` {
		t.Fatalf("subscribe push %s", got)
	}
	if got := readFrame(t, watcher); got != join {
		t.Fatalf("join:\n got %s\nwant %s", got, join)
	}
	ts.api("unsubscribe", testAPIKey, `{"user":"u","channel":"chat:room"}`)
	if got := readFrame(t, watcher); got != strings.Replace(join, `"join"`, `"leave"`, 1) {
		t.Fatalf("leave: %s", got)
	}
	if _, out := ts.api("presence_stats", testAPIKey, `{"channel":"chat:room"}`); out != `{"result":{"num_clients":1,"num_users":1}}` {
		t.Fatalf("presence_stats: %s", out)
	}
}

// TestPersonalSingleConnection: a user's new connection closes the older
// one with 3504; other users are not touched.
func TestPersonalSingleConnection(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"presence":true,"client_user_personal_single_connection":true`)
	other, _ := ts.connect(`{"token":"` + ts.token("other", time.Hour) + `"}`)
	first, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	second, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	frames := expectClose(t, first, 3504, "connection limit")
	if frames[len(frames)-1] != `{"disconnect":{"code":3504,"reason":"connection limit"}}` {
		t.Fatalf("frames %q", frames)
	}
	ts.publish("#u", `{"to":"u"}`)
	if got := readFrame(t, second); got != `{"channel":"#u","pub":{"data":{"to":"u"}}}` {
		t.Fatalf("newer connection got %s", got)
	}
	ts.publish("#other", `{}`)
	if got := readFrame(t, other); got != `{"channel":"#other","pub":{"data":{}}}` {
		t.Fatalf("other user's connection got %s", got)
	}
}

// TestPresenceIsRenewed: entries expire on the engine's clock unless the
// node adds them again; a live connection's entry comes back at the next
// client_presence_update_interval after its TTL passed.
func TestPresenceIsRenewed(t *testing.T) {
	t.Parallel()
	clk := &manualClock{now: fixedNow}
	ts := startServer(t, `"presence":true,"client_presence_update_interval":"5ms"`, server.WithClock(clk.Now))
	tok, err := core.SignHMAC(testSecret, core.TokenOptions{User: "u", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	ts.connect(`{"token":"` + tok + `"}`)
	stats := func() string {
		_, out := ts.api("presence_stats", testAPIKey, `{"channel":"#u"}`)
		return out
	}
	const one = `{"result":{"num_clients":1,"num_users":1}}`
	if got := stats(); got != one {
		t.Fatalf("presence_stats %s", got)
	}
	clk.advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for stats() != one {
		if time.Now().After(deadline) {
			t.Fatal("presence was not renewed")
		}
	}
}

// slowPresence is the memory engine with, once armed, a round trip of
// delay on AddPresence, which fails when its context ends first.
type slowPresence struct {
	*broker.Memory
	delay time.Duration
	armed atomic.Bool // set once every client has connected

	mu       sync.Mutex
	renewed  map[string]bool // clients renewed since armed
	failures int
}

func (b *slowPresence) AddPresence(ctx context.Context, ch, client string, info core.ClientInfo, ttl time.Duration) error {
	if b.armed.Load() {
		select {
		case <-time.After(b.delay):
		case <-ctx.Done():
			b.mu.Lock()
			b.failures++
			b.mu.Unlock()
			return ctx.Err()
		}
		b.mu.Lock()
		b.renewed[client] = true
		b.mu.Unlock()
	}
	return b.Memory.AddPresence(ctx, ch, client, info, ttl)
}

func (b *slowPresence) counts() (renewed, failures int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.renewed), b.failures
}

const presenceClients = 60

// TestPresenceRenewalOfManySessions: a round of renewals of many sessions
// on an engine with a 100 ms round trip renews every one of them; in turn
// under one 5 s deadline, the later ones failed and their entries expired
// with their clients still connected.
func TestPresenceRenewalOfManySessions(t *testing.T) {
	t.Parallel()
	b := &slowPresence{Memory: broker.NewMemory(nil), delay: 100 * time.Millisecond, renewed: map[string]bool{}}
	ts := startServer(t, `"presence":true,"client_presence_update_interval":"1s"`, server.WithBroker(b))
	for i := range presenceClients {
		conn, _ := ts.connect(`{"token":"` + ts.token(fmt.Sprintf("u%d", i), time.Hour) + `"}`)
		defer conn.Close()
	}
	b.armed.Store(true)
	waitUntil(t, "a round of renewals", func() bool {
		renewed, failures := b.counts()
		if failures > 0 {
			t.Fatalf("%d renewals failed, %d done", failures, renewed)
		}
		return renewed == presenceClients
	})
}
