package client

import (
	"maps"
	"sort"

	"github.com/uniws/uniws/core"
)

// positions tracks the last known stream position of every channel whose
// subscription is recoverable or positioned, so that a reconnect can ask to
// recover from there. It is owned by the Conn's goroutine and not safe for
// concurrent use.
type positions struct {
	m map[string]Position
}

func newPositions(since map[string]Position) *positions {
	m := maps.Clone(since)
	if m == nil {
		m = map[string]Position{}
	}
	return &positions{m: m}
}

// request builds the connect request's subs: the wanted channels plain, and
// every tracked channel with recover:true and its position.
func (p *positions) request(wanted []string) map[string]*core.SubscribeRequest {
	if len(wanted) == 0 && len(p.m) == 0 {
		return nil
	}
	subs := make(map[string]*core.SubscribeRequest, len(wanted)+len(p.m))
	for _, ch := range wanted {
		subs[ch] = &core.SubscribeRequest{}
	}
	for ch, pos := range p.m {
		subs[ch] = &core.SubscribeRequest{Recover: true, Offset: pos.Offset, Epoch: pos.Epoch}
	}
	return subs
}

// snapshot returns a copy of the tracked positions.
func (p *positions) snapshot() map[string]Position {
	return maps.Clone(p.m)
}

// connect replaces the tracked set with the connect push's subscriptions and
// returns, sorted by channel, the gaps: channels that were being recovered
// (asked holds what was sent) but came back not recovered.
func (p *positions) connect(c *core.Connect, asked map[string]Position) []Gap {
	next := make(map[string]Position, len(c.Subs))
	var gaps []Gap
	for ch, r := range c.Subs {
		if r == nil {
			continue
		}
		// A channel that is positioned but not recoverable comes back not
		// recovered even when nothing was missed (the stream is where it
		// was): only a stream that moved on, or another epoch, is a gap.
		from := asked[ch]
		same := r.Offset == from.Offset && (from.Epoch == "" || r.Epoch == from.Epoch)
		if r.WasRecovering && !r.Recovered && !same {
			gaps = append(gaps, Gap{Channel: ch, From: from, To: Position{Offset: r.Offset, Epoch: r.Epoch}})
		}
		if !r.Recoverable && !r.Positioned {
			continue
		}
		pos := Position{Offset: r.Offset, Epoch: r.Epoch}
		for _, pub := range r.Publications {
			if pub != nil && pub.Offset > pos.Offset {
				pos.Offset = pub.Offset
			}
		}
		next[ch] = pos
	}
	p.m = next
	sort.Slice(gaps, func(i, j int) bool { return gaps[i].Channel < gaps[j].Channel })
	return gaps
}

// observe updates positions from a push received while connected.
func (p *positions) observe(push *core.Push) {
	switch {
	case push.Pub != nil:
		pos, ok := p.m[push.Channel]
		if !ok || push.Pub.Offset == 0 {
			return
		}
		if push.Pub.Offset > pos.Offset {
			pos.Offset = push.Pub.Offset
		}
		if push.Pub.Epoch != "" {
			pos.Epoch = push.Pub.Epoch
		}
		p.m[push.Channel] = pos
	case push.Subscribe != nil:
		s := push.Subscribe
		if s.Recoverable || s.Positioned {
			p.m[push.Channel] = Position{Offset: s.Offset, Epoch: s.Epoch}
		}
	case push.Unsubscribe != nil:
		delete(p.m, push.Channel)
	}
}
