package tui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// batchMsg carries the events gathered in one frame; closed reports that
// the source was closed after them.
type batchMsg struct {
	events []Event
	closed bool
}

// tickMsg redraws the clock-driven parts of the screen.
type tickMsg struct{}

// Update applies a message and returns the new model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.input.Width = max(msg.Width-30, 1)
		m.scroll()
		return m, nil
	case batchMsg:
		m.now = m.opts.Now()
		for _, ev := range msg.events {
			m.apply(ev)
		}
		if msg.closed {
			m.conn.ended = true
		}
		m.refresh()
		if msg.closed {
			return m, nil
		}
		return m, m.read()
	case tickMsg:
		m.now = m.opts.Now()
		m.spin++
		return m, tick()
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !m.filtering {
			// Keys that arrived together (a slow link, a held key) come
			// as one message; each is a key of its own here.
			var cmds []tea.Cmd
			var next tea.Model = m
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				next, cmd = next.(Model).key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmds = append(cmds, cmd)
			}
			return next, tea.Batch(cmds...)
		}
		return m.key(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// key handles a key press.
func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.filtering {
		return m.filterKey(k)
	}
	if m.showHelp {
		m.showHelp = false
		if key.Matches(k, m.keys.Quit) {
			return m, tea.Quit
		}
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(k, m.keys.Help):
		m.showHelp = true
	case key.Matches(k, m.keys.Filter):
		m.filtering = true
		m.input.SetValue(m.filter)
		m.input.CursorEnd()
		cmd := m.input.Focus()
		m.scroll()
		return m, cmd
	case key.Matches(k, m.keys.Cancel):
		m.setFilter("")
	case key.Matches(k, m.keys.Pause):
		if m.paused {
			m.resume()
		} else {
			m.paused = true
		}
		m.scroll()
	case key.Matches(k, m.keys.Pings):
		m.showPings = !m.showPings
		m.refresh()
	case key.Matches(k, m.keys.Clear):
		m.clearLog()
	case key.Matches(k, m.keys.Expand):
		if m.sel < len(m.shown) {
			e := m.shown[m.sel]
			e.expanded = !e.expanded
			m.skip = 0
			m.scroll()
		}
	case key.Matches(k, m.keys.Up):
		m.move(-1, 1)
	case key.Matches(k, m.keys.Down):
		m.move(1, 1)
	case key.Matches(k, m.keys.PageUp):
		m.move(-m.visible(), max(m.layout().log-1, 1))
	case key.Matches(k, m.keys.PageDown):
		m.move(m.visible(), max(m.layout().log-1, 1))
	case key.Matches(k, m.keys.Home):
		m.sel, m.top, m.skip, m.follow = 0, 0, 0, false
		m.scroll()
	case key.Matches(k, m.keys.End):
		m.sel, m.skip, m.follow = len(m.shown)-1, 0, true
		m.scroll()
	}
	return m, nil
}

// filterKey handles a key while the filter is being typed: the filter
// applies as it is typed.
func (m Model) filterKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case k.Type == tea.KeyCtrlC:
		return m, tea.Quit
	case key.Matches(k, m.keys.Apply):
		m.filtering = false
		m.input.Blur()
		m.scroll()
		return m, nil
	case key.Matches(k, m.keys.Cancel):
		m.filtering = false
		m.input.Blur()
		m.input.SetValue("")
		m.setFilter("")
		m.scroll()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	m.setFilter(m.input.Value())
	return m, cmd
}

// newFilterInput returns the filter's text input with a steady cursor, so
// that it needs no blink timer.
func newFilterInput() textinput.Model {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "text or channel"
	in.CharLimit = 256
	in.Cursor.SetMode(cursor.CursorStatic)
	return in
}
