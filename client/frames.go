package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/uniws/uniws/core"
)

// SplitFrame splits a text frame into the pushes it holds. A server with
// uni_websocket_join_push_messages joins several pushes with '\n'; empty
// lines are skipped. The returned slices share frame's memory.
func SplitFrame(frame []byte) [][]byte {
	var out [][]byte
	for len(frame) > 0 {
		line := frame
		if i := bytes.IndexByte(frame, '\n'); i >= 0 {
			line, frame = frame[:i], frame[i+1:]
		} else {
			frame = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out = append(out, line)
	}
	return out
}

// DecodePush parses one push.
func DecodePush(raw []byte) (*core.Push, error) {
	var p core.Push
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode push: %w", err)
	}
	return &p, nil
}

// recoveredEvents turns the publications recovered in a connect push into
// publication pushes, channel by channel (sorted), in stream order.
func recoveredEvents(c *core.Connect, ev Event) []Event {
	var out []Event
	for _, ch := range slices.Sorted(maps.Keys(c.Subs)) {
		r := c.Subs[ch]
		if r == nil || !r.Recovered {
			continue
		}
		for _, pub := range r.Publications {
			if pub == nil {
				continue
			}
			push := &core.Push{Channel: ch, Pub: pub}
			e := ev
			e.Kind = KindPush
			e.Push = push
			e.Raw = push.AppendJSON(nil)
			e.Recovered = true
			out = append(out, e)
		}
	}
	return out
}
