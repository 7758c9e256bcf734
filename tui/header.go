package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
)

// stateLine is the first header line: state, server URL and user.
func (m *Model) stateLine() string {
	s, c := m.styles, m.conn
	frames := spinner.MiniDot.Frames
	var state string
	switch {
	case c.state == StateConnected && !c.ended:
		state = s.Connected.Render("● connected")
	case c.state == StateConnecting && !c.ended:
		state = s.Connecting.Render(frames[m.spin%len(frames)] + " connecting")
		if c.attempt > 0 {
			state += s.Warn.Render(" · attempt " + strconv.Itoa(c.attempt))
		}
	case c.state == StateReconnecting && !c.ended:
		state = s.Reconnecting.Render(frames[m.spin%len(frames)]+" reconnecting") +
			s.Warn.Render(" · attempt "+strconv.Itoa(c.attempt)+
				" · next try in "+duration(c.nextAt.Sub(m.now).Round(time.Second)))
	case c.state == StateClosed:
		state = s.Closed.Render("■ closed")
		if c.disconnect != nil {
			state += s.Closed.Render(" " + strconv.FormatUint(uint64(c.disconnect.Code), 10) + " " + c.disconnect.Reason)
		}
	default:
		state = s.Closed.Render("■ stopped")
	}
	line := s.App.Render("uniws") + " " + state
	if m.opts.User != "" {
		line += "  " + s.Label.Render("user ") + s.Value.Render(m.opts.User)
	}
	if m.opts.ServerURL != "" {
		line += "  " + s.Value.Render(m.opts.ServerURL)
	}
	return line
}

// idLine is the second header line, from the connect push: client id,
// session, time to live and server version.
func (m *Model) idLine(w int) string {
	s, c := m.styles, m.conn
	if c.client == "" && c.session == "" {
		return s.Muted.Render("waiting for the connect push")
	}
	live := c.state == StateConnected && !c.ended
	build := func(id func(string) string) string {
		parts := []string{s.Label.Render("client ") + s.Value.Render(id(c.client))}
		if !live {
			parts[0] = s.Muted.Render("last ") + parts[0]
		}
		if c.session != "" {
			parts = append(parts, s.Label.Render("session ")+s.Value.Render(id(c.session)))
		}
		switch {
		case !live:
		case c.expiresAt.IsZero():
			parts = append(parts, s.Label.Render("ttl ")+s.Muted.Render("never expires"))
		case c.expiresAt.After(m.now):
			parts = append(parts, s.Label.Render("ttl ")+s.Value.Render(duration(c.expiresAt.Sub(m.now))))
		default:
			parts = append(parts, s.Label.Render("ttl ")+s.Error.Render("expired"))
		}
		if c.version != "" {
			parts = append(parts, s.Label.Render("server ")+s.Value.Render(c.version))
		}
		return strings.Join(parts, "  ")
	}
	line := build(func(id string) string { return id })
	if cells(line) > w {
		line = build(shortID)
	}
	return line
}

// explainLines say why the last connection ended and what to do, in at
// most n lines.
func (m *Model) explainLines(w, n int) []string {
	s, c := m.styles, m.conn
	var parts []string
	if c.disconnect != nil {
		parts = append(parts, explain(*c.disconnect))
	}
	if c.err != nil {
		parts = append(parts, "error: "+c.err.Error())
	}
	if c.hint != "" {
		parts = append(parts, c.hint)
	}
	if c.ended && c.state != StateClosed {
		parts = append(parts, "the client stopped")
	}
	if len(parts) == 0 {
		return nil
	}
	st := s.Warn
	if c.state == StateClosed || c.ended {
		st = s.Error
	}
	lines := wrap(strings.Join(parts, " · "), w, n)
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return lines
}

// heartbeat shows the ping interval, a gauge of the time since the last
// ping, the pings received, and a warning, in at most n lines, when
// nothing has arrived for longer than ping + grace.
func (m *Model) heartbeat(w, n int) []string {
	s, c := m.styles, m.conn
	pings := s.Label.Render(" · pings ") + s.Value.Render(strconv.Itoa(c.pings))
	if c.state != StateConnected || c.ended || c.connectedAt.IsZero() {
		return []string{s.Label.Render("ping ") + s.Muted.Render("– not connected") + pings}
	}
	if c.ping <= 0 {
		return []string{s.Label.Render("ping ") + s.Muted.Render("off: the server sends no pings") + pings}
	}
	since := m.now.Sub(later(c.lastPing, c.connectedAt))
	silence := m.now.Sub(later(c.lastFrame, c.connectedAt))
	limit := c.ping + m.opts.PingGrace
	st := s.GaugeOK
	switch {
	case silence > limit:
		st = s.GaugeDead
	case since > c.ping:
		st = s.GaugeLate
	}
	size := min(max(w/5, 6), 30)
	full := min(max(int(int64(size)*int64(since)/int64(limit)), 0), size)
	gauge := st.Render(strings.Repeat("█", full)) + s.GaugeEmpty.Render(strings.Repeat("░", size-full))
	last := "since connect"
	if !c.lastPing.IsZero() {
		last = "since last ping"
	}
	out := []string{s.Label.Render("ping ") + s.Value.Render(duration(c.ping)) + " " + gauge + " " +
		st.Render(duration(since)) + s.Label.Render(" "+last) + pings}
	if silence > limit {
		warn := "⚠ nothing received for " + duration(silence) + " (ping " + duration(c.ping) +
			" + grace " + duration(m.opts.PingGrace) + "): the connection looks dead and will be reconnected"
		for _, l := range wrap(warn, w, n) {
			out = append(out, s.Error.Render(l))
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
