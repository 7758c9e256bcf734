package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// within reports whether got is within frac of want.
func within(got, want time.Duration, frac float64) bool {
	return math.Abs(float64(got-want)) <= frac*float64(want)
}

func TestHistogramPercentilesOfUniformData(t *testing.T) {
	t.Parallel()
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{0, time.Microsecond},
		{1, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); !within(got, tt.want, 0.01) {
			t.Errorf("Quantile(%v) = %s, want %s within 1%%", tt.q, got, tt.want)
		}
	}
	if h.Count() != 10000 || h.Max() != 10*time.Millisecond || h.Min() != time.Microsecond {
		t.Errorf("count %d max %s min %s", h.Count(), h.Max(), h.Min())
	}
	if got := h.Mean(); !within(got, 5000500*time.Nanosecond, 1e-9) {
		t.Errorf("Mean = %s", got)
	}
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	t.Parallel()
	var h Histogram
	for _, v := range []time.Duration{3, 3, 7, 100, 127} {
		h.Record(v)
	}
	for q, want := range map[float64]time.Duration{0.2: 3, 0.4: 3, 0.6: 7, 0.8: 100, 1: 127} {
		if got := h.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %d, want %d", q, got, want)
		}
	}
}

func TestHistogramAgainstSortedSample(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []time.Duration
	for range 50000 {
		// log-normal-ish latencies between 50 us and a few seconds
		v := time.Duration(math.Exp(r.NormFloat64()*1.5+14) + 50000)
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		if got := h.Quantile(q); !within(got, want, 0.01) {
			t.Errorf("Quantile(%v) = %s, want %s within 1%%", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] {
		t.Errorf("Max = %s, want %s", h.Max(), vals[len(vals)-1])
	}
}

func TestHistogramMergeEqualsOneHistogram(t *testing.T) {
	t.Parallel()
	var all, merged Histogram
	parts := make([]Histogram, 4)
	for i := range 4000 {
		v := time.Duration(i*i) * time.Nanosecond
		all.Record(v)
		parts[i%4].Record(v)
	}
	var empty Histogram
	merged.Merge(&empty)
	merged.Merge(nil)
	for i := range parts {
		merged.Merge(&parts[i])
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 1} {
		if a, m := all.Quantile(q), merged.Quantile(q); a != m {
			t.Errorf("Quantile(%v): one histogram %s, merged %s", q, a, m)
		}
	}
	if all.Count() != merged.Count() || all.Max() != merged.Max() || all.Min() != merged.Min() || all.Mean() != merged.Mean() {
		t.Errorf("merged summary differs: %d/%d %s/%s", all.Count(), merged.Count(), all.Max(), merged.Max())
	}
}

func TestHistogramEdges(t *testing.T) {
	t.Parallel()
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Error("empty histogram reports values")
	}
	h.Record(-time.Second)
	h.Record(10 * time.Minute) // past the last bucket's range
	if h.Min() != 0 || h.Max() != 10*time.Minute || h.Quantile(1) != 10*time.Minute {
		t.Errorf("min %s max %s p100 %s", h.Min(), h.Max(), h.Quantile(1))
	}
}

func TestBucketRangeHoldsItsValues(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		v := r.Int64N(1 << maxBits)
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi || i < 0 || i >= bucketCount {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, lo, hi)
		}
		if v >= subCount && float64(hi-lo+1) > float64(lo)/halfCount {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its bound", i, lo, hi, halfCount)
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i%5000000) * time.Nanosecond)
	}
}
