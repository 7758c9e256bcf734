package bench

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Read buffer sizes: every connection starts small, so that idle ones cost
// little, and one whose reads fill the buffer doubles it up to growCap,
// so that a busy one fetches many frames per read.
const (
	initialBuffer = 1 << 10
	growCap       = 16 << 10
	maxHeader     = 16 << 10
	maxMessage    = 16 << 20
	writeTimeout  = time.Second
	acceptGUID    = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// conn is a minimal RFC 6455 client connection: it reads unmasked server
// frames in place from one growing buffer, answers Pings with masked
// Pongs and sends masked text and close frames.
//
// One goroutine reads (first the connect phase, then run); writes take
// wmu, so the runner may close the connection while its reader answers a
// Ping.
type conn struct {
	nc   net.Conn
	buf  []byte
	r, w int
	grow bool   // the last read filled the buffer
	at   int64  // Unix nanoseconds when the last read returned
	frag []byte // a fragmented message being assembled
	// prefix is how a publication of this run to the bench channel starts,
	// runMark how the run's name appears in it (both shared, read-only);
	// see pubPrefix and runMarker.
	prefix, runMark []byte

	wmu sync.Mutex
	// onRing: a ring reader reads the connection through fd, its own
	// descriptor (nc is closed); released once the ring closed fd. Both
	// are guarded by wmu.
	onRing, released bool
	fd               int

	closing atomic.Bool // the runner is closing the connection
	alive   atomic.Bool // the reader is running

	disconnect string // the disconnect push seen, if any
	end        string // why the reader stopped; "" when the runner closed it
	st         stats
}

// closeError is a close frame from the server.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("close %d %s", e.code, e.reason) }

// handshake sends the upgrade request and checks the 101 reply; bytes
// after the reply's header stay in the buffer as the first frames.
func (c *conn) handshake(host, path string) error {
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(nonce[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\nUser-Agent: uniws-bench\r\n\r\n"
	if _, err := c.nc.Write([]byte(req)); err != nil {
		return fmt.Errorf("send upgrade request: %w", err)
	}
	end := -1
	for end < 0 {
		if c.w == len(c.buf) {
			if len(c.buf) >= maxHeader {
				return errors.New("upgrade reply header too long")
			}
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if n == 0 && err != nil {
			return fmt.Errorf("read upgrade reply: %w", err)
		}
		end = bytes.Index(c.buf[:c.w], []byte("\r\n\r\n"))
	}
	head := string(c.buf[:end])
	c.r = end + 4
	status, fields, _ := strings.Cut(head, "\r\n")
	if parts := strings.Fields(status); len(parts) < 2 || parts[1] != "101" {
		code := "?"
		if len(parts) >= 2 {
			code = parts[1]
		}
		return &httpError{code: code}
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, line := range strings.Split(fields, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Sec-WebSocket-Accept") {
			if strings.TrimSpace(value) != want {
				return errors.New("upgrade reply: wrong Sec-WebSocket-Accept")
			}
			return nil
		}
	}
	return errors.New("upgrade reply: no Sec-WebSocket-Accept")
}

// httpError is an upgrade refused with an HTTP status.
type httpError struct{ code string }

func (e *httpError) Error() string { return "HTTP " + e.code }

// frame returns the next frame's first byte and payload, reading as
// needed. The payload aliases the read buffer: it is valid until the next
// call.
func (c *conn) frame() (byte, []byte, error) {
	for {
		b0, p, need, err := c.next()
		if need == 0 || err != nil {
			return b0, p, err
		}
		if err := c.fill(need); err != nil {
			return 0, nil, err
		}
	}
}

// next returns the next frame in the buffer or, when the buffer holds no
// whole frame, need: how many bytes from c.r it must hold for the next
// step. The payload aliases the read buffer.
func (c *conn) next() (b0 byte, p []byte, need int, err error) {
	b := c.buf[c.r:c.w]
	if len(b) < 2 {
		return 0, nil, 2, nil
	}
	if b[1]&0x80 != 0 {
		return 0, nil, 0, errors.New("masked frame from server")
	}
	hdr, n := 2, uint64(b[1]&0x7f)
	switch n {
	case 126:
		hdr = 4
	case 127:
		hdr = 10
	}
	if len(b) < hdr {
		return 0, nil, hdr, nil
	}
	switch hdr {
	case 4:
		n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 10:
		n = binary.BigEndian.Uint64(b[2:])
	}
	if n > maxMessage {
		return 0, nil, 0, fmt.Errorf("frame of %d bytes is over %d", n, maxMessage)
	}
	end := hdr + int(n)
	if len(b) < end {
		return 0, nil, end, nil
	}
	c.r += end
	return b[0], b[hdr:end], 0, nil
}

// fill reads more bytes so that the buffer may hold need bytes from c.r.
func (c *conn) fill(need int) error {
	n, err := c.nc.Read(c.room(need))
	if n > 0 {
		c.got(n, time.Now().UnixNano())
		return nil
	}
	if err == nil {
		err = errors.New("empty read")
	}
	return err
}

// room moves the unread bytes to the buffer's start, grows it to hold need
// bytes (or doubles it, up to growCap, after a read that filled it), and
// returns the free space after them.
func (c *conn) room(need int) []byte {
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if size := len(c.buf); need > size || (c.grow && size < growCap) {
		size = max(need, min(2*size, growCap))
		c.buf = append(c.buf[:c.w], make([]byte, size-c.w)...)
		c.grow = false
	}
	return c.buf[c.w:]
}

// got accounts for n bytes read into room's space at at (Unix nanoseconds).
func (c *conn) got(n int, at int64) {
	c.w += n
	c.at = at
	c.grow = c.w == len(c.buf)
}

// message returns the next text or binary message, answering Pings on the
// way. A close frame is answered and returned as a *closeError. The
// message aliases the read buffer: it is valid until the next call.
func (c *conn) message() ([]byte, error) {
	for {
		b0, p, err := c.frame()
		if err != nil {
			return nil, err
		}
		if msg, ok, err := c.take(b0, p); ok || err != nil {
			return msg, err
		}
	}
}

// take handles one frame: ok with a whole text or binary message, which
// aliases p or the fragment buffer; a Ping is answered; a close frame is
// answered and returned as a *closeError.
func (c *conn) take(b0 byte, p []byte) (msg []byte, ok bool, err error) {
	fin := b0&0x80 != 0
	switch b0 & 0x0f {
	case opText, opBinary:
		if fin {
			return p, true, nil
		}
		c.frag = append(c.frag[:0], p...)
	case opContinuation:
		c.frag = append(c.frag, p...)
		if len(c.frag) > maxMessage {
			return nil, false, fmt.Errorf("message over %d bytes", maxMessage)
		}
		if fin {
			return c.frag, true, nil
		}
	case opPing:
		c.st.wsPings++
		if err := c.reply(opPong, p); err != nil {
			return nil, false, fmt.Errorf("send pong: %w", err)
		}
	case opPong:
	case opClose:
		ce := &closeError{code: 1005}
		if len(p) >= 2 {
			ce.code, ce.reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
		_ = c.reply(opClose, p[:min(len(p), 2)])
		return nil, false, ce
	default:
		return nil, false, fmt.Errorf("unknown opcode %d", b0&0x0f)
	}
	return nil, false, nil
}

// reply sends a control frame the reader owes the server. A ring reader's
// one thread reads every connection, so there a reply does not wait for
// room: one that does not fit at once fails, and its connection ends (a
// goroutine reader waits up to writeTimeout).
func (c *conn) reply(op byte, p []byte) error {
	wait := writeTimeout
	if c.onRing { // set before the ring's thread first sees c
		wait = 0
	}
	return c.writeFrameWithin(op, p, wait)
}

// writeFrame sends one masked frame, waiting up to writeTimeout for room.
// It is safe for concurrent use.
func (c *conn) writeFrame(op byte, p []byte) error { return c.writeFrameWithin(op, p, writeTimeout) }

func (c *conn) writeFrameWithin(op byte, p []byte, wait time.Duration) error {
	f := make([]byte, 0, 14+len(p))
	f = append(f, 0x80|op)
	switch n := len(p); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	f = append(f, mask[:]...)
	for i, b := range p {
		f = append(f, b^mask[i&3])
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.onRing {
		if c.released {
			return net.ErrClosed
		}
		return writeFD(c.fd, f, wait)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(wait))
	_, err := c.nc.Write(f)
	return err
}

// close sends a close frame 1000 and closes the socket (on a ring, shuts
// it down: the ring reader closes it); the reader then stops. It is safe
// to call while the reader runs.
func (c *conn) close() {
	c.closing.Store(true)
	_ = c.writeFrame(opClose, binary.BigEndian.AppendUint16(nil, 1000))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.onRing {
		_ = c.nc.Close()
	} else if !c.released {
		shutdownFD(c.fd)
	}
}

// closeReason formats a close frame's code and reason.
func closeReason(code int, reason string) string {
	if reason == "" {
		return "close " + strconv.Itoa(code)
	}
	return "close " + strconv.Itoa(code) + " " + reason
}
