package brokertest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
)

// JoinLeave checks a JoinLeave engine: joins and leaves of a subscribed
// channel reach the node's JoinLeaveHandler with their client info byte
// for byte, in order with the channel's publications. b must not be started yet: the check runs it with its own
// handler and closes it when the test ends.
func JoinLeave(t *testing.T, b broker.Broker) {
	t.Helper()
	jl, ok := b.(broker.JoinLeave)
	if !ok {
		t.Fatalf("%T does not implement broker.JoinLeave", b)
	}
	h := NewEventLog()
	if err := b.Run(h); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ch := channel("joinleave")
	subscribe(t, b, ch)

	ann := core.ClientInfo{User: "u1", Client: "c1", ConnInfo: []byte(`{"name": "Ann"}`), ChanInfo: []byte(`[1, 2]`)}
	anon := core.ClientInfo{Client: "c2"}
	steps := []func() error{
		func() error { _, err := b.Publish(ctx(t), ch, []byte(`1`), broker.PublishOptions{}); return err },
		func() error { return jl.PublishJoin(ctx(t), ch, ann) },
		func() error { return jl.PublishJoin(ctx(t), ch, anon) },
		func() error { _, err := b.Publish(ctx(t), ch, []byte(`2`), history(10, time.Minute)); return err },
		func() error { return jl.PublishLeave(ctx(t), ch, ann) },
		func() error { _, err := b.Publish(ctx(t), ch, []byte(`3`), history(10, time.Minute)); return err },
		func() error { return jl.PublishLeave(ctx(t), ch, anon) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	annText := `u1 c1 {"name": "Ann"} [1, 2]`
	want := []string{"pub 1", "join " + annText, "join  c2  ", "pub 2", "leave " + annText, "pub 3", "leave  c2  "}
	if got := h.Events(t, ch, len(want)); !slices.Equal(got, want) {
		t.Fatalf("events of %s:\n got %q\nwant %q", ch, got, want)
	}
}

// EventLog is a broker.Handler and broker.JoinLeaveHandler that keeps
// every publication, join and leave per channel as text, in the order it
// was handed them. It is safe for concurrent use.
type EventLog struct {
	mu      sync.Mutex
	events  map[string][]string
	changed chan struct{} // closed and replaced on every change
}

// NewEventLog returns an empty log.
func NewEventLog() *EventLog {
	return &EventLog{events: make(map[string][]string), changed: make(chan struct{})}
}

// add records ev for ch.
func (l *EventLog) add(ch, ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[ch] = append(l.events[ch], ev)
	close(l.changed)
	l.changed = make(chan struct{})
}

func infoText(info core.ClientInfo) string {
	return fmt.Sprintf("%s %s %s %s", info.User, info.Client, info.ConnInfo, info.ChanInfo)
}

// HandlePublication implements broker.Handler: "pub <data>".
func (l *EventLog) HandlePublication(ch string, pub *core.Publication, _ broker.StreamPosition) {
	l.add(ch, "pub "+string(pub.Data))
}

// HandleControl implements broker.Handler.
func (l *EventLog) HandleControl([]byte) {}

// HandleResubscribe implements broker.Handler.
func (l *EventLog) HandleResubscribe([]string) {}

// HandleJoin implements broker.JoinLeaveHandler: "join <user> <client>
// <conn info> <chan info>".
func (l *EventLog) HandleJoin(ch string, info core.ClientInfo) { l.add(ch, "join "+infoText(info)) }

// HandleLeave implements broker.JoinLeaveHandler, as HandleJoin.
func (l *EventLog) HandleLeave(ch string, info core.ClientInfo) { l.add(ch, "leave "+infoText(info)) }

// Events waits until ch has at least n events and returns them all; it
// fails the test after waitTimeout.
func (l *EventLog) Events(t *testing.T, ch string, n int) []string {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		got := slices.Clone(l.events[ch])
		changed := l.changed
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d events on %q, have %q", n, ch, got)
		}
	}
}
