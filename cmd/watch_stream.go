package cmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/tui"
)

// streamNDJSON prints conn's pushes as NDJSON on stdout and its state
// changes on stderr until the stream ends, --count is reached or --timeout
// passes.
//
// When the reader of a pipe on stdout goes away (`uniws watch | head -1`),
// the watch ends with exit 0, at once even if nothing is being written.
// A socket's reader going away (a log collector that restarted) is a
// failure: 141, as SIGPIPE gave, so that a supervisor restarts the watch.
func streamNDJSON(ctx context.Context, ios *IOStreams, conn *client.Conn, opts *watchOptions) error {
	w := &watchPrinter{ios: ios, opts: opts}
	keepWritingAfterSIGPIPE()
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	gone := outputGone(pollCtx, ios.outFile)
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				return nil // interrupted
			}
			if done, err := w.handle(ev); done || err != nil {
				if errors.Is(err, errOutputClosed) {
					return readerGone(ios.outFile)
				}
				return err
			}
		case <-gone:
			return readerGone(ios.outFile)
		case <-timeout:
			if opts.Count > 0 {
				return &timeoutError{msg: fmt.Sprintf("timeout after %s: got %d of %d publications",
					opts.Timeout, w.pubs, opts.Count)}
			}
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// readerGone is how a watch ends when its stdout lost its reader: nil
// (exit 0) for a pipe, whose reader chose to stop; errOutputClosed (141)
// otherwise.
func readerGone(out *os.File) error {
	if out != nil {
		if st, err := out.Stat(); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
			return nil
		}
	}
	return errOutputClosed
}

// watchPrinter turns events into output lines.
type watchPrinter struct {
	ios  *IOStreams
	opts *watchOptions
	pubs int
	line []byte

	toldNoChannels bool
}

// handle prints one event and reports whether watch is done, and why
// when it failed.
func (w *watchPrinter) handle(ev client.Event) (bool, error) {
	switch ev.Kind {
	case client.KindPing:
		if w.opts.ShowPings {
			return false, w.out(ev.Raw)
		}
		w.note("ping")
	case client.KindPush:
		if err := w.out(ev.Raw); err != nil {
			return true, err
		}
		if ev.Push.Pub != nil {
			w.pubs++
			if w.opts.Count > 0 && w.pubs >= w.opts.Count {
				return true, nil
			}
		}
	case client.KindGap:
		w.note("recovery gap: " + describeGap(*ev.Gap))
		if err := outcome(ev, w.opts.FailOnGap); err != nil {
			return true, err
		}
	case client.KindState:
		return w.state(ev)
	}
	return false, nil
}

// noChannels explains a connection subscribed to nothing yet: publications
// reach a uni_websocket client only on channels the server subscribed it to.
const noChannels = "no channel granted (yet): publications arrive only on channels the server subscribes " +
	"this connection to: the token's channels or subs claim (gentoken --channels), --sub where the namespace " +
	"allows client subscriptions, the personal channel (user_subscribe_to_personal), a connect proxy's answer, " +
	"or later an API subscribe"

func (w *watchPrinter) state(ev client.Event) (bool, error) {
	switch ev.State {
	case client.StateConnecting:
		if ev.Attempt > 0 {
			w.note(fmt.Sprintf("connecting (attempt %d)", ev.Attempt))
		} else {
			w.note("connecting")
		}
	case client.StateConnected:
		c := ev.Push.Connect
		channels := slices.Sorted(maps.Keys(c.Subs))
		w.note(fmt.Sprintf("connected: client %s, channels [%s], ping %ds", c.Client, strings.Join(channels, " "), c.Ping))
		if len(channels) == 0 && !w.toldNoChannels {
			w.toldNoChannels = true // once: reconnects would repeat it
			w.note(noChannels)
		}
		for _, ch := range w.opts.requested {
			if _, ok := c.Subs[ch]; !ok {
				w.note("not subscribed to " + ch + ": the server refused it (see its log for why)")
			}
		}
		for _, ch := range channels {
			if n := recoveredCount(c.Subs[ch]); n > 0 {
				w.note(fmt.Sprintf("recovered %d missed publication(s) on %s: the next %d line(s) for it", n, ch, n))
			}
		}
	case client.StateReconnecting:
		w.note(fmt.Sprintf("connection lost: %s; reconnecting in %s (attempt %d)",
			why(ev), ev.Delay.Round(time.Millisecond), ev.Attempt))
	case client.StateClosed:
		return true, outcome(ev, w.opts.FailOnGap)
	}
	return false, nil
}

// recoveredCount is how many publications r recovered.
func recoveredCount(r *core.SubscribeResult) int {
	if r == nil || !r.Recovered {
		return 0
	}
	n := 0
	for _, p := range r.Publications {
		if p != nil {
			n++
		}
	}
	return n
}

// outcome is the error ev ends a watch with, in either mode, or nil: a gap
// with --fail-on-gap, a terminal disconnect, or a connection that failed
// for good.
func outcome(ev client.Event, failOnGap bool) error {
	switch {
	case ev.Kind == client.KindGap && failOnGap:
		return &gapError{gap: *ev.Gap}
	case ev.Kind != client.KindState || ev.State != client.StateClosed:
		return nil
	case ev.Code != 0:
		return &disconnectError{code: ev.Code, reason: ev.Reason}
	case ev.Err != nil:
		return fmt.Errorf("watch: %w", ev.Err)
	}
	return nil
}

// why says in words why a connection ended.
func why(ev client.Event) string {
	switch {
	case ev.Code != 0:
		return fmt.Sprintf("disconnect %d %s (%s)", ev.Code, ev.Reason, ev.Code.Explain())
	case ev.Err != nil:
		return ev.Err.Error()
	}
	return "closed"
}

func describeGap(g client.Gap) string {
	if g.To == (client.Position{}) {
		return fmt.Sprintf("channel %s: asked to recover from offset %d (epoch %q), but the channel keeps no position to recover from (no force_recovery or force_positioning); publications in between may be lost",
			g.Channel, g.From.Offset, g.From.Epoch)
	}
	return fmt.Sprintf("channel %s: asked to recover from offset %d (epoch %q), the stream is at offset %d (epoch %q); publications in between may be lost",
		g.Channel, g.From.Offset, g.From.Epoch, g.To.Offset, g.To.Epoch)
}

// out writes one NDJSON line to stdout in a single write.
func (w *watchPrinter) out(raw []byte) error {
	w.line = append(append(w.line[:0], raw...), '\n')
	if _, err := w.ios.Out.Write(w.line); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// note writes a line to stderr.
// note writes a line to stderr. It may quote the server (reasons, channel
// names), so controls in it are shown as \u escapes, never sent to the
// terminal.
func (w *watchPrinter) note(msg string) { fmt.Fprintln(w.ios.ErrOut, tui.Clean(msg)) }
