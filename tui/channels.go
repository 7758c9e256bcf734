package tui

import (
	"strconv"
	"strings"
)

// maxNameWidth caps the channel-name column of the channels panel.
const maxNameWidth = 28

// noChannels explains a connection the server subscribed to nothing yet:
// publications reach a uni_websocket client only on channels the server
// subscribed it to.
const noChannels = "none granted yet: publications arrive only on channels the server subscribes this " +
	"connection to (the token's channels or subs claim, --sub where allowed, the personal channel, " +
	"a connect proxy, an API subscribe)"

// channelPanel lists the channels, one per row, in at most rows rows plus
// a title.
func (m *Model) channelPanel(w, rows int) []string {
	s := m.styles
	granted, refused := m.channelCounts()
	title := s.Section.Render("channels") + s.Muted.Render("  "+strconv.Itoa(granted)+" granted")
	if refused > 0 {
		title += s.Refused.Render(" · " + strconv.Itoa(refused) + " refused")
	}
	out := []string{title}
	if len(m.order) == 0 {
		if m.conn.state != StateConnected {
			return append(out, "  "+s.Muted.Render("none yet"))
		}
		for _, l := range wrap(noChannels, max(w-2, 8), max(rows, 1)) {
			out = append(out, "  "+s.Warn.Render(l))
		}
		return out
	}
	nameW := 0
	for _, name := range m.order {
		nameW = max(nameW, cells(name))
	}
	nameW = min(nameW, maxNameWidth, max(w/3, 8))
	show := m.order
	if len(show) > rows {
		show = show[:rows-1]
	}
	for _, name := range show {
		out = append(out, m.channelRow(m.chans[name], nameW))
	}
	if len(show) < len(m.order) {
		out = append(out, s.Muted.Render("  … "+strconv.Itoa(len(m.order)-len(show))+" more"))
	}
	return out
}

// channelRow is one channel: messages, last offset and epoch, markers.
func (m *Model) channelRow(c *chanStat, nameW int) string {
	s := m.styles
	name := c.name
	if cells(name) > nameW {
		name = string([]rune(name)[:max(nameW-1, 1)]) + "…"
	}
	name += strings.Repeat(" ", max(nameW-cells(name), 0))
	if c.refused {
		return s.Refused.Render("✗ "+name) + "  " + s.Refused.Render(c.note)
	}
	mark := "  "
	if !c.granted {
		mark = s.Muted.Render("· ")
	}
	parts := []string{s.Channel.Render(name), s.Label.Render("msgs ") + s.Value.Render(strconv.Itoa(c.msgs))}
	if c.offset > 0 {
		parts = append(parts, s.Label.Render("offset ")+s.Offset.Render(strconv.FormatUint(c.offset, 10)))
	}
	if c.epoch != "" {
		parts = append(parts, s.Label.Render("epoch ")+s.Value.Render(c.epoch))
	}
	switch {
	case c.recovered > 0:
		parts = append(parts, s.Recovered.Render("↺ "+strconv.Itoa(c.recovered)+" recovered"))
	case c.resumed:
		parts = append(parts, s.Recovered.Render("↺ recovered, nothing missed"))
	}
	if c.gap {
		parts = append(parts, s.Gap.Render(" GAP "))
	}
	switch {
	case c.note != "":
		parts = append(parts, s.Warn.Render(c.note))
	case !c.granted && m.conn.client == "":
		parts = append(parts, s.Muted.Render("requested"))
	}
	return mark + strings.Join(parts, "  ")
}

// channelSummary is the channels panel in one line, for small windows.
func (m *Model) channelSummary() string {
	s := m.styles
	// Refused channels first: they are what the panel is for.
	parts := make([]string, 0, len(m.order))
	for _, name := range m.order {
		if m.chans[name].refused {
			parts = append(parts, s.Refused.Render("✗ "+name+" refused"))
		}
	}
	for _, name := range m.order {
		c := m.chans[name]
		if c.refused {
			continue
		}
		p := s.Channel.Render(name) + " " + s.Value.Render(strconv.Itoa(c.msgs))
		if c.gap {
			p += " " + s.Gap.Render(" GAP ")
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		if m.conn.state == StateConnected {
			return s.Section.Render("channels ") + s.Warn.Render("none granted yet")
		}
		return s.Section.Render("channels ") + s.Muted.Render("none yet")
	}
	return s.Section.Render("channels ") + strings.Join(parts, s.Muted.Render(" · "))
}

// channelCounts returns how many channels are granted and refused.
func (m *Model) channelCounts() (granted, refused int) {
	for _, c := range m.chans {
		if c.refused {
			refused++
		} else if c.granted {
			granted++
		}
	}
	return granted, refused
}
