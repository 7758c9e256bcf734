package tui

import (
	"context"
	"fmt"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Run shows the screen full-screen on out, reading keys from in (nil: no
// keys), until the user quits or ctx is done. It returns nil when the user
// quits, and an error wrapping ctx's error when ctx ends it. The terminal
// is restored either way. Run reads src until src's channel is closed or
// Run returns, and leaves no goroutine behind.
//
// Unless opts.Renderer is set, colours follow out's terminal and the
// environment (NO_COLOR, CLICOLOR, CLICOLOR_FORCE).
func Run(ctx context.Context, src Source, in io.Reader, out io.Writer, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Renderer == nil {
		opts.Renderer = lipgloss.NewRenderer(out)
	}
	m := NewModel(src, opts)
	m.done = ctx.Done()
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(in),
		tea.WithOutput(out),
		tea.WithAltScreen(),
		// SIGINT and SIGTERM are the caller's, who cancels ctx: with a
		// handler of its own as well, Bubble Tea could block on a signal
		// that came as its loop ended and never restore the terminal.
		tea.WithoutSignalHandler(),
	)
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("run screen: %w", err)
	}
	return nil
}

// read returns the command that gathers the next batch of events, or nil
// when there is no source.
func (m Model) read() tea.Cmd {
	if m.src == nil {
		return nil
	}
	src, done, frame := m.src, m.done, m.opts.Frame
	return func() tea.Msg { return gather(src, done, frame, DefaultMaxBatch) }
}

// gather waits for one event, then takes whatever else arrives within
// frame, up to max events. It returns nil when done is closed first.
func gather(src <-chan Event, done <-chan struct{}, frame time.Duration, max int) tea.Msg {
	var first Event
	select {
	case ev, ok := <-src:
		if !ok {
			return batchMsg{closed: true}
		}
		first = ev
	case <-done:
		return nil
	}
	batch := []Event{first}
	timer := time.NewTimer(frame)
	defer timer.Stop()
	for len(batch) < max {
		select {
		case ev, ok := <-src:
			if !ok {
				return batchMsg{events: batch, closed: true}
			}
			batch = append(batch, ev)
		case <-timer.C:
			return batchMsg{events: batch}
		case <-done:
			return nil
		}
	}
	return batchMsg{events: batch}
}

// tick schedules the next redraw of the clock-driven parts.
func tick() tea.Cmd {
	return tea.Tick(tickInterval, func(time.Time) tea.Msg { return tickMsg{} })
}
