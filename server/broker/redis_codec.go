package broker

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"github.com/uniws/uniws/core"
)

// The Redis engine stores and sends a publication as a compact binary body:
// a version byte, the data, then optional client info and tags, each string
// length-prefixed (uvarint). Data and raw JSON info keep their bytes exactly
// (encoding/json would compact them). A PUB/SUB message is
// "<offset>:<epoch>:<body>", offset 0 and an empty epoch for channels
// without history.

const (
	codecVersion = 1
	flagInfo     = 1 << 0
	flagTags     = 1 << 1
)

var errBadBody = errors.New("malformed publication body")

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodePublication returns the body for data, info and tags.
func encodePublication(data []byte, info *core.ClientInfo, tags map[string]string) []byte {
	n := 16 + len(data)
	for k, v := range tags {
		n += 4 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, codecVersion)
	b = appendBytes(b, data)
	var flags byte
	if info != nil {
		flags |= flagInfo
	}
	if len(tags) > 0 {
		flags |= flagTags
	}
	b = append(b, flags)
	if info != nil {
		b = appendString(b, info.User)
		b = appendString(b, info.Client)
		b = appendBytes(b, info.ConnInfo)
		b = appendBytes(b, info.ChanInfo)
	}
	if len(tags) > 0 {
		b = binary.AppendUvarint(b, uint64(len(tags)))
		for k, v := range tags {
			b = appendString(b, k)
			b = appendString(b, v)
		}
	}
	return b
}

// bodyReader reads a body; the first problem sticks in err.
type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, w := binary.Uvarint(r.b)
	if w <= 0 || n > uint64(len(r.b)-w) {
		r.err = errBadBody
		return nil
	}
	out := r.b[w : w+int(n) : w+int(n)]
	r.b = r.b[w+int(n):]
	return out
}

// raw returns the next bytes, nil when empty (as a JSON payload left out).
func (r *bodyReader) raw() []byte {
	if b := r.bytes(); len(b) > 0 {
		return b
	}
	return nil
}

func (r *bodyReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errBadBody
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// decodePublication reads a body made by encodePublication. The result
// refers to b's memory.
func decodePublication(b []byte) (*core.Publication, error) {
	r := &bodyReader{b: b}
	if r.byte() != codecVersion {
		return nil, errBadBody
	}
	pub := &core.Publication{Data: r.bytes()}
	flags := r.byte()
	if flags&flagInfo != 0 {
		pub.Info = &core.ClientInfo{User: string(r.bytes()), Client: string(r.bytes()), ConnInfo: r.raw(), ChanInfo: r.raw()}
	}
	if flags&flagTags != 0 {
		n, w := binary.Uvarint(r.b)
		if w <= 0 || n > uint64(len(r.b)) {
			return nil, errBadBody
		}
		r.b = r.b[w:]
		pub.Tags = make(map[string]string, n)
		for range n {
			k := string(r.bytes())
			pub.Tags[k] = string(r.bytes())
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadBody
	}
	return pub, nil
}

// parseMessage splits a PUB/SUB message into its stream position and body.
func parseMessage(payload string) (StreamPosition, []byte, error) {
	off, rest, ok := strings.Cut(payload, ":")
	if !ok {
		return StreamPosition{}, nil, errBadBody
	}
	epoch, body, ok := strings.Cut(rest, ":")
	if !ok {
		return StreamPosition{}, nil, errBadBody
	}
	offset, err := strconv.ParseUint(off, 10, 64)
	if err != nil {
		return StreamPosition{}, nil, errBadBody
	}
	return StreamPosition{Offset: offset, Epoch: epoch}, []byte(body), nil
}
