package server

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/uniws/uniws/server/ws"
)

// Every connection the listener accepts starts in a handshake goroutine that
// reads its first request. A WebSocket upgrade to the uni_websocket endpoint
// is parsed there (http.ReadRequest) and handed straight to the transport;
// anything else goes, with the bytes read so far, to the http.Server through
// a channel listener, so that the API, /health and /metrics are served by
// net/http as before.
//
// A connect storm spent a fifth of its CPU in net/http's per-connection
// machinery: two 4 KiB buffers that a hijacked connection never returns to
// their pools, contexts, a background read and the response writer. A
// WebSocket client's connection carries exactly one HTTP request, so none of
// it is needed there.

const (
	wsPath = "/connection/uni_websocket"
	// maxHandshake bounds the request head read on the direct path; a
	// longer one is left to net/http and its own limits.
	maxHandshake = 4 << 10
)

// acceptor runs the accept loop and the handshake goroutines.
type acceptor struct {
	log     *slog.Logger
	ln      net.Listener
	ws      http.Handler
	timeout time.Duration // ReadHeaderTimeout (0: none)
	rest    *chanListener
	heads   sync.Pool // *[]byte of maxHandshake: a request head being read
	parsers sync.Pool // *headParser

	mu      sync.Mutex
	pending map[net.Conn]struct{} // reading their first request
	idle    []chan net.Conn       // parked handshake goroutines, most recent last
	closed  bool
	wg      sync.WaitGroup // handshakes
	workers sync.WaitGroup // handshake goroutines, parked or not
}

// maxIdleWorkers bounds the handshake goroutines kept parked between
// connections. A handshake (HTTP parsing, token check, subscriptions) grows
// a goroutine's stack from its small start to 8–16 KiB in two or three
// copies, a tenth of a connect's CPU; a reused goroutine has grown already.
// Every connection still gets a goroutine of its own: when none is parked, a
// new one starts.
const maxIdleWorkers = 128

func newAcceptor(ln net.Listener, ws http.Handler, timeout time.Duration, log *slog.Logger) *acceptor {
	a := &acceptor{
		log:     log,
		ln:      ln,
		ws:      ws,
		timeout: timeout,
		rest:    newChanListener(ln.Addr()),
		pending: make(map[net.Conn]struct{}),
	}
	a.heads.New = func() any {
		b := make([]byte, maxHandshake)
		return &b
	}
	a.parsers.New = func() any {
		p := &headParser{}
		p.br = bufio.NewReaderSize(&p.rd, maxHandshake)
		return p
	}
	return a
}

// headParser is the reader http.ReadRequest parses a request head from,
// pooled for the parse alone: the parsed request holds copies.
type headParser struct {
	rd bytes.Reader
	br *bufio.Reader // over rd
}

// parseHead parses a complete request head without a body.
func (a *acceptor) parseHead(head []byte) (*http.Request, error) {
	p := a.parsers.Get().(*headParser)
	p.rd.Reset(head)
	p.br.Reset(&p.rd)
	r, err := http.ReadRequest(p.br)
	p.rd.Reset(nil)
	a.parsers.Put(p)
	return r, err
}

// serve accepts until the listener is closed. Like net/http it backs off on
// temporary errors (out of files, say) instead of failing.
func (a *acceptor) serve() error {
	var delay time.Duration
	for {
		c, err := a.ln.Accept()
		if err != nil {
			a.mu.Lock()
			closed := a.closed
			a.mu.Unlock()
			if closed {
				return nil
			}
			if isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !a.track(c) {
			_ = c.Close()
			return nil
		}
		a.dispatch(c)
	}
}

// dispatch runs the handshake of c on a parked goroutine, or a new one.
func (a *acceptor) dispatch(c net.Conn) {
	a.mu.Lock()
	if n := len(a.idle); n > 0 {
		ch := a.idle[n-1]
		a.idle = a.idle[:n-1]
		a.mu.Unlock()
		ch <- c // buffered: never blocks
		return
	}
	a.mu.Unlock()
	a.workers.Add(1)
	go a.worker(make(chan net.Conn, 1), c)
}

// worker runs handshakes until close, or until enough others are parked.
func (a *acceptor) worker(ch chan net.Conn, c net.Conn) {
	defer a.workers.Done()
	var w *handshakeWriter
	for c != nil {
		if w == nil {
			w = newHandshakeWriter()
		}
		if !a.handshake(c, w) {
			w = nil // the handshake panicked: w may be in use still
		}
		a.mu.Lock()
		if a.closed || len(a.idle) >= maxIdleWorkers {
			a.mu.Unlock()
			return
		}
		a.idle = append(a.idle, ch)
		a.mu.Unlock()
		c = <-ch // nil from close
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (a *acceptor) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.pending[c] = struct{}{}
	a.wg.Add(1)
	return true
}

// untrack reports false when close took the connection (and closed it).
func (a *acceptor) untrack(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pending[c]
	delete(a.pending, c)
	return ok
}

// close stops accepting, closes connections still reading their first
// request, and waits for every handshake goroutine. Sessions and handed-over
// connections are their owners' to close.
func (a *acceptor) close() {
	a.mu.Lock()
	a.closed = true
	for c := range a.pending {
		_ = c.Close()
	}
	clear(a.pending)
	for _, ch := range a.idle {
		ch <- nil
	}
	a.idle = nil
	a.mu.Unlock()
	_ = a.ln.Close()
	a.wg.Wait()
	a.workers.Wait()
}

// handshake reads the request head and routes the connection, answering
// through w, which it leaves ready for the next handshake. It reports false
// when it recovered from a panic.
func (a *acceptor) handshake(c net.Conn, w *handshakeWriter) (ok bool) {
	defer a.wg.Done()
	defer func() {
		// As net/http does for handlers: one connection's panic must not
		// take the server down.
		if v := recover(); v != nil {
			ok = false
			a.log.Error("panic in WebSocket handshake", "remote", c.RemoteAddr().String(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			_ = c.Close()
		}
	}()
	r, direct := a.readHead(c)
	if !direct {
		return true
	}
	r.RemoteAddr = c.RemoteAddr().String()
	w.conn = c
	a.ws.ServeHTTP(w, r)
	if !w.hijacked {
		w.finish()
	}
	w.reset()
	return true
}

// readHead reads the first request head. It returns the parsed request
// when it is an upgrade for the direct path; otherwise it has handed the
// connection over or closed it. The request keeps nothing of the pooled
// buffers: http.ReadRequest copies what it returns, and a request with a
// body is left to net/http.
func (a *acceptor) readHead(c net.Conn) (*http.Request, bool) {
	bp := a.heads.Get().(*[]byte)
	defer a.heads.Put(bp)
	buf := *bp
	if a.timeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(a.timeout))
	}
	n, end := 0, -1
	for end < 0 && n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		end = headEnd(buf[:n], n-m)
		if err != nil && end < 0 {
			// Closed, timed out (slowloris) or reset before a whole
			// request head: nothing to answer, as in net/http.
			if a.untrack(c) {
				_ = c.Close()
			}
			return nil, false
		}
	}
	if !a.untrack(c) {
		return nil, false // closed by close()
	}
	if end < 0 || end != n || !isUpgradeLine(buf[:n]) {
		// Not a plain upgrade to the endpoint (another path, a longer
		// head, or bytes after it): net/http serves it.
		a.handOver(c, buf[:n])
		return nil, false
	}
	r, err := a.parseHead(buf[:n])
	if err != nil || r.URL.Path != wsPath || !plainRequest(r) {
		a.handOver(c, buf[:n])
		return nil, false
	}
	return r, true
}

// plainRequest reports whether r passes the checks net/http's server makes
// beyond http.ReadRequest (which already refuses a repeated Host): HTTP/1.1,
// a well-formed Host (r.Host is the header's value: the request line is in
// origin form), no control characters in header values; and whether it has
// no body. Anything else is net/http's to answer (400, 505, or the upgrade
// through the http.Server).
func plainRequest(r *http.Request) bool {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Host == "" {
		return false
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return false
	}
	for i := 0; i < len(r.Host); i++ {
		if !validHostByte(r.Host[i]) {
			return false
		}
	}
	for _, vv := range r.Header {
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// validHostByte is the set of bytes a Host header may hold (RFC 3986
// reg-name, IP literals, port).
func validHostByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("-._~!$&'()*+,;=:[]%"), c) >= 0
}

// handOver gives the connection to the http.Server, replaying head.
func (a *acceptor) handOver(c net.Conn, head []byte) {
	if len(head) > 0 {
		c = &replayConn{Conn: c, pending: append([]byte(nil), head...)}
	}
	if !a.rest.deliver(c) {
		_ = c.Close()
	}
}

// headEnd returns the length of the request head, which ends at an empty
// line (CRLF or, as net/http also accepts, a bare LF), or -1. from is where
// new bytes start; the search backs up over a terminator split across
// reads.
func headEnd(b []byte, from int) int {
	for i := max(from-2, 0); i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// isUpgradeLine reports whether the request line is a GET of the endpoint
// (with or without a query).
func isUpgradeLine(b []byte) bool {
	const prefix = "GET " + wsPath
	if !bytes.HasPrefix(b, []byte(prefix)) || len(b) == len(prefix) {
		return false
	}
	c := b[len(prefix)]
	return c == ' ' || c == '?'
}

// handshakeWriter is the http.ResponseWriter of a direct upgrade: the
// transport hijacks it, or answers with an error status (origin refused,
// limits, a bad handshake), which is written with Connection: close. Each
// handshake goroutine keeps one for its lifetime and resets it after each
// handshake.
type handshakeWriter struct {
	conn     net.Conn
	header   http.Header // made when asked for: an upgrade does not
	status   int
	body     bytes.Buffer
	hijacked bool
	// Hijack's reader and writer. The reader is never read: the head was
	// consumed exactly, and the transport replaces it with a read buffer of
	// its own. gorilla formats the 101 in the writer's buffer and writes it
	// before Upgrade returns; it keeps neither (its write buffer comes from
	// the transport's pool, and both are below the sizes from which it
	// would adopt a hijacked buffer).
	hr *bufio.Reader
	hw *bufio.Writer
	rw bufio.ReadWriter
}

func newHandshakeWriter() *handshakeWriter {
	return &handshakeWriter{hr: bufio.NewReaderSize(nil, 16), hw: bufio.NewWriterSize(nil, 256)}
}

func (w *handshakeWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// reset readies w for the next handshake; it keeps nothing of this one.
func (w *handshakeWriter) reset() {
	w.hr.Reset(nil)
	w.hw.Reset(nil)
	*w = handshakeWriter{hr: w.hr, hw: w.hw}
}

func (w *handshakeWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *handshakeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Hijack hands the connection to the WebSocket library.
func (w *handshakeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	w.hr.Reset(w.conn)
	w.hw.Reset(w.conn)
	w.rw = bufio.ReadWriter{Reader: w.hr, Writer: w.hw}
	return w.conn, &w.rw, nil
}

// finish writes a non-upgrade answer and closes the connection.
func (w *handshakeWriter) finish() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	w.Header().Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.Header().Set("Connection", "close")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	_ = w.Header().Write(&b)
	b.WriteString("\r\n")
	b.Write(w.body.Bytes())
	_ = w.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := w.conn.Write(b.Bytes()); err == nil {
		// Bytes the client sent after its head must not turn the answer
		// into a reset.
		ws.LingerClose(w.conn)
	}
	_ = w.conn.Close()
}

// replayConn returns bytes already read before reading the connection.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// chanListener is the net.Listener the http.Server accepts handed-over
// connections from.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// deliver waits for the http.Server to accept c; false once closed.
func (l *chanListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
