package bench

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/uniws/uniws/client"
)

// testRun names the run in tests.
const testRun = "abcdefgh"

func TestAppendPayloadHasSizeAndIsJSON(t *testing.T) {
	t.Parallel()
	for _, size := range []int{MinPayload, 100, 128, 1000} {
		for _, seq := range []int64{1, 99, 123456} {
			p := AppendPayload([]byte("prefix"), testRun, seq, 1764230000123456789, size)[len("prefix"):]
			if len(p) != size {
				t.Errorf("size %d seq %d: %d bytes: %s", size, seq, len(p), p)
			}
			var v struct {
				Run string `json:"run"`
				Seq int64  `json:"seq"`
				TS  int64  `json:"ts"`
				Pad string `json:"pad"`
			}
			if err := json.Unmarshal(p, &v); err != nil || v.Run != testRun || v.Seq != seq || v.TS != 1764230000123456789 {
				t.Errorf("payload %s decodes to %+v, %v", p, v, err)
			}
		}
	}
}

func TestExtractSeqTS(t *testing.T) {
	t.Parallel()
	data := string(AppendPayload(nil, testRun, 42, 1764230000123456789, 128))
	tests := []struct {
		name    string
		push    string
		seq, ts int64
		ok      bool
	}{
		{"uniws publication", `{"channel":"bench","pub":{"data":` + data + `}}`, 42, 1764230000123456789, true},
		{"with offset and tags", `{"channel":"bench","pub":{"data":` + data + `,"offset":7,"tags":{"a":"b"}}}`, 42, 1764230000123456789, true},
		{"channel named like a key", `{"channel":"seq:\"seq\":1","pub":{"data":{"seq":5,"ts":6}}}`, 5, 6, true},
		{"ts first", `{"channel":"c","pub":{"data":{"ts":6,"seq":5}}}`, 5, 6, true},
		{"ping", `{}`, 0, 0, false},
		{"connect", `{"connect":{"client":"x","subs":{"bench":{}}}}`, 0, 0, false},
		{"foreign publication", `{"channel":"c","pub":{"data":{"text":"hi"}}}`, 0, 0, false},
		{"no ts", `{"channel":"c","pub":{"data":{"seq":5}}}`, 0, 0, false},
		{"seq not a number", `{"channel":"c","pub":{"data":{"seq":"5","ts":6}}}`, 0, 0, false},
		{"other field order", `{"channel":"c","pub":{"data":{"pad":"","ts":6,"seq":5}}}`, 5, 6, true},
		{"overflow", `{"channel":"c","pub":{"data":{"seq":99999999999999999999,"ts":6}}}`, 0, 0, false},
		{"join", `{"channel":"c","join":{"info":{"user":"seq","client":"ts"}}}`, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, ts, ok := ExtractSeqTS([]byte(tt.push))
			if seq != tt.seq || ts != tt.ts || ok != tt.ok {
				t.Errorf("ExtractSeqTS = %d, %d, %v; want %d, %d, %v", seq, ts, ok, tt.seq, tt.ts, tt.ok)
			}
		})
	}
}

func TestNextLineSplitsLikeSplitFrame(t *testing.T) {
	t.Parallel()
	frames := []string{
		`{"a":1}`,
		`{}`,
		"{\"a\":1}\n{}\n{\"b\":2}",
		"{\"a\":1}\n",
		"\n{\"a\":1}\n\n{}\n",
		"{\"a\":1}\r\n{}",
		"  \n \r\n",
		"",
	}
	for _, f := range frames {
		var got []string
		for line, rest := nextLine([]byte(f)); line != nil; line, rest = nextLine(rest) {
			got = append(got, string(line))
		}
		var want []string
		for _, b := range client.SplitFrame([]byte(f)) {
			want = append(want, string(b))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("frame %q: nextLine gives %q, SplitFrame %q", f, got, want)
		}
	}
}

func TestStatsCountsDuplicatesAndOrder(t *testing.T) {
	t.Parallel()
	var s stats
	for _, seq := range []int64{1, 2, 2, 4, 3, 1, 5, 5 + windowBits + 10, 6, 6} {
		s.deliver(seq, 0, 1000)
	}
	// 1 2 4 3 5 and far are new; the second 2 and 1 are duplicates; 3
	// came after a higher seq. Both copies of 6 are too far behind far to
	// be checked: each counts as new, late and out of order.
	if got := s.unique.Load(); got != 8 {
		t.Errorf("unique = %d, want 8", got)
	}
	if s.dups != 2 || s.ooo != 3 || s.late != 2 {
		t.Errorf("dups %d ooo %d late %d, want 2 3 2", s.dups, s.ooo, s.late)
	}
	if s.hist.Count() != 8 || s.hist.Max() != 1000 {
		t.Errorf("latency count %d max %s", s.hist.Count(), s.hist.Max())
	}
}

func TestOrderHashTellsOrdersApart(t *testing.T) {
	t.Parallel()
	order := func(seqs ...int64) uint64 {
		var s stats
		for _, q := range seqs {
			s.deliver(q, 0, 0)
		}
		return s.order
	}
	if order(1, 2, 3) == order(1, 3, 2) || order(1, 2, 3) != order(1, 2, 3) {
		t.Error("order hash does not follow the order")
	}
}

// TestHandleCountsOnlyThisRun: publications of another run, or anything
// else carrying seq and ts, published to the bench channel during a run
// are other pushes, not deliveries (they made unique exceed expected and
// hid losses).
func TestHandleCountsOnlyThisRun(t *testing.T) {
	t.Parallel()
	c := &conn{prefix: pubPrefix("bench", testRun), runMark: runMarker(testRun)}
	own := `{"channel":"bench","pub":{"data":` + string(AppendPayload(nil, testRun, 1, 5, 128)) + `}}`
	other := `{"channel":"bench","pub":{"data":` + string(AppendPayload(nil, "otherrun", 2, 5, 128)) + `}}`
	foreign := `{"channel":"bench","pub":{"data":{"seq":1000000,"ts":1}}}`
	tagged := `{"channel":"bench","pub":{"data":{"ts":5,"seq":3,"run":"` + testRun + `"}}}`
	c.handle([]byte(own + "\n" + other + "\n" + foreign + "\n" + tagged))
	if c.st.unique.Load() != 2 || c.st.maxSeq != 3 || c.st.other != 2 {
		t.Errorf("unique %d, max seq %d, other %d; want 2, 3, 2", c.st.unique.Load(), c.st.maxSeq, c.st.other)
	}
}

func BenchmarkHandleFrame(b *testing.B) {
	frame := []byte(`{"channel":"bench","pub":{"data":` + string(AppendPayload(nil, testRun, 1, 1, 128)) + `}}`)
	c := &conn{prefix: pubPrefix("bench", testRun)}
	b.ReportAllocs()
	for range b.N {
		c.st.maxSeq = 0
		c.handle(frame)
	}
}
