package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// MinPayload is the smallest payload size: {"seq":N,"ts":T,"pad":""} with
// a 19-digit timestamp and a short sequence number.
const MinPayload = 48

// AppendPayload appends the publication data for message seq sent at ts
// (Unix nanoseconds): {"seq":N,"ts":T,"pad":"xxx"}, padded so that it is
// size bytes long when size allows.
func AppendPayload(dst []byte, seq, ts int64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, `,"pad":"`...)
	for pad := size - (len(dst) - start) - 2; pad > 0; pad-- {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// Publication markers, in the order the wire contract puts the fields:
// {"channel":"...","pub":{"data":{"seq":N,"ts":T,...}...}}.
const (
	pubMarker = `"pub":{"data":`
	seqMarker = `"seq":`
	tsMarker  = `"ts":`
)

// ExtractSeqTS picks seq and ts out of one publication push without
// decoding it: the data object is found after "pub":{"data": and the two
// numbers after their keys. ok is false for pushes that are not
// publications carrying both numbers.
func ExtractSeqTS(push []byte) (seq, ts int64, ok bool) {
	i := bytes.Index(push, []byte(pubMarker))
	if i < 0 {
		return 0, 0, false
	}
	return dataSeqTS(push[i+len(pubMarker):])
}

// dataSeqTS reads seq and ts from a publication's data: in place when it
// starts the way AppendPayload writes it, by searching for the keys
// otherwise.
func dataSeqTS(data []byte) (seq, ts int64, ok bool) {
	if rest, found := bytes.CutPrefix(data, []byte(`{"seq":`)); found {
		if seq, n := leadingNumber(rest); n > 0 {
			if rest, found = bytes.CutPrefix(rest[n:], []byte(`,"ts":`)); found {
				if ts, m := leadingNumber(rest); m > 0 {
					return seq, ts, true
				}
			}
		}
	}
	if seq, ok = numberAfter(data, seqMarker); !ok {
		return 0, 0, false
	}
	if ts, ok = numberAfter(data, tsMarker); !ok {
		return 0, 0, false
	}
	return seq, ts, true
}

// pubPrefix is how a publication to channel starts on the wire, with the
// channel escaped as encoding/json does: a push that starts with it has
// its data right after.
func pubPrefix(channel string) []byte {
	name, err := json.Marshal(channel)
	if err != nil {
		return nil
	}
	return append(append([]byte(`{"channel":`), name...), `,"pub":{"data":`...)
}

// numberAfter parses the non-negative integer that follows key in b.
func numberAfter(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	n, digits := leadingNumber(b[i+len(key):])
	return n, digits > 0
}

// leadingNumber parses the non-negative integer b starts with and says
// how many digits it took; 0 digits means none, or one too large.
func leadingNumber(b []byte) (int64, int) {
	var n int64
	for i, c := range b {
		if c < '0' || c > '9' {
			return n, i
		}
		if n > (math.MaxInt64-9)/10 {
			return 0, 0
		}
		n = n*10 + int64(c-'0')
	}
	return n, len(b)
}

// nextLine returns the first non-empty line of a joined frame (pushes
// separated by '\n') and the rest. Empty lines and a trailing '\r' are
// skipped, as client.SplitFrame does, without allocating.
func nextLine(frame []byte) (line, rest []byte) {
	for len(frame) > 0 {
		line, rest = frame, nil
		if i := bytes.IndexByte(frame, '\n'); i >= 0 {
			line, rest = frame[:i], frame[i+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			return line, rest
		}
		frame = rest
	}
	return nil, nil
}
