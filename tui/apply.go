package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uniws/uniws/core"
)

// apply takes one event into the model, its server texts cleaned. It never
// draws: entries are laid out only when they scroll into view.
func (m *Model) apply(ev Event) {
	ev = cleanEvent(ev)
	at := ev.At
	if at.IsZero() {
		at = m.now
	}
	switch ev.Kind {
	case KindState:
		m.applyState(ev, at)
	case KindPing:
		m.applyPing(at)
	case KindPush:
		switch {
		case ev.Push == nil:
		case ev.Push.Kind() == "ping":
			m.applyPing(at)
		default:
			m.applyPush(ev, at)
		}
	case KindGap:
		if ev.Gap != nil {
			m.applyGap(*ev.Gap, at)
		}
	}
}

func (m *Model) applyState(ev Event, at time.Time) {
	c := &m.conn
	prev := c.state
	c.state, c.attempt, c.hint = ev.State, ev.Attempt, ev.Hint
	c.nextAt = time.Time{}
	switch ev.State {
	case StateConnecting:
		// Keep why the last connection ended until a new one is up.
		if ev.Disconnect != nil || ev.Err != nil {
			c.disconnect, c.err = copyDisconnect(ev.Disconnect), ev.Err
		}
	case StateConnected:
		c.disconnect, c.err = nil, nil
		if c.connectedAt.IsZero() {
			c.connectedAt = at
		}
	case StateReconnecting:
		c.disconnect, c.err = copyDisconnect(ev.Disconnect), ev.Err
		c.nextAt = at.Add(ev.NextTry)
		if prev != StateReconnecting && prev != StateConnecting {
			m.counts.reconnects++
		}
	default:
		c.disconnect, c.err = copyDisconnect(ev.Disconnect), ev.Err
	}
	m.add(&entry{at: at, kind: "state", summary: stateSummary(ev), loud: ev.State == StateClosed})
}

func copyDisconnect(d *core.Disconnect) *core.Disconnect {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// applyPing counts a ping. Pings in a row share one log entry ("{} ×N",
// at the time of the last), so that a quiet channel's pings do not push
// its publications out of the bounded log.
func (m *Model) applyPing(at time.Time) {
	m.conn.pings++
	m.conn.lastPing, m.conn.lastFrame = at, at
	list := m.log
	if m.paused {
		list = m.pending
	}
	if n := len(list); n > 0 && list[n-1].kind == "ping" {
		e := list[n-1]
		e.pings++
		e.at, e.summary = at, "{} ×"+strconv.Itoa(e.pings)
		e.lines, e.search = nil, "" // drawn and searched anew
		return
	}
	m.add(&entry{at: at, kind: "ping", summary: "{}", pings: 1})
}

func (m *Model) applyPush(ev Event, at time.Time) {
	p := ev.Push
	m.conn.lastFrame = at
	m.counts.pushes++
	m.rate.add(at)
	e := &entry{at: at, kind: p.Kind(), channel: p.Channel, recovered: ev.Recovered, raw: ev.Raw}
	switch {
	case p.Connect != nil:
		e.summary = m.applyConnect(p.Connect, at)
		e.data = p.Connect.Data
	case p.Pub != nil:
		m.counts.pubs++
		st := m.live(p.Channel)
		st.msgs++
		if p.Pub.Offset > 0 {
			st.offset = p.Pub.Offset
		}
		if p.Pub.Epoch != "" {
			st.epoch = p.Pub.Epoch
		}
		if ev.Recovered {
			st.recovered++
		}
		e.offset, e.data = p.Pub.Offset, p.Pub.Data
		e.summary = pubSummary(p.Pub)
	case p.Join != nil:
		e.summary = clientSummary(p.Join.Info)
		e.data = p.Join.Info.ConnInfo
	case p.Leave != nil:
		e.summary = clientSummary(p.Leave.Info)
		e.data = p.Leave.Info.ConnInfo
	case p.Unsubscribe != nil:
		st := m.channel(p.Channel)
		st.granted = false
		e.summary = strings.TrimSpace(fmt.Sprintf("%d %s", p.Unsubscribe.Code, p.Unsubscribe.Reason))
		st.note = "unsubscribed: " + e.summary
		e.loud = true
	case p.Subscribe != nil:
		st := m.live(p.Channel)
		st.note = ""
		if p.Subscribe.Epoch != "" {
			st.epoch = p.Subscribe.Epoch
		}
		if p.Subscribe.Offset > 0 {
			st.offset = p.Subscribe.Offset
		}
		e.summary = subscribeSummary(p.Subscribe.Recoverable, p.Subscribe.Positioned, p.Subscribe.Epoch, p.Subscribe.Offset)
		e.data = p.Subscribe.Data
	case p.Refresh != nil:
		m.conn.expiresAt = time.Time{}
		e.summary = "no expiry"
		if p.Refresh.Expires {
			ttl := time.Duration(p.Refresh.TTL) * time.Second
			m.conn.expiresAt = at.Add(ttl)
			e.summary = "ttl " + duration(ttl)
		}
	case p.Disconnect != nil:
		m.conn.disconnect = copyDisconnect(p.Disconnect)
		e.summary = explain(*p.Disconnect)
		e.loud = true
	case p.Message != nil:
		e.data = p.Message.Data
	}
	m.add(e)
}

// live returns the row of a channel that is delivering, marking it granted.
func (m *Model) live(name string) *chanStat {
	st := m.channel(name)
	if !st.granted || st.refused {
		st.granted, st.refused = true, false
		m.sortChannels()
	}
	return st
}

// applyConnect takes in the connect push and returns its log summary.
func (m *Model) applyConnect(cn *core.Connect, at time.Time) string {
	c := &m.conn
	c.state, c.attempt, c.disconnect, c.err, c.hint = StateConnected, 0, nil, nil, ""
	c.client, c.session, c.version = cn.Client, cn.Session, cn.Version
	c.ping = time.Duration(cn.Ping) * time.Second
	c.connectedAt, c.lastPing, c.lastFrame = at, time.Time{}, at
	c.expiresAt = time.Time{}
	if cn.Expires {
		c.expiresAt = at.Add(time.Duration(cn.TTL) * time.Second)
	}

	for name, st := range m.chans {
		st.granted, st.refused, st.resumed, st.gap, st.note = false, false, false, false, ""
		if st.msgs == 0 {
			delete(m.chans, name)
		}
	}
	for name, r := range cn.Subs {
		st := m.channel(name)
		st.granted = true
		if r != nil {
			st.resumed = r.Recovered
			if r.Epoch != "" {
				st.epoch = r.Epoch
			}
			if r.Offset > 0 {
				st.offset = r.Offset
			}
		}
	}
	var refused []string
	for _, name := range m.opts.Requested {
		st := m.channel(name)
		if !st.granted {
			st.refused = true
			st.note = "refused: not granted by the server"
			refused = append(refused, name)
		}
	}
	for _, st := range m.chans {
		if !st.granted && !st.refused {
			st.note = "not granted on this connection"
		}
	}
	m.sortChannels()

	parts := []string{
		"client " + cn.Client,
		strconv.Itoa(len(cn.Subs)) + " subs",
		"ping " + duration(c.ping),
	}
	if cn.Expires {
		parts = append(parts, "ttl "+duration(time.Duration(cn.TTL)*time.Second))
	}
	if len(refused) > 0 {
		parts = append(parts, "refused "+strings.Join(refused, ", "))
	}
	return strings.Join(parts, " · ")
}

func (m *Model) applyGap(g Gap, at time.Time) {
	m.counts.gaps++
	st := m.live(g.Channel)
	st.gap = true
	st.offset, st.epoch = g.Offset, g.Epoch
	seen := fmt.Sprintf("last seen offset %d", g.LastOffset)
	if g.LastEpoch != "" {
		seen += " epoch " + g.LastEpoch
	}
	now := fmt.Sprintf("stream now at offset %d", g.Offset)
	if g.Epoch != "" {
		now += " epoch " + g.Epoch
	}
	lost := "publications in between may be lost"
	if n := g.Missed(); n > 0 {
		lost = fmt.Sprintf("up to %d publications lost", n)
	} else if n < 0 {
		lost = "the stream restarted: publications may be lost"
	}
	m.add(&entry{
		at: at, kind: "gap", channel: g.Channel, loud: true,
		summary: "RECOVERY FAILED · " + seen + " · " + now + " · " + lost,
	})
}
