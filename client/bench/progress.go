package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressEvery is how often the progress bar is redrawn.
const progressEvery = 200 * time.Millisecond

// progressWidth is the number of cells in the bar.
const progressWidth = 24

// progress redraws one status line in place on a terminal until stopped.
// Nothing else writes to the terminal while it runs.
type progress struct {
	w    io.Writer
	quit chan struct{}
	done chan struct{}
}

// progress starts a progress line built by line, when Config.Progress is
// set; otherwise it returns nil, whose stop does nothing.
func (r *runner) progress(line func() string) *progress {
	if !r.cfg.Progress || r.cfg.Log == nil {
		return nil
	}
	p := &progress{w: r.cfg.Log, quit: make(chan struct{}), done: make(chan struct{})}
	go p.run(line)
	return p
}

func (p *progress) run(line func() string) {
	defer close(p.done)
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			fmt.Fprintf(p.w, "\r\x1b[K%s", line())
		case <-p.quit:
			fmt.Fprint(p.w, "\r\x1b[K")
			return
		}
	}
}

// stop clears the line and waits for the redrawing goroutine to exit.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.quit)
	<-p.done
}

// publishProgress describes the publish phase.
func (r *runner) publishProgress(res *publishResult) func() string {
	n := int64(len(r.snapshot()))
	start := time.Now()
	var lastSum int64
	lastAt := start
	return func() string {
		ok := res.ok.Load()
		sum, _ := r.delivered()
		now := time.Now()
		rate := float64(sum-lastSum) / max(now.Sub(lastAt).Seconds(), 1e-9)
		lastSum, lastAt = sum, now
		frac := 0.0
		switch {
		case r.cfg.Duration > 0:
			frac = time.Since(start).Seconds() / r.cfg.Duration.Seconds()
		case r.cfg.Messages > 0:
			frac = float64(sum) / float64(r.cfg.Messages*n)
		}
		return fmt.Sprintf("publishing %s %d published  %s/%s delivered  %s/s  failed %d",
			progressBar(frac), ok, si(float64(sum)), si(float64(ok*n)), si(rate), res.failed.Load())
	}
}

// progressBar draws a bar for a fraction between 0 and 1.
func progressBar(frac float64) string {
	cells := int(min(max(frac, 0), 1) * progressWidth)
	return "[" + strings.Repeat("#", cells) + strings.Repeat(".", progressWidth-cells) + "]"
}

// si formats a count with a k, M or G suffix.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
