// Package hub maps channels to the sessions of this node subscribed to them
// and fans messages out to those sessions without blocking.
package hub

import (
	"hash/maphash"
	"sync"
)

// Subscriber receives messages of the channels it is subscribed to.
// Deliver is called with a shard lock held, possibly from many goroutines at
// once, and must never block: a subscriber that cannot keep up queues or
// drops itself, it never slows the hub.
type Subscriber interface {
	Deliver(m *Message)
}

// Message is one encoded push for every subscriber of a channel. It is
// immutable once built, so one value serves every subscriber.
type Message struct {
	Channel string
	// Frame is the complete unmasked WebSocket text frame holding Payload.
	Frame []byte
	// Payload is the push JSON (a sub-slice of Frame).
	Payload []byte
	// Offset and Epoch give the publication's stream position for channels
	// with history (zero otherwise).
	Offset uint64
	Epoch  string
}

const numShards = 64

// Hub is safe for concurrent use. It starts no goroutines.
type Hub struct {
	seed   maphash.Seed
	shards [numShards]shard
}

type shard struct {
	mu       sync.RWMutex
	channels map[string]map[Subscriber]struct{}
}

// New returns an empty hub.
func New() *Hub {
	h := &Hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].channels = make(map[string]map[Subscriber]struct{})
	}
	return h
}

func (h *Hub) shard(channel string) *shard {
	return &h.shards[maphash.String(h.seed, channel)%numShards]
}

// Subscribe adds s to channel. It reports whether s is the channel's first
// subscriber on this node, and whether s was added (false if already there).
func (h *Hub) Subscribe(channel string, s Subscriber) (first, added bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	subs, ok := sh.channels[channel]
	if !ok {
		subs = make(map[Subscriber]struct{})
		sh.channels[channel] = subs
	}
	if _, dup := subs[s]; dup {
		return false, false
	}
	subs[s] = struct{}{}
	return len(subs) == 1, true
}

// Unsubscribe removes s from channel. It reports whether the channel has no
// subscriber left on this node, and whether s was there.
func (h *Hub) Unsubscribe(channel string, s Subscriber) (last, removed bool) {
	sh := h.shard(channel)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	subs, ok := sh.channels[channel]
	if !ok {
		return false, false
	}
	if _, there := subs[s]; !there {
		return false, false
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(sh.channels, channel)
		return true, true
	}
	return false, true
}

// Broadcast hands m to every subscriber of its channel and returns how many
// there were. It never blocks on a subscriber.
func (h *Hub) Broadcast(m *Message) int {
	sh := h.shard(m.Channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	subs := sh.channels[m.Channel]
	for s := range subs {
		s.Deliver(m)
	}
	return len(subs)
}

// NumSubscribers returns the number of subscribers of channel.
func (h *Hub) NumSubscribers(channel string) int {
	sh := h.shard(channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.channels[channel])
}

// Subscribers returns a snapshot of channel's subscribers.
func (h *Hub) Subscribers(channel string) []Subscriber {
	sh := h.shard(channel)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	out := make([]Subscriber, 0, len(sh.channels[channel]))
	for s := range sh.channels[channel] {
		out = append(out, s)
	}
	return out
}

// Channels returns every channel with at least one subscriber and its
// subscriber count.
func (h *Hub) Channels() map[string]int {
	out := make(map[string]int)
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for ch, subs := range sh.channels {
			out[ch] = len(subs)
		}
		sh.mu.RUnlock()
	}
	return out
}

// NumChannels returns the number of channels with at least one subscriber.
func (h *Hub) NumChannels() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		n += len(sh.channels)
		sh.mu.RUnlock()
	}
	return n
}

// NumSubscriptions returns the total of subscriptions over all channels.
func (h *Hub) NumSubscriptions() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, subs := range sh.channels {
			n += len(subs)
		}
		sh.mu.RUnlock()
	}
	return n
}
