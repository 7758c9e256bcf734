// Package bench is a load generator for uni_websocket servers. It speaks
// only the public protocol (PROTOCOL.md) and the HTTP API, so it measures
// uniws and Centrifugo v6 alike: it opens many connections, publishes
// seq-numbered, timestamped messages to one channel through the API, and
// reports connect rate, deliveries per second, end-to-end latency, lost,
// duplicate and out-of-order messages, its own CPU use and, given the
// server's pid on the same machine, the server's memory and CPU per
// connection and per delivery.
//
// Each connection has one goroutine that reads frames in place from a
// small buffer and counts into its own stats and histogram, with no locks;
// the stats are merged once the readers have stopped.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uniws/uniws/client"
)

// Defaults applied by Run to zero Config fields.
const (
	DefaultChannel         = "bench"
	DefaultDialConcurrency = 64
	DefaultConnectTimeout  = 10 * time.Second
	DefaultPayload         = 128
	DefaultInflight        = 32
	DefaultDrainTimeout    = 10 * time.Second
	// DefaultMaxBacklog keeps about 50 publications queued per connection:
	// enough work to keep a server busy, yet few enough that a server
	// writing one frame per publication (one socket buffer entry each)
	// does not fill a loopback socket's default 128 KiB receive buffer,
	// block on write and drop the connection when the generator falls
	// behind for a moment.
	DefaultMaxBacklog = 50
	// DefaultReadWait lets the io_uring reader's thread wake once for the
	// frames of 100 µs instead of once per frame; the flag's default (a
	// zero Config field wakes it for each).
	DefaultReadWait = 100 * time.Microsecond
)

// ErrBadPID is Run's error for a --pid whose process cannot be read.
var ErrBadPID = errors.New("no readable process")

// Config describes a run. URL, Conns and Token are required; publishing
// needs API and Messages or Duration.
type Config struct {
	// URL is the ws:// or wss:// uni_websocket endpoint.
	URL string
	// API publishes and reads the info method; nil: no publishing and no
	// info figures.
	API *client.Publisher
	// Token returns the connection token of connection i (from 0). It is
	// called from several goroutines at once.
	Token func(i int) (string, error)
	// Version is sent in every connect request.
	Version string
	// Channel is the channel every connection must be subscribed to (by
	// its token) and every message is published to.
	Channel string
	// SharedUser says all connections use one user (reported only).
	SharedUser bool

	// Load is the shape of the run: connections and publishing.
	Load

	// PID is the server's process id on this machine, for /proc figures.
	PID int
	// Sample takes a Sample this often (0: none).
	Sample time.Duration

	// Log receives progress lines; nil: none. With Progress set (Log is a
	// terminal) a progress bar is redrawn in place.
	Log      io.Writer
	Progress bool
}

// Load is how many connections a run opens and how it publishes: what
// `uniws bench` takes from its flags.
type Load struct {
	Conns           int
	DialConcurrency int
	// SourceIPs spreads connections over 127.0.0.1..N; 0 picks as many as
	// Conns needs ephemeral ports.
	SourceIPs      int
	ConnectTimeout time.Duration

	// Messages to publish; with Duration, publishing stops at whichever
	// comes first (0: Duration only).
	Messages int64
	// Payload is the size of each publication's data in bytes.
	Payload int
	// Rate is publishes per second; 0 publishes as fast as Inflight and
	// MaxBacklog allow.
	Rate     float64
	Inflight int
	// MaxBacklog bounds publications sent but not yet received by every
	// connection, so that a generator slower than the server does not
	// overflow the server's per-connection queues (0: no bound).
	MaxBacklog int64
	// Duration publishes steadily for this long (a soak run).
	Duration time.Duration
	// Hold keeps the connections idle this long after connecting, before
	// the connected figures are read and publishing starts.
	Hold time.Duration
	// DrainTimeout ends the wait for deliveries after this long without
	// progress.
	DrainTimeout time.Duration
	// Reader is how connections are read: ReaderRing, ReaderGoroutines,
	// or "" for a ring where the kernel offers one (ws:// only).
	Reader string
	// ReadWait is how long the io_uring reader lets a received frame wait
	// for others before its thread wakes; 0 wakes it for every frame.
	ReadWait time.Duration
}

// Readers of connections.
const (
	// ReaderRing reads every connection through one io_uring on one
	// thread (Linux, ws:// only).
	ReaderRing = "io_uring"
	// ReaderGoroutines reads each connection with a goroutine of its own.
	ReaderGoroutines = "goroutines"
)

func (c *Config) withDefaults() (Config, error) {
	o := *c
	o.Channel = orDefault(o.Channel, DefaultChannel)
	if o.DialConcurrency <= 0 {
		o.DialConcurrency = DefaultDialConcurrency
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Payload == 0 {
		o.Payload = DefaultPayload
	}
	if o.Inflight <= 0 {
		o.Inflight = DefaultInflight
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	switch {
	case o.Conns < 1:
		return o, errors.New("need at least one connection")
	case o.Token == nil:
		return o, errors.New("no token source")
	case o.Messages < 0 || o.Rate < 0 || o.Duration < 0 || o.Hold < 0 || o.MaxBacklog < 0 || o.ReadWait < 0:
		return o, errors.New("messages, rate, duration, hold, backlog and read wait must not be negative")
	case o.Payload < MinPayload:
		return o, fmt.Errorf("payload of %d bytes: at least %d", o.Payload, MinPayload)
	case o.publishing() && o.API == nil:
		return o, errors.New("publishing needs the API")
	case o.Reader != "" && o.Reader != ReaderRing && o.Reader != ReaderGoroutines:
		return o, fmt.Errorf("reader %q: want %s or %s", o.Reader, ReaderRing, ReaderGoroutines)
	}
	return o, nil
}

func (c *Config) publishing() bool { return c.Messages > 0 || c.Duration > 0 }

// runner carries one run's state.
type runner struct {
	cfg     Config
	t       *target
	rep     *Report
	start   time.Time
	readers sync.WaitGroup
	ring    *ringReader // nil: a goroutine reads each connection
	phaseMarks

	mu       sync.Mutex // guards the fields below
	conns    []*conn    // append-only during the connect phase
	connHist Histogram
	failures map[string]int
	samples  []Sample
	notes    []string

	attempted, failed atomic.Int64
	authErr           error // the API refused the key on an info call
}

// Run performs one benchmark: connect, hold, publish and drain, then close
// every connection and report. It returns the report (partial when ctx
// ends early, with Interrupted set) and an error only when the run could
// not start or the API refused the key; losses are in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("check config: %w", err)
	}
	t, err := newTarget(ctx, cfg.URL, cfg.Conns, cfg.SourceIPs)
	if err != nil {
		return nil, err
	}
	t.run = newRun()
	t.prefix, t.runMark = pubPrefix(cfg.Channel, t.run), runMarker(t.run)
	if cfg.PID > 0 {
		if _, err := readProc(cfg.PID); err != nil {
			return nil, fmt.Errorf("check --pid %d: %w: %w", cfg.PID, ErrBadPID, err)
		}
	}
	r := &runner{cfg: cfg, t: t, start: time.Now(), failures: map[string]int{}}
	r.rep = r.newReport()
	r.fileLimit()

	before := r.server(ctx)
	if r.authErr != nil && cfg.publishing() {
		// Publishing would be refused: opening the connections first
		// would only cost the time.
		return r.rep, r.authErr
	}
	if err := r.startReader(); err != nil {
		return r.rep, err
	}
	r.connectPhase(ctx, before)
	if cfg.Hold > 0 {
		r.logf("holding %d connections for %s", len(r.snapshot()), cfg.Hold)
		sleep(ctx, cfg.Hold)
	}
	r.connected(ctx, before)
	stopSampler := r.startSampler(ctx)
	var runErr error
	if cfg.publishing() && len(r.snapshot()) > 0 && ctx.Err() == nil {
		runErr = r.publishPhase(ctx)
	}
	stopSampler()
	r.after(context.WithoutCancel(ctx)) // the closing figures, even after an interrupt
	r.closeAll()
	r.collect()
	r.rep.Interrupted = ctx.Err() != nil
	if runErr == nil {
		r.mu.Lock()
		runErr = r.authErr
		r.mu.Unlock()
	}
	return r.rep, runErr
}

func (r *runner) newReport() *Report {
	c := r.cfg
	rep := &Report{
		Target: Target{URL: c.URL, PID: c.PID},
		Settings: Settings{Channel: c.Channel, Conns: c.Conns, DialConcurrency: c.DialConcurrency,
			Messages: c.Messages, Payload: c.Payload, Rate: c.Rate, Inflight: c.Inflight,
			MaxBacklog: c.MaxBacklog, Duration: c.Duration.Seconds(), Hold: c.Hold.Seconds(),
			SharedUser: c.SharedUser},
	}
	if c.API != nil {
		rep.Target.API = c.API.Server
	}
	for _, ip := range r.t.sources {
		rep.Target.SourceIPs = append(rep.Target.SourceIPs, ip.String())
	}
	return rep
}

// startReader starts the ring reader unless goroutines are asked for or
// the connections use TLS; where the kernel offers no ring, goroutines read
// unless a ring was asked for.
func (r *runner) startReader() error {
	r.rep.Generator.Reader = ReaderGoroutines
	if r.cfg.Reader == ReaderGoroutines || (r.cfg.Reader == "" && r.t.tls != nil) {
		return nil
	}
	if r.t.tls != nil {
		return errors.New("the io_uring reader cannot read wss:// connections")
	}
	rr, err := startRingReader(&r.readers, ringSQEntries, r.cfg.ReadWait)
	if err != nil {
		if r.cfg.Reader == ReaderRing {
			return fmt.Errorf("start the io_uring reader: %w", err)
		}
		r.note("reading each connection with a goroutine: no io_uring reader here (" + err.Error() + ")")
		return nil
	}
	r.ring, r.rep.Generator.Reader = rr, ReaderRing
	r.rep.Generator.ReadWaitMicros = float64(rr.readWait) / float64(time.Microsecond)
	return nil
}

// fileLimit raises the open-file limit and says so.
func (r *runner) fileLimit() {
	fl, err := RaiseFileLimit()
	r.rep.FileLimit = fl
	if err != nil {
		r.note(err.Error())
		return
	}
	if fl.Soft > fl.SoftBefore {
		r.logf("raised the open-file limit from %d to %d (the hard limit)", fl.SoftBefore, fl.Soft)
	} else {
		r.logf("open-file limit: %d (hard %d)", fl.Soft, fl.Hard)
	}
	if need := uint64(r.cfg.Conns) + 64; fl.Soft > 0 && need > fl.Soft {
		r.note(fmt.Sprintf("%d connections need about %d open files; the limit is %d", r.cfg.Conns, need, fl.Soft))
	}
}

// note records a remark for the report and logs it.
func (r *runner) note(s string) {
	r.mu.Lock()
	r.notes = append(r.notes, s)
	r.mu.Unlock()
	r.logf("note: %s", s)
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

// snapshot returns the connections made so far; the slice is not changed
// afterwards.
func (r *runner) snapshot() []*conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// delivered sums the publications received by live connections.
func (r *runner) delivered() (sum, live int64) {
	for _, c := range r.snapshot() {
		if c.alive.Load() {
			sum += c.st.unique.Load()
			live++
		}
	}
	return sum, live
}
