package tui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/uniws/uniws/core"
)

const url = "ws://localhost:8000/connection/uni_websocket"

func TestConnectFillsHeader(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := model(t, Options{ServerURL: url, User: "test_user", Now: clk.Now}, 120, 30, state(t0, StateConnecting))
	s := screen(m)
	mustContain(t, s, "connecting", url, "user test_user", "waiting for the connect push")

	m = feed(t, m, connect(t0, "#test_user"), state(t0, StateConnected))
	s = screen(m)
	mustContain(t, s, "● connected", "client 6f1c0d4e-5b8a-4c1e-9d3f-2a7b8c9d0e1f",
		"session 9a8b7c6d-1111-4222-8333-444455556666", "ttl 1h00m00s", "server 6.9.1", "ping 25s")

	clk.Add(90 * time.Second)
	m = update(t, m, tickMsg{})
	mustContain(t, screen(m), "ttl 58m30s", "1m30s since connect")
}

func TestPublicationsAppearAndCount(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "#test_user", "news"),
		pub(t0.Add(time.Second), "#test_user", 0, `{"text": "hello"}`),
		pub(t0.Add(2*time.Second), "news", 17, `{"n":1}`),
		pub(t0.Add(3*time.Second), "news", 18, `{"n":2}`),
	)
	s := screen(m)
	mustContain(t, s,
		`12:00:01.000 #test_user pub {"text":"hello"}`,
		`12:00:03.000 news @18 pub {"n":2}`,
		"pubs 3",
	)
	if c := m.chans["news"]; c.msgs != 2 || c.offset != 18 {
		t.Errorf("news: msgs %d offset %d, want 2 and 18", c.msgs, c.offset)
	}
	mustContain(t, s, "news        msgs 2  offset 18")
}

func TestRefusedChannelsMarked(t *testing.T) {
	t.Parallel()
	m := model(t, Options{Requested: []string{"abc", "news"}}, 80, 24)
	mustContain(t, screen(m), "abc", "requested")
	m = feed(t, m, connect(t0, "#test_user", "news"))
	s := screen(m)
	mustContain(t, s, "2 granted · 1 refused", "✗ abc", "refused: not granted by the server")
	mustContain(t, m.log[0].summary, "refused abc")
	if !m.chans["abc"].refused || m.chans["news"].refused {
		t.Errorf("refused flags wrong: abc %+v news %+v", m.chans["abc"], m.chans["news"])
	}

	small := update(t, m, sizeMsg(60, 12))
	mustContain(t, screen(small), "channels ✗ abc refused")
}

func TestHeartbeatGoesStale(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := model(t, Options{Now: clk.Now}, 100, 30, connect(t0, "a"))
	clk.Add(10 * time.Second)
	m = feed(t, m, ping(clk.Now()))
	clk.Add(5 * time.Second)
	m = update(t, m, tickMsg{})
	s := screen(m)
	mustContain(t, s, "ping 25s", "5s since last ping", "pings 1")
	mustNotContain(t, s, "nothing received")

	clk.Add(31 * time.Second)
	m = update(t, m, tickMsg{})
	mustContain(t, screen(m), "⚠ nothing received for 36s (ping 25s + grace 10s)", "looks dead")

	// Any frame counts as life.
	m = feed(t, m, pub(clk.Now(), "a", 0, `{}`))
	mustNotContain(t, screen(m), "nothing received")
}

func TestReconnectAfter3011(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := model(t, Options{Now: clk.Now}, 100, 30, connect(t0, "a"), state(t0, StateConnected))
	m = feed(t, m, disconnectPush(t0, core.CodeForceReconnect),
		reconnecting(t0, 1, 3*time.Second, core.CodeForceReconnect))
	s := screen(m)
	mustContain(t, s, "reconnecting · attempt 1 · next try in 3s",
		"3011: "+core.CodeForceReconnect.Explain(), "reconnects 1", "ping – not connected",
		"last client 6f1c0d4e")
	mustNotContain(t, strings.Join(strings.Split(s, "\n")[:3], "\n"), "ttl ")
	clk.Add(time.Second)
	m = update(t, m, tickMsg{})
	mustContain(t, screen(m), "next try in 2s")

	m = feed(t, m, Event{At: clk.Now(), Kind: KindState, State: StateConnecting, Attempt: 1},
		connect(clk.Now(), "a"), state(clk.Now(), StateConnected))
	s = screen(m)
	mustContain(t, s, "● connected")
	mustNotContain(t, s[:strings.Index(s, "channels")], "3011")
}

func TestTerminal3500Explained(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 80, 24, connect(t0, "a"),
		disconnectPush(t0, core.CodeInvalidToken), closed(t0, core.CodeInvalidToken))
	s := screen(m)
	mustContain(t, s, "■ closed 3500 invalid token")
	head := strings.Join(strings.Fields(strings.Join(strings.Split(s, "\n")[:4], " ")), " ")
	if want := core.CodeInvalidToken.Explain(); !strings.Contains(head, want) {
		t.Errorf("header does not explain 3500 as %q:\n%s", want, s)
	}
}

func TestHintShown(t *testing.T) {
	t.Parallel()
	d := core.CodeExpired.Disconnect()
	m := model(t, Options{}, 120, 24, Event{At: t0, Kind: KindState, State: StateClosed, Disconnect: &d,
		Hint: "run watch with -u and -c to mint fresh tokens"})
	mustContain(t, screen(m), "a fresh token is needed", "run watch with -u and -c")
}

func TestGapShownLoudly(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 160, 30, connect(t0, "news"),
		Event{At: t0, Kind: KindGap, Gap: &Gap{Channel: "news", LastOffset: 10, LastEpoch: "xyz", Offset: 45, Epoch: "xyz"}},
		Event{At: t0, Kind: KindGap, Gap: &Gap{Channel: "news", LastOffset: 50, LastEpoch: "xyz", Offset: 3, Epoch: "new"}},
	)
	s := screen(m)
	mustContain(t, s, " GAP ", "RECOVERY FAILED", "up to 35 publications lost",
		"the stream restarted", "offset 3  epoch new", "gaps 2")
}

func TestRecoveredMarked(t *testing.T) {
	t.Parallel()
	ev := pub(t0, "news", 5, `{"old":true}`)
	ev.Recovered = true
	m := model(t, Options{}, 100, 30, connect(t0, "news"), ev)
	mustContain(t, screen(m), "news @5 pub ↺ recovered", "↺ 1 recovered")

	cn := connect(t0, "news")
	cn.Push.Connect.Subs["news"] = &core.SubscribeResult{Recoverable: true, Recovered: true, Epoch: "ep", Offset: 9, WasRecovering: true}
	m = feed(t, m, cn)
	mustContain(t, screen(m), "offset 9  epoch ep  ↺ 1 recovered")
	m = model(t, Options{}, 100, 30, cn)
	mustContain(t, screen(m), "offset 9  epoch ep  ↺ recovered, nothing missed")
}

func TestOtherPushKinds(t *testing.T) {
	t.Parallel()
	info := core.ClientInfo{User: "42", Client: "c-1"}
	evs := []Event{
		connect(t0, "chat"),
		{Kind: KindPush, Push: &core.Push{Channel: "chat", Join: &core.Join{Info: info}}},
		{Kind: KindPush, Push: &core.Push{Channel: "chat", Leave: &core.Leave{Info: info}}},
		{Kind: KindPush, Push: &core.Push{Channel: "news", Subscribe: &core.Subscribe{Recoverable: true, Epoch: "ep", Offset: 5, Positioned: true}}},
		{Kind: KindPush, Push: &core.Push{Channel: "chat", Unsubscribe: &core.Unsubscribe{Code: 2000, Reason: "server unsubscribe"}}},
		{Kind: KindPush, Push: &core.Push{Refresh: &core.Refresh{Expires: true, TTL: 7200}}},
		{Kind: KindPush, Push: &core.Push{Message: &core.Message{Data: json.RawMessage(`{"hi":1}`)}}},
	}
	m := model(t, Options{}, 120, 40, evs...)
	s := screen(m)
	mustContain(t, s,
		"chat join user 42 · client c-1",
		"chat leave user 42 · client c-1",
		"news subscribe recoverable · positioned · epoch ep · offset 5",
		"chat unsubscribe 2000 server unsubscribe",
		"refresh ttl 2h00m00s",
		`message {"hi":1}`,
		"unsubscribed: 2000 server unsubscribe",
		"ttl 2h00m00s",
	)
}

func TestEveryWindowSize(t *testing.T) {
	t.Parallel()
	evs := []Event{connect(t0, "a", "b"), reconnecting(t0, 2, time.Second, core.CodeForceReconnect)}
	for i := range 30 {
		evs = append(evs, pub(t0, "a", uint64(i+1), `{"text":"`+strings.Repeat("x", i*7)+`"}`))
	}
	base := model(t, Options{ServerURL: url, User: "u", Requested: []string{"c"}}, 80, 24, evs...)
	base = keys(t, base, "up", "enter")
	for w := 0; w <= 130; w += 7 {
		for h := 0; h <= 40; h += 3 {
			m := update(t, base, sizeMsg(w, h))
			m = keys(t, m, "pgup", "down")
			v := m.View()
			if w == 0 || h == 0 {
				if v != "" {
					t.Errorf("%dx%d: view %q", w, h, v)
				}
				continue
			}
			lines := strings.Split(v, "\n")
			if len(lines) != h {
				t.Errorf("%dx%d: %d lines", w, h, len(lines))
			}
			for i, l := range lines {
				if cw := ansi.StringWidth(l); cw > w {
					t.Errorf("%dx%d: line %d is %d wide: %q", w, h, i, cw, l)
				}
			}
			if w >= 10 && !strings.HasPrefix(ansi.Strip(v), "uniws") {
				t.Errorf("%dx%d: header lost:\n%s", w, h, ansi.Strip(v))
			}
		}
	}
}

func TestHelpToggles(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, connect(t0, "a"))
	m = keys(t, m, "?")
	mustContain(t, screen(m), "keys", "page down", "expand", "recovery failed")
	m = keys(t, m, "x")
	mustNotContain(t, screen(m), "page down")
}

// TestNoChannelsGrantedExplained: a connection the server subscribed to
// nothing says so, and where channels come from, instead of "none yet".
func TestNoChannelsGrantedExplained(t *testing.T) {
	t.Parallel()
	m := model(t, Options{}, 100, 30, state(t0, StateConnecting))
	mustContain(t, screen(m), "none yet")
	m = feed(t, m, connect(t0), state(t0, StateConnected))
	s := screen(m)
	mustContain(t, s, "0 granted", "none granted yet: publications arrive only on channels the server")
	if strings.Contains(s, "none yet") {
		t.Errorf("still waiting for channels:\n%s", s)
	}
	small := model(t, Options{}, 80, 12, connect(t0), state(t0, StateConnected))
	mustContain(t, screen(small), "channels none granted yet")
	small = model(t, Options{}, 80, 12, state(t0, StateConnecting))
	mustContain(t, screen(small), "channels none yet")
}
