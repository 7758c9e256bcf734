package tui

import (
	"strconv"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// BenchmarkBurst applies a burst of publications in frame-sized batches
// and draws after each, as a running program does.
func BenchmarkBurst(b *testing.B) {
	evs := make([]Event, 10000)
	for i := range evs {
		evs[i] = pub(t0, "news", uint64(i+1), `{"id":`+strconv.Itoa(i)+`,"title":"a story","tags":["x","y"],"body":{"text":"some words here"}}`)
	}
	for b.Loop() {
		var m tea.Model = NewModel(nil, Options{})
		m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		m, _ = m.Update(batchMsg{events: []Event{connect(t0, "news")}})
		for i := 0; i < len(evs); i += 500 {
			m, _ = m.Update(batchMsg{events: evs[i : i+500]})
			_ = m.View()
		}
	}
}

// BenchmarkView draws a full screen of laid-out entries.
func BenchmarkView(b *testing.B) {
	var m tea.Model = NewModel(nil, Options{})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	evs := []Event{connect(t0, "news")}
	for i := range 1000 {
		evs = append(evs, pub(t0, "news", uint64(i+1), `{"id":`+strconv.Itoa(i)+`,"title":"a story"}`))
	}
	m, _ = m.Update(batchMsg{events: evs})
	for b.Loop() {
		m, _ = m.Update(tickMsg{})
		_ = m.View()
	}
}

// BenchmarkViewExpandedEntry draws a screen whose selected entry is a
// publication expanded to about 32,000 pretty-printed lines: only the
// lines on screen should cost anything.
func BenchmarkViewExpandedEntry(b *testing.B) {
	var data strings.Builder
	data.WriteString(`{"arr":[`)
	for i := range 8000 {
		if i > 0 {
			data.WriteByte(',')
		}
		data.WriteString(`{"i":` + strconv.Itoa(i) + `,"v":"val` + strconv.Itoa(i) + `"}`)
	}
	data.WriteString(`]}`)
	var m tea.Model = NewModel(nil, Options{})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = m.Update(batchMsg{events: []Event{connect(t0, "news"), pub(t0, "news", 1, data.String())}})
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	mm := m.(Model)
	if n := len(mm.lines(mm.shown[mm.sel])); n < 30000 {
		b.Fatalf("the entry has %d lines, want it expanded", n)
	}
	for b.Loop() {
		m, _ = m.Update(tickMsg{})
		_ = m.View()
	}
}
