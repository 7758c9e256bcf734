package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uniws/uniws/client"
)

// windowBits is how far behind the highest sequence number seen a
// publication may arrive and still be checked for being a duplicate.
const (
	windowBits  = 4096
	windowWords = windowBits / 64
)

// fnvPrime mixes each seq into a connection's order hash, so that
// connections that got the same publications can be checked for having
// got them in the same order.
const fnvPrime = 1099511628211

// stats is what one connection's reader counted. The reader goroutine
// owns every field; only unique is read by others while it runs.
type stats struct {
	unique    atomic.Int64 // distinct publications received
	frames    int64        // data frames
	pubFrames int64        // data frames with at least one publication
	pushes    int64        // publications carrying seq and ts, duplicates included
	pings     int64        // application pings {}
	wsPings   int64        // WebSocket Ping frames answered
	dups      int64
	ooo       int64 // arrived after a higher seq
	late      int64 // so far behind that duplicates cannot be told (counted as unique)
	other     int64 // any other push
	maxSeq    int64
	order     uint64 // hash of the order the publications came in
	lastAt    int64  // Unix nanoseconds of the last new publication
	window    *[windowWords]uint64
	hist      Histogram
}

// deliver counts one publication received at at (Unix nanoseconds).
func (s *stats) deliver(seq, ts, at int64) {
	if s.window == nil {
		s.window = new([windowWords]uint64)
	}
	switch {
	case seq > s.maxSeq:
		if seq-s.maxSeq >= windowBits {
			clear(s.window[:])
		} else {
			for q := s.maxSeq + 1; q < seq; q++ {
				s.window[(q/64)%windowWords] &^= 1 << (q % 64)
			}
		}
		s.maxSeq = seq
	case seq <= s.maxSeq-windowBits:
		s.late++
		s.ooo++
		s.record(seq, ts, at)
		return
	default:
		if s.window[(seq/64)%windowWords]&(1<<(seq%64)) != 0 {
			s.dups++
			return
		}
		s.ooo++
	}
	s.window[(seq/64)%windowWords] |= 1 << (seq % 64)
	s.record(seq, ts, at)
}

func (s *stats) record(seq, ts, at int64) {
	s.order = (s.order ^ uint64(seq)) * fnvPrime
	s.unique.Add(1)
	s.hist.Record(time.Duration(at - ts))
	s.lastAt = max(s.lastAt, at)
}

// handle counts the pushes of one data frame.
func (c *conn) handle(frame []byte) {
	c.st.frames++
	pubs := c.st.pushes
	defer func() {
		if c.st.pushes > pubs {
			c.st.pubFrames++
		}
	}()
	for line, rest := nextLine(frame); line != nil; line, rest = nextLine(rest) {
		if len(line) == 2 && line[0] == '{' && line[1] == '}' {
			c.st.pings++
			continue
		}
		var seq, ts int64
		var ok bool
		switch {
		case len(c.prefix) > 0 && bytes.HasPrefix(line, c.prefix):
			seq, ts, ok = seqTSAfterPrefix(line[len(c.prefix):])
		case len(c.runMark) > 0 && bytes.Contains(line, c.runMark):
			// This run's, in another form than expected.
			seq, ts, ok = ExtractSeqTS(line)
		}
		if ok && seq > 0 {
			c.st.pushes++
			c.st.deliver(seq, ts, c.at)
			continue
		}
		c.st.other++
		if bytes.HasPrefix(line, []byte(`{"disconnect":`)) {
			c.disconnect = describeDisconnect(line)
		}
	}
}

// run reads until the connection ends. The runner waits for it before
// reading the stats.
func (c *conn) run() {
	defer c.alive.Store(false)
	for {
		msg, err := c.message()
		if err != nil {
			if !c.closing.Load() {
				c.end = c.endReason(err)
			}
			return
		}
		c.handle(msg)
	}
}

// endReason says why the server side ended the connection.
func (c *conn) endReason(err error) string {
	if c.disconnect != "" {
		return c.disconnect
	}
	var ce *closeError
	if errors.As(err, &ce) {
		return closeReason(ce.code, ce.reason)
	}
	return "read: " + errorReason(err)
}

// describeDisconnect formats a disconnect push as "disconnect CODE reason".
func describeDisconnect(line []byte) string {
	p, err := client.DecodePush(line)
	if err != nil || p.Disconnect == nil {
		return "disconnect (undecodable)"
	}
	return "disconnect " + strconv.Itoa(int(p.Disconnect.Code)) + " " + p.Disconnect.Reason
}

// errorReason names a network error by its cause, without addresses, so
// that failures group by kind.
func errorReason(err error) string {
	var errno syscall.Errno
	var ne net.Error
	var he *httpError
	var ce *closeError
	switch {
	case errors.As(err, &he):
		return he.Error()
	case errors.As(err, &ce):
		return closeReason(ce.code, ce.reason)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by server"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON"
	}
	return err.Error()
}
