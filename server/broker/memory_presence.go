package broker

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
)

// memPresence is the memory engine's presence: channel -> client -> entry.
// Its zero value is ready to use.
type memPresence struct {
	mu       sync.Mutex
	channels map[string]map[string]presenceEntry
}

type presenceEntry struct {
	info    core.ClientInfo
	expires time.Time
}

// AddPresence implements PresenceManager.
func (m *Memory) AddPresence(_ context.Context, ch, clientID string, info core.ClientInfo, ttl time.Duration) error {
	if _, err := m.live(); err != nil {
		return err
	}
	p := &m.present
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.channels == nil {
		p.channels = make(map[string]map[string]presenceEntry)
	}
	entries := p.channels[ch]
	if entries == nil {
		entries = make(map[string]presenceEntry)
		p.channels[ch] = entries
	}
	entries[clientID] = presenceEntry{info: info, expires: m.now().Add(ttl)}
	return nil
}

// RemovePresence implements PresenceManager.
func (m *Memory) RemovePresence(_ context.Context, ch, clientID, _ string) error {
	if _, err := m.live(); err != nil {
		return err
	}
	p := &m.present
	p.mu.Lock()
	defer p.mu.Unlock()
	if entries := p.channels[ch]; entries != nil {
		delete(entries, clientID)
		if len(entries) == 0 {
			delete(p.channels, ch)
		}
	}
	return nil
}

// Presence implements PresenceManager.
func (m *Memory) Presence(_ context.Context, ch string) (map[string]core.ClientInfo, error) {
	if _, err := m.live(); err != nil {
		return nil, err
	}
	entries := m.present.live(ch, m.now())
	out := make(map[string]core.ClientInfo, len(entries))
	for id, e := range entries {
		out[id] = e.info
	}
	return out, nil
}

// PresenceStats implements PresenceManager.
func (m *Memory) PresenceStats(_ context.Context, ch string) (PresenceStats, error) {
	if _, err := m.live(); err != nil {
		return PresenceStats{}, err
	}
	entries := m.present.live(ch, m.now())
	users := make(map[string]struct{}, len(entries))
	for _, e := range entries {
		users[e.info.User] = struct{}{}
	}
	return PresenceStats{NumClients: len(entries), NumUsers: len(users)}, nil
}

// live drops ch's expired entries and returns a copy of the rest.
func (p *memPresence) live(ch string, now time.Time) map[string]presenceEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	entries := p.channels[ch]
	maps.DeleteFunc(entries, func(_ string, e presenceEntry) bool { return now.After(e.expires) })
	if len(entries) == 0 {
		delete(p.channels, ch)
		return nil
	}
	return maps.Clone(entries)
}

// PublishJoin implements JoinLeave: the join is delivered inline.
func (m *Memory) PublishJoin(_ context.Context, ch string, info core.ClientInfo) error {
	h, err := m.live()
	if err != nil {
		return err
	}
	if jl, ok := h.(JoinLeaveHandler); ok {
		jl.HandleJoin(ch, info)
	}
	return nil
}

// PublishLeave implements JoinLeave: the leave is delivered inline.
func (m *Memory) PublishLeave(_ context.Context, ch string, info core.ClientInfo) error {
	h, err := m.live()
	if err != nil {
		return err
	}
	if jl, ok := h.(JoinLeaveHandler); ok {
		jl.HandleLeave(ch, info)
	}
	return nil
}
