package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram layout: values below 2^subBits nanoseconds have a bucket each;
// above that every power of two is split into 2^(subBits-1) buckets, so a
// bucket is at most 1/64 of its lower bound wide and a percentile read from
// its midpoint is within 0.8% of the true value. Values from 2^maxBits ns
// (about 68.7 s) up share the last bucket; Max stays exact.
const (
	subBits     = 7
	subCount    = 1 << subBits
	halfCount   = subCount / 2
	maxBits     = 36
	bucketCount = subCount + (maxBits-subBits)*halfCount
)

// Histogram counts durations in log-linear buckets, like an HDR histogram
// with two significant digits. The zero value is empty and ready to use.
//
// A Histogram is not safe for concurrent use: each reader records into its
// own and the results are merged once the readers have stopped.
type Histogram struct {
	counts []uint32 // allocated on the first Record
	total  uint64
	sum    float64
	min    int64
	max    int64
}

// bucketOf returns the bucket index of a value in nanoseconds.
func bucketOf(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits
	if shift+subBits > maxBits {
		return bucketCount - 1
	}
	mantissa := int(v >> shift) // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + mantissa - halfCount
}

// bucketRange returns the lowest and highest value a bucket holds.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i-subCount)/halfCount + 1
	mantissa := int64((i-subCount)%halfCount + halfCount)
	return mantissa << shift, (mantissa+1)<<shift - 1
}

// Record adds one duration. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if h.counts == nil {
		h.counts = make([]uint32, bucketCount)
		h.min = v
	}
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint32, bucketCount)
		h.min = o.min
	}
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest recorded value, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the average of the recorded values.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value below which a fraction q (0..1) of the
// recorded values lie: the midpoint of the bucket holding the value of
// rank ceil(q*count), clamped to the exact min and max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	switch {
	case rank >= h.total:
		return time.Duration(h.max)
	case rank <= 1:
		return time.Duration(h.min)
	}
	var seen uint64
	for i, n := range h.counts {
		seen += uint64(n)
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := lo + (hi-lo)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
