package tui

import (
	"sort"
	"strings"
	"time"
)

// entry is one line of the log (a push, a ping, a state change or a gap)
// with its layout cached for the width it was last drawn at.
type entry struct {
	seq       uint64
	at        time.Time
	kind      string
	channel   string
	offset    uint64
	recovered bool
	loud      bool
	pings     int // pings this entry stands for (kind "ping")
	summary   string
	data      []byte
	raw       []byte
	expanded  bool

	search string // lower-cased text the filter matches, built when needed

	lines    []string
	linesW   int
	linesExp bool
}

// matches reports whether the entry contains q, which is lower case.
func (e *entry) matches(q string) bool {
	if e.search == "" {
		payload := e.raw
		if payload == nil {
			payload = e.data
		}
		e.search = strings.ToLower(e.channel + "\x00" + e.kind + "\x00" + e.summary + "\x00" + string(payload))
	}
	return strings.Contains(e.search, q)
}

// add appends an entry to the log, or to the held entries while paused.
func (m *Model) add(e *entry) {
	m.seq++
	e.seq = m.seq
	if m.paused {
		m.queued++
		m.pending = bounded(m.pending, e, m.opts.Buffer, &m.dropped)
		return
	}
	m.log = bounded(m.log, e, m.opts.Buffer, &m.dropped)
}

// bounded appends e to list, dropping the oldest entries beyond max.
func bounded(list []*entry, e *entry, max int, dropped *int) []*entry {
	if n := len(list) - max + 1; n > 0 {
		*dropped += n
		clear(list[:n])
		list = list[n:]
	}
	return append(list, e)
}

// resume ends a pause, moving the held entries into the log.
func (m *Model) resume() {
	for _, e := range m.pending {
		m.log = bounded(m.log, e, m.opts.Buffer, &m.dropped)
	}
	m.pending, m.queued, m.paused = nil, 0, false
	m.refresh()
}

// clearLog empties the log; totals and channel counts stay.
func (m *Model) clearLog() {
	m.log, m.pending, m.shown = nil, nil, nil
	m.queued, m.sel, m.top, m.skip, m.follow = 0, 0, 0, 0, true
}

// refresh recomputes the entries shown under the filter and ping setting,
// keeping the selection on the same entry unless following the tail.
func (m *Model) refresh() {
	var selSeq uint64
	if m.sel < len(m.shown) {
		selSeq = m.shown[m.sel].seq
	}
	q := strings.ToLower(m.filter)
	shown := make([]*entry, 0, len(m.log))
	for _, e := range m.log {
		if e.kind == "ping" && !m.showPings {
			continue
		}
		if q != "" && !e.matches(q) {
			continue
		}
		shown = append(shown, e)
	}
	m.shown = shown
	if m.follow {
		if n := len(shown); n == 0 || shown[n-1].seq != selSeq {
			m.skip = 0
		}
		m.sel = len(shown) - 1
	} else {
		m.sel = sort.Search(len(shown), func(i int) bool { return shown[i].seq >= selSeq })
	}
	m.scroll()
}

// setFilter changes the filter text and what is shown.
func (m *Model) setFilter(q string) {
	if q == m.filter {
		return
	}
	m.filter = q
	m.refresh()
}

// scroll keeps the selected entry in view and the pane filled.
func (m *Model) scroll() {
	n, h := len(m.shown), m.layout().log
	if n == 0 {
		m.sel, m.top, m.skip = 0, 0, 0
		return
	}
	m.sel = min(max(m.sel, 0), n-1)
	if m.sel == n-1 {
		m.follow = true
	}
	if h <= 0 {
		m.top, m.skip = m.sel, 0
		return
	}
	if m.sel < m.top {
		m.top = m.sel
	}
	if m.sel-m.top >= h {
		m.top = m.sel - h + 1
	}
	for m.top < m.sel && m.span(m.top, m.sel, h) > h {
		m.top++
	}
	for m.top > 0 && m.span(m.top-1, n-1, h) <= h {
		m.top--
	}
	if m.top != m.sel {
		m.skip = 0
		// Rows left empty under the last entry while the entry above top
		// is too tall to fit whole: show its bottom lines in them.
		if rest := m.span(m.top, n-1, h); m.top > 0 && rest < h {
			m.top--
			m.skip = len(m.lines(m.shown[m.top])) - (h - rest)
		}
		return
	}
	m.skip = min(max(m.skip, 0), max(len(m.lines(m.shown[m.sel]))-h, 0))
}

// span is the number of lines entries i..j take, counted only up to
// limit+1.
func (m *Model) span(i, j, limit int) int {
	total := 0
	for k := i; k <= j && total <= limit; k++ {
		total += len(m.lines(m.shown[k]))
	}
	return total
}

// visible is how many entries from top fit in the pane, at least one.
func (m *Model) visible() int {
	h, used, n := m.layout().log, 0, 0
	for k := m.top; k < len(m.shown); k++ {
		used += len(m.lines(m.shown[k]))
		if used > h && n > 0 {
			break
		}
		n++
	}
	return max(n, 1)
}

// move changes the selection by delta entries, or scrolls within a
// selected entry taller than the pane.
func (m *Model) move(delta, lines int) {
	if len(m.shown) == 0 {
		return
	}
	h := m.layout().log
	if m.top == m.sel && h > 0 {
		tall := len(m.lines(m.shown[m.sel])) - h
		if delta > 0 && m.skip < tall {
			m.skip = min(m.skip+lines, tall)
			return
		}
		if delta < 0 && m.skip > 0 {
			m.skip = max(m.skip-lines, 0)
			return
		}
	}
	sel := min(max(m.sel+delta, 0), len(m.shown)-1)
	if sel == m.sel {
		return
	}
	m.sel, m.skip, m.follow = sel, 0, false
	m.scroll()
}
