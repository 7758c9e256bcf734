package tui

import (
	"bytes"
	"encoding/json"
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
		out[0] += " " + colorJSON(compact, s)
		return out
	}
	pretty := prettyJSON(e.data)
	more := 0
	if !e.expanded && len(pretty) > m.opts.Collapse {
		more = len(pretty) - (m.opts.Collapse - 1)
		pretty = pretty[:m.opts.Collapse-1]
	}
	for _, l := range pretty {
		l = "  " + colorJSON(l, s)
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

// compactJSON returns data on one line, or false when it is not JSON.
func compactJSON(data []byte) (string, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return "", false
	}
	return b.String(), true
}

// prettyJSON returns data indented, one element per line, keeping the key
// order; data that is not JSON is returned as its lines.
func prettyJSON(data []byte) []string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	}
	return strings.Split(b.String(), "\n")
}

// colorJSON colours one line of JSON: keys, strings, numbers, literals
// and punctuation. Text that is not JSON is returned with what it
// recognises coloured and the rest unchanged.
func colorJSON(line string, s Styles) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '"':
			j := stringEnd(line, i)
			tok := line[i:j]
			k := j
			for k < len(line) && (line[k] == ' ' || line[k] == '\t') {
				k++
			}
			if k < len(line) && line[k] == ':' {
				b.WriteString(s.JSONKey.Render(tok))
			} else {
				b.WriteString(s.JSONString.Render(tok))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(line) && strings.IndexByte("0123456789.eE+-", line[j]) >= 0 {
				j++
			}
			b.WriteString(s.JSONNumber.Render(line[i:j]))
			i = j
		case strings.HasPrefix(line[i:], "true"), strings.HasPrefix(line[i:], "false"):
			n := 4
			if c == 'f' {
				n = 5
			}
			b.WriteString(s.JSONBool.Render(line[i : i+n]))
			i += n
		case strings.HasPrefix(line[i:], "null"):
			b.WriteString(s.JSONNull.Render("null"))
			i += 4
		case strings.IndexByte("{}[],:", c) >= 0:
			b.WriteString(s.JSONPunct.Render(line[i : i+1]))
			i++
		default:
			j := i + 1
			for j < len(line) && strings.IndexByte("\"-0123456789tfn{}[],:", line[j]) < 0 {
				j++
			}
			b.WriteString(line[i:j])
			i = j
		}
	}
	return b.String()
}

// stringEnd returns the index just past the JSON string starting at i, or
// the end of the line when it is not closed.
func stringEnd(line string, i int) int {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(line)
}
