package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uniws/uniws/core"
)

// Text that comes from the server (publications, tags, reasons, channel
// names) reaches the terminal only after clean: a publisher must not be
// able to move the cursor, retitle the window or recolour the screen with
// escape sequences hidden in its data. Every event is cleaned as the
// screen takes it in (cleanEvent), before anything is styled.

// isControl reports the runes a terminal may act on: C0 controls, DEL and
// C1 controls (which some terminals take as 8-bit escape sequences).
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// needsClean reports whether s holds a control rune or invalid UTF-8
// (ranging over s yields U+FFFD for an invalid byte; a real U+FFFD counts
// too, which only costs a rewrite to itself).
func needsClean(s string) bool {
	for _, r := range s {
		if isControl(r) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// jsonNeedsClean is needsClean for JSON text, where tab, newline and
// carriage return may stand between tokens.
func jsonNeedsClean(raw []byte) bool {
	for i := 0; i < len(raw); {
		if c := raw[i]; c < utf8.RuneSelf { // ASCII, most of any payload
			if jsonControl(rune(c)) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if isControl(r) || r == utf8.RuneError {
			return true
		}
		i += size
	}
	return false
}

// jsonControl is isControl without JSON's whitespace.
func jsonControl(r rune) bool {
	return isControl(r) && r != '\t' && r != '\n' && r != '\r'
}

// Clean shows s's control runes (C0, DEL, C1) as \u escapes (ESC as
// \u001b) and its invalid bytes as U+FFFD, so that printing it cannot drive
// a terminal.
func Clean(s string) string { return cleanText(s) }

// cleanText is Clean.
func cleanText(s string) string {
	if !needsClean(s) {
		return s
	}
	return escape(s, isControl)
}

// cleanJSON is cleanText for JSON text: tab, newline and carriage return
// stay (whitespace between tokens; never raw inside a valid string), and
// the \u escape a control rune becomes is the same string to a JSON
// reader.
func cleanJSON(raw []byte) []byte {
	if !jsonNeedsClean(raw) {
		return raw
	}
	return []byte(escape(string(raw), jsonControl))
}

// escape writes s with the runes ctl names as \u escapes and its invalid
// bytes as U+FFFD.
func escape(s string, ctl func(rune) bool) string {
	var b strings.Builder
	for _, r := range s {
		if ctl(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r) // RuneError for an invalid byte
		}
	}
	return b.String()
}

// cleanError is an error whose message is cleaned; errors.Is and As still
// see the original.
type cleanError struct{ err error }

func (e cleanError) Error() string { return cleanText(e.err.Error()) }
func (e cleanError) Unwrap() error { return e.err }

// cleanEvent returns ev with every server text cleaned. What ev points to
// is copied where it changes, never written.
func cleanEvent(ev Event) Event {
	if ev.Err != nil && needsClean(ev.Err.Error()) {
		ev.Err = cleanError{ev.Err}
	}
	ev.Hint = cleanText(ev.Hint)
	if ev.Disconnect != nil {
		d := *ev.Disconnect
		d.Reason = cleanText(d.Reason)
		ev.Disconnect = &d
	}
	ev.Raw = cleanJSON(ev.Raw)
	if ev.Push != nil && pushNeedsClean(ev.Push) {
		ev.Push = cleanPush(ev.Push)
	}
	if ev.Gap != nil {
		g := *ev.Gap
		g.Channel, g.LastEpoch, g.Epoch = cleanText(g.Channel), cleanText(g.LastEpoch), cleanText(g.Epoch)
		ev.Gap = &g
	}
	return ev
}

// pushNeedsClean reports whether any text of p needs cleaning, without
// copying anything: most pushes are clean and pass as they are.
func pushNeedsClean(p *core.Push) bool {
	if needsClean(p.Channel) {
		return true
	}
	if pub := p.Pub; pub != nil {
		if jsonNeedsClean(pub.Data) || needsClean(pub.Epoch) || (pub.Info != nil && infoNeedsClean(*pub.Info)) {
			return true
		}
		for k, v := range pub.Tags {
			if needsClean(k) || needsClean(v) {
				return true
			}
		}
	}
	switch {
	case p.Join != nil && infoNeedsClean(p.Join.Info),
		p.Leave != nil && infoNeedsClean(p.Leave.Info),
		p.Unsubscribe != nil && needsClean(p.Unsubscribe.Reason),
		p.Message != nil && jsonNeedsClean(p.Message.Data),
		p.Subscribe != nil && (needsClean(p.Subscribe.Epoch) || jsonNeedsClean(p.Subscribe.Data)),
		p.Disconnect != nil && needsClean(p.Disconnect.Reason):
		return true
	}
	if cn := p.Connect; cn != nil {
		if needsClean(cn.Client) || needsClean(cn.Version) || needsClean(cn.Session) || jsonNeedsClean(cn.Data) {
			return true
		}
		for ch, r := range cn.Subs {
			// cleanPush drops the publications a connect push carries
			// (the source sends each as a push of its own): a push with
			// some takes that path too.
			if needsClean(ch) || (r != nil && (needsClean(r.Epoch) || jsonNeedsClean(r.Data) || len(r.Publications) > 0)) {
				return true
			}
		}
	}
	return false
}

func infoNeedsClean(ci core.ClientInfo) bool {
	return needsClean(ci.User) || needsClean(ci.Client) || jsonNeedsClean(ci.ConnInfo) || jsonNeedsClean(ci.ChanInfo)
}

// cleanPush copies p with its texts cleaned.
func cleanPush(p *core.Push) *core.Push {
	c := *p
	c.Channel = cleanText(c.Channel)
	if p.Pub != nil {
		c.Pub = cleanPub(p.Pub)
	}
	if p.Join != nil {
		c.Join = &core.Join{Info: cleanInfo(p.Join.Info)}
	}
	if p.Leave != nil {
		c.Leave = &core.Leave{Info: cleanInfo(p.Leave.Info)}
	}
	if p.Unsubscribe != nil {
		u := *p.Unsubscribe
		u.Reason = cleanText(u.Reason)
		c.Unsubscribe = &u
	}
	if p.Message != nil {
		c.Message = &core.Message{Data: cleanJSON(p.Message.Data)}
	}
	if p.Subscribe != nil {
		s := *p.Subscribe
		s.Epoch, s.Data = cleanText(s.Epoch), cleanJSON(s.Data)
		c.Subscribe = &s
	}
	if p.Connect != nil {
		cn := *p.Connect
		cn.Client, cn.Version, cn.Session = cleanText(cn.Client), cleanText(cn.Version), cleanText(cn.Session)
		cn.Data = cleanJSON(cn.Data)
		if cn.Subs != nil {
			cn.Subs = make(map[string]*core.SubscribeResult, len(p.Connect.Subs))
			for ch, r := range p.Connect.Subs {
				if r != nil {
					rc := *r
					rc.Epoch, rc.Data, rc.Publications = cleanText(rc.Epoch), cleanJSON(rc.Data), nil
					r = &rc
				}
				cn.Subs[cleanText(ch)] = r
			}
		}
		c.Connect = &cn
	}
	if p.Disconnect != nil {
		d := *p.Disconnect
		d.Reason = cleanText(d.Reason)
		c.Disconnect = &d
	}
	return &c
}

func cleanPub(p *core.Publication) *core.Publication {
	c := *p
	c.Data, c.Epoch = cleanJSON(c.Data), cleanText(c.Epoch)
	if p.Info != nil {
		info := cleanInfo(*p.Info)
		c.Info = &info
	}
	if p.Tags != nil {
		c.Tags = make(map[string]string, len(p.Tags))
		for k, v := range p.Tags {
			c.Tags[cleanText(k)] = cleanText(v)
		}
	}
	return &c
}

func cleanInfo(ci core.ClientInfo) core.ClientInfo {
	ci.User, ci.Client = cleanText(ci.User), cleanText(ci.Client)
	ci.ConnInfo, ci.ChanInfo = json.RawMessage(cleanJSON(ci.ConnInfo)), json.RawMessage(cleanJSON(ci.ChanInfo))
	return ci
}
