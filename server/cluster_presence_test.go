package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server"
	"github.com/uniws/uniws/server/broker"
)

// clusterPresenceNS is a namespace with presence and join/leave pushed to
// uni clients, renewed every 100ms.
const clusterPresenceNS = `,"client_presence_update_interval":"100ms","namespaces":[` +
	`{"name":"chat","presence":true,"join_leave":true,"force_push_join_leave":true,"allow_subscribe_for_client":true}]`

// presenceTTL is how long a presence entry outlives its last renewal in
// these tests; a node asks for at least a minute.
const presenceTTL = 2 * time.Second

// shortPresence is a node's Redis engine whose presence entries live
// presenceTTL, so a dead node's entries go within the test.
type shortPresence struct{ *broker.Redis }

func (e shortPresence) AddPresence(ctx context.Context, ch, clientID string, info core.ClientInfo, _ time.Duration) error {
	return e.Redis.AddPresence(ctx, ch, clientID, info, presenceTTL)
}

// presenceNode is a cluster node whose engine the test can reach.
type presenceNode struct {
	*node
	engine *broker.Redis
}

// startPresenceNode starts a node of c on a shortPresence engine.
func startPresenceNode(c *cluster) presenceNode {
	c.t.Helper()
	cfgJSON := fmt.Sprintf(`{"token_hmac_secret_key":%q,"api_key":%q,"engine":"redis","redis_address":%q,"redis_prefix":%q%s}`,
		testSecret, testAPIKey, c.redis.Addr(), c.prefix, c.extra)
	cfg, err := core.ParseConfig("json", []byte(cfgJSON), nil)
	if err != nil {
		c.t.Fatalf("config: %v", err)
	}
	engine, err := broker.NewRedis(broker.RedisOptions{
		Addresses:    []string{c.redis.Addr()},
		Prefix:       c.prefix,
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	ts, stop := serveConfig(c.t, cfg, server.WithVersion("test"), server.WithIDs(uuid.NewString), server.WithBroker(shortPresence{engine}))
	return presenceNode{node: &node{testServer: ts, stop: stop}, engine: engine}
}

// joinChat connects user (client info {"name":name}) to chat:room on n
// and returns the connection, its client id and its join push.
func joinChat(t *testing.T, n presenceNode, user, name string) (*websocket.Conn, string, string) {
	t.Helper()
	conn, connect := n.connect(`{"token":"` + infoToken(t, user, name) + `","subs":{"chat:room":{}}}`)
	id := between(connect, `"client":"`, `"`)
	if id == "" {
		t.Fatalf("connect %s", connect)
	}
	join := `{"channel":"chat:room","join":{"info":{"user":"` + user + `","client":"` + id + `","conn_info":{"name":"` + name + `"}}}}`
	if got := readFrame(t, conn); got != join {
		t.Fatalf("%s's own join:\n got %s\nwant %s", name, got, join)
	}
	return conn, id, join
}

// wantPresence checks API presence and presence_stats of chat:room on n:
// exactly the clients ids, of as many users.
func wantPresence(t *testing.T, n presenceNode, ids ...string) {
	t.Helper()
	_, out := n.api("presence", testAPIKey, `{"channel":"chat:room"}`)
	if got := strings.Count(out, `"client":"`); got != len(ids) {
		t.Fatalf("presence on %s lists %d clients, want %d: %s", n.url, got, len(ids), out)
	}
	for _, id := range ids {
		if !strings.Contains(out, `"`+id+`":{"user":`) {
			t.Fatalf("presence on %s lacks %s: %s", n.url, id, out)
		}
	}
	want := fmt.Sprintf(`{"result":{"num_clients":%d,"num_users":%d}}`, len(ids), len(ids))
	if _, out := n.api("presence_stats", testAPIKey, `{"channel":"chat:room"}`); out != want {
		t.Fatalf("presence_stats on %s = %s, want %s", n.url, out, want)
	}
}

// TestClusterPresenceAndJoinLeave: two nodes on one Redis share a
// channel's presence and each other's joins and leaves; the presence of a
// node that dies without cleaning up ends after its TTL.
func TestClusterPresenceAndJoinLeave(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 0, clusterPresenceNS)
	a, b := startPresenceNode(c), startPresenceNode(c)

	bob, bobID, _ := joinChat(t, b, "2", "Bob")
	ann, annID, annJoin := joinChat(t, a, "1", "Ann")
	if got := readFrame(t, bob); got != annJoin {
		t.Fatalf("Bob on b got %s, want Ann's join from a %s", got, annJoin)
	}
	wantPresence(t, a, annID, bobID)
	wantPresence(t, b, annID, bobID)

	// A clean leave on a: Bob hears it, both nodes drop Ann at once.
	if err := ann.Close(); err != nil {
		t.Fatal(err)
	}
	annLeave := strings.Replace(annJoin, `"join"`, `"leave"`, 1)
	if got := readFrame(t, bob); got != annLeave {
		t.Fatalf("Bob got %s, want Ann's leave %s", got, annLeave)
	}
	wantPresence(t, a, bobID)
	wantPresence(t, b, bobID)

	// a dies: its engine goes without removing Cat's entry or saying
	// goodbye, then Cat's connection drops and a stops.
	cat, catID, catJoin := joinChat(t, a, "3", "Cat")
	if got := readFrame(t, bob); got != catJoin {
		t.Fatalf("Bob got %s, want Cat's join %s", got, catJoin)
	}
	crashed := time.Now()
	if err := a.engine.Close(); err != nil {
		t.Fatal(err)
	}
	_ = cat.Close()
	a.stop()
	if time.Since(crashed) < presenceTTL/2 {
		wantPresence(t, b, bobID, catID) // entries outlive their node until the TTL
	}
	waitUntil(t, "the dead node's presence to expire", func() bool {
		_, out := b.api("presence_stats", testAPIKey, `{"channel":"chat:room"}`)
		return out == `{"result":{"num_clients":1,"num_users":1}}`
	})
	wantPresence(t, b, bobID)

	// No leave came for Cat: a dead node says nothing.
	b.publish("chat:room", `{"after":"crash"}`)
	if got := readFrame(t, bob); got != `{"channel":"chat:room","pub":{"data":{"after":"crash"}}}` {
		t.Fatalf("Bob got %s, want the publication", got)
	}
}
