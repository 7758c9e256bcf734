package tui

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

func TestFilterByTextOrChannel(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "sport", "news"),
		pub(t0, "sport", 1, `{"fruit":"apple"}`),
		pub(t0, "news", 1, `{"fruit":"banana"}`),
		pub(t0, "sport", 2, `{"fruit":"cherry"}`),
	)
	m = keys(t, m, "/", "B", "a", "n")
	if !m.filtering || m.filter != "Ban" {
		t.Fatalf("filtering %v filter %q", m.filtering, m.filter)
	}
	m = keys(t, m, "enter")
	s := screen(m)
	mustContain(t, s, "banana", "/Ban")
	mustNotContain(t, s, "apple", "cherry")

	m = keys(t, m, "esc", "/", "s", "p", "o", "r", "t", "enter")
	if got := len(m.shown); got != 2 {
		t.Errorf("filter by channel: %d entries shown, want 2", got)
	}
	mustContain(t, screen(m), "apple", "cherry")

	m = keys(t, m, "esc")
	if m.filter != "" || len(m.shown) != 4 {
		t.Errorf("esc: filter %q, %d shown", m.filter, len(m.shown))
	}
	m = keys(t, m, "/", "z", "z", "z")
	mustContain(t, screen(m), "/zzz", "nothing matches /zzz")
	m = keys(t, m, "esc")
	if m.filtering || m.filter != "" {
		t.Errorf("esc while typing: filtering %v filter %q", m.filtering, m.filter)
	}
}

func TestPauseHoldsAndCounts(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "a"), pub(t0, "a", 1, `{"i":1}`))
	m = keys(t, m, "space")
	m = feed(t, m, pub(t0, "a", 2, `{"i":2}`), pub(t0, "a", 3, `{"i":3}`))
	s := screen(m)
	mustContain(t, s, "PAUSED +2", `{"i":1}`, "pubs 3")
	mustNotContain(t, s, `{"i":2}`)
	if m.chans["a"].msgs != 3 {
		t.Errorf("channel counts stop while paused: %d", m.chans["a"].msgs)
	}
	m = keys(t, m, "space")
	s = screen(m)
	mustContain(t, s, `{"i":2}`, `{"i":3}`)
	mustNotContain(t, s, "PAUSED")
}

func TestPingsHiddenUntilAsked(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "a"), ping(t0.Add(time.Second)))
	mustNotContain(t, screen(m), "ping {}")
	mustContain(t, screen(m), "pings 1")
	m = keys(t, m, "p")
	mustContain(t, screen(m), "12:00:01.000 ping {}", "pings shown")
	m = keys(t, m, "p")
	mustNotContain(t, screen(m), "ping {}")
}

func TestClearEmptiesLogKeepsTotals(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "a"), pub(t0, "a", 1, `{"i":1}`))
	m = keys(t, m, "c")
	s := screen(m)
	mustNotContain(t, s, `{"i":1}`)
	mustContain(t, s, "waiting for pushes", "pubs 1", "log 0/1000")
	lines := strings.Split(s, "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "q quit") {
		t.Errorf("key help is not on the last line: %q", last)
	}
	m = feed(t, m, pub(t0, "a", 2, `{"i":2}`))
	mustContain(t, screen(m), `{"i":2}`)
}

func TestLongPayloadCollapsedThenExpanded(t *testing.T) {
	t.Parallel()
	items := make([]int, 30)
	data, _ := json.Marshal(map[string]any{"items": items})
	m := model(t, Options{}, 80, 50, connect(t0, "a"), pub(t0, "a", 1, string(data)))
	s := screen(m)
	mustContain(t, s, `"items": [`, "more lines · enter expands")
	before := len(m.lines(m.shown[m.sel]))
	if before != DefaultCollapse+1 {
		t.Errorf("collapsed entry has %d lines, want %d", before, DefaultCollapse+1)
	}
	m = keys(t, m, "enter")
	// head, "{", "\"items\": [", 30 items, "]", "}"
	if after := len(m.lines(m.shown[m.sel])); after != 35 {
		t.Errorf("expanded entry has %d lines, want 35", after)
	}
	mustNotContain(t, screen(m), "more lines")

	// Taller than the pane: down scrolls inside the entry before leaving it.
	m = update(t, m, sizeMsg(80, 24))
	pane := m.layout().log
	m = keys(t, m, "down")
	if m.skip != 1 {
		t.Errorf("down in a tall entry: skip %d, want 1", m.skip)
	}
	m = keys(t, m, "pgdown", "pgdown", "pgdown")
	if want := 35 - pane; m.skip != want {
		t.Errorf("skip %d, want %d", m.skip, want)
	}
	mustContain(t, screen(m), "]")
}

func TestScrollKeys(t *testing.T) {
	t.Parallel()
	evs := []Event{connect(t0, "a")}
	for i := 1; i <= 100; i++ {
		evs = append(evs, pub(t0, "a", uint64(i), `{"i":`+itoa(i)+`}`))
	}
	m := model(t, Options{}, 80, 24, evs...)
	mustContain(t, screen(m), `{"i":100}`)

	m = keys(t, m, "home")
	mustContain(t, screen(m), "connect client")
	mustNotContain(t, screen(m), `{"i":100}`)

	m = keys(t, m, "pgdown")
	if m.sel == 0 || m.follow {
		t.Errorf("pgdown: sel %d follow %v", m.sel, m.follow)
	}
	// Not following: new entries do not move the view.
	top := m.top
	m = feed(t, m, pub(t0, "a", 101, `{"i":101}`))
	if m.top != top {
		t.Errorf("view moved from %d to %d while not following", top, m.top)
	}
	m = keys(t, m, "end")
	mustContain(t, screen(m), `{"i":101}`)
	m = keys(t, m, "up", "up", "down", "down")
	if !m.follow {
		t.Error("back at the newest entry: not following")
	}
	m = feed(t, m, pub(t0, "a", 102, `{"i":102}`))
	mustContain(t, screen(m), `{"i":102}`)
}

func TestLogBoundedByBuffer(t *testing.T) {
	t.Parallel()
	evs := []Event{connect(t0, "a")}
	for i := range 10000 {
		evs = append(evs, pub(t0, "a", uint64(i+1), `{"i":`+itoa(i)+`}`))
	}
	m := model(t, Options{Buffer: 100}, 80, 24, evs...)
	if len(m.log) != 100 || m.dropped != 9901 {
		t.Errorf("log %d dropped %d, want 100 and 9901", len(m.log), m.dropped)
	}
	if c := m.chans["a"]; c.msgs != 10000 || c.offset != 10000 {
		t.Errorf("channel counts %+v", c)
	}
	mustContain(t, screen(m), "pubs 10000", "log 100/100", "dropped 9901", `{"i":9999}`)

	m = keys(t, m, "space")
	m = feed(t, m, evs[1:]...)
	if len(m.pending) != 100 || m.queued != 10000 {
		t.Errorf("paused: %d held, %d queued", len(m.pending), m.queued)
	}
	mustContain(t, screen(m), "PAUSED +10000")
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestFilterSearchesRawFrame(t *testing.T) {
	t.Parallel()
	ev := pub(t0, "news", 18, `{"a":1}`)
	ev.Raw = []byte(`{"channel":"news","pub":{"data":{"a":1},"offset":18,"tags":{"k":"Tagged"}}}`)
	m := model(t, Options{}, 100, 30, connect(t0, "news"), ev, pub(t0, "news", 19, `{"a":2}`))
	m = keys(t, m, "/", "t", "a", "g", "g", "e", "d", "enter")
	if len(m.shown) != 1 || m.shown[0].offset != 18 {
		t.Errorf("filter over the raw frame: %d shown", len(m.shown))
	}
}

// TestPingsInARowShareAnEntry: a quiet channel's pings do not push its
// publications out of the bounded log; pings in a row are one entry that
// counts them.
func TestPingsInARowShareAnEntry(t *testing.T) {
	t.Parallel()
	evs := []Event{connect(t0, "news")}
	for i := range 3 {
		evs = append(evs, pub(t0.Add(time.Duration(i+1)*time.Second), "news", uint64(i+1), `{"important":`+strconv.Itoa(i)+`}`))
	}
	for i := range 50 {
		evs = append(evs, ping(t0.Add(time.Duration(10+25*i)*time.Second)))
	}
	m := model(t, Options{Buffer: 6}, 100, 30, evs...)
	if m.dropped != 0 || len(m.log) != 5 {
		t.Fatalf("log of %d entries, %d dropped; want connect, 3 publications and 1 ping entry", len(m.log), m.dropped)
	}
	if last := m.log[4]; last.kind != "ping" || last.summary != "{} ×50" {
		t.Errorf("ping entry %q %q", last.kind, last.summary)
	}
	m = keys(t, m, "p") // show pings
	mustContain(t, screen(m), `{"important":0}`, "{} ×50", "pings 50")
	m = feed(t, m, pub(t0.Add(time.Hour), "news", 4, `{}`), ping(t0.Add(time.Hour+time.Second)))
	if n := len(m.log); n != 6 || m.log[n-1].summary != "{}" {
		t.Errorf("a ping after a publication starts a new entry: %d entries, last %q", n, m.log[n-1].summary)
	}
}

// TestKeysThatArriveTogether: keys that come in one message (a slow link)
// act one by one; q among them quits.
func TestKeysThatArriveTogether(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "a"))
	m = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("ppp")})
	if !m.showPings {
		t.Error(`"ppp" did not toggle pings three times`)
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("qq")})
	if cmd == nil || !quits(cmd) {
		t.Error(`"qq" did not quit`)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/ab")})
	if !m.filtering || m.input.Value() != "ab" {
		t.Errorf(`"/ab": filtering %v, input %q`, m.filtering, m.input.Value())
	}
}

// quits reports whether cmd (or a command it batches) quits the program.
func quits(cmd tea.Cmd) bool {
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, c := range msg {
			if c != nil && quits(c) {
				return true
			}
		}
	}
	return false
}

// TestPaneStaysFullUnderATallEntry: with a tall expanded entry above a few
// short ones, the pane shows the tall entry's last lines rather than
// leaving rows empty.
func TestPaneStaysFullUnderATallEntry(t *testing.T) {
	t.Parallel()
	data, _ := json.Marshal(map[string]any{"items": make([]int, 40)})
	m := model(t, Options{}, 80, 24, connect(t0, "a"), pub(t0, "a", 1, string(data)))
	m = keys(t, m, "enter")
	m = feed(t, m, pub(t0.Add(time.Second), "a", 2, `{"n":2}`), pub(t0.Add(2*time.Second), "a", 3, `{"n":3}`),
		pub(t0.Add(3*time.Second), "a", 4, `{"n":4}`))
	m = keys(t, m, "end")
	h := m.layout().log
	body := m.body(h)
	if len(body) != h {
		t.Fatalf("the pane shows %d of %d rows:\n%s", len(body), h, strings.Join(body, "\n"))
	}
	s := screen(m)
	mustContain(t, s, `{"n":4}`, `  ]`)
	mustNotContain(t, s, `"items": [`)
}
