package ws

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

// inFrames is where a watched session's client input stands between
// bursts, at a frame boundary or inside a data frame.
type inFrames struct {
	skip   int64 // payload bytes of the current data frame still to discard
	open   bool  // a data message has begun and not ended
	length int64 // payload bytes of that message so far
}

// Client opcodes besides the ones the server writes.
const (
	opContinuation = 0x0
	opBinary       = 0x2
)

// consumeFrames handles the client frames in the session's read buffer,
// leaving a partial frame for the next burst, with the checks gorilla's
// server-side reader makes: Pings are answered, Pongs move the read
// deadline, data is discarded within the message size limit (1009 past
// it), a close frame is answered and ends the session, a malformed frame
// is answered with 1002. It reports whether the session ends.
//
// Connected sessions read here rather than through gorilla, whose
// NextReader goes on waiting for a data frame after a control frame (a
// watched session must go back to the idle set instead) and which writes
// its close frames itself, past the session's queue. gorilla reads only
// the connect request.
func (s *Session) consumeFrames() (end bool) {
	br, in := s.br, &s.in
	for {
		if in.skip > 0 {
			n := int(min(in.skip, int64(br.Buffered())))
			if n == 0 {
				// The rest of a large data frame, dropped straight
				// from the socket as far as it has arrived.
				k, err := s.h.raw.tryDiscard(s.raw, in.skip)
				if err != nil {
					return true // the peer closed mid-frame, or the socket failed
				}
				if k == 0 {
					return false
				}
				in.skip -= int64(k)
				continue
			}
			_, _ = br.Discard(n)
			in.skip -= int64(n)
			continue
		}
		if br.Buffered() < 2 {
			return false
		}
		p, _ := br.Peek(2)
		op, final, n := p[0]&0x0f, p[0]&finBit != 0, int64(p[1]&0x7f)
		var problems []string
		for bit, name := range [...]string{"RSV1", "RSV2", "RSV3"} {
			if p[0]&(0x40>>bit) != 0 {
				problems = append(problems, name+" set")
			}
		}
		switch op {
		case opClose, opPing, opPong:
			if n > 125 {
				problems = append(problems, "len > 125 for control")
			}
			if !final {
				problems = append(problems, "FIN not set on control")
			}
		case opText, opBinary:
			if in.open {
				problems = append(problems, "data before FIN")
			}
		case opContinuation:
			if !in.open {
				problems = append(problems, "continuation after FIN")
			}
		default:
			problems = append(problems, "bad opcode "+strconv.Itoa(int(op)))
		}
		if p[1]&0x80 == 0 {
			problems = append(problems, "bad MASK")
		}
		if len(problems) > 0 {
			s.closeFor(websocket.CloseProtocolError, strings.Join(problems, ", "))
			return true
		}
		// The length first (gorilla ends at once on a negative one), then
		// the mask key.
		hlen := 2
		switch n {
		case 126:
			hlen += 2
		case 127:
			hlen += 8
		}
		if br.Buffered() < hlen {
			return false
		}
		h, _ := br.Peek(hlen)
		switch n {
		case 126:
			n = int64(binary.BigEndian.Uint16(h[2:]))
		case 127:
			n = int64(binary.BigEndian.Uint64(h[2:]))
		}
		if n < 0 {
			return true // beyond any limit: gorilla drops these without a close frame
		}
		hlen += 4
		if br.Buffered() < hlen {
			return false
		}
		h, _ = br.Peek(hlen)
		if op == opText || op == opBinary || op == opContinuation {
			if op != opContinuation {
				in.length = 0
			}
			in.open, in.length = !final, in.length+n
			if in.length < 0 {
				return true // as above
			}
			if limit := int64(s.h.cfg.MessageSizeLimit); limit > 0 && in.length > limit {
				s.closeFor(websocket.CloseMessageTooBig, "")
				return true
			}
			_, _ = br.Discard(hlen)
			in.skip = n
			continue
		}
		if br.Buffered() < hlen+int(n) {
			return false
		}
		f, _ := br.Peek(hlen + int(n))
		var buf [125]byte
		payload := buf[:n]
		for i := range payload {
			payload[i] = f[hlen+i] ^ h[hlen-4+i&3]
		}
		_, _ = br.Discard(hlen + int(n))
		switch op {
		case opPing:
			s.onPing(payload)
		case opPong:
			s.onPong()
		case opClose:
			code := websocket.CloseNoStatusReceived
			if n >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
				if !validReceivedCloseCode(code) {
					s.closeFor(websocket.CloseProtocolError, "bad close code "+strconv.Itoa(code))
					return true
				}
				if !utf8.Valid(payload[2:]) {
					s.closeFor(websocket.CloseProtocolError, "invalid utf8 payload in close frame")
					return true
				}
			}
			s.closeFor(code, "")
			return true
		}
	}
}

// validReceivedCloseCode is gorilla's list of close codes a peer may send.
func validReceivedCloseCode(code int) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1013:
		return true
	}
	return false
}

// onPing answers a client's Ping.
func (s *Session) onPing(data []byte) {
	s.mu.Lock()
	s.enqueueLocked(frame{b: controlFrame(opPong, data)})
	s.mu.Unlock()
}

// onPong moves the read deadline: the client is alive. Before the connect
// request a Pong changes nothing: the stale close (3502) stands.
func (s *Session) onPong() {
	s.mu.Lock()
	if !s.closing && s.state == stateConnected {
		s.setReadDeadlineLocked(time.Now().Add(s.h.cfg.PingInterval + s.h.cfg.PongTimeout))
	}
	s.mu.Unlock()
}

// closeFor ends the session with a close frame of the WebSocket code and
// reason: the answer to a client's close frame (its code, and none when it
// sent none: 1005 is not for the wire), or 1002 and 1009 as gorilla sends
// them when a client breaks the protocol.
func (s *Session) closeFor(code int, reason string) {
	f := controlFrame(opClose, nil)
	if code != websocket.CloseNoStatusReceived {
		f = closeFrame(uint32(code), reason)
	}
	s.mu.Lock()
	s.closeWithLocked(core.CodeConnectionClosed.Disconnect(), f)
	s.mu.Unlock()
}
