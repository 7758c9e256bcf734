package ws

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/hub"
)

type sessionState uint8

const (
	stateConnecting sessionState = iota
	stateConnected
	stateClosed
)

// Session is one uni_websocket connection. The HTTP handler's goroutine
// reads the connect request; after that the session waits in the handler's
// idle set and a goroutine reads only when input came (or, where it cannot
// be watched, a goroutine of its own reads). The handler's flusher writes
// what is queued; pings come from a timer. All exported methods are safe
// for concurrent use and never block on the network.
type Session struct {
	h       *Handler
	conn    *websocket.Conn
	nc      net.Conn
	req     *http.Request // only until Connect returns
	remote  string
	id      string
	session string

	mu        sync.Mutex
	state     sessionState
	user      string
	info      json.RawMessage
	channels  map[string]struct{}
	positions map[string]*position
	// positioning holds the channels whose stream position is being read
	// (BeginPosition until AddChannel): true once the engine reported,
	// meanwhile, that publications of the channel may have been lost.
	positioning map[string]bool
	pending     []*hub.Message            // deliveries held while connecting
	holds       map[string][]*hub.Message // per channel, held while subscribing
	queue       []frame
	spare       []frame
	queued      int
	writing     bool
	closing     bool
	closeCode   core.Disconnect
	closeSent   chan struct{} // closed once the close frame is written or writing failed
	pingTimer   *time.Timer
	writers     sync.WaitGroup

	raw syscall.RawConn // nil when the connection has no file descriptor
	br  *bufio.Reader   // gorilla's read buffer, when the session knows it

	// Reading once connected (see idleSet), guarded by mu.
	reading   readState
	watched   uint64      // token in the handler's idle set
	deadline  time.Time   // the connection's read deadline
	readTimer *time.Timer // stands for deadline while a watched session waits
	in        inFrames    // a watched session's client input between bursts
}

// readState is who reads a connected session.
type readState uint8

const (
	readOwn     readState = iota // a goroutine of its own (serve)
	readWatched                  // nobody: it waits in the idle set
	readBurst                    // a goroutine reading what came
	readEnded                    // the session is ending
)

type position struct {
	offset uint64
	epoch  string
}

// frame is a queued write: a complete frame, or (joined mode) a push payload
// that the writer frames together with its neighbours.
type frame struct {
	b       []byte
	payload bool
}

func newSession(h *Handler, conn *websocket.Conn, r *http.Request) *Session {
	s := &Session{
		h:         h,
		conn:      conn,
		nc:        conn.NetConn(),
		req:       r,
		remote:    r.RemoteAddr,
		id:        h.cfg.NewID(),
		session:   h.cfg.NewID(),
		channels:  make(map[string]struct{}),
		closeSent: make(chan struct{}),
	}
	if sc, ok := s.nc.(syscall.Conn); ok {
		s.raw, _ = sc.SyscallConn()
	}
	conn.SetPingHandler(func(data string) error {
		s.onPing([]byte(data))
		return nil
	})
	conn.SetPongHandler(func(string) error {
		s.onPong()
		return nil
	})
	conn.SetCloseHandler(func(code int, _ string) error {
		s.closeFor(code, "")
		return nil
	})
	return s
}

// ID is the client id (UUIDv4) sent in the connect push.
func (s *Session) ID() string { return s.id }

// SessionID is the session id sent in the connect push.
func (s *Session) SessionID() string { return s.session }

// Request is the upgrade request (headers for a connect proxy). It is only
// available while Node.Connect runs: idle sessions do not keep it.
func (s *Session) Request() *http.Request { return s.req }

// RemoteAddr is the client's address.
func (s *Session) RemoteAddr() string { return s.remote }

// SetUser records the authenticated user and client info.
func (s *Session) SetUser(user string, info json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.info = user, info
}

// User returns the authenticated user ("" for anonymous).
func (s *Session) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// Info returns the client info from the token or proxy.
func (s *Session) Info() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// AddChannel records a subscription. With positioned set, publications of
// the channel are checked against sp: a gap or an epoch change disconnects
// with 3010 and duplicates are dropped.
func (s *Session) AddChannel(channel string, positioned bool, offset uint64, epoch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[channel] = struct{}{}
	lost := s.positioning[channel]
	delete(s.positioning, channel)
	if positioned {
		if s.positions == nil {
			s.positions = make(map[string]*position)
		}
		s.positions[channel] = &position{offset: offset, epoch: epoch}
		if lost && !s.closing {
			// The position was read while the engine may have lost
			// publications of the channel: it may be behind what the
			// stream holds, with nothing to show it.
			s.disconnectLocked(core.CodeInsufficientState.Disconnect(), true)
		}
	}
}

// BeginPosition marks channel as having its stream position read, before
// the read: a LostPosition for it until AddChannel then closes the session
// with 3010 at AddChannel, as the position read may miss what was lost.
func (s *Session) BeginPosition(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.positioning == nil {
		s.positioning = make(map[string]bool)
	}
	s.positioning[channel] = false
}

// LostPosition closes the session with 3010 (insufficient state) when it
// tracks a stream position on channel, because publications of channel may
// have been lost on their way to this node; the client reconnects and
// recovers. It reports whether it closed the session. A session reading
// its position on channel (BeginPosition) is closed when it records it
// (AddChannel); a session not positioned on channel is left alone.
func (s *Session) LostPosition(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, reading := s.positioning[channel]; reading && !s.closing {
		s.positioning[channel] = true // AddChannel closes it
		return true
	}
	if s.positions[channel] == nil || s.closing {
		return false
	}
	s.disconnectLocked(core.CodeInsufficientState.Disconnect(), true)
	return true
}

// RemoveChannel forgets a subscription and reports whether it was there.
func (s *Session) RemoveChannel(channel string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.channels[channel]
	delete(s.channels, channel)
	delete(s.positions, channel)
	delete(s.positioning, channel)
	if ok && s.state == stateConnecting {
		// Held for after the connect push, these would go out without the
		// position that filters what the connect push recovered.
		kept := s.pending[:0]
		for _, m := range s.pending {
			if m.Channel != channel || m.Offset == 0 {
				kept = append(kept, m)
			}
		}
		clear(s.pending[len(kept):])
		s.pending = kept
	}
	return ok
}

// Channels returns the session's subscriptions.
func (s *Session) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.channels))
	for ch := range s.channels {
		out = append(out, ch)
	}
	return out
}

// Deliver implements hub.Subscriber: it queues m without blocking.
func (s *Session) Deliver(m *hub.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing || s.state == stateClosed:
	case s.holds != nil && s.holds[m.Channel] != nil:
		s.holds[m.Channel] = append(s.holds[m.Channel], m)
	case s.state == stateConnecting:
		s.pending = append(s.pending, m)
	default:
		s.deliverLocked(m)
	}
}

func (s *Session) deliverLocked(m *hub.Message) {
	if m.Offset > 0 {
		if pos := s.positions[m.Channel]; pos != nil {
			switch {
			case m.Epoch != pos.epoch:
				s.disconnectLocked(core.CodeInsufficientState.Disconnect(), true)
				return
			case m.Offset <= pos.offset:
				return // already sent (recovered or duplicate)
			case m.Offset != pos.offset+1:
				s.disconnectLocked(core.CodeInsufficientState.Disconnect(), true)
				return
			}
			pos.offset = m.Offset
		}
	}
	s.enqueueMessageLocked(m)
}

// Hold makes deliveries of channel wait until Release, so that a server-side
// subscription can send its subscribe push (and recovered publications)
// before any live publication. Call it before subscribing in the hub.
func (s *Session) Hold(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds == nil {
		s.holds = make(map[string][]*hub.Message)
	}
	if s.holds[channel] == nil {
		s.holds[channel] = []*hub.Message{}
	}
}

// Release sends pushes (the subscribe push, then recovered publications),
// then what was held for channel, dropping publications already covered by
// the channel's position. A session still connecting sends them after its
// connect push.
func (s *Session) Release(channel string, pushes ...*core.Push) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.holds[channel]
	delete(s.holds, channel)
	if s.closing || s.state == stateClosed {
		return
	}
	for _, p := range pushes {
		s.h.countPush(p)
		m := NewMessage(channel, p, 0, "")
		if s.state == stateConnecting {
			s.pending = append(s.pending, m)
		} else {
			s.enqueueMessageLocked(m)
		}
	}
	for _, m := range held {
		if s.state == stateConnecting {
			s.pending = append(s.pending, m)
		} else {
			s.deliverLocked(m)
		}
	}
}

// enqueueMessageLocked queues m in the session's framing mode.
func (s *Session) enqueueMessageLocked(m *hub.Message) {
	if s.h.cfg.JoinPushMessages {
		s.enqueueLocked(frame{b: m.Payload, payload: true})
	} else {
		s.enqueueLocked(frame{b: m.Frame})
	}
}

// Send queues one push for this session only; a session still connecting
// sends it after its connect push.
func (s *Session) Send(p *core.Push) {
	m := NewMessage(p.Channel, p, 0, "")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.state == stateClosed {
		return
	}
	s.h.countPush(p)
	if s.state == stateConnecting {
		s.pending = append(s.pending, m)
		return
	}
	s.deliverLocked(m)
}

// Disconnect sends the disconnect push and close frame, then closes the
// connection once the client answers or the close timeout passes.
func (s *Session) Disconnect(d core.Disconnect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disconnectLocked(d, false)
}

// CloseCode is the disconnect that ended (or is ending) the session.
func (s *Session) CloseCode() core.Disconnect {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeCode
}

func (s *Session) disconnectLocked(d core.Disconnect, dropQueue bool) {
	if s.closing {
		return
	}
	s.closing = true
	s.closeCode = d
	if dropQueue {
		clear(s.queue)
		s.queue = s.queue[:0]
		s.queued = 0
	}
	push := core.Push{Disconnect: &d}
	s.appendLocked(frame{b: textFrame(push.AppendJSON(nil))})
	s.appendLocked(frame{b: closeFrame(d.Code, d.Reason)})
	s.h.cfg.Metrics.Pushes.Disconnect.Inc()
	s.setReadDeadlineLocked(time.Now().Add(s.h.cfg.CloseTimeout))
}

// closeOnlyLocked sends a close frame without a disconnect push.
func (s *Session) closeOnlyLocked(code core.Code) {
	s.closeWithLocked(code.Disconnect(), closeFrame(uint32(code), code.Reason()))
}

// closeWithLocked starts closing the session with close frame f, unless
// it is closing already; d is what the session ends with.
func (s *Session) closeWithLocked(d core.Disconnect, f []byte) {
	if s.closing {
		return
	}
	s.closing = true
	s.closeCode = d
	s.appendLocked(frame{b: f})
}

// enqueueLocked queues a frame for a live session, closing it with 3008
// when the queue would exceed its byte limit.
func (s *Session) enqueueLocked(f frame) {
	if s.closing {
		return
	}
	if s.queued+len(f.b) > s.h.cfg.QueueMaxSize {
		s.h.log.Info("slow consumer disconnected", "client", s.id, "user", s.user, "queued_bytes", s.queued)
		s.h.cfg.Metrics.SlowConsumerDrops.Inc()
		s.disconnectLocked(core.CodeSlow.Disconnect(), true)
		return
	}
	s.appendLocked(f)
}

// appendLocked queues a frame unconditionally and makes sure the session
// has a write turn coming.
func (s *Session) appendLocked(f frame) {
	s.queue = append(s.queue, f)
	s.queued += len(f.b)
	if !s.writing {
		s.writing = true
		s.writers.Add(1)
		s.h.flush.schedule(s)
	}
}

// turn writes everything queued, in one writev when the socket has room.
// The caller holds the session's write turn (s.writing). Unless wait is
// set, a write that would block is finished by a goroutine of its own,
// which takes sc with it; turn then reports true.
//
// The turn passes on to the flusher when more is queued by the end of the
// write, and ends (s.writing false) when nothing is.
func (s *Session) turn(sc *writeScratch, wait bool) (tookScratch bool) {
	batch := s.takeQueue()
	if batch == nil {
		return false
	}
	iov, total := sc.layOut(batch)
	n, complete, err := s.h.raw.tryWritev(s.raw, iov, total)
	return s.afterWrite(batch, sc, iov, n, complete, err, wait)
}

// takeQueue takes everything queued for the write turn the caller holds,
// or ends the turn and returns nil when nothing is.
func (s *Session) takeQueue() []frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		s.endTurnLocked()
		return nil
	}
	batch := s.queue
	s.queue, s.spare = s.spare, nil
	s.queued = 0
	return batch
}

// afterWrite goes on from a first write attempt of batch, laid out as iov
// in sc, that wrote n bytes, all of it when complete: as turn describes.
func (s *Session) afterWrite(batch []frame, sc *writeScratch, iov net.Buffers, n int, complete bool, err error, wait bool) (tookScratch bool) {
	if err == nil && !complete {
		if !wait {
			go s.finish(batch, sc, consume(iov, n), n)
			return true
		}
		var m int64
		m, err = s.writeRest(consume(iov, n))
		n += int(m)
	}
	s.h.cfg.Metrics.BytesWritten.Add(float64(n))
	clear(sc.iov)
	s.wrote(batch, err)
	return false
}

// finish writes the rest of a batch that filled the socket, waiting under
// the write timeout, then gives sc back.
func (s *Session) finish(batch []frame, sc *writeScratch, rest net.Buffers, written int) {
	m, err := s.writeRest(rest)
	s.h.cfg.Metrics.BytesWritten.Add(float64(written) + float64(m))
	s.h.flush.putScratch(sc)
	s.wrote(batch, err)
}

// wrote ends the write of batch: a failed write closes the connection; with
// more queued the turn goes back to the flusher; otherwise it ends.
func (s *Session) wrote(batch []frame, err error) {
	clear(batch)
	s.mu.Lock()
	s.spare = batch[:0]
	switch {
	case err != nil:
		if !s.closing {
			s.closing = true
			s.closeCode = core.CodeWriteError.Disconnect()
			s.h.log.Info("write failed", "client", s.id, "error", err.Error())
		}
		clear(s.queue)
		s.queue = s.queue[:0]
		s.queued = 0
		s.endTurnLocked()
		s.mu.Unlock()
		s.abort()
		return
	case len(s.queue) > 0:
		s.h.flush.schedule(s)
	default:
		s.endTurnLocked()
	}
	s.mu.Unlock()
}

// endTurnLocked ends the session's write turn with its queue empty (or
// dropped after a failed write).
func (s *Session) endTurnLocked() {
	s.writing = false
	if s.closing {
		s.signalCloseSentLocked()
	}
	s.releaseScratchLocked()
	s.writers.Done()
}

// Queue capacity kept between turns: a burst's longer queues are dropped,
// so that idle sessions after a backlog cost what they cost before it.
const keepQueue = 16

// releaseScratchLocked drops oversized queues. Only the write turn calls
// it, as it ends with the queue empty.
func (s *Session) releaseScratchLocked() {
	if cap(s.queue) > keepQueue {
		s.queue = nil
	}
	if cap(s.spare) > keepQueue {
		s.spare = nil
	}
}

func (s *Session) signalCloseSentLocked() {
	select {
	case <-s.closeSent:
	default:
		close(s.closeSent)
	}
}

// layOut lays batch out for one writev: queued frames as they are, and
// each run of joined-mode payloads framed together, split by '\n'. It
// returns the buffers and their total length.
func (sc *writeScratch) layOut(batch []frame) (net.Buffers, int) {
	iov := sc.iov[:0]
	buf := sc.join[:0]
	total := 0
	for i := 0; i < len(batch); {
		if !batch[i].payload {
			iov = append(iov, batch[i].b)
			total += len(batch[i].b)
			i++
			continue
		}
		j, n := i, 0
		for ; j < len(batch) && batch[j].payload; j++ {
			n += len(batch[j].b) + 1
		}
		n--
		start := len(buf)
		buf = appendHeader(buf, opText, n)
		for k := i; k < j; k++ {
			if k > i {
				buf = append(buf, '\n')
			}
			buf = append(buf, batch[k].b...)
		}
		iov = append(iov, buf[start:len(buf):len(buf)])
		total += len(buf) - start
		i = j
	}
	// Slices taken before buf grew still point at the old array, which
	// holds their bytes unchanged; keep the grown one for next time.
	sc.iov, sc.join = iov, buf[:0]
	return iov, total
}

// writeRest writes what a non-blocking writev left, waiting for the socket
// under the write timeout.
//
// Nothing else writes to a connected session's connection: client frames
// are answered through the queue (consumeFrames).
func (s *Session) writeRest(rest net.Buffers) (int64, error) {
	if err := s.nc.SetWriteDeadline(time.Now().Add(s.h.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	n, err := rest.WriteTo(s.nc)
	if err == nil {
		// No deadline left behind to refuse the next attempt.
		err = s.nc.SetWriteDeadline(time.Time{})
	}
	return n, err
}

// consume drops the first n bytes of v.
func consume(v net.Buffers, n int) net.Buffers {
	for len(v) > 0 && n > 0 {
		if len(v[0]) > n {
			v[0] = v[0][n:]
			break
		}
		n -= len(v[0])
		v = v[1:]
	}
	return v
}

// abort closes the connection at once, without a close handshake. A
// watched session, which no read would see fail, ends here.
func (s *Session) abort() {
	_ = s.nc.Close()
	if s.leaveWatched(readEnded) {
		go s.endWatched()
	}
}

// leaveWatched moves a session that waits in the idle set to state to,
// reporting whether it was waiting there.
func (s *Session) leaveWatched(to readState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reading != readWatched {
		return false
	}
	s.reading = to
	return true
}

// setReadDeadlineLocked moves the read deadline: the connection's, for
// reads that wait, and for a watched session the timer that stands for it
// while none does.
func (s *Session) setReadDeadlineLocked(t time.Time) {
	_ = s.nc.SetReadDeadline(t)
	s.deadline = t
	switch {
	case s.readTimer != nil:
		s.readTimer.Reset(time.Until(t))
	case s.reading != readOwn:
		s.readTimer = time.AfterFunc(time.Until(t), s.readExpired)
	}
}

// readExpired ends a watched session whose read deadline has passed (the
// client missed its Pong, or did not answer our close frame).
func (s *Session) readExpired() {
	s.mu.Lock()
	end := s.reading == readWatched && !s.deadline.IsZero() && !time.Now().Before(s.deadline)
	if end {
		s.reading = readEnded
	}
	s.mu.Unlock()
	if end {
		s.endWatched()
	}
}

// inputReady starts reading a watched session whose socket has input.
func (s *Session) inputReady() {
	if s.leaveWatched(readBurst) {
		go s.readBurst(true)
	}
}

// readBurst reads and handles what a watched session's client sent, then
// watches the session again; when the connection or the session ends, it
// ends the session. With fill it first reads the socket once: the idle set
// reported input (or the peer's end), so the read does not wait.
func (s *Session) readBurst(fill bool) {
	end := false
	if fill {
		if _, err := s.br.Peek(s.br.Buffered() + 1); err != nil {
			end = true
		}
	}
	if !end {
		end = s.consumeFrames()
	}
	s.mu.Lock()
	if end || !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
		s.reading = readEnded
		end = true
	} else {
		s.reading = readWatched
	}
	s.mu.Unlock()
	if !end && s.h.idle.rearm(s) == nil {
		return
	}
	// A connection closed while this burst ran cannot be watched again.
	if end || s.leaveWatched(readEnded) {
		s.endWatched()
	}
}

// endWatched ends a session that was watched, once its state is readEnded.
func (s *Session) endWatched() {
	s.mu.Lock()
	if s.readTimer != nil {
		s.readTimer.Stop()
	}
	s.mu.Unlock()
	s.h.idle.forget(s)
	s.cleanup()
	s.h.done(s)
}

// connect reads the connect request (unless it came in the URL) and
// connects the session. It reports whether the session is connected; if not,
// the session has ended (cleanup done).
func (s *Session) connect(ctx context.Context, req *core.ConnectRequest) (connected bool) {
	inNode := false // set only while Node.Connect runs
	defer func() {
		if inNode {
			// Node.Connect panicked: undo what it did so far (its errors
			// undo it themselves).
			s.h.node.Disconnected(s)
		}
		if !connected {
			s.cleanup()
		}
	}()
	cfg := &s.h.cfg
	s.conn.SetReadLimit(int64(cfg.MessageSizeLimit))
	if req == nil {
		_ = s.nc.SetReadDeadline(time.Now().Add(cfg.StaleCloseDelay))
		_, r, err := s.conn.NextReader()
		if err != nil {
			s.firstReadFailed(err)
			return false
		}
		// The buffer is taken once the message has begun: a client that
		// upgrades and stays silent holds none.
		buf := s.h.getBuf()
		data, err := readAll(r, *buf)
		if err != nil {
			s.h.putBuf(buf)
			s.firstReadFailed(err)
			return false
		}
		// The request keeps nothing of data: strings and raw values are
		// copies.
		req, err = core.DecodeConnectRequest(data)
		*buf = data
		s.h.putBuf(buf)
		if err != nil {
			s.h.log.Info("connection refused", "reason", "invalid connect request", "error", err.Error(), "remote", s.remote)
			s.mu.Lock()
			s.closeOnlyLocked(core.CodeBadRequest)
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Lock()
	if !s.closing {
		// A disconnect (shutdown, say) that came while the request was
		// read set the close deadline; keep it.
		_ = s.nc.SetReadDeadline(time.Time{})
	}
	s.mu.Unlock()
	inNode = true
	connect, err := s.h.node.Connect(ctx, s, req)
	inNode = false
	s.req = nil
	s.mu.Lock()
	if err != nil {
		d, ok := err.(core.Disconnect)
		if !ok {
			s.h.log.Error("connect failed", "client", s.id, "error", err.Error())
			d = core.CodeInternal.Disconnect()
		}
		s.state = stateClosed
		s.pending = nil
		s.disconnectLocked(d, true)
		s.mu.Unlock()
		return false
	}
	// This goroutine writes the connect push itself, at once: its stack
	// has grown already, and the flusher may be busy. Later frames go
	// through the flusher.
	claimed := !s.writing
	if claimed {
		s.writing = true
		s.writers.Add(1)
	}
	s.start(connect)
	s.mu.Unlock()
	if claimed {
		sc := s.h.flush.getScratch()
		s.turn(sc, true)
		s.h.flush.putScratch(sc)
	}
	return true
}

// readAll reads r to its end into buf, as gorilla's ReadMessage does
// into a buffer of its own (io.ReadAll).
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// serve reads and discards until the connection ends, then cleans up.
func (s *Session) serve() {
	s.readLoop()
	s.cleanup()
}

// start sends the connect push, then what arrived while connecting, and
// arms the ping timer. Called with s.mu held.
func (s *Session) start(c *core.Connect) {
	cfg := &s.h.cfg
	c.Client, c.Session = s.id, s.session
	c.Ping = uint32(cfg.PingInterval / time.Second)
	pending := s.pending
	s.pending = nil
	s.state = stateConnected
	if s.closing {
		return
	}
	push := core.Push{Connect: c}
	buf := s.h.getBuf()
	payload := push.AppendJSON(*buf)
	s.enqueueLocked(frame{b: textFrame(payload)})
	*buf = payload
	s.h.putBuf(buf)
	s.h.cfg.Metrics.Pushes.Connect.Inc()
	s.h.cfg.Metrics.Connects.Inc()
	for _, m := range pending {
		s.deliverLocked(m)
	}
	s.setReadDeadlineLocked(time.Now().Add(cfg.PingInterval + cfg.PongTimeout))
	first := cfg.PingInterval / 2
	if cfg.Jitter != nil {
		first += time.Duration(cfg.Jitter() * float64(cfg.PingInterval/2))
	}
	s.pingTimer = time.AfterFunc(first, s.ping)
}

// ping sends `{}` and a WebSocket Ping, then re-arms itself.
func (s *Session) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.state != stateConnected {
		return
	}
	if s.h.cfg.JoinPushMessages {
		s.enqueueLocked(frame{b: s.h.pingPush, payload: true})
		s.enqueueLocked(frame{b: s.h.pingFrames[len(s.h.pingFrames)-2:]})
	} else {
		s.enqueueLocked(frame{b: s.h.pingFrames})
	}
	s.h.cfg.Metrics.Pushes.Ping.Inc()
	s.pingTimer.Reset(s.h.cfg.PingInterval)
}

func (s *Session) firstReadFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has written the 1009 close frame.
		s.h.log.Info("connection refused", "reason", "connect request too large", "remote", s.remote)
		s.mu.Lock()
		s.closing = true
		s.closeCode = core.CodeMessageTooBig.Disconnect()
		s.signalCloseSentLocked()
		s.mu.Unlock()
		// The client is likely still sending the rest of its frame.
		LingerClose(s.nc)
	case errors.As(err, &ne) && ne.Timeout():
		s.h.log.Info("connection refused", "reason", "stale: no connect request", "remote", s.remote)
		s.Disconnect(core.CodeStale.Disconnect())
	}
}

// LingerClose half-closes c and discards what the peer is still sending,
// for up to lingerDelay, as net/http does before closing: closing a socket
// with unread input resets it, and the peer could lose the last frame or
// answer (or fail its own write) to the reset. The caller still closes c.
func LingerClose(c net.Conn) {
	tc, ok := c.(interface{ CloseWrite() error })
	if !ok || tc.CloseWrite() != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerDelay))
	_, _ = io.Copy(io.Discard, c)
}

// lingerDelay bounds LingerClose.
const lingerDelay = 500 * time.Millisecond

// readLoop handles client frames (consumeFrames) until the connection or
// the session ends, for a session the idle set cannot watch.
//
// With nothing buffered it first waits for input through a shallow call
// (waitReadable) rather than inside a read: an idle session then parks on
// a small stack, which does not have to grow on its first wait.
func (s *Session) readLoop() {
	for !s.consumeFrames() {
		if s.br.Buffered() == 0 {
			if err := s.h.raw.waitReadable(s.raw); err != nil {
				return
			}
		}
		if _, err := s.br.Peek(s.br.Buffered() + 1); err != nil {
			return
		}
	}
}

// cleanup ends the session: after our own close it waits for the close
// frame to be written, then closes the socket and waits for the writer.
func (s *Session) cleanup() {
	s.mu.Lock()
	initiated := s.closing
	if !s.closing {
		s.closing = true
		s.closeCode = core.CodeConnectionClosed.Disconnect()
	}
	connected := s.state == stateConnected
	s.state = stateClosed
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pending = nil
	s.mu.Unlock()

	if connected {
		s.h.node.Disconnected(s)
	}
	s.h.cfg.Metrics.Disconnect(s.CloseCode().Code)
	if initiated {
		t := time.NewTimer(s.h.cfg.CloseTimeout)
		select {
		case <-s.closeSent:
		case <-t.C:
		}
		t.Stop()
	}
	_ = s.nc.Close()
	s.writers.Wait()
}
