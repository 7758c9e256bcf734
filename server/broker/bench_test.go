package broker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
	"github.com/uniws/uniws/server/broker/redistest"
)

// benchHandler counts deliveries and signals each one.
type benchHandler struct {
	delivered atomic.Int64
	signal    chan struct{}
}

func newBenchHandler() *benchHandler { return &benchHandler{signal: make(chan struct{}, 1<<16)} }

func (h *benchHandler) HandlePublication(string, *core.Publication, broker.StreamPosition) {
	h.delivered.Add(1)
	select {
	case h.signal <- struct{}{}:
	default:
	}
}
func (h *benchHandler) HandleControl([]byte)       {}
func (h *benchHandler) HandleResubscribe([]string) {}

// waitDelivered waits until n publications were delivered.
func (h *benchHandler) waitDelivered(b *testing.B, n int64) {
	deadline := time.Now().Add(time.Minute)
	for h.delivered.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d delivered", h.delivered.Load(), n)
		}
		select {
		case <-h.signal:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// benchEngines gives each benchmark a publishing engine and the engine
// whose handler receives: the same one, or for "redis-2nodes" a second
// node on the same Redis.
func benchEngines(b *testing.B) []struct {
	name     string
	pub, sub func(b *testing.B, h broker.Handler) broker.Broker
} {
	start := func(b *testing.B, br broker.Broker, h broker.Handler) broker.Broker {
		if err := br.Run(h); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = br.Close() })
		return br
	}
	mem := func(b *testing.B, h broker.Handler) broker.Broker { return start(b, broker.NewMemory(nil), h) }
	engines := []struct {
		name     string
		pub, sub func(b *testing.B, h broker.Handler) broker.Broker
	}{{"memory", mem, nil}}
	if !redistest.Available() {
		b.Log("redis-server not found: apt-get install redis-server to compare with Redis")
		return engines
	}
	srv := redistest.Start(b)
	prefix := "bench" + broker.NewEpoch()
	red := func(b *testing.B, h broker.Handler) broker.Broker {
		r, err := broker.NewRedis(broker.RedisOptions{Addresses: []string{srv.Addr()}, Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		return start(b, r, h)
	}
	return append(engines, []struct {
		name     string
		pub, sub func(b *testing.B, h broker.Handler) broker.Broker
	}{
		{"redis", red, nil},
		{"redis-2nodes", red, red},
	}...)
}

var benchOpts = broker.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}

// BenchmarkPublish measures publish throughput with history, each
// publication delivered to a subscribed node; 8 publishers per core spread
// over 16 channels.
func BenchmarkPublish(b *testing.B) {
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			h := newBenchHandler()
			pub := e.pub(b, h)
			sub := pub
			if e.sub != nil {
				pub = e.pub(b, newBenchHandler())
				sub = e.sub(b, h)
			}
			for i := range 16 {
				if err := sub.Subscribe(context.Background(), "bench"+strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
			data := []byte(`{"text":"hello, benchmark"}`)
			var next atomic.Int64
			b.SetParallelism(8) // 16 publishers on 2 cores: Redis round trips overlap
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ch := "bench" + strconv.Itoa(int(next.Add(1))%16)
				for pb.Next() {
					if _, err := pub.Publish(context.Background(), ch, data, benchOpts); err != nil {
						b.Error(err)
						return
					}
				}
			})
			h.waitDelivered(b, int64(b.N))
		})
	}
}

// BenchmarkLatency measures one publication's way from Publish to the
// receiving node's handler, one at a time.
func BenchmarkLatency(b *testing.B) {
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			h := newBenchHandler()
			pub := e.pub(b, h)
			sub := pub
			if e.sub != nil {
				pub = e.pub(b, newBenchHandler())
				sub = e.sub(b, h)
			}
			if err := sub.Subscribe(context.Background(), "latency"); err != nil {
				b.Fatal(err)
			}
			data := []byte(`{"text":"hello, benchmark"}`)
			b.ResetTimer()
			for i := range b.N {
				if _, err := pub.Publish(context.Background(), "latency", data, benchOpts); err != nil {
					b.Fatal(err)
				}
				h.waitDelivered(b, int64(i+1))
			}
		})
	}
}
