package tui

import (
	"encoding/json"
	"strconv"
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
