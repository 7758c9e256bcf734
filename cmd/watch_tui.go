package cmd

import (
	"context"
	"errors"

	"github.com/uniws/uniws/client"
	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/tui"
)

// runWatchTUI shows conn's stream full-screen until the user quits or ctx
// ends. The client keeps reading and reconnecting on its own; the screen
// only renders what it reports.
func runWatchTUI(ctx context.Context, ios *IOStreams, conn *client.Conn, opts *watchOptions, url string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan tui.Event, 256)
	done := make(chan struct{})
	// end is what the exit code reports once the user quits, as in the
	// stream mode (outcome). Read after done.
	var end error
	go func() {
		defer close(done)
		defer close(events)
		for ev := range conn.Events() {
			if end == nil {
				end = outcome(ev, opts.FailOnGap)
			}
			select {
			case events <- tuiEvent(ev, opts.UserSet):
			case <-ctx.Done():
				return
			}
		}
	}()
	err := tui.Run(ctx, tui.Chan(events), ios.In, ios.Out, tui.Options{
		ServerURL: url,
		User:      opts.User,
		Requested: opts.requested,
		Buffer:    opts.Buffer,
		// Warn halfway through the client's own grace: at the full grace
		// the client reconnects, and the warning would never show.
		PingGrace: client.DefaultLivenessGrace / 2,
	})
	cancel()
	_ = conn.Close()
	<-done
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return end
}

// tuiEvent translates a client event into the screen's plain event.
func tuiEvent(ev client.Event, canMint bool) tui.Event {
	out := tui.Event{At: ev.Time, Err: ev.Err, Push: ev.Push, Raw: ev.Raw, Recovered: ev.Recovered}
	switch ev.Kind {
	case client.KindState:
		out.Kind = tui.KindState
		out.Attempt = ev.Attempt
		out.NextTry = ev.Delay
		switch ev.State {
		case client.StateConnecting:
			out.State = tui.StateConnecting
		case client.StateConnected:
			out.State = tui.StateConnected
		case client.StateReconnecting:
			out.State = tui.StateReconnecting
		case client.StateClosed:
			out.State = tui.StateClosed
		}
		if ev.Code != 0 {
			d := core.Disconnect{Code: uint32(ev.Code), Reason: ev.Reason}
			out.Disconnect = &d
		}
		if ev.Code == core.CodeExpired && !canMint {
			out.Hint = "the token expired: pass a fresh --token, or use -u USER with -c CONFIG so that watch can mint one"
		}
	case client.KindPush:
		out.Kind = tui.KindPush
	case client.KindPing:
		out.Kind = tui.KindPing
	case client.KindGap:
		out.Kind = tui.KindGap
		if g := ev.Gap; g != nil {
			out.Gap = &tui.Gap{Channel: g.Channel, LastOffset: g.From.Offset, LastEpoch: g.From.Epoch, Offset: g.To.Offset, Epoch: g.To.Epoch}
		}
	}
	return out
}
