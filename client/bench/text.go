package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a table for people.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	s, c := rep.Settings, rep.Connect
	row("target", "%s  channel %s  %d connections", rep.Target.URL, s.Channel, s.Conns)
	if n := len(rep.Target.SourceIPs); n > 0 {
		row("", "from %d source addresses %s..%s", n, rep.Target.SourceIPs[0], rep.Target.SourceIPs[n-1])
	}
	row("connect", "%d/%d in %.2fs  %.0f/s  failed %d", c.Connected, s.Conns, c.Seconds, c.PerSecond, c.Failed)
	for _, k := range sortedKeys(c.Failures) {
		row("", "%d failed: %s", c.Failures[k], k)
	}
	row("", "time to connect push ms  %s", pct(c.Latency))
	if p := rep.Publish; p != nil {
		row("publish", "%d ok, %d failed in %.2fs  %.0f/s  %d-byte payloads", p.Published, p.Failed, p.Seconds, p.PerSecond, s.Payload)
		if p.Unconfirmed > 0 {
			row("", "%d cut short by the run's end, unanswered: their deliveries may add to the expected", p.Unconfirmed)
		}
		for _, k := range sortedKeys(p.Failures) {
			row("", "%d failed: %s", p.Failures[k], k)
		}
		row("", "API round trip ms  %s", pct(p.Latency))
		if p.MaxScheduleLagMS > 1 {
			row("", "fell behind --rate by up to %.1f ms", p.MaxScheduleLagMS)
		}
	}
	if d := rep.Delivery; d != nil && rep.Publish != nil {
		row("delivery", "%d/%d  lost %d  duplicates %d", d.Unique, d.Expected, d.Lost, d.Duplicates)
		row("", "%s deliveries/s over %.2fs  %.2f pushes per frame", si(d.PerSecond), d.Seconds, d.PerFrame)
		row("", "order differs from most connections' on %d connections", d.OrderDiffers)
		ooo := ""
		if d.OutOfOrder > 0 && s.Inflight > 1 {
			ooo = fmt.Sprintf(" (--inflight %d publishes overlap, so they may reach the server out of seq order)", s.Inflight)
		}
		row("", "%d arrived after a higher seq%s", d.OutOfOrder, ooo)
	}
	if l := rep.Latency; l != nil {
		row("latency ms", "%s  mean %s", pct(*l), num(l.Mean))
	}
	if d := rep.Delivery; d != nil {
		row("pings", "%d app pings {}  %d WebSocket pings answered", d.Pings, d.WSPings)
	}
	g := rep.Generator
	gen := "reads with " + g.Reader
	if g.ReadWaitMicros > 0 {
		gen += fmt.Sprintf(" (read wait %g µs)", g.ReadWaitMicros)
	}
	gen += fmt.Sprintf("  connect %.2f CPU s", g.ConnectCPUSeconds)
	if rep.Publish != nil {
		gen += fmt.Sprintf("  publish %.2f CPU s = %.2f of %d CPUs, waited %.2fs for a CPU",
			g.PublishCPUSeconds, g.PublishCores, g.CPUs, g.PublishWaitSeconds)
		if g.ReaderCores > 0 {
			gen += fmt.Sprintf(", reading thread %.2f of a CPU", g.ReaderCores)
		}
		if g.Saturated {
			gen += "  SATURATED: the generator set the pace"
		}
	}
	row("generator", "%s", gen)
	rep.writeServer(row)
	rep.writeSamples(row)
	for _, k := range sortedKeys(rep.Disconnects) {
		row("disconnected", "%d: %s", rep.Disconnects[k], k)
	}
	for _, n := range rep.Notes {
		row("note", "%s", n)
	}
	if rep.Interrupted {
		row("interrupted", "the run was cut short; figures are partial")
	}
	return tw.Flush()
}

func (rep *Report) writeServer(row func(string, string, ...any)) {
	if s := rep.Server; s != nil {
		row("server", "RSS %s before, %s connected (%s per connection)", size(s.RSSBefore), size(s.RSSConnected), size(int64(s.RSSPerConn)))
		row("", "threads %d before, %d connected", s.ThreadsBefore, s.ThreadsConnected)
		row("", "connect CPU %.2fs = %.3f ms per connection", s.ConnectCPU, s.ConnectCPUPerCon)
		if rep.Publish != nil {
			row("", "publish CPU %.2fs = %.2f cores  %.2f s per 1M deliveries  waited %.2fs for a CPU",
				s.PublishCPU, s.PublishCores, s.CPUPerMillion, s.PublishWait)
			row("", "after: RSS %s, threads %d", size(s.RSSAfter), s.ThreadsAfter)
		}
	}
	if in := rep.Info; in != nil {
		for i := range max(len(in.Before), len(in.Connected), len(in.After)) {
			label := "info"
			if i > 0 {
				label = "info node " + strconv.Itoa(i+1)
			}
			for _, line := range infoLines(node(in.Before, i), node(in.Connected, i), node(in.After, i)) {
				row(label, "%s", line)
				label = ""
			}
		}
	}
}

func (rep *Report) writeSamples(row func(string, string, ...any)) {
	n := len(rep.Samples)
	if n == 0 {
		return
	}
	first, last := rep.Samples[0], rep.Samples[n-1]
	row("samples", "%d over %.0fs", n, last.At-first.At)
	if first.RSS > 0 {
		lo, hi := first.RSS, first.RSS
		for _, s := range rep.Samples {
			lo, hi = min(lo, s.RSS), max(hi, s.RSS)
		}
		row("", "RSS %s -> %s (min %s, max %s)  threads %d -> %d", size(first.RSS), size(last.RSS), size(lo), size(hi), first.Threads, last.Threads)
	}
	if first.NumClients != nil && last.NumClients != nil {
		row("", "num_clients %s -> %s", num(*first.NumClients), num(*last.NumClients))
	}
	for _, k := range sortedKeys(last.Info) {
		if k != "num_clients" {
			row("", "%s %s -> %s", k, num(first.Info[k]), num(last.Info[k]))
		}
	}
}

// infoLines formats each numeric info field as before -> connected -> after.
func infoLines(maps ...map[string]float64) []string {
	keys := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			keys[k] = true
		}
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		var vals []string
		for _, m := range maps {
			if v, ok := m[k]; ok {
				vals = append(vals, num(v))
			}
		}
		out = append(out, k+"  "+strings.Join(vals, " -> "))
	}
	return out
}

func node(nodes []map[string]float64, i int) map[string]float64 {
	if i < len(nodes) {
		return nodes[i]
	}
	return nil
}

func pct(p Percentiles) string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", num(p.P50), num(p.P90), num(p.P99), num(p.Max))
}

// num formats a figure: integers as they are, others with about three
// significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// size formats a byte count.
func size(b int64) string {
	switch v := float64(b); {
	case v >= 1<<30 || v <= -(1<<30):
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20 || v <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10 || v <= -(1<<10):
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
