// Package brokertest holds checks that every engine must pass.
package brokertest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
)

// PresenceTTL is the TTL Presence adds entries with; expire must make
// entries older than it disappear (advance a clock, or wait it out).
const PresenceTTL = time.Minute

// Presence checks a PresenceManager: adding, refreshing, removing, counting
// users, keeping channels apart, and entries that expire when nobody
// refreshes them (a node that died). expire is called once.
func Presence(t *testing.T, pm broker.PresenceManager, expire func()) {
	t.Helper()
	ctx := context.Background()
	ch, other := "presence:"+t.Name(), "presence:other:"+t.Name()
	add := func(ch, client, user string, connInfo string) {
		t.Helper()
		info := core.ClientInfo{User: user, Client: client}
		if connInfo != "" {
			info.ConnInfo = []byte(connInfo)
		}
		if err := pm.AddPresence(ctx, ch, client, info, PresenceTTL); err != nil {
			t.Fatalf("add presence: %v", err)
		}
	}
	stats := func(ch string, clients, users int) {
		t.Helper()
		got, err := pm.PresenceStats(ctx, ch)
		if err != nil {
			t.Fatalf("presence stats: %v", err)
		}
		if got.NumClients != clients || got.NumUsers != users {
			t.Fatalf("presence stats of %s = %+v, want %d clients, %d users", ch, got, clients, users)
		}
	}

	stats(ch, 0, 0)
	add(ch, "c1", "u1", `{"name":"Ann"}`)
	add(ch, "c2", "u1", "")
	add(ch, "c3", "u2", "")
	add(other, "c4", "u3", "")
	add(ch, "c1", "u1", `{"name":"Ann"}`) // a refresh is not a second client
	stats(ch, 3, 2)
	stats(other, 1, 1)

	got, err := pm.Presence(ctx, ch)
	if err != nil {
		t.Fatalf("presence: %v", err)
	}
	want := map[string]core.ClientInfo{
		"c1": {User: "u1", Client: "c1", ConnInfo: []byte(`{"name":"Ann"}`)},
		"c2": {User: "u1", Client: "c2"},
		"c3": {User: "u2", Client: "c3"},
	}
	for id, info := range got {
		if len(info.ConnInfo) == 0 {
			info.ConnInfo = nil
		}
		if len(info.ChanInfo) == 0 {
			info.ChanInfo = nil
		}
		got[id] = info
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("presence = %+v, want %+v", got, want)
	}

	if err := pm.RemovePresence(ctx, ch, "c2", "u1"); err != nil {
		t.Fatalf("remove presence: %v", err)
	}
	stats(ch, 2, 2)
	if err := pm.RemovePresence(ctx, ch, "missing", "u9"); err != nil {
		t.Fatalf("remove absent presence: %v", err)
	}

	expire()
	stats(ch, 0, 0)
	stats(other, 0, 0)
	if got, err := pm.Presence(ctx, ch); err != nil || len(got) != 0 {
		t.Fatalf("presence after expiry = %v, %v", got, err)
	}
}
