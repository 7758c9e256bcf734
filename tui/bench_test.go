package tui

import (
	"strconv"
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
