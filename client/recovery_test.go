package client

import (
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uniws/uniws/core"
)

func TestRecoveryPositionsSentOnReconnect(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]*core.SubscribeRequest, 3)
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		got <- req.Subs
		switch n {
		case 1:
			send(t, ws, `{"connect":{"client":"c","subs":{"#u":{},"hist:r":{"recoverable":true,"epoch":"EEEE","offset":3,"positioned":true}},"ping":25}}`)
			send(t, ws, `{"channel":"hist:r","pub":{"data":{"i":4},"offset":4}}`)
			send(t, ws, `{"channel":"#u","pub":{"data":{}}}`)
			disconnect(t, ws, core.CodeInsufficientState)
		case 2:
			// Recovered: the two missed publications come inside the connect push.
			send(t, ws, `{"connect":{"client":"c","subs":{"#u":{},"hist:r":{"recoverable":true,"epoch":"EEEE","publications":[{"data":{"i":5},"offset":5},{"data":{"i":6},"offset":6}],"recovered":true,"offset":4,"positioned":true,"was_recovering":true}},"ping":25}}`)
			disconnect(t, ws, core.CodeForceReconnect)
		case 3:
			// Not recovered: a new epoch.
			send(t, ws, `{"connect":{"client":"c","subs":{"#u":{},"hist:r":{"recoverable":true,"epoch":"FFFF","offset":9,"positioned":true,"was_recovering":true}},"ping":25}}`)
			disconnect(t, ws, core.CodeForceDisconnect)
		}
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true, Subs: []string{"abc"}})
	var events []Event
	for ev := range c.Events() {
		events = append(events, ev)
	}

	want := []map[string]core.SubscribeRequest{
		{"abc": {}},
		{"abc": {}, "hist:r": {Recover: true, Offset: 4, Epoch: "EEEE"}},
		{"abc": {}, "hist:r": {Recover: true, Offset: 6, Epoch: "EEEE"}},
	}
	for i, w := range want {
		subs := <-got
		if len(subs) != len(w) {
			t.Errorf("conn %d: subs %v, want %v", i+1, subs, w)
			continue
		}
		for ch, sr := range w {
			if subs[ch] == nil || *subs[ch] != sr {
				t.Errorf("conn %d: subs[%s] = %+v, want %+v", i+1, ch, subs[ch], sr)
			}
		}
	}

	var recovered []string
	var gaps []Gap
	for _, ev := range events {
		if ev.Recovered {
			recovered = append(recovered, string(ev.Raw))
		}
		if ev.Kind == KindGap {
			gaps = append(gaps, *ev.Gap)
		}
	}
	wantRecovered := []string{
		`{"channel":"hist:r","pub":{"data":{"i":5},"offset":5}}`,
		`{"channel":"hist:r","pub":{"data":{"i":6},"offset":6}}`,
	}
	if len(recovered) != 2 || recovered[0] != wantRecovered[0] || recovered[1] != wantRecovered[1] {
		t.Errorf("recovered = %q, want %q", recovered, wantRecovered)
	}
	wantGap := Gap{Channel: "hist:r", From: Position{6, "EEEE"}, To: Position{9, "FFFF"}}
	if len(gaps) != 1 || gaps[0] != wantGap {
		t.Errorf("gaps = %+v, want %+v", gaps, wantGap)
	}
}

// TestPositionedChannelThatDidNotMoveIsNoGap: a positioned channel without
// recovery answers a recover with was_recovering and no recovered; that is
// a gap only when the stream moved on or changed epoch.
func TestPositionedChannelThatDidNotMoveIsNoGap(t *testing.T) {
	t.Parallel()
	asked := map[string]Position{"same": {5, "e"}, "moved": {5, "e"}, "reborn": {5, "e"}}
	p := newPositions(nil)
	gaps := p.connect(&core.Connect{Subs: map[string]*core.SubscribeResult{
		"same":   {Positioned: true, Epoch: "e", Offset: 5, WasRecovering: true},
		"moved":  {Positioned: true, Epoch: "e", Offset: 7, WasRecovering: true},
		"reborn": {Positioned: true, Epoch: "f", Offset: 5, WasRecovering: true},
	}}, asked)
	want := []Gap{{Channel: "moved", From: Position{5, "e"}, To: Position{7, "e"}}, {Channel: "reborn", From: Position{5, "e"}, To: Position{5, "f"}}}
	if !reflect.DeepEqual(gaps, want) {
		t.Errorf("gaps = %+v, want %+v", gaps, want)
	}
}

func TestPositionsFollowSubscribeAndUnsubscribe(t *testing.T) {
	t.Parallel()
	p := newPositions(nil)
	p.connect(&core.Connect{Subs: map[string]*core.SubscribeResult{"a": {Recoverable: true, Epoch: "x", Offset: 1}, "b": {}}}, nil)
	p.observe(&core.Push{Channel: "n", Subscribe: &core.Subscribe{Positioned: true, Epoch: "y", Offset: 7}})
	p.observe(&core.Push{Channel: "n", Pub: &core.Publication{Offset: 8}})
	p.observe(&core.Push{Channel: "a", Pub: &core.Publication{Offset: 1, Epoch: "z"}})
	p.observe(&core.Push{Channel: "b", Pub: &core.Publication{Offset: 3}})
	p.observe(&core.Push{Channel: "a", Unsubscribe: &core.Unsubscribe{Code: 2000}})
	want := map[string]Position{"n": {8, "y"}}
	if got := p.snapshot(); len(got) != 1 || got["n"] != want["n"] {
		t.Errorf("positions = %v, want %v", got, want)
	}
}

func TestLivenessTimeoutReconnects(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		if n == 1 {
			// Promise a ping every second, then stay silent.
			send(t, ws, `{"connect":{"client":"c","ping":1}}`)
			drain(ws)
			return
		}
		send(t, ws, connectPush)
		disconnect(t, ws, core.CodeForceDisconnect)
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true, LivenessGrace: 10 * time.Millisecond})
	nextState(t, c)
	nextState(t, c)
	start := time.Now()
	ev := nextState(t, c)
	if ev.State != StateReconnecting || !IsLivenessTimeout(ev.Err) {
		t.Fatalf("got %+v, want reconnecting after liveness timeout", ev)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("dropped after %s, before ping interval + grace", waited)
	}
	if ev := nextState(t, c); ev.State != StateConnecting || ev.Attempt != 1 {
		t.Fatalf("got %+v, want connecting attempt 1", ev)
	}
	if ev := nextState(t, c); ev.State != StateConnected {
		t.Fatalf("got %+v, want connected", ev)
	}
	if ev := nextState(t, c); ev.State != StateClosed || ev.Code != core.CodeForceDisconnect {
		t.Fatalf("got %+v, want closed 3503", ev)
	}
}

func TestPingsKeepConnectionAlive(t *testing.T) {
	t.Parallel()
	srv := newWSServer(t, func(t *testing.T, n int, ws *websocket.Conn, req *core.ConnectRequest) {
		send(t, ws, `{"connect":{"client":"c","ping":1}}`)
		for range 3 {
			time.Sleep(400 * time.Millisecond) // the server's ping cadence, not synchronisation
			send(t, ws, `{}`)
		}
		disconnect(t, ws, core.CodeForceDisconnect)
	})
	c := dial(t, Options{URL: srv.URL, Reconnect: true, LivenessGrace: 100 * time.Millisecond})
	pings := 0
	var last Event
	for ev := range c.Events() {
		if ev.Kind == KindPing {
			pings++
		}
		last = ev
	}
	if pings != 3 || last.Code != core.CodeForceDisconnect {
		t.Fatalf("%d pings, last %+v; want 3 pings then closed 3503", pings, last)
	}
}
