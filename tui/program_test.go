package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/uniws/uniws/core"
)

// wait is how long a program test waits for a condition. It bounds a
// failure, not a success: conditions are polled.
const wait = 10 * time.Second

// program runs a model fed by a channel under teatest at w x h, with no
// colours. The channel is closed and the program stopped when the test
// ends.
type program struct {
	*teatest.TestModel
	t   *testing.T
	src chan Event
}

func startProgram(t *testing.T, opts Options, w, h int) *program {
	t.Helper()
	src := make(chan Event, 64)
	opts.Renderer = nil // no colours
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	if opts.Frame == 0 {
		opts.Frame = 10 * time.Millisecond
	}
	tm := teatest.NewTestModel(t, NewModel(Chan(src), opts), teatest.WithInitialTermSize(w, h))
	p := &program{TestModel: tm, t: t, src: src}
	t.Cleanup(func() {
		tm.Send(keyMsg("ctrl+c"))
		tm.WaitFinished(t, teatest.WithFinalTimeout(wait))
		close(src)
	})
	return p
}

// send feeds events as the client would.
func (p *program) send(evs ...Event) {
	for _, ev := range evs {
		p.src <- ev
	}
}

// key presses keys by name (see keyMsg).
func (p *program) key(ks ...string) {
	for _, k := range ks {
		p.Send(keyMsg(k))
	}
}

// waitFor waits until the screen output, with escape sequences removed,
// has shown every one of wants since the last wait.
func (p *program) waitFor(wants ...string) {
	p.t.Helper()
	teatest.WaitFor(p.t, p.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, w := range wants {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(wait), teatest.WithCheckInterval(5*time.Millisecond))
}

// final quits and returns the model the program ended with.
func (p *program) final() Model {
	p.t.Helper()
	p.key("q")
	m, ok := p.FinalModel(p.t, teatest.WithFinalTimeout(wait)).(Model)
	if !ok {
		p.t.Fatal("final model is not a Model")
	}
	return m
}

func TestProgramConnectAndPublications(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{ServerURL: url, User: "test_user", Requested: []string{"abc"}}, 100, 30)
	p.waitFor("uniws", "connecting", url, "user test_user")

	p.send(state(t0, StateConnecting), connect(t0, "#test_user"), state(t0, StateConnected))
	p.waitFor("● connected", "client 6f1c0d4e", "session 9a8b7c6d", "ttl 1h00m00s",
		"✗ abc", "refused: not granted by the server")

	p.send(pub(t0.Add(time.Second), "#test_user", 0, `{"text":"hello"}`),
		pub(t0.Add(2*time.Second), "#test_user", 0, `{"text":"world"}`))
	p.waitFor(`#test_user pub {"text":"hello"}`, `{"text":"world"}`, "pubs 2")
}

func TestProgramFilter(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{}, 100, 30)
	p.send(connect(t0, "sport", "news"),
		pub(t0, "sport", 1, `{"fruit":"apple"}`),
		pub(t0, "news", 1, `{"fruit":"banana"}`))
	p.waitFor("apple", "banana")

	p.key("/", "n", "e", "w", "s", "enter")
	p.waitFor("/news")
	p.send(pub(t0, "sport", 2, `{"fruit":"cherry"}`), pub(t0, "news", 2, `{"fruit":"damson"}`))
	p.waitFor("damson", "pubs 4")

	m := p.final()
	s := screen(m)
	mustContain(t, s, "banana", "damson")
	mustNotContain(t, s, "apple", "cherry")
}

func TestProgramPauseResume(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{}, 100, 30)
	p.send(connect(t0, "a"), pub(t0, "a", 1, `{"n":"one"}`))
	p.waitFor(`{"n":"one"}`)

	p.key("space")
	p.waitFor("PAUSED +0")
	p.send(pub(t0, "a", 2, `{"n":"two"}`), pub(t0, "a", 3, `{"n":"three"}`))
	p.waitFor("PAUSED +2", "pubs 3")

	p.key("space")
	p.waitFor(`{"n":"two"}`, `{"n":"three"}`)
	if m := p.final(); m.paused || len(m.log) != 4 {
		t.Errorf("after resume: paused %v, %d in log, want connect and 3 pubs", m.paused, len(m.log))
	}
}

func TestProgramPingGaugeGoesStale(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := startProgram(t, Options{Now: clk.Now}, 120, 30)
	p.send(connect(t0, "a"))
	p.waitFor("ping 25s", "0s since connect")

	clk.Add(5 * time.Second)
	p.send(ping(clk.Now()))
	p.waitFor("since last ping", "pings 1")

	clk.Add(20 * time.Second)
	p.waitFor("20s since last ping")

	clk.Add(16 * time.Second)
	p.waitFor("⚠ nothing received for 36s (ping 25s + grace 10s)")
}

func TestProgramReconnectAfter3011(t *testing.T) {
	t.Parallel()
	clk := newClock()
	p := startProgram(t, Options{Now: clk.Now}, 120, 30)
	p.send(connect(t0, "a"), state(t0, StateConnected))
	p.waitFor("● connected")

	p.send(disconnectPush(t0, core.CodeForceReconnect), reconnecting(t0, 1, 2*time.Second, core.CodeForceReconnect))
	p.waitFor("reconnecting", "attempt 1", "next try in 2s", "3011: force reconnect")

	clk.Add(2 * time.Second)
	p.send(Event{At: clk.Now(), Kind: KindState, State: StateConnecting, Attempt: 1})
	p.waitFor("connecting · attempt 1")
	p.send(connect(clk.Now(), "a"), state(clk.Now(), StateConnected))
	p.waitFor("● connected", "reconnects 1")
}

func TestProgramTerminal3500Explained(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{}, 160, 30)
	p.send(state(t0, StateConnecting),
		disconnectPush(t0, core.CodeInvalidToken), closed(t0, core.CodeInvalidToken))
	p.waitFor("■ closed 3500 invalid token", core.CodeInvalidToken.Explain())
}

func TestProgramResize(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{ServerURL: url}, 80, 24)
	p.send(connect(t0, "a"), pub(t0, "a", 1, `{"a":1}`))
	p.waitFor("● connected", `{"a":1}`)

	p.Send(tea.WindowSizeMsg{Width: 60, Height: 15})
	p.waitFor("uniws ● connected")
	p.Send(tea.WindowSizeMsg{Width: 200, Height: 60})
	p.waitFor("uniws ● connected  " + url)
	p.Send(tea.WindowSizeMsg{Width: 12, Height: 2})
	p.waitFor("uniws ●")

	m := update(t, p.final(), sizeMsg(200, 60))
	if n := strings.Count(m.View(), "\n") + 1; n != 60 {
		t.Errorf("200x60 view has %d lines", n)
	}
}

func TestProgramBurstBoundedAndResponsive(t *testing.T) {
	t.Parallel()
	p := startProgram(t, Options{Buffer: 100}, 100, 30)
	p.send(connect(t0, "a"))
	p.waitFor("● connected")

	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 10000 {
			select {
			case p.src <- pub(t0, "a", uint64(i+1), `{"i":`+itoa(i+1)+`}`):
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-sent })

	p.waitFor("pubs 10000", "log 100/100", `{"i":10000}`)
	p.key("space")
	p.waitFor("PAUSED +0")

	m := p.final()
	if len(m.log) != 100 || m.dropped != 9901 || m.chans["a"].msgs != 10000 {
		t.Errorf("log %d, dropped %d, msgs %d", len(m.log), m.dropped, m.chans["a"].msgs)
	}
}

func TestProgramStopsWhenSourceCloses(t *testing.T) {
	t.Parallel()
	src := make(chan Event, 1)
	tm := teatest.NewTestModel(t, NewModel(Chan(src), Options{}), teatest.WithInitialTermSize(80, 24))
	src <- connect(t0, "a")
	close(src)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains([]byte(ansi.Strip(string(b))), []byte("the client stopped"))
	}, teatest.WithDuration(wait))
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(wait))
}
