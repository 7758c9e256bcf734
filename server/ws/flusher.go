package ws

import (
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
type flusher struct {
	max     int
	scratch sync.Pool // *writeScratch

	mu      sync.Mutex
	ready   []*Session // ready[head:] wait for their turn
	head    int
	running int
	wg      sync.WaitGroup
}

func newFlusher() *flusher {
	return &flusher{max: runtime.GOMAXPROCS(0)}
}

// writeScratch is a writer's reusable iovec list and joined-frame buffer.
type writeScratch struct {
	iov  net.Buffers
	join []byte
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
	clear(sc.iov)
	sc.iov = sc.iov[:0]
	if cap(sc.iov) > keepIovecs {
		sc.iov = nil
	}
	sc.join = sc.join[:0]
	if cap(sc.join) > keepJoinBuf {
		sc.join = nil
	}
	f.scratch.Put(sc)
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
	for {
		f.mu.Lock()
		if f.head == len(f.ready) {
			f.running--
			f.ready, f.head = f.ready[:0], 0
			if cap(f.ready) > keepReady {
				f.ready = nil
			}
			f.mu.Unlock()
			f.putScratch(sc)
			return
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

// wait returns once no worker runs. Sessions must have ended first.
func (f *flusher) wait() { f.wg.Wait() }
