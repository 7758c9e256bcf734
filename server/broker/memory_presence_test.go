package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/brokertest"
)

func TestMemoryPresence(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	m := broker.NewMemory(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	if err := m.Run(nil); err != nil {
		t.Fatal(err)
	}
	brokertest.Presence(t, m, func() {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(brokertest.PresenceTTL + time.Second)
	})
	_ = m.Close()
	if err := m.AddPresence(context.Background(), "ch", "c", core.ClientInfo{}, time.Minute); err != broker.ErrClosed {
		t.Fatalf("add presence after close: %v, want ErrClosed", err)
	}
}

// joinLeaveHandler records what the engine delivers.
type joinLeaveHandler struct {
	mu     sync.Mutex
	events []string
}

func (h *joinLeaveHandler) HandlePublication(string, *core.Publication, broker.StreamPosition) {}
func (h *joinLeaveHandler) HandleControl([]byte)                                               {}
func (h *joinLeaveHandler) HandleResubscribe([]string)                                         {}
func (h *joinLeaveHandler) HandleJoin(ch string, info core.ClientInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "join "+ch+" "+info.Client)
}
func (h *joinLeaveHandler) HandleLeave(ch string, info core.ClientInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "leave "+ch+" "+info.Client)
}

func TestMemoryJoinLeave(t *testing.T) {
	t.Parallel()
	m := broker.NewMemory(nil)
	h := &joinLeaveHandler{}
	if err := m.Run(h); err != nil {
		t.Fatal(err)
	}
	var jl broker.JoinLeave = m
	ctx := context.Background()
	if err := jl.PublishJoin(ctx, "chat", core.ClientInfo{User: "42", Client: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := jl.PublishLeave(ctx, "chat", core.ClientInfo{User: "42", Client: "c1"}); err != nil {
		t.Fatal(err)
	}
	if got := h.events; len(got) != 2 || got[0] != "join chat c1" || got[1] != "leave chat c1" {
		t.Fatalf("events = %q", got)
	}
}
