package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
)

// drainPoll is how often the drain looks at the delivery counts.
const drainPoll = 2 * time.Millisecond

// clientName is sent in every connect request.
const clientName = "uniws-bench"

// connectPhase opens the connections, DialConcurrency at a time, each
// reader starting as soon as its connect push arrived.
func (r *runner) connectPhase(ctx context.Context, before moment) {
	n, workers := r.cfg.Conns, min(r.cfg.DialConcurrency, r.cfg.Conns)
	src := ""
	if k := len(r.t.sources); k > 0 {
		src = fmt.Sprintf(" from %d source addresses", k)
	}
	r.logf("connecting %d to %s, %d at a time%s", n, r.cfg.URL, workers, src)
	start := time.Now()
	bar := r.progress(func() string {
		done, failed := r.attempted.Load(), r.failed.Load()
		return fmt.Sprintf("connecting %s %d/%d  %s/s  failed %d", progressBar(float64(done)/float64(n)),
			done-failed, n, si(float64(done-failed)/time.Since(start).Seconds()), failed)
	})
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				r.connectOne(ctx, i)
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	bar.stop()

	r.mu.Lock()
	c := &r.rep.Connect
	c.Connected, c.Latency = len(r.conns), percentiles(&r.connHist)
	c.Failures = r.failures
	r.mu.Unlock()
	c.Attempted, c.Failed = int(r.attempted.Load()), int(r.failed.Load())
	c.Seconds = elapsed.Seconds()
	c.PerSecond = float64(c.Connected) / max(elapsed.Seconds(), 1e-9)
	r.rep.Generator.ConnectCPUSeconds = (processCPU() - before.gen).Seconds()
	r.rep.Generator.ConnectWaitSeconds = (selfWait() - before.genWait).Seconds()
	r.connectEnd = r.procNow()
	r.logf("connected %d/%d in %.2fs (%.0f/s), %d failed", c.Connected, n, c.Seconds, c.PerSecond, c.Failed)
	for reason, k := range c.Failures {
		r.logf("  %d failed: %s", k, reason)
	}
}

// connectOne dials connection i and starts its reader.
func (r *runner) connectOne(ctx context.Context, i int) {
	start := time.Now()
	c, err := r.dial(ctx, i)
	if ctx.Err() != nil {
		if c != nil {
			_ = c.nc.Close()
		}
		return // interrupted: neither a success nor a failure
	}
	r.attempted.Add(1)
	if err != nil {
		r.failed.Add(1)
		reason := err.Error()
		if f, ok := err.(*failure); ok {
			reason = f.reason()
		}
		r.mu.Lock()
		r.failures[reason]++
		r.mu.Unlock()
		return
	}
	c.alive.Store(true)
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.connHist.Record(time.Since(start))
	r.mu.Unlock()
	if r.ring == nil || !r.ring.add(c) {
		r.readers.Go(c.run)
	}
}

func (r *runner) dial(ctx context.Context, i int) (*conn, error) {
	token, err := r.cfg.Token(i)
	if err != nil {
		return nil, &failure{"token", err}
	}
	req := &core.ConnectRequest{Token: token, Name: clientName, Version: r.cfg.Version}
	return r.t.dial(ctx, i, r.cfg.ConnectTimeout, req, r.cfg.Channel)
}

// publishPhase publishes and waits for the deliveries, measuring the
// server's and the generator's CPU over exactly that span.
func (r *runner) publishPhase(ctx context.Context) error {
	c := r.cfg
	p := &publisher{api: c.API, channel: c.Channel, runName: r.t.run, size: c.Payload, inflight: c.Inflight, rate: c.Rate,
		messages: c.Messages, duration: c.Duration, backlog: c.MaxBacklog, stall: c.DrainTimeout,
		delivered: r.delivered}
	res := &publishResult{failures: map[string]int{}}
	what := fmt.Sprintf("%d messages", c.Messages)
	if c.Duration > 0 {
		what = "messages for " + c.Duration.String()
		if c.Messages > 0 {
			what += fmt.Sprintf(" (at most %d)", c.Messages)
		}
	}
	pace := "as fast as possible"
	if c.Rate > 0 {
		pace = fmt.Sprintf("at %g/s", c.Rate)
	}
	r.logf("publishing %s of %d bytes to %s, %s", what, c.Payload, c.Channel, pace)
	bar := r.progress(r.publishProgress(res))

	r.pubStartProc, r.pubStartGen, r.pubStartWait, r.pubStartRing = r.procNow(), processCPU(), selfWait(), r.ringCPU()
	p.run(ctx, res)
	ok := res.ok.Load()
	r.drain(ctx, ok)
	r.pubEnd, r.pubEndProc, r.pubEndGen, r.pubEndWait, r.pubEndRing = time.Now(), r.procNow(), processCPU(), selfWait(), r.ringCPU()
	bar.stop()

	r.pubStart, r.pubOK = res.start, ok
	pr := &PublishReport{Published: ok, Failed: res.failed.Load(), Failures: res.failures, Unconfirmed: res.cut.Load(),
		Seconds: res.end.Sub(res.start).Seconds(), Latency: percentiles(&res.hist),
		MaxScheduleLagMS: ms(res.maxLag), Stalled: res.stalled}
	pr.PerSecond = float64(ok) / max(pr.Seconds, 1e-9)
	if len(pr.Failures) == 0 {
		pr.Failures = nil
	}
	r.rep.Publish = pr
	r.logf("published %d in %.2fs (%.0f/s), %d failed", ok, pr.Seconds, pr.PerSecond, pr.Failed)
	if res.stalled {
		r.note("deliveries stopped progressing; publishing gave up early")
	}
	return res.fatal
}

// drain waits until every live connection received all ok publications,
// or DrainTimeout passes without progress.
func (r *runner) drain(ctx context.Context, ok int64) {
	last, since := int64(-1), time.Now()
	for {
		sum, live := r.delivered()
		if live == 0 || sum >= ok*live {
			return
		}
		if sum != last {
			last, since = sum, time.Now()
		} else if time.Since(since) > r.cfg.DrainTimeout {
			r.note(fmt.Sprintf("stopped waiting with %d deliveries missing, after %s without progress",
				ok*live-sum, r.cfg.DrainTimeout))
			return
		}
		if !sleep(ctx, drainPoll) {
			return
		}
	}
}

// closeAll closes every connection and waits for the readers to stop.
func (r *runner) closeAll() {
	for _, c := range r.snapshot() {
		c.close()
	}
	if r.ring != nil {
		r.ring.stopAfter()
	}
	r.readers.Wait()
}

// ringCPU is the CPU time of the ring reader's thread, 0 without one.
func (r *runner) ringCPU() time.Duration {
	if r.ring == nil {
		return 0
	}
	return r.ring.cpu()
}
