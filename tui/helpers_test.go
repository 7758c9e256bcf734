package tui

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/uniws/uniws/core"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a test clock that moves only when told to; it is safe for
// concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func state(at time.Time, s ConnState) Event { return Event{At: at, Kind: KindState, State: s} }

func reconnecting(at time.Time, attempt int, next time.Duration, code core.Code) Event {
	d := code.Disconnect()
	return Event{At: at, Kind: KindState, State: StateReconnecting, Attempt: attempt, NextTry: next, Disconnect: &d}
}

func closed(at time.Time, code core.Code) Event {
	d := code.Disconnect()
	return Event{At: at, Kind: KindState, State: StateClosed, Disconnect: &d}
}

func connect(at time.Time, subs ...string) Event {
	c := &core.Connect{
		Client: "6f1c0d4e-5b8a-4c1e-9d3f-2a7b8c9d0e1f", Version: "6.9.1",
		Session: "9a8b7c6d-1111-4222-8333-444455556666",
		Subs:    map[string]*core.SubscribeResult{}, Expires: true, TTL: 3600, Ping: 25,
	}
	for _, s := range subs {
		c.Subs[s] = &core.SubscribeResult{}
	}
	return Event{At: at, Kind: KindPush, Push: &core.Push{Connect: c}}
}

func pub(at time.Time, ch string, off uint64, data string) Event {
	return Event{At: at, Kind: KindPush, Push: &core.Push{Channel: ch, Pub: &core.Publication{
		Data: json.RawMessage(data), Offset: off,
	}}}
}

func ping(at time.Time) Event { return Event{At: at, Kind: KindPing, Push: &core.Push{}} }

func disconnectPush(at time.Time, code core.Code) Event {
	d := code.Disconnect()
	return Event{At: at, Kind: KindPush, Push: &core.Push{Disconnect: &d}}
}

// model returns a model at w x h fed with evs.
func model(t *testing.T, opts Options, w, h int, evs ...Event) Model {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	m := NewModel(nil, opts)
	m = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	return feed(t, m, evs...)
}

// feed applies evs to m as one batch.
func feed(t *testing.T, m Model, evs ...Event) Model {
	t.Helper()
	return update(t, m, batchMsg{events: evs})
}

func update(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	nm, ok := next.(Model)
	if !ok {
		t.Fatalf("Update returned %T", next)
	}
	return nm
}

func keys(t *testing.T, m Model, ks ...string) Model {
	t.Helper()
	for _, k := range ks {
		m = update(t, m, keyMsg(k))
	}
	return m
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// screen is the view with escape sequences removed.
func screen(m Model) string { return ansi.Strip(m.View()) }

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

func mustNotContain(t *testing.T, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Errorf("screen has %q:\n%s", b, s)
		}
	}
}

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
