package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/uniws/uniws/core"
)

const histNS = `"namespaces":[{"name":"hist","history_size":1000,"history_ttl":"300s","force_recovery":true}]`

func channelToken(t *testing.T, user string, channels ...string) string {
	t.Helper()
	tok, err := core.Sign(jwt.SigningMethodHS256, []byte(testSecret), core.TokenOptions{User: user, Channels: channels, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func topOf(t *testing.T, ts *testServer, ch string) (uint64, string) {
	t.Helper()
	_, out := ts.api("history", testAPIKey, `{"channel":"`+ch+`","limit":0}`)
	var r struct {
		Result struct {
			Offset uint64 `json:"offset"`
			Epoch  string `json:"epoch"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("history %s: %v", out, err)
	}
	return r.Result.Offset, r.Result.Epoch
}

func TestAPISubscribeAndUnsubscribePushes(t *testing.T) {
	t.Parallel()
	ts := startServer(t, histNS)
	for i := 1; i <= 3; i++ {
		ts.publish("hist:s", fmt.Sprintf(`{"i":%d}`, i))
	}
	_, epoch := topOf(t, ts, "hist:s")
	conn, _ := ts.connect(`{"token":"` + ts.token("u", time.Hour) + `"}`)
	_, out := ts.api("subscribe", testAPIKey, `{"user":"u","channel":"hist:s","recover_since":{"offset":1,"epoch":"`+epoch+`"}}`)
	if out != `{"result":{}}` {
		t.Fatalf("subscribe: %s", out)
	}
	want := []string{
		`{"channel":"hist:s","subscribe":{"recoverable":true,"epoch":"` + epoch + `","offset":3,"positioned":true}}`,
		`{"channel":"hist:s","pub":{"data":{"i":2},"offset":2}}`,
		`{"channel":"hist:s","pub":{"data":{"i":3},"offset":3}}`,
	}
	for _, w := range want {
		if got := readFrame(t, conn); got != w {
			t.Fatalf("got %s\nwant %s", got, w)
		}
	}
	ts.publish("hist:s", `{"i":4}`)
	if got := readFrame(t, conn); got != `{"channel":"hist:s","pub":{"data":{"i":4},"offset":4}}` {
		t.Fatalf("live: %s", got)
	}
	_, out = ts.api("unsubscribe", testAPIKey, `{"user":"u","channel":"hist:s"}`)
	if out != `{"result":{}}` {
		t.Fatalf("unsubscribe: %s", out)
	}
	if got := readFrame(t, conn); got != `{"channel":"hist:s","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}` {
		t.Fatalf("unsubscribe push: %s", got)
	}
	ts.publish("hist:s", `{"i":5}`)
	ts.publish("#u", `{"after":1}`)
	if got := readFrame(t, conn); got != `{"channel":"#u","pub":{"data":{"after":1}}}` {
		t.Fatalf("after unsubscribe: %s", got)
	}
}

func TestEpochChangeWhileConnectedCloses3010(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"hist","history_size":10,"history_ttl":"200ms","history_meta_ttl":"200ms","force_positioning":true}]`)
	ts.publish("hist:e", `{}`)
	conn, connect := ts.connect(`{"token":"` + channelToken(t, "u", "hist:e") + `"}`)
	if !strings.Contains(connect, `"offset":1,"positioned":true`) {
		t.Fatalf("connect %s", connect)
	}
	// Once the stream meta expires, the next publication starts a new
	// epoch: the connection cannot prove it missed nothing. Nothing may
	// touch the stream meanwhile (a history read extends the meta), so
	// wait until its TTL has certainly passed: expiry is checked lazily
	// against the clock, so this does not depend on timing.
	time.Sleep(300 * time.Millisecond)
	ts.publish("hist:e", `{}`)
	if _, epoch := topOf(t, ts, "hist:e"); strings.Contains(connect, epoch) {
		t.Fatalf("epoch %s did not change", epoch)
	}
	frames := expectClose(t, conn, 3010, "insufficient state")
	if frames[len(frames)-1] != `{"disconnect":{"code":3010,"reason":"insufficient state"}}` {
		t.Fatalf("frames %q", frames)
	}
}

func TestRecoveryBranches(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_recovery_max_publication_limit":5,"namespaces":[{"name":"hist","history_size":4,"history_ttl":"300s","force_recovery":true}]`)
	for i := 1; i <= 6; i++ {
		ts.publish("hist:b", fmt.Sprintf(`{"i":%d}`, i))
	}
	top, epoch := topOf(t, ts, "hist:b")
	tok := channelToken(t, "u", "hist:b")
	cases := []struct {
		name, sub, want string
	}{
		{"in range", `{"recover":true,"offset":4,"epoch":"` + epoch + `"}`,
			`{"recoverable":true,"epoch":"` + epoch + `","publications":[{"data":{"i":5},"offset":5},{"data":{"i":6},"offset":6}],"recovered":true,"offset":4,"positioned":true,"was_recovering":true}`},
		{"empty epoch skips the check", `{"recover":true,"offset":5}`,
			`{"recoverable":true,"epoch":"` + epoch + `","publications":[{"data":{"i":6},"offset":6}],"recovered":true,"offset":5,"positioned":true,"was_recovering":true}`},
		{"at the top", `{"recover":true,"offset":6,"epoch":"` + epoch + `"}`,
			`{"recoverable":true,"epoch":"` + epoch + `","recovered":true,"offset":6,"positioned":true,"was_recovering":true}`},
		{"epoch mismatch", `{"recover":true,"offset":4,"epoch":"otherepo"}`,
			fmt.Sprintf(`{"recoverable":true,"epoch":"%s","offset":%d,"positioned":true,"was_recovering":true}`, epoch, top)},
		{"trimmed offset", `{"recover":true,"offset":1,"epoch":"` + epoch + `"}`,
			fmt.Sprintf(`{"recoverable":true,"epoch":"%s","offset":%d,"positioned":true,"was_recovering":true}`, epoch, top)},
		{"future offset", `{"recover":true,"offset":60,"epoch":"` + epoch + `"}`,
			fmt.Sprintf(`{"recoverable":true,"epoch":"%s","offset":%d,"positioned":true,"was_recovering":true}`, epoch, top)},
		{"no recover flag", `{}`,
			fmt.Sprintf(`{"recoverable":true,"epoch":"%s","offset":%d,"positioned":true}`, epoch, top)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, connect := ts.connect(`{"token":"` + tok + `","subs":{"hist:b":` + c.sub + `}}`)
			if !strings.Contains(connect, `"hist:b":`+c.want) {
				t.Fatalf("connect\n got %s\nwant %s", connect, c.want)
			}
		})
	}
}

// TestRecoveredFirstPublicationCarriesEpoch: offset 1 carries the stream
// epoch in pub.epoch (PROTOCOL.md §2), recovered as well as live.
func TestRecoveredFirstPublicationCarriesEpoch(t *testing.T) {
	t.Parallel()
	ts := startServer(t, histNS)
	for i := 1; i <= 2; i++ {
		ts.publish("hist:f", fmt.Sprintf(`{"i":%d}`, i))
	}
	_, epoch := topOf(t, ts, "hist:f")
	_, connect := ts.connect(`{"token":"` + channelToken(t, "u", "hist:f") + `","subs":{"hist:f":{"recover":true,"offset":0,"epoch":""}}}`)
	want := `"publications":[{"data":{"i":1},"offset":1,"epoch":"` + epoch + `"},{"data":{"i":2},"offset":2}]`
	if !strings.Contains(connect, want) {
		t.Fatalf("connect %s\nwant %s", connect, want)
	}
	conn, _ := ts.connect(`{"token":"` + ts.token("v", time.Hour) + `"}`)
	if _, out := ts.api("subscribe", testAPIKey, `{"user":"v","channel":"hist:f","recover_since":{"offset":0,"epoch":"`+epoch+`"}}`); out != `{"result":{}}` {
		t.Fatalf("subscribe: %s", out)
	}
	readFrame(t, conn) // the subscribe push
	if got, want := readFrame(t, conn), `{"channel":"hist:f","pub":{"data":{"i":1},"offset":1,"epoch":"`+epoch+`"}}`; got != want {
		t.Fatalf("replay %s\nwant %s", got, want)
	}
	// The engine's copy is untouched: offset 1 of the history has none.
	if _, out := ts.api("history", testAPIKey, `{"channel":"hist:f","limit":1}`); strings.Contains(out, `"epoch":"`+epoch+`"}]`) {
		t.Fatalf("history: %s", out)
	}
}

// TestWasRecoveringEchoesRecover: a client's recover shows as
// was_recovering on every channel with history, as in Centrifugo, also
// where recovery is not allowed; a channel without history gives {}.
func TestWasRecoveringEchoesRecover(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"namespaces":[{"name":"hp","history_size":10,"history_ttl":"300s"},{"name":"pos","history_size":10,"history_ttl":"300s","force_positioning":true},{"name":"plain"}]`)
	ts.publish("pos:a", `{}`)
	_, epoch := topOf(t, ts, "pos:a")
	tok := channelToken(t, "u", "hp:a", "pos:a", "plain:a")
	_, connect := ts.connect(`{"token":"` + tok + `","subs":{"hp:a":{"recover":true},"pos:a":{"recover":true,"offset":1},"plain:a":{"recover":true}}}`)
	for _, want := range []string{
		`"hp:a":{"was_recovering":true}`,
		`"pos:a":{"epoch":"` + epoch + `","offset":1,"positioned":true,"was_recovering":true}`,
		`"plain:a":{}`,
	} {
		if !strings.Contains(connect, want) {
			t.Errorf("connect %s\nlacks %s", connect, want)
		}
	}
}

func TestTooManyMissedIsNotRecovered(t *testing.T) {
	t.Parallel()
	ts := startServer(t, `"client_recovery_max_publication_limit":2,`+histNS)
	for i := 1; i <= 4; i++ {
		ts.publish("hist:m", `{}`)
	}
	_, epoch := topOf(t, ts, "hist:m")
	_, connect := ts.connect(`{"token":"` + channelToken(t, "u", "hist:m") + `","subs":{"hist:m":{"recover":true,"offset":1,"epoch":"` + epoch + `"}}}`)
	if !strings.Contains(connect, `"hist:m":{"recoverable":true,"epoch":"`+epoch+`","offset":4,"positioned":true,"was_recovering":true}`) {
		t.Fatalf("connect %s", connect)
	}
}

// TestRecoveryUnderConcurrentPublishing connects recovering clients while
// publishers run, and checks that each sees every offset after its own
// once, in order, with no gap.
func TestRecoveryUnderConcurrentPublishing(t *testing.T) {
	t.Parallel()
	// A client may read the top and connect a few hundred publications
	// later on a loaded machine: keep all of them recoverable.
	ts := startServer(t, `"client_recovery_max_publication_limit":1000,`+histNS)
	const total = 600
	ts.publish("hist:c", `{}`)
	_, epoch := topOf(t, ts, "hist:c")
	tok := channelToken(t, "u", "hist:c")

	var wg sync.WaitGroup
	for p := 0; p < 3; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < total/3; i++ {
				ts.publish("hist:c", `{}`)
			}
		}()
	}
	type result struct {
		from uint64
		seen []uint64
		err  error
	}
	results := make(chan result, 8)
	for c := 0; c < 8; c++ {
		go func() {
			from, _ := topOf(t, ts, "hist:c")
			if from > 0 {
				from--
			}
			conn, _, err := websocket.DefaultDialer.Dial(ts.wsURL(), nil)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer conn.Close()
			req := fmt.Sprintf(`{"token":"%s","subs":{"hist:c":{"recover":true,"offset":%d,"epoch":"%s"}}}`, tok, from, epoch)
			if err := conn.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
				results <- result{err: err}
				return
			}
			r := result{from: from}
			for last := from; last < total+1; {
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, data, err := conn.ReadMessage()
				if err != nil {
					r.err = err
					break
				}
				var p core.Push
				if err := json.Unmarshal(data, &p); err != nil {
					r.err = err
					break
				}
				var pubs []*core.Publication
				if p.Connect != nil {
					res := p.Connect.Subs["hist:c"]
					if res == nil || !res.Recovered {
						r.err = fmt.Errorf("not recovered: %s", data)
						break
					}
					pubs = res.Publications
				} else if p.Pub != nil {
					pubs = []*core.Publication{p.Pub}
				}
				for _, pub := range pubs {
					r.seen = append(r.seen, pub.Offset)
					last = pub.Offset
				}
			}
			results <- r
		}()
	}
	wg.Wait()
	for c := 0; c < 8; c++ {
		r := <-results
		if r.err != nil {
			t.Fatalf("client: %v", r.err)
		}
		for i, off := range r.seen {
			if want := r.from + uint64(i) + 1; off != want {
				t.Fatalf("client from %d: offset #%d is %d, want %d (gap or duplicate)", r.from, i, off, want)
			}
		}
		if last := r.seen[len(r.seen)-1]; last != total+1 {
			t.Fatalf("client from %d ended at %d", r.from, last)
		}
	}
}
