package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Styles is every style the screen draws with. Build it with
// DefaultStyles, then change what you like: it is a plain value.
type Styles struct {
	App   lipgloss.Style // the "uniws" badge
	Label lipgloss.Style // field names: "client", "ttl", ...
	Value lipgloss.Style // field values
	Muted lipgloss.Style // secondary text
	Warn  lipgloss.Style // reconnect reasons, stale warnings
	Error lipgloss.Style // terminal codes, dead connections, gaps

	Connecting   lipgloss.Style
	Connected    lipgloss.Style
	Reconnecting lipgloss.Style
	Closed       lipgloss.Style

	GaugeOK    lipgloss.Style // time since ping within the interval
	GaugeLate  lipgloss.Style // past the interval, within the grace
	GaugeDead  lipgloss.Style // past interval and grace
	GaugeEmpty lipgloss.Style

	Section lipgloss.Style // panel titles
	Refused lipgloss.Style

	Cursor    lipgloss.Style // the marker beside the selected entry
	Time      lipgloss.Style
	Channel   lipgloss.Style
	Offset    lipgloss.Style
	Recovered lipgloss.Style
	Gap       lipgloss.Style
	Kinds     map[string]lipgloss.Style // by entry kind: "pub", "join", ...

	JSONKey    lipgloss.Style
	JSONString lipgloss.Style
	JSONNumber lipgloss.Style
	JSONBool   lipgloss.Style
	JSONNull   lipgloss.Style
	JSONPunct  lipgloss.Style

	Paused lipgloss.Style
	Filter lipgloss.Style
	Help   help.Styles
}

// DefaultStyles returns the screen's styles drawn by r. They use the basic
// sixteen colours only, so they read on light and dark terminals alike
// and the terminal's background never needs to be queried.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)) }
	const (
		red, green, yellow, blue, magenta, cyan = "1", "2", "3", "4", "5", "6"
		grey                                    = "8"
	)
	s := Styles{
		App:   r.NewStyle().Bold(true).Foreground(lipgloss.Color(magenta)),
		Label: fg(grey),
		Value: r.NewStyle(),
		Muted: fg(grey),
		Warn:  fg(yellow),
		Error: fg(red).Bold(true),

		Connecting:   fg(yellow).Bold(true),
		Connected:    fg(green).Bold(true),
		Reconnecting: fg(yellow).Bold(true),
		Closed:       fg(red).Bold(true),

		GaugeOK:    fg(green),
		GaugeLate:  fg(yellow),
		GaugeDead:  fg(red),
		GaugeEmpty: fg(grey),

		Section: r.NewStyle().Bold(true),
		Refused: fg(red),

		Cursor:    fg(magenta).Bold(true),
		Time:      fg(grey),
		Channel:   fg(cyan),
		Offset:    fg(blue),
		Recovered: fg(magenta),
		Gap:       fg(red).Bold(true).Reverse(true),
		Kinds: map[string]lipgloss.Style{
			"pub":         fg(green),
			"message":     fg(green),
			"join":        fg(blue),
			"leave":       fg(magenta),
			"subscribe":   fg(cyan),
			"unsubscribe": fg(yellow),
			"refresh":     fg(cyan),
			"connect":     fg(green).Bold(true),
			"disconnect":  fg(red).Bold(true),
			"ping":        fg(grey),
			"state":       fg(yellow),
			"gap":         fg(red).Bold(true),
		},

		JSONKey:    fg(blue),
		JSONString: fg(green),
		JSONNumber: fg(cyan),
		JSONBool:   fg(yellow),
		JSONNull:   fg(grey),
		JSONPunct:  r.NewStyle(),

		Paused: r.NewStyle().Bold(true).Reverse(true),
		Filter: fg(yellow),
	}
	s.Help = help.Styles{
		Ellipsis:       fg(grey),
		ShortKey:       r.NewStyle().Bold(true),
		ShortDesc:      fg(grey),
		ShortSeparator: fg(grey),
		FullKey:        r.NewStyle().Bold(true),
		FullDesc:       fg(grey),
		FullSeparator:  fg(grey),
	}
	return s
}

// kind returns the style for an entry kind.
func (s Styles) kind(k string) lipgloss.Style {
	if st, ok := s.Kinds[k]; ok {
		return st
	}
	return s.Value
}
