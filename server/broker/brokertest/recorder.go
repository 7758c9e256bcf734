package brokertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
)

// waitTimeout bounds every wait of the suite. It is a deadline for a
// condition, never a duration that a result depends on.
const waitTimeout = 10 * time.Second

// Delivery is one HandlePublication call.
type Delivery struct {
	Pub *core.Publication
	SP  broker.StreamPosition
}

// Recorder is a broker.Handler that keeps what it is handed and fails the
// test when the broker breaks the Handler contract (concurrent calls for
// one channel). It is safe for concurrent use.
type Recorder struct {
	t *testing.T

	mu          sync.Mutex
	pubs        map[string][]Delivery
	busy        map[string]bool
	controls    [][]byte
	resubscribe [][]string
	changed     chan struct{} // closed and replaced on every change
}

// NewRecorder returns an empty recorder reporting contract breaks to t.
func NewRecorder(t *testing.T) *Recorder {
	return &Recorder{
		t:       t,
		pubs:    make(map[string][]Delivery),
		busy:    make(map[string]bool),
		changed: make(chan struct{}),
	}
}

func (r *Recorder) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// HandlePublication implements broker.Handler.
func (r *Recorder) HandlePublication(ch string, pub *core.Publication, sp broker.StreamPosition) {
	r.mu.Lock()
	if r.busy[ch] {
		r.mu.Unlock()
		r.t.Errorf("HandlePublication called concurrently for channel %q", ch)
		return
	}
	r.busy[ch] = true
	r.mu.Unlock()

	cp := *pub
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy[ch] = false
	r.pubs[ch] = append(r.pubs[ch], Delivery{Pub: &cp, SP: sp})
	r.signalLocked()
}

// HandleControl implements broker.Handler.
func (r *Recorder) HandleControl(data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.controls = append(r.controls, append([]byte(nil), data...))
	r.signalLocked()
}

// HandleResubscribe implements broker.Handler.
func (r *Recorder) HandleResubscribe(channels []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resubscribe = append(r.resubscribe, append([]string(nil), channels...))
	r.signalLocked()
}

// WaitFor polls cond, under the recorder's lock, until it holds; it fails
// the test after waitTimeout.
func (r *Recorder) WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Pubs waits until channel has at least n deliveries and returns them all.
func (r *Recorder) Pubs(t *testing.T, ch string, n int) []Delivery {
	t.Helper()
	r.WaitFor(t, fmt.Sprintf("%d publications on %q", n, ch), func() bool { return len(r.pubs[ch]) >= n })
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.pubs[ch]...)
}

// Controls waits until at least n control messages arrived and returns them.
func (r *Recorder) Controls(t *testing.T, n int) [][]byte {
	t.Helper()
	r.WaitFor(t, fmt.Sprintf("%d control messages", n), func() bool { return len(r.controls) >= n })
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.controls...)
}

// Resubscribed waits until some HandleResubscribe call named ch.
func (r *Recorder) Resubscribed(t *testing.T, ch string) {
	t.Helper()
	r.WaitFor(t, "resubscribe of "+ch, func() bool {
		for _, call := range r.resubscribe {
			for _, c := range call {
				if c == ch {
					return true
				}
			}
		}
		return false
	})
}

// ResubscribeCalls returns the channels of every HandleResubscribe call so
// far.
func (r *Recorder) ResubscribeCalls() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]string, len(r.resubscribe))
	for i, c := range r.resubscribe {
		out[i] = append([]string(nil), c...)
	}
	return out
}
