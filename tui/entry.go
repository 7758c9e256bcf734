package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// cursorWidth is the width of the selection marker before each log line.
const cursorWidth = 2

// lines returns the entry laid out for the log pane, from the cache when
// the width and expansion have not changed since it was last laid out.
func (m *Model) lines(e *entry) []string {
	w := max(m.width-cursorWidth, 10)
	if e.lines != nil && e.linesW == w && e.linesExp == e.expanded {
		return e.lines
	}
	e.lines, e.linesW, e.linesExp = m.layoutEntry(e, w), w, e.expanded
	return e.lines
}

// layoutEntry draws an entry at width w: a head line with the arrival
// time, channel, offset, kind and a summary, then the payload. A payload
// that fits on the head line goes there, compact; a larger one is
// pretty-printed below, collapsed to Options.Collapse lines unless the
// entry is expanded.
func (m *Model) layoutEntry(e *entry, w int) []string {
	s := m.styles
	var head strings.Builder
	head.WriteString(s.Time.Render(e.at.Format("15:04:05.000")))
	if e.channel != "" {
		head.WriteString(" " + s.Channel.Render(e.channel))
	}
	if e.offset > 0 {
		head.WriteString(" " + s.Offset.Render("@"+strconv.FormatUint(e.offset, 10)))
	}
	kind := s.kind(e.kind).Render(e.kind)
	if e.kind == "gap" {
		kind = s.Gap.Render(" GAP ")
	}
	head.WriteString(" " + kind)
	if e.recovered {
		head.WriteString(" " + s.Recovered.Render("↺ recovered"))
	}

	var out []string
	if e.summary != "" {
		st := s.Muted
		if e.loud {
			st = s.Error
		}
		if e.kind == "state" && !e.loud {
			st = s.Warn
		}
		line := head.String() + " " + st.Render(e.summary)
		if e.loud && ansi.StringWidth(line) > w {
			out = append(out, head.String())
			for _, l := range strings.Split(ansi.Wordwrap(e.summary, w-2, " "), "\n") {
				out = append(out, "  "+st.Render(l))
			}
		} else {
			out = append(out, line)
		}
	} else {
		out = append(out, head.String())
	}
	if len(e.data) == 0 {
		return out
	}

	if compact, ok := compactJSON(e.data); ok && len(out) == 1 &&
		ansi.StringWidth(out[0])+1+ansi.StringWidth(compact) <= w {
		out[0] += " " + m.paint.json(compact)
		return out
	}
	pretty := prettyJSON(e.data)
	more := 0
	if !e.expanded && len(pretty) > m.opts.Collapse {
		more = len(pretty) - (m.opts.Collapse - 1)
		pretty = pretty[:m.opts.Collapse-1]
	}
	for _, l := range pretty {
		l = "  " + m.paint.json(l)
		if e.expanded {
			out = append(out, strings.Split(ansi.Hardwrap(l, w, true), "\n")...)
		} else {
			out = append(out, ansi.Truncate(l, w, "…"))
		}
	}
	if more > 0 {
		out = append(out, "  "+s.Muted.Render("⋯ "+strconv.Itoa(more)+" more lines · enter expands"))
	}
	return out
}
