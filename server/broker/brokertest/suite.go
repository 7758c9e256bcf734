// Package brokertest is the conformance suite every broker engine runs:
// delivery, per-channel order, history, epochs, idempotency, recovery
// positions, control messages and Close. An engine's test calls Run with a
// constructor; the suite attaches its own Handler with Run.
package brokertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
)

// Run runs the conformance suite. newBroker returns a fresh, not yet
// started engine for each case; it may register its own cleanup (the suite
// closes every broker it gets, and Close must be idempotent).
func Run(t *testing.T, newBroker func(t *testing.T) broker.Broker) {
	cases := []struct {
		name string
		fn   func(t *testing.T, b broker.Broker, r *Recorder)
	}{
		{"Delivery", testDelivery},
		{"DeliveryAfterResubscribe", testDeliveryAfterResubscribe},
		{"ConcurrentPublishersKeepOffsetOrder", testConcurrentOrder},
		{"SkipHistory", testSkipHistory},
		{"HistoryLimitSinceReverse", testHistoryQueries},
		{"HistoryKeepsBytesTagsInfo", testHistoryBytes},
		{"TrimBySize", testTrimBySize},
		{"HistoryTTLKeepsPosition", testHistoryTTL},
		{"MetaTTLStartsNewEpoch", testMetaTTL},
		{"HistoryExtendsMetaTTL", testMetaTTLExtendedByHistory},
		{"Epochs", testEpochs},
		{"IdempotencyKey", testIdempotency},
		{"RecoveryPositions", testRecoveryPositions},
		{"RemoveHistory", testRemoveHistory},
		{"PublishControl", testControl},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBroker(t)
			r := NewRecorder(t)
			if err := b.Run(r); err != nil {
				t.Fatalf("run: %v", err)
			}
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c.fn(t, b, r)
		})
	}
}

// channel returns a channel name no other case or run uses.
func channel(prefix string) string { return prefix + "." + broker.NewEpoch() }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return c
}

func subscribe(t *testing.T, b broker.Broker, ch string) {
	t.Helper()
	if err := b.Subscribe(ctx(t), ch); err != nil {
		t.Fatalf("subscribe %s: %v", ch, err)
	}
}

func history(size int, ttl time.Duration) broker.PublishOptions {
	return broker.PublishOptions{HistorySize: size, HistoryTTL: ttl}
}

// publishN publishes data "n" for n in 1..count and returns the positions.
func publishN(t *testing.T, b broker.Broker, ch string, count int, opts broker.PublishOptions) []broker.StreamPosition {
	t.Helper()
	out := make([]broker.StreamPosition, 0, count)
	for i := 1; i <= count; i++ {
		sp, err := b.Publish(ctx(t), ch, []byte(fmt.Sprint(i)), opts)
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		out = append(out, sp)
	}
	return out
}

func readHistory(t *testing.T, b broker.Broker, ch string, opts broker.HistoryOptions) ([]*core.Publication, broker.StreamPosition) {
	t.Helper()
	pubs, sp, err := b.History(ctx(t), ch, opts)
	if err != nil {
		t.Fatalf("history %s: %v", ch, err)
	}
	return pubs, sp
}

// offsets lists the publications' offsets.
func offsets(pubs []*core.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

func wantOffsets(t *testing.T, what string, pubs []*core.Publication, want ...uint64) {
	t.Helper()
	got := offsets(pubs)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: offsets %v, want %v", what, got, want)
	}
	for _, p := range pubs {
		if string(p.Data) != fmt.Sprint(p.Offset) {
			t.Fatalf("%s: offset %d holds data %q", what, p.Offset, p.Data)
		}
	}
}

func testDelivery(t *testing.T, b broker.Broker, r *Recorder) {
	ch := channel("plain")
	subscribe(t, b, ch)
	data := []byte(`{"text": "hi",  "n":[1, 2]}`)
	tags := map[string]string{"k": "v"}
	info := &core.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{"a": 1}`)}
	sp, err := b.Publish(ctx(t), ch, data, broker.PublishOptions{Tags: tags, Info: info})
	if err != nil {
		t.Fatal(err)
	}
	if sp != (broker.StreamPosition{}) {
		t.Fatalf("publish without history returned position %+v", sp)
	}
	d := r.Pubs(t, ch, 1)[0]
	if !bytes.Equal(d.Pub.Data, data) || d.Pub.Offset != 0 || d.SP != (broker.StreamPosition{}) {
		t.Fatalf("delivered %q offset %d position %+v", d.Pub.Data, d.Pub.Offset, d.SP)
	}
	if d.Pub.Tags["k"] != "v" || d.Pub.Info == nil || d.Pub.Info.User != "u" || string(d.Pub.Info.ConnInfo) != `{"a": 1}` {
		t.Fatalf("tags %v info %+v", d.Pub.Tags, d.Pub.Info)
	}
}

func testDeliveryAfterResubscribe(t *testing.T, b broker.Broker, r *Recorder) {
	ch := channel("again")
	subscribe(t, b, ch)
	publishN(t, b, ch, 1, broker.PublishOptions{})
	r.Pubs(t, ch, 1)
	if err := b.Unsubscribe(ctx(t), ch); err != nil {
		t.Fatal(err)
	}
	subscribe(t, b, ch)
	publishN(t, b, ch, 1, history(10, time.Minute))
	if d := r.Pubs(t, ch, 2)[1]; d.Pub.Offset != 1 {
		t.Fatalf("second delivery has offset %d", d.Pub.Offset)
	}
}

func testConcurrentOrder(t *testing.T, b broker.Broker, r *Recorder) {
	const publishers, each = 4, 50
	ch := channel("order")
	subscribe(t, b, ch)
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for range publishers {
		wg.Go(func() {
			for range each {
				if _, err := b.Publish(context.Background(), ch, []byte(`1`), history(1000, time.Minute)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, d := range r.Pubs(t, ch, publishers*each) {
		if d.Pub.Offset != uint64(i+1) || d.SP.Offset != d.Pub.Offset {
			t.Fatalf("delivery %d has offset %d, position %+v", i, d.Pub.Offset, d.SP)
		}
	}
}

func testSkipHistory(t *testing.T, b broker.Broker, r *Recorder) {
	ch := channel("skip")
	subscribe(t, b, ch)
	opts := history(10, time.Minute)
	publishN(t, b, ch, 2, opts)
	opts.SkipHistory = true
	sp, err := b.Publish(ctx(t), ch, []byte(`"skipped"`), opts)
	if err != nil || sp != (broker.StreamPosition{}) {
		t.Fatalf("skip_history publish: %+v, %v", sp, err)
	}
	if d := r.Pubs(t, ch, 3)[2]; d.Pub.Offset != 0 || string(d.Pub.Data) != `"skipped"` {
		t.Fatalf("skipped publication delivered with offset %d data %s", d.Pub.Offset, d.Pub.Data)
	}
	pubs, top := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
	wantOffsets(t, "history", pubs, 1, 2)
	if top.Offset != 2 {
		t.Fatalf("top %d after skip_history", top.Offset)
	}
}

func testControl(t *testing.T, b broker.Broker, r *Recorder) {
	msgs := [][]byte{[]byte(`{"op":"a"}`), []byte("raw \x00 bytes\n")}
	for _, m := range msgs {
		if err := b.PublishControl(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	got := r.Controls(t, 2)
	for i, m := range msgs {
		if !bytes.Equal(got[i], m) {
			t.Fatalf("control %d: %q, want %q", i, got[i], m)
		}
	}
}

func testClose(t *testing.T, b broker.Broker, _ *Recorder) {
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	checks := map[string]error{}
	_, checks["Publish"] = b.Publish(c, "x", []byte(`1`), broker.PublishOptions{})
	checks["PublishControl"] = b.PublishControl(c, []byte(`1`))
	checks["Subscribe"] = b.Subscribe(c, "x")
	checks["Unsubscribe"] = b.Unsubscribe(c, "x")
	_, _, checks["History"] = b.History(c, "x", broker.HistoryOptions{})
	checks["RemoveHistory"] = b.RemoveHistory(c, "x")
	for name, err := range checks {
		if !errors.Is(err, broker.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
