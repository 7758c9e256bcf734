package brokertest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/broker"
)

func testHistoryQueries(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("hist")
	sps := publishN(t, b, ch, 5, history(10, time.Minute))
	for i, sp := range sps {
		if sp.Offset != uint64(i+1) || sp.Epoch != sps[0].Epoch {
			t.Fatalf("publish %d returned %+v", i+1, sp)
		}
	}
	e := sps[0].Epoch
	since := func(o uint64) *broker.StreamPosition { return &broker.StreamPosition{Offset: o, Epoch: e} }
	for _, c := range []struct {
		name string
		opts broker.HistoryOptions
		want []uint64
	}{
		{"limit 0 gives only the position", broker.HistoryOptions{}, nil},
		{"all", broker.HistoryOptions{Limit: -1}, []uint64{1, 2, 3, 4, 5}},
		{"oldest first", broker.HistoryOptions{Limit: 2}, []uint64{1, 2}},
		{"limit over size", broker.HistoryOptions{Limit: 50}, []uint64{1, 2, 3, 4, 5}},
		{"reverse", broker.HistoryOptions{Limit: 2, Reverse: true}, []uint64{5, 4}},
		{"reverse all", broker.HistoryOptions{Limit: -1, Reverse: true}, []uint64{5, 4, 3, 2, 1}},
		{"since", broker.HistoryOptions{Limit: -1, Since: since(2)}, []uint64{3, 4, 5}},
		{"since with limit", broker.HistoryOptions{Limit: 1, Since: since(2)}, []uint64{3}},
		{"since top", broker.HistoryOptions{Limit: -1, Since: since(5)}, nil},
		{"since zero", broker.HistoryOptions{Limit: -1, Since: since(0)}, []uint64{1, 2, 3, 4, 5}},
		// Reverse with since pages backwards: what came before since.
		{"reverse since", broker.HistoryOptions{Limit: -1, Reverse: true, Since: since(4)}, []uint64{3, 2, 1}},
		{"reverse since with limit", broker.HistoryOptions{Limit: 2, Reverse: true, Since: since(4)}, []uint64{3, 2}},
		{"reverse since oldest", broker.HistoryOptions{Limit: -1, Reverse: true, Since: since(1)}, nil},
	} {
		pubs, sp := readHistory(t, b, ch, c.opts)
		if sp != sps[4] {
			t.Fatalf("%s: position %+v, want %+v", c.name, sp, sps[4])
		}
		wantOffsets(t, c.name, pubs, c.want...)
	}
}

func testHistoryBytes(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("bytes")
	data := []byte("{\"text\": \"a\\nb\",\t \"n\": [1,  2]}")
	opts := history(10, time.Minute)
	opts.Tags = map[string]string{"a": "1", "b": ""}
	opts.Info = &core.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{"x": 1}`), ChanInfo: []byte(`[ ]`)}
	if _, err := b.Publish(ctx(t), ch, data, opts); err != nil {
		t.Fatal(err)
	}
	pubs, _ := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
	if len(pubs) != 1 {
		t.Fatalf("history holds %d publications", len(pubs))
	}
	p := pubs[0]
	if !bytes.Equal(p.Data, data) || p.Offset != 1 {
		t.Fatalf("history data %q offset %d, want %q offset 1", p.Data, p.Offset, data)
	}
	if len(p.Tags) != 2 || p.Tags["a"] != "1" || p.Tags["b"] != "" {
		t.Fatalf("tags %v", p.Tags)
	}
	if p.Info == nil || p.Info.User != "u" || p.Info.Client != "c" || string(p.Info.ConnInfo) != `{"x": 1}` || string(p.Info.ChanInfo) != `[ ]` {
		t.Fatalf("info %+v", p.Info)
	}
}

func testTrimBySize(t *testing.T, b broker.Broker, r *Recorder) {
	ch := channel("trim")
	subscribe(t, b, ch)
	publishN(t, b, ch, 5, history(3, time.Minute))
	pubs, top := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
	wantOffsets(t, "trimmed history", pubs, 3, 4, 5)
	if top.Offset != 5 {
		t.Fatalf("top %d", top.Offset)
	}
	for i, d := range r.Pubs(t, ch, 5) {
		if d.Pub.Offset != uint64(i+1) {
			t.Fatalf("delivery %d offset %d", i, d.Pub.Offset)
		}
	}
}

func testHistoryTTL(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("ttl")
	opts := history(10, 200*time.Millisecond)
	sps := publishN(t, b, ch, 2, opts)
	top := sps[1]
	deadline := time.Now().Add(waitTimeout)
	for {
		pubs, sp := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
		if sp != top {
			t.Fatalf("position %+v while items expire, want %+v", sp, top)
		}
		if len(pubs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history items did not expire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := b.History(ctx(t), ch, broker.HistoryOptions{Limit: -1, Since: &broker.StreamPosition{Offset: 1, Epoch: top.Epoch}}); !errors.Is(err, broker.ErrUnrecoverablePosition) {
		t.Fatalf("since an expired offset: %v, want ErrUnrecoverablePosition", err)
	}
	if pubs, _, err := b.History(ctx(t), ch, broker.HistoryOptions{Limit: -1, Since: &top}); err != nil || len(pubs) != 0 {
		t.Fatalf("since the top after expiry: %d publications, %v", len(pubs), err)
	}
	sp, err := b.Publish(ctx(t), ch, []byte(`3`), opts)
	if err != nil || sp.Offset != 3 || sp.Epoch != top.Epoch {
		t.Fatalf("publish after expiry: %+v, %v; want offset 3 epoch %s", sp, err, top.Epoch)
	}
}

// waitPast sleeps until the wall clock is past instant. Expiry is checked
// lazily by both engines against this machine's clock, so once the instant
// has passed the outcome no longer depends on timing.
func waitPast(instant time.Time) {
	time.Sleep(time.Until(instant) + 20*time.Millisecond)
}

func testMetaTTL(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("meta")
	const meta = 300 * time.Millisecond
	opts := broker.PublishOptions{HistorySize: 10, HistoryTTL: 100 * time.Millisecond, HistoryMetaTTL: meta}
	old := publishN(t, b, ch, 2, opts)[1]
	waitPast(time.Now().Add(meta))
	pubs, sp := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1, MetaTTL: meta})
	if len(pubs) != 0 || sp.Offset != 0 || sp.Epoch == "" || sp.Epoch == old.Epoch {
		t.Fatalf("after meta expiry: %d publications, position %+v (old %+v)", len(pubs), sp, old)
	}
	next, err := b.Publish(ctx(t), ch, []byte(`1`), opts)
	if err != nil || next != (broker.StreamPosition{Offset: 1, Epoch: sp.Epoch}) {
		t.Fatalf("publish in the new epoch: %+v, %v", next, err)
	}
	if _, _, err := b.History(ctx(t), ch, broker.HistoryOptions{Since: &old}); !errors.Is(err, broker.ErrUnrecoverablePosition) {
		t.Fatalf("since the old epoch: %v", err)
	}
}

func testEpochs(t *testing.T, b broker.Broker, r *Recorder) {
	ch, other := channel("epoch"), channel("epoch")
	_, fresh := readHistory(t, b, ch, broker.HistoryOptions{})
	if fresh.Offset != 0 || len(fresh.Epoch) != 8 {
		t.Fatalf("fresh stream position %+v", fresh)
	}
	for _, c := range fresh.Epoch {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			t.Fatalf("epoch %q is not letters", fresh.Epoch)
		}
	}
	_, again := readHistory(t, b, ch, broker.HistoryOptions{})
	if again != fresh {
		t.Fatalf("second read %+v, first %+v", again, fresh)
	}
	subscribe(t, b, ch)
	sp := publishN(t, b, ch, 1, history(10, time.Minute))[0]
	if sp != (broker.StreamPosition{Offset: 1, Epoch: fresh.Epoch}) {
		t.Fatalf("first publish %+v, want offset 1 in epoch %s", sp, fresh.Epoch)
	}
	if d := r.Pubs(t, ch, 1)[0]; d.SP != sp || d.Pub.Offset != 1 {
		t.Fatalf("delivered %+v offset %d, publish returned %+v", d.SP, d.Pub.Offset, sp)
	}
	if o := publishN(t, b, other, 1, history(10, time.Minute))[0]; o.Epoch == sp.Epoch {
		t.Fatalf("two channels share epoch %s", o.Epoch)
	}
}

func testRemoveHistory(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("remove")
	if err := b.RemoveHistory(ctx(t), ch); err != nil {
		t.Fatalf("remove history of a channel without stream: %v", err)
	}
	opts := history(10, time.Minute)
	top := publishN(t, b, ch, 3, opts)[2]
	if err := b.RemoveHistory(ctx(t), ch); err != nil {
		t.Fatal(err)
	}
	pubs, sp := readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
	if len(pubs) != 0 || sp != top {
		t.Fatalf("after remove: %d publications, position %+v, want %+v", len(pubs), sp, top)
	}
	next, err := b.Publish(ctx(t), ch, []byte(`4`), opts)
	if err != nil || next != (broker.StreamPosition{Offset: 4, Epoch: top.Epoch}) {
		t.Fatalf("publish after remove: %+v, %v", next, err)
	}
	pubs, _ = readHistory(t, b, ch, broker.HistoryOptions{Limit: -1})
	wantOffsets(t, "history after remove", pubs, 4)
}

func testMetaTTLExtendedByHistory(t *testing.T, b broker.Broker, _ *Recorder) {
	ch := channel("keep")
	const meta = 300 * time.Millisecond
	opts := broker.PublishOptions{HistorySize: 10, HistoryTTL: 100 * time.Millisecond, HistoryMetaTTL: meta}
	top := publishN(t, b, ch, 2, opts)[1]
	readHistory(t, b, ch, broker.HistoryOptions{MetaTTL: time.Minute})
	waitPast(time.Now().Add(meta))
	// A shorter MetaTTL does not shorten what the read above extended.
	if _, sp := readHistory(t, b, ch, broker.HistoryOptions{MetaTTL: meta}); sp != top {
		t.Fatalf("position %+v after the meta was extended, want %+v", sp, top)
	}
}
