package bench

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/uniws/uniws/client"
)

// infoTimeout bounds each API info call.
const infoTimeout = 5 * time.Second

// procReading is a /proc sample of the server, when --pid is given and
// readable.
type procReading struct {
	ok bool
	procSample
}

// moment is what is known at the start of the run.
type moment struct {
	gen     time.Duration // the generator's CPU time
	genWait time.Duration // the generator's wait for a CPU
	proc    procReading
}

// selfWait is how long this process waited for a CPU so far.
func selfWait() time.Duration {
	s, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return s.Wait
}

// procNow reads the server's /proc figures, if there is a pid.
func (r *runner) procNow() procReading {
	if r.cfg.PID <= 0 {
		return procReading{}
	}
	s, err := readProc(r.cfg.PID)
	if err != nil {
		r.note(err.Error())
		return procReading{}
	}
	return procReading{ok: true, procSample: s}
}

// infoNow reads the API info figures, if there is an API.
func (r *runner) infoNow(ctx context.Context) []map[string]float64 {
	if r.cfg.API == nil {
		return nil
	}
	info, err := nodeInfo(ctx, r.cfg.API)
	if err != nil {
		r.note("server info: " + err.Error())
		if errors.Is(err, client.ErrAuthRefused) {
			r.mu.Lock()
			if r.authErr == nil {
				r.authErr = err
			}
			r.mu.Unlock()
		}
		return nil
	}
	return info
}

// server reads the figures before any connection is made: the API info
// first, so that the server's CPU for answering it is not counted as
// connect CPU.
func (r *runner) server(ctx context.Context) moment {
	if info := r.infoNow(ctx); info != nil {
		r.rep.Info = &InfoReport{Before: info}
	}
	m := moment{gen: processCPU(), genWait: selfWait(), proc: r.procNow()}
	if m.proc.ok {
		r.rep.Server = &ServerReport{RSSBefore: m.proc.RSS, ThreadsBefore: m.proc.Threads}
	}
	return m
}

// connected reads the figures once the connections are up (after Hold).
func (r *runner) connected(ctx context.Context, before moment) {
	n := float64(max(r.rep.Connect.Connected, 1))
	if s := r.rep.Server; s != nil {
		now := r.procNow()
		s.RSSConnected, s.ThreadsConnected = now.RSS, now.Threads
		s.RSSPerConn = float64(now.RSS-s.RSSBefore) / n
		if s.RSSPerConn < 0 {
			r.note("the server's RSS fell while connecting (it gave memory of earlier runs back): RSS per connection needs a fresh server")
		}
		if r.connectEnd.ok {
			s.ConnectCPU = (r.connectEnd.CPU - before.proc.CPU).Seconds()
			s.ConnectCPUPerCon = s.ConnectCPU * 1000 / n
		}
	}
	if info := r.infoNow(ctx); info != nil {
		if r.rep.Info == nil {
			r.rep.Info = &InfoReport{}
		}
		r.rep.Info.Connected = info
	}
}

// after reads the figures at the end, before the connections close.
func (r *runner) after(ctx context.Context) {
	if s := r.rep.Server; s != nil && r.rep.Publish != nil {
		now := r.procNow()
		s.RSSAfter, s.ThreadsAfter = now.RSS, now.Threads
		if r.pubStartProc.ok && r.pubEndProc.ok {
			s.PublishCPU = (r.pubEndProc.CPU - r.pubStartProc.CPU).Seconds()
			s.PublishWait = (r.pubEndProc.Wait - r.pubStartProc.Wait).Seconds()
		}
	}
	if r.rep.Publish != nil && r.rep.Info != nil {
		r.rep.Info.After = r.infoNow(ctx)
	}
}

// startSampler takes a Sample every cfg.Sample until the returned stop is
// called; stop waits for the sampler to exit.
func (r *runner) startSampler(ctx context.Context) (stop func()) {
	if r.cfg.Sample <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.takeSample(ctx)
		t := time.NewTicker(r.cfg.Sample)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.takeSample(ctx)
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
		r.takeSample(context.WithoutCancel(ctx))
	}
}

// takeSample records one Sample.
func (r *runner) takeSample(ctx context.Context) {
	sum, live := r.delivered()
	s := Sample{At: time.Since(r.start).Seconds(), Conns: int(live), Unique: sum}
	if p := r.procNow(); p.ok {
		s.RSS, s.Threads, s.ServerCPU = p.RSS, p.Threads, p.CPU.Seconds()
	}
	if info := r.infoNow(ctx); len(info) > 0 {
		s.Info = info[0]
		var clients float64
		for _, node := range info {
			clients += node["num_clients"]
		}
		s.NumClients = &clients
	}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// nodeInfo calls the API info method and returns each node's numeric
// fields, nested objects flattened with dots ("process.rss").
func nodeInfo(ctx context.Context, api *client.Publisher) ([]map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	var res struct {
		Nodes []map[string]any `json:"nodes"`
	}
	if err := api.Call(ctx, "info", nil, &res); err != nil {
		return nil, err
	}
	out := make([]map[string]float64, 0, len(res.Nodes))
	for _, n := range res.Nodes {
		m := map[string]float64{}
		flatten("", n, m)
		out = append(out, m)
	}
	return out, nil
}

func flatten(prefix string, v any, out map[string]float64) {
	switch v := v.(type) {
	case float64:
		out[prefix] = v
	case map[string]any:
		for k, x := range v {
			if prefix != "" {
				k = prefix + "." + k
			}
			flatten(k, x, out)
		}
	}
}
