package brokertest

import (
	"errors"
	"testing"
	"time"

	"github.com/uniws/uniws/server/broker"
)

func testIdempotency(t *testing.T, b broker.Broker, r *Recorder) {
	ch, other, plain := channel("idem"), channel("idem"), channel("idem")
	subscribe(t, b, ch)
	subscribe(t, b, plain)
	opts := history(10, time.Minute)
	opts.IdempotencyKey = "k1"
	first, err := b.Publish(ctx(t), ch, []byte(`1`), opts)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Publish(ctx(t), ch, []byte(`1`), opts)
	if err != nil || again != first {
		t.Fatalf("repeated publish: %+v, %v; want the first result %+v", again, err, first)
	}
	opts.IdempotencyKey = ""
	if sp := publishN(t, b, ch, 1, opts)[0]; sp.Offset != 2 {
		t.Fatalf("publish after a repeated key got offset %d, want 2", sp.Offset)
	}
	// Deliveries are in order per channel: a second delivery of the
	// repeated publish would come before offset 2.
	if ds := r.Pubs(t, ch, 2); ds[0].Pub.Offset != 1 || ds[1].Pub.Offset != 2 {
		t.Fatalf("deliveries %d, %d", ds[0].Pub.Offset, ds[1].Pub.Offset)
	}
	opts.IdempotencyKey = "k1"
	if sp, err := b.Publish(ctx(t), other, []byte(`1`), opts); err != nil || sp.Offset != 1 {
		t.Fatalf("same key on another channel: %+v, %v", sp, err)
	}

	noHistory := broker.PublishOptions{IdempotencyKey: "k2"}
	for range 2 {
		if sp, err := b.Publish(ctx(t), plain, []byte(`"once"`), noHistory); err != nil || sp != (broker.StreamPosition{}) {
			t.Fatalf("idempotent publish without history: %+v, %v", sp, err)
		}
	}
	if _, err := b.Publish(ctx(t), plain, []byte(`"marker"`), broker.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if ds := r.Pubs(t, plain, 2); string(ds[1].Pub.Data) != `"marker"` {
		t.Fatalf("second delivery %s, want the marker (the repeat must not be delivered)", ds[1].Pub.Data)
	}
}

func testRecoveryPositions(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("recover")
	top := publishN(t, b, ch, 6, history(3, time.Minute))[5] // the stream keeps 4, 5, 6
	e := top.Epoch
	for _, c := range []struct {
		name  string
		since broker.StreamPosition
		limit int
		want  []uint64
		fail  bool
	}{
		{name: "at the top", since: broker.StreamPosition{Offset: 6, Epoch: e}, limit: -1},
		{name: "in range", since: broker.StreamPosition{Offset: 4, Epoch: e}, limit: -1, want: []uint64{5, 6}},
		{name: "oldest kept is next", since: broker.StreamPosition{Offset: 3, Epoch: e}, limit: -1, want: []uint64{4, 5, 6}},
		{name: "limited", since: broker.StreamPosition{Offset: 3, Epoch: e}, limit: 2, want: []uint64{4, 5}},
		{name: "trimmed offset", since: broker.StreamPosition{Offset: 2, Epoch: e}, limit: -1, fail: true},
		{name: "epoch mismatch", since: broker.StreamPosition{Offset: 4, Epoch: "otherEpo"}, limit: -1, fail: true},
		{name: "empty epoch skips the check", since: broker.StreamPosition{Offset: 4}, limit: -1, want: []uint64{5, 6}},
		{name: "empty epoch, trimmed offset", since: broker.StreamPosition{Offset: 1}, limit: -1, fail: true},
		{name: "offset beyond the top", since: broker.StreamPosition{Offset: 7, Epoch: e}, limit: -1, fail: true},
	} {
		since := c.since
		pubs, sp, err := b.History(ctx(t), ch, broker.HistoryOptions{Since: &since, Limit: c.limit})
		if sp != top {
			t.Fatalf("%s: position %+v, want %+v", c.name, sp, top)
		}
		if c.fail {
			if !errors.Is(err, broker.ErrUnrecoverablePosition) || len(pubs) != 0 {
				t.Fatalf("%s: %d publications, %v; want ErrUnrecoverablePosition", c.name, len(pubs), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		wantOffsets(t, c.name, pubs, c.want...)
	}
}
