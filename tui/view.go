package tui

import (
	"strconv"
	"strings"
)

// Window sizes below which parts of the screen are dropped.
const (
	minWidth   = 20 // below: the state line only
	minHeight  = 4
	fullHeight = 16 // from here: the channels panel with one row each
	midHeight  = 10 // from here: second header line and key help
)

// View draws the screen at the size of the last tea.WindowSizeMsg (80x24
// until one arrives). Every line fits the width and there are exactly as
// many lines as the height.
func (m Model) View() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < minWidth || h < minHeight {
		return strings.Join(fit([]string{m.stateLine()}, w, h), "\n")
	}
	m.help.Width = w
	top, bottom := m.frame()
	pane := max(h-len(top)-len(bottom), 0)
	body := m.body(pane)
	lines := append(top, body...)
	lines = append(lines, make([]string, pane-len(body))...)
	lines = append(lines, bottom...)
	return strings.Join(fit(lines, w, h), "\n")
}

// paneLayout is the share of the screen the log pane gets.
type paneLayout struct{ log int }

// layout says how many lines the log pane has with the current state and
// window size.
func (m *Model) layout() paneLayout {
	if m.width < minWidth || m.height < minHeight {
		return paneLayout{}
	}
	top, bottom := m.frame()
	return paneLayout{log: max(m.height-len(top)-len(bottom), 0)}
}

// frame draws what surrounds the log pane: header, heartbeat and channels
// above it, status and key help below. Smaller windows get less of it.
func (m *Model) frame() (top, bottom []string) {
	w, h := m.width, m.height
	top = append(top, m.stateLine())
	switch {
	case h >= fullHeight:
		top = append(top, m.idLine(w))
		top = append(top, m.explainLines(w, 3)...)
		top = append(top, m.heartbeat(w, 2)...)
		top = append(top, m.channelPanel(w, max((h-8)/4, 1))...)
	case h >= midHeight:
		top = append(top, m.idLine(w))
		top = append(top, m.explainLines(w, 2)...)
		top = append(top, m.heartbeat(w, 1)...)
		top = append(top, m.channelSummary())
	default:
		top = append(top, m.explainLines(w, 1)...)
	}
	if m.filtering {
		bottom = append(bottom, m.input.View()+m.styles.Muted.Render("  enter apply · esc clear"))
	} else {
		bottom = append(bottom, m.status())
	}
	if h >= midHeight {
		bottom = append(bottom, m.help.ShortHelpView(m.keys.ShortHelp()))
	}
	return top, bottom
}

// body draws the log pane (or the full help) in h lines.
func (m *Model) body(h int) []string {
	if h <= 0 {
		return nil
	}
	s := m.styles
	if m.showHelp {
		out := []string{s.Section.Render("keys") + s.Muted.Render("  (any key closes)")}
		out = append(out, strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n")...)
		out = append(out, "",
			s.Recovered.Render("↺ recovered")+s.Muted.Render(" taken from the connect push  ")+
				s.Gap.Render(" GAP ")+s.Muted.Render(" recovery failed  ")+
				s.Refused.Render("✗")+s.Muted.Render(" channel refused"))
		return out
	}
	if len(m.shown) == 0 {
		msg := "waiting for pushes…"
		switch {
		case m.filter != "":
			msg = "nothing matches /" + m.filter + " (esc clears)"
		case len(m.log) > 0:
			msg = "only pings so far (p shows them)"
		case m.paused:
			msg = "paused (space resumes)"
		}
		return []string{"  " + s.Muted.Render(msg)}
	}
	var out []string
	for k := m.top; k < len(m.shown) && len(out) < h; k++ {
		lines := m.lines(m.shown[k])
		if k == m.top {
			lines = lines[min(m.skip, len(lines)):]
		}
		// Only the lines that fit are drawn: an expanded entry may have
		// tens of thousands.
		lines = lines[:min(len(lines), h-len(out))]
		for i, l := range lines {
			mark := "  "
			if k == m.sel && i == 0 {
				mark = s.Cursor.Render("▌ ")
			} else if k == m.sel {
				mark = s.Cursor.Render("▏ ")
			}
			out = append(out, mark+l)
		}
	}
	return out
}

// status is the footer line: rates, totals and what is switched on.
func (m *Model) status() string {
	s := m.styles
	parts := []string{
		strconv.FormatFloat(m.rate.perSecond(m.now), 'f', 1, 64) + " msg/s",
		"pushes " + strconv.Itoa(m.counts.pushes),
		"pubs " + strconv.Itoa(m.counts.pubs),
		"pings " + strconv.Itoa(m.conn.pings),
		"log " + strconv.Itoa(len(m.log)) + "/" + strconv.Itoa(m.opts.Buffer),
	}
	if m.dropped > 0 {
		parts = append(parts, "dropped "+strconv.Itoa(m.dropped))
	}
	if m.counts.reconnects > 0 {
		parts = append(parts, "reconnects "+strconv.Itoa(m.counts.reconnects))
	}
	if m.counts.gaps > 0 {
		parts = append(parts, s.Error.Render("gaps "+strconv.Itoa(m.counts.gaps)))
	}
	line := strings.Join(parts, s.Muted.Render(" · "))
	var flags []string
	if m.paused {
		flags = append(flags, s.Paused.Render(" PAUSED +"+strconv.Itoa(m.queued)+" "))
	}
	if m.filter != "" {
		flags = append(flags, s.Filter.Render("/"+m.filter))
	}
	if m.showPings {
		flags = append(flags, s.Muted.Render("pings shown"))
	}
	if len(flags) > 0 {
		line = strings.Join(flags, " ") + "  " + line
	}
	return line
}
