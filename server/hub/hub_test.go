package hub

import (
	"fmt"
	"sync"
	"testing"
)

// queueSub mimics a session's delivery: a lock and an append to a queue.
type queueSub struct {
	mu sync.Mutex
	q  [][]byte
}

func (s *queueSub) Deliver(m *Message) {
	s.mu.Lock()
	s.q = append(s.q, m.Frame)
	if len(s.q) == 64 {
		s.q = s.q[:0]
	}
	s.mu.Unlock()
}

func TestSubscribeBroadcastUnsubscribe(t *testing.T) {
	t.Parallel()
	h := New()
	a, b := &queueSub{}, &queueSub{}
	if first, added := h.Subscribe("ch", a); !first || !added {
		t.Fatalf("first subscribe: first=%v added=%v", first, added)
	}
	if first, added := h.Subscribe("ch", b); first || !added {
		t.Fatalf("second subscribe: first=%v added=%v", first, added)
	}
	if _, added := h.Subscribe("ch", b); added {
		t.Fatal("a duplicate subscribe was added")
	}
	if n := h.Broadcast(&Message{Channel: "ch", Frame: []byte("x")}); n != 2 || len(a.q) != 1 || len(b.q) != 1 {
		t.Fatalf("broadcast reached %d (%d, %d)", n, len(a.q), len(b.q))
	}
	if got := h.Channels(); len(got) != 1 || got["ch"] != 2 || h.NumSubscriptions() != 2 {
		t.Fatalf("channels %v, subscriptions %d", got, h.NumSubscriptions())
	}
	if last, removed := h.Unsubscribe("ch", a); last || !removed {
		t.Fatalf("unsubscribe a: last=%v removed=%v", last, removed)
	}
	if last, removed := h.Unsubscribe("ch", b); !last || !removed {
		t.Fatalf("unsubscribe b: last=%v removed=%v", last, removed)
	}
	if h.NumSubscribers("ch") != 0 || len(h.Channels()) != 0 {
		t.Fatal("channel left behind")
	}
}

// BenchmarkBroadcast measures the hub's fan-out of one message to N
// subscribers that queue it like sessions do, without socket I/O.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			h := New()
			for i := 0; i < n; i++ {
				h.Subscribe("ch", &queueSub{q: make([][]byte, 0, 64)})
			}
			m := &Message{Channel: "ch", Frame: make([]byte, 160)}
			b.ReportAllocs()
			for b.Loop() {
				h.Broadcast(m)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}
