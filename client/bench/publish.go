package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uniws/uniws/client"
)

// publishTimeout bounds each publish request.
const publishTimeout = 30 * time.Second

// backlogPoll is how often a publisher held back by the backlog bound
// looks at the delivery counts again.
const backlogPoll = time.Millisecond

// publisher sends seq-numbered, timestamped publications through the API.
// Seqs start at 1 and are handed out in order; inflight workers send them.
type publisher struct {
	api      *client.Publisher
	channel  string
	runName  string // the run's name, in every payload
	size     int
	inflight int
	rate     float64       // publishes per second; 0: as fast as allowed
	messages int64         // stop after this many; 0: only duration
	duration time.Duration // stop after this long; 0: only messages
	backlog  int64         // published but undelivered bound; 0: none
	stall    time.Duration // give up when deliveries stop this long
	// delivered returns the publications received by live connections and
	// how many connections are live.
	delivered func() (sum, live int64)
}

// publishResult is what the publisher did.
type publishResult struct {
	ok, failed atomic.Int64
	cut        atomic.Int64 // cut short by the run's end: maybe delivered
	mu         sync.Mutex
	failures   map[string]int
	fatal      error // the API refused the key: publishing stopped
	hist       Histogram
	start, end time.Time
	maxLag     time.Duration
	stalled    bool
}

// run publishes until the message count or duration is reached, ctx
// ends, the API refuses the key, or deliveries stall, counting into res
// (whose counters may be read while it runs). Every worker has returned
// when it returns.
func (p *publisher) run(ctx context.Context, res *publishResult) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int64, p.inflight)
	var wg sync.WaitGroup
	for range p.inflight {
		wg.Go(func() { p.work(ctx, cancel, jobs, res) })
	}
	res.start = time.Now()
	p.dispatch(ctx, jobs, res)
	close(jobs)
	wg.Wait()
	res.end = time.Now()
}

// dispatch hands out seqs on schedule.
func (p *publisher) dispatch(ctx context.Context, jobs chan<- int64, res *publishResult) {
	for seq := int64(1); p.messages == 0 || seq <= p.messages; seq++ {
		if p.duration > 0 && time.Since(res.start) >= p.duration {
			return
		}
		if p.rate > 0 {
			due := time.Duration(float64(seq-1) / p.rate * float64(time.Second))
			if p.duration > 0 && due >= p.duration {
				return
			}
			if wait := time.Until(res.start.Add(due)); wait > 0 {
				if !sleep(ctx, wait) {
					return
				}
			} else {
				res.maxLag = max(res.maxLag, -wait)
			}
		}
		if p.backlog > 0 && !p.waitBacklog(ctx, seq, res) {
			return
		}
		select {
		case jobs <- seq:
		case <-ctx.Done():
			return
		}
	}
}

// waitBacklog holds seq back until the connections have received all but
// backlog of the publications before it. It reports false when ctx ended
// or deliveries made no progress for p.stall.
func (p *publisher) waitBacklog(ctx context.Context, seq int64, res *publishResult) bool {
	var last int64 = -1
	since := time.Now()
	for {
		want := seq - 1 - p.backlog - res.failed.Load()
		sum, live := p.delivered()
		if want <= 0 || live == 0 || sum >= want*live {
			return true
		}
		if sum != last {
			last, since = sum, time.Now()
		} else if time.Since(since) > p.stall {
			res.stalled = true
			return false
		}
		if !sleep(ctx, backlogPoll) {
			return false
		}
	}
}

// work sends the seqs it receives until jobs is closed.
func (p *publisher) work(ctx context.Context, stop context.CancelFunc, jobs <-chan int64, res *publishResult) {
	var h Histogram
	defer func() {
		res.mu.Lock()
		res.hist.Merge(&h)
		res.mu.Unlock()
	}()
	buf := make([]byte, 0, p.size+32)
	for seq := range jobs {
		if ctx.Err() != nil {
			continue // drain
		}
		start := time.Now()
		buf = AppendPayload(buf[:0], p.runName, seq, start.UnixNano(), p.size)
		rctx, cancel := context.WithTimeout(ctx, publishTimeout)
		_, err := p.api.Publish(rctx, client.PublishRequest{Channel: p.channel, Data: buf})
		cancel()
		if err == nil {
			h.Record(time.Since(start))
			res.ok.Add(1)
			continue
		}
		if ctx.Err() != nil {
			// Cut short by the end of the run, not a failure; the server
			// may have taken it, so its deliveries can still come.
			res.cut.Add(1)
			continue
		}
		h.Record(time.Since(start))
		res.failed.Add(1)
		res.mu.Lock()
		cause := err
		if u := errors.Unwrap(err); u != nil {
			cause = u // without the "call publish" prefix
		}
		res.failures[errorReason(cause)]++
		if errors.Is(err, client.ErrAuthRefused) && res.fatal == nil {
			res.fatal = err
			stop()
		}
		res.mu.Unlock()
	}
}

// sleep waits for d; it reports false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
