package bench

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"time"
)

// runner fields filled by the phases and read by collect.
type phaseMarks struct {
	connectEnd   procReading // right after the connect phase
	pubStart     time.Time   // first publish
	pubEnd       time.Time   // deliveries drained
	pubOK        int64       // successful publishes
	pubStartProc procReading
	pubEndProc   procReading
	pubStartGen  time.Duration
	pubEndGen    time.Duration
	pubStartWait time.Duration
	pubEndWait   time.Duration
	pubStartRing time.Duration // the ring reader's thread
	pubEndRing   time.Duration
}

// collect merges the readers' stats into the report. It runs after every
// reader has stopped, so it reads their fields without synchronisation.
func (r *runner) collect() {
	conns := r.snapshot()
	var hist Histogram
	d := &DeliveryReport{}
	disc := map[string]int{}
	var lastAt int64
	for _, c := range conns {
		s := &c.st
		hist.Merge(&s.hist)
		d.Unique += s.unique.Load()
		d.Duplicates += s.dups
		d.OutOfOrder += s.ooo
		d.TooLate += s.late
		d.Frames += s.frames
		d.Pings += s.pings
		d.WSPings += s.wsPings
		d.OtherPushes += s.other
		lastAt = max(lastAt, s.lastAt)
		if c.end != "" {
			disc[c.end]++
		}
	}
	if len(disc) > 0 {
		r.rep.Disconnects = disc
	}
	r.rep.Delivery = d
	r.mu.Lock()
	r.rep.Samples = r.samples
	r.rep.Notes = r.notes
	r.mu.Unlock()
	r.rep.Generator.CPUs = min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if r.rep.Publish == nil {
		return
	}

	d.Expected = r.pubOK * int64(len(conns))
	d.Lost = max(d.Expected-d.Unique, 0)
	var pushes int64
	for _, c := range conns {
		pushes += c.st.pushes
		d.PubFrames += c.st.pubFrames
	}
	if d.PubFrames > 0 {
		d.PerFrame = float64(pushes) / float64(d.PubFrames)
	}
	if lastAt > 0 {
		d.Seconds = time.Duration(lastAt - r.pubStart.UnixNano()).Seconds()
		d.PerSecond = float64(d.Unique) / max(d.Seconds, 1e-9)
	}
	d.OrderDiffers = orderDiffers(conns, r.pubOK)
	lat := percentiles(&hist)
	r.rep.Latency = &lat

	g := &r.rep.Generator
	wall := r.pubEnd.Sub(r.pubStart).Seconds()
	g.PublishCPUSeconds = (r.pubEndGen - r.pubStartGen).Seconds()
	g.PublishCores = g.PublishCPUSeconds / max(wall, 1e-9)
	if r.pubStartRing > 0 && r.pubEndRing > r.pubStartRing {
		// Else the ring's thread had ended (the ring failed) by the end.
		g.ReaderCores = (r.pubEndRing - r.pubStartRing).Seconds() / max(wall, 1e-9)
	}
	g.Saturated = g.PublishCores >= 0.9*float64(g.CPUs) || g.ReaderCores >= 0.9
	g.PublishWaitSeconds = (r.pubEndWait - r.pubStartWait).Seconds()
	contended := func(who string, wait float64) {
		if wait > max(0.1*wall, 0.1) {
			r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("%s's threads waited %.1fs for a CPU during the %.1fs publish phase, "+
				"behind other processes or, on fewer cores than threads, one another: rates and latencies may understate it", who, wait, wall))
		}
	}
	contended("the generator", g.PublishWaitSeconds)
	if s := r.rep.Server; s != nil && s.PublishCPU > 0 {
		s.PublishCores = s.PublishCPU / max(wall, 1e-9)
		if d.Unique > 0 {
			s.CPUPerMillion = s.PublishCPU / float64(d.Unique) * 1e6
		}
		contended("the server", s.PublishWait)
	}
	if n := paceNote(g, r.rep.Server, d.Unique); n != "" {
		r.rep.Notes = append(r.rep.Notes, n)
	}
}

// paceNote warns when the generator, without being saturated (which the
// report shows already), spent about as much of its CPU per delivery as the
// server did. Then reading one publication's deliveries takes the generator
// as long as writing them takes the server, and the latency percentiles
// measure the generator as much as the server: at a steady rate against a
// fast server, say, where the generator wakes for nearly every frame. The
// generator's CPU is spread over its CPUs; the server's cores are not known,
// so a server on several cores gets the note less readily.
func paceNote(g *Generator, s *ServerReport, deliveries int64) string {
	if s == nil || g.Saturated || deliveries <= 0 || s.PublishCPU <= 0 || g.PublishCPUSeconds <= 0 || g.CPUs < 1 {
		return ""
	}
	gen := g.PublishCPUSeconds / float64(g.CPUs) / float64(deliveries) * 1e6
	srv := s.PublishCPU / float64(deliveries) * 1e6
	if gen < 0.9*srv {
		return ""
	}
	return fmt.Sprintf("the generator spent %.1f µs of CPU per delivery and the server %.1f µs: the generator read "+
		"each publication's deliveries no faster than the server wrote them, so the latencies measure it "+
		"at least as much as the server", gen, srv)
}

// orderDiffers counts the connections that received every publication
// exactly once but in an order other than the most common one. Unlike
// out-of-order arrivals (against seq), it does not count publishes that
// reached the server out of seq order, since every connection sees those
// in the same order.
func orderDiffers(conns []*conn, ok int64) int {
	orders := map[uint64]int{}
	complete := 0
	for _, c := range conns {
		if c.st.unique.Load() == ok && c.st.late == 0 {
			orders[c.st.order]++
			complete++
		}
	}
	most := 0
	for _, n := range orders {
		most = max(most, n)
	}
	return complete - most
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
