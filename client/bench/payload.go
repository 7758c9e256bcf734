package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"math"
	"strconv"
)

// MinPayload is the smallest payload size:
// {"run":"R","seq":N,"ts":T,"pad":""} with an 8-letter run, a 19-digit
// timestamp and a sequence number of up to six digits.
const MinPayload = 65

// runLen is the length of a run's name.
const runLen = 8

// AppendPayload appends the publication data for message seq of run sent
// at ts (Unix nanoseconds): {"run":"R","seq":N,"ts":T,"pad":"xxx"}, padded
// so that it is size bytes long when size allows. The run tells this
// run's publications from anything else published to the channel.
func AppendPayload(dst []byte, run string, seq, ts int64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"run":"`...)
	dst = append(dst, run...)
	dst = append(dst, `","seq":`...)
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
// numbers after their keys (this run's own pushes are read in place, by
// seqTSAfterPrefix). ok is false for pushes that are not publications
// carrying both numbers.
func ExtractSeqTS(push []byte) (seq, ts int64, ok bool) {
	i := bytes.Index(push, []byte(pubMarker))
	if i < 0 {
		return 0, 0, false
	}
	data := push[i+len(pubMarker):]
	if seq, ok = numberAfter(data, seqMarker); !ok {
		return 0, 0, false
	}
	if ts, ok = numberAfter(data, tsMarker); !ok {
		return 0, 0, false
	}
	return seq, ts, true
}

// pubPrefix is how a publication of run to channel starts on the wire,
// with the channel escaped as encoding/json does, up to its seq:
// {"channel":"C","pub":{"data":{"run":"R",
func pubPrefix(channel, run string) []byte {
	name, err := json.Marshal(channel)
	if err != nil {
		return nil
	}
	b := append(append([]byte(`{"channel":`), name...), `,"pub":{"data":{"run":"`...)
	return append(append(b, run...), `",`...)
}

// runMarker is how run's name appears in its publications' data.
func runMarker(run string) []byte { return []byte(`"run":"` + run + `"`) }

// newRun names a run: 8 random lower-case letters.
func newRun() string {
	var b [runLen]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b[:])
}

// seqTSAfterPrefix reads seq and ts from what follows a push's pubPrefix:
// "seq":N,"ts":T,...
func seqTSAfterPrefix(rest []byte) (seq, ts int64, ok bool) {
	rest, found := bytes.CutPrefix(rest, []byte(seqMarker))
	if !found {
		return 0, 0, false
	}
	seq, n := leadingNumber(rest)
	if n == 0 {
		return 0, 0, false
	}
	if rest, found = bytes.CutPrefix(rest[n:], []byte(","+tsMarker)); !found {
		return 0, 0, false
	}
	if ts, n = leadingNumber(rest); n == 0 {
		return 0, 0, false
	}
	return seq, ts, true
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
