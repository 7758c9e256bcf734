package ws

import (
	"encoding/binary"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/hub"
)

// WebSocket opcodes the server writes (RFC 6455 §5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
	finBit  = 0x80

	maxHeaderLen = 10
)

// appendHeader appends an unmasked frame header for a payload of n bytes.
func appendHeader(b []byte, opcode byte, n int) []byte {
	b = append(b, finBit|opcode)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// headerLen is the size of the header appendHeader writes for n bytes.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xFFFF:
		return 4
	}
	return 10
}

// NewMessage encodes a push once and frames it as a server text frame. The
// result is shared, unmodified, by every subscriber of the channel.
//
// offset and epoch give a publication's stream position (zero without
// history); sessions use them to detect gaps on positioned channels.
func NewMessage(channel string, p *core.Push, offset uint64, epoch string) *hub.Message {
	size := maxHeaderLen + 64 + len(p.Channel)
	if p.Pub != nil {
		size += len(p.Pub.Data) + len(p.Pub.Epoch)
		if p.Pub.Info != nil {
			size += 32 + len(p.Pub.Info.User) + len(p.Pub.Info.Client) + len(p.Pub.Info.ConnInfo) + len(p.Pub.Info.ChanInfo)
		}
		for k, v := range p.Pub.Tags {
			size += len(k) + len(v) + 6
		}
	}
	buf := make([]byte, maxHeaderLen, size)
	buf = p.AppendJSON(buf)
	n := len(buf) - maxHeaderLen
	start := maxHeaderLen - headerLen(n)
	appendHeader(buf[start:start], opText, n)
	return &hub.Message{
		Channel: channel,
		Frame:   buf[start:],
		Payload: buf[maxHeaderLen:],
		Offset:  offset,
		Epoch:   epoch,
	}
}

// textFrame frames one payload.
func textFrame(payload []byte) []byte {
	b := make([]byte, 0, headerLen(len(payload))+len(payload))
	b = appendHeader(b, opText, len(payload))
	return append(b, payload...)
}

// closeFrame builds a close frame with a code and reason.
func closeFrame(code uint32, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	b := make([]byte, 0, 4+len(reason))
	b = appendHeader(b, opClose, 2+len(reason))
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}

// controlFrame builds a ping or pong frame with a payload of at most 125 bytes.
func controlFrame(opcode byte, payload []byte) []byte {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	b := make([]byte, 0, 2+len(payload))
	b = appendHeader(b, opcode, len(payload))
	return append(b, payload...)
}

// countPush counts a push sent to one session by its kind.
func (h *Handler) countPush(p *core.Push) {
	c := &h.cfg.Metrics.Pushes
	switch {
	case p.Pub != nil:
		c.Publication.Inc()
	case p.Join != nil:
		c.Join.Inc()
	case p.Leave != nil:
		c.Leave.Inc()
	case p.Unsubscribe != nil:
		c.Unsubscribe.Inc()
	case p.Message != nil:
		c.Message.Inc()
	case p.Subscribe != nil:
		c.Subscribe.Inc()
	case p.Connect != nil:
		c.Connect.Inc()
	case p.Disconnect != nil:
		c.Disconnect.Inc()
	case p.Refresh != nil:
		c.Refresh.Inc()
	}
}
