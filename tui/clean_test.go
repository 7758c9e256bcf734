package tui

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/uniws/uniws/core"
)

// TestServerTextCannotDriveTheTerminal: escape sequences and other
// controls in any text a publisher or the server chose (tags, data,
// channel, reasons, client info) reach the screen as visible \u escapes;
// the only ESC bytes in the view are the screen's own styling.
func TestServerTextCannotDriveTheTerminal(t *testing.T) {
	t.Parallel()
	const evil = "x\x1b]0;TITLE\x07\x1b[41mRED\nline2\u009b2J"
	pubEv := pub(t0.Add(time.Second), "#test_user", 3, `{"a":"`+"\u009d"+`0;T`+"\u009c"+`"}`)
	pubEv.Push.Pub.Tags = map[string]string{"k": evil}
	pubEv.Push.Pub.Info = &core.ClientInfo{User: evil, Client: "c"}
	pubEv.Raw = []byte(`{"channel":"#test_user","pub":{"data":{"a":"` + "\u009d" + `0;T"}}}`)
	unsub := Event{At: t0.Add(2 * time.Second), Kind: KindPush, Push: &core.Push{Channel: "ch" + evil, Unsubscribe: &core.Unsubscribe{Code: 2000, Reason: evil}}}
	bye := closed(t0.Add(3*time.Second), core.Code(4501))
	bye.Disconnect.Reason = evil
	bye.Err = errors.Join(io.EOF, errors.New(evil))

	m := model(t, Options{Renderer: plainRenderer()}, 200, 40, connect(t0, "#test_user"), pubEv, unsub, bye)
	m = keys(t, m, "end", "enter") // expand the last entry as well
	view := m.View()
	if strings.ContainsAny(view, "\x07\u009b\u009c\u009d") || strings.Contains(view, "\x1b]") || strings.Contains(view, "\x1b[41m") {
		t.Fatalf("control characters from the server reached the view: %q", view)
	}
	mustContain(t, screen(m), `\u001b]0;TITLE\u0007\u001b[41mRED\u000aline2\u009b2J`)
	if !errors.Is(m.conn.err, io.EOF) {
		t.Errorf("the cleaned error lost its chain: %v", m.conn.err)
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain ü 日本 🙂": "plain ü 日本 🙂",
		"a\x1bb":       `a\u001bb`,
		"tab\tnl\n":    `tab\u0009nl\u000a`,
		"del\x7f":      `del\u007f`,
		"c1\u0085":     `c1\u0085`,
		"bad\xffbyte":  "bad\ufffdbyte",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := string(cleanJSON([]byte("{\"a\": \"\u009b\x7f\",\n\t\"b\":1}"))); got != "{\"a\": \"\\u009b\\u007f\",\n\t\"b\":1}" {
		t.Errorf("cleanJSON: %q", got)
	}
}

// TestConnectPushPublicationsTakeTheCleanPath: a connect push carrying
// recovered publications goes through cleanPush, which drops them (the
// source sends each as a push of its own), whether or not the rest of it
// needs cleaning.
func TestConnectPushPublicationsTakeTheCleanPath(t *testing.T) {
	t.Parallel()
	p := &core.Push{Connect: &core.Connect{Client: "c", Subs: map[string]*core.SubscribeResult{
		"a": {Publications: []*core.Publication{{Data: []byte(`"` + "\u009b" + `"`), Epoch: "x\x1b"}}},
	}}}
	got := cleanEvent(Event{Kind: KindPush, Push: p}).Push
	if got == p || got.Connect.Subs["a"].Publications != nil {
		t.Fatalf("the connect push's publications stayed: %+v", got.Connect.Subs["a"])
	}
	if p.Connect.Subs["a"].Publications == nil {
		t.Fatal("the event's push was written to")
	}
}
