package ws

import (
	"log/slog"
	"net"
	"runtime"
	"sync"
)

// flusher writes for the sessions of a handler. A session whose queue
// becomes non-empty while it has no write in progress joins a FIFO; a few
// goroutines (at most GOMAXPROCS, started on demand, gone once the FIFO is
// empty) take sessions from it in turn, each turn one writev that does not
// wait, of everything the session has queued. A session with more queued by
// then joins the FIFO's end again. Only a write that would block gets a
// goroutine of its own, which waits under the write timeout.
//
// A broadcast to N sessions thus starts no goroutines and switches between
// none; one worker's scratch buffers serve every session it writes for.
//
// Where the kernel has io_uring (Linux), a worker takes up to maxRingBatch
// sessions at once and sends to all of them with one system call through a
// ring of its own; each send is still one non-blocking write of everything
// the session has queued, and what it leaves goes the same waiting way.
type flusher struct {
	max     int
	log     *slog.Logger
	scratch sync.Pool // *writeScratch

	mu      sync.Mutex
	ready   []*Session // ready[head:] wait for their turn
	head    int
	running int
	rings   []*ring // rings of no running worker
	noRing  bool    // writev per session: rings not wanted, or not working
	wg      sync.WaitGroup
}

func newFlusher(noRing bool, log *slog.Logger) *flusher {
	return &flusher{max: runtime.GOMAXPROCS(0), noRing: noRing, log: log}
}

// writeScratch is a writer's reusable iovec list and joined-frame buffer,
// and a ring worker's batch.
type writeScratch struct {
	iov  net.Buffers
	join []byte
	ring *ringScratch
}

// Scratch kept between turns: enough for ordinary traffic. A burst's larger
// buffers are dropped, so that an idle server after a backlog costs what it
// cost before it.
const (
	keepIovecs  = 256
	keepJoinBuf = 64 << 10
	keepReady   = 4096 // sessions waiting for a turn
)

func (f *flusher) getScratch() *writeScratch {
	if sc, ok := f.scratch.Get().(*writeScratch); ok {
		return sc
	}
	return &writeScratch{}
}

func (f *flusher) putScratch(sc *writeScratch) {
	trimScratch(sc)
	f.scratch.Put(sc)
}

// trimScratch empties sc and drops its oversized buffers.
func trimScratch(sc *writeScratch) {
	clear(sc.iov)
	sc.iov = sc.iov[:0]
	if cap(sc.iov) > keepIovecs {
		sc.iov = nil
	}
	sc.join = sc.join[:0]
	if cap(sc.join) > keepJoinBuf {
		sc.join = nil
	}
}

// schedule gives s a write turn after the sessions already waiting. The
// caller holds s.mu and has marked s as writing.
func (f *flusher) schedule(s *Session) {
	f.mu.Lock()
	if f.head > 0 && f.head >= len(f.ready)/2 {
		n := copy(f.ready, f.ready[f.head:])
		clear(f.ready[n:])
		f.ready, f.head = f.ready[:n], 0
	}
	f.ready = append(f.ready, s)
	start := f.running < f.max && f.running < len(f.ready)-f.head
	if start {
		f.running++
		f.wg.Add(1)
	}
	f.mu.Unlock()
	if start {
		go f.run()
	}
}

// run gives sessions their turns until none is waiting.
func (f *flusher) run() {
	defer f.wg.Done()
	// A worker is started by a goroutine that is queueing frames, often a
	// broadcast with more publications runnable behind it. Let those run
	// first, so that each session's turn writes all of them at once.
	runtime.Gosched()
	sc := f.getScratch()
	rg := f.takeRing()
	for {
		f.mu.Lock()
		if f.head == len(f.ready) {
			f.running--
			f.ready, f.head = f.ready[:0], 0
			if cap(f.ready) > keepReady {
				f.ready = nil
			}
			if rg != nil {
				f.rings = append(f.rings, rg)
			}
			f.mu.Unlock()
			sc.dropSlots()
			f.putScratch(sc)
			return
		}
		if rg != nil {
			batch := sc.ringSessions()
			size := ringBatchSize(len(f.ready)-f.head, f.max)
			for f.head < len(f.ready) && len(batch) < size {
				batch = append(batch, f.ready[f.head])
				f.ready[f.head] = nil
				f.head++
			}
			f.mu.Unlock()
			if err := f.ringTurns(rg, sc, batch); err != nil {
				rg.close()
				rg = nil
				f.stopRings(err)
			}
			continue
		}
		s := f.ready[f.head]
		f.ready[f.head] = nil
		f.head++
		f.mu.Unlock()
		if s.turn(sc, false) {
			// A goroutine waiting to finish the write took sc with it.
			sc = f.getScratch()
		}
	}
}

// takeRing returns an idle ring, or a new one, or nil where rings are not
// used.
func (f *flusher) takeRing() *ring {
	f.mu.Lock()
	if f.noRing {
		f.mu.Unlock()
		return nil
	}
	if n := len(f.rings); n > 0 {
		rg := f.rings[n-1]
		f.rings[n-1] = nil
		f.rings = f.rings[:n-1]
		f.mu.Unlock()
		return rg
	}
	f.mu.Unlock()
	rg, err := newRing()
	if err != nil {
		if !ringTransient(err) {
			f.stopRings(err)
		}
		return nil
	}
	return rg
}

// stopRings makes every worker write with writev from now on.
func (f *flusher) stopRings(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noRing {
		return
	}
	f.noRing = true
	f.log.Info("sending with one writev per connection", "reason", err.Error())
}

// wait returns once no worker runs, and closes the rings. Sessions must
// have ended first.
func (f *flusher) wait() {
	f.wg.Wait()
	f.mu.Lock()
	rings := f.rings
	f.rings, f.noRing = nil, true
	f.mu.Unlock()
	for _, rg := range rings {
		rg.close()
	}
}
