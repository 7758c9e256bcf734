package broker

import (
	"context"
	"crypto/rand"
	"hash/maphash"
	"sync"
	"time"

	"github.com/uniws/uniws/core"
)

// DefaultMetaTTL is how long a stream's offset and epoch outlive its last
// publication when the channel sets no history_meta_ttl.
const DefaultMetaTTL = 30 * 24 * time.Hour

const idempotencyTTL = 5 * time.Minute

// Memory is the single-node engine: streams live in this process and
// publications are delivered to the handler inline, in the publisher's
// goroutine, in offset order per channel. It starts no goroutines.
type Memory struct {
	now     func() time.Time
	seed    maphash.Seed
	shards  [64]memShard
	mu      sync.RWMutex
	handler Handler
	closed  bool
}

type memShard struct {
	mu      sync.Mutex
	streams map[string]*stream
	idem    map[string]idemResult
}

type idemResult struct {
	sp      StreamPosition
	expires time.Time
}

type stream struct {
	items      []*core.Publication // oldest first, at most size
	top        uint64
	epoch      string
	itemsUntil time.Time
	metaUntil  time.Time
}

// NewMemory returns a memory engine reading time from now (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].streams = make(map[string]*stream)
		m.shards[i].idem = make(map[string]idemResult)
	}
	return m
}

func (m *Memory) shard(ch string) *memShard {
	return &m.shards[maphash.String(m.seed, ch)%uint64(len(m.shards))]
}

// Run implements Broker.
func (m *Memory) Run(h Handler) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handler = h
	return nil
}

func (m *Memory) live() (Handler, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	return m.handler, nil
}

// Publish implements Broker. The handler runs with the channel's shard
// locked, which keeps delivery in offset order.
func (m *Memory) Publish(_ context.Context, ch string, data []byte, opts PublishOptions) (StreamPosition, error) {
	h, err := m.live()
	if err != nil {
		return StreamPosition{}, err
	}
	sh := m.shard(ch)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := m.now()
	if opts.IdempotencyKey != "" {
		key := ch + "\x00" + opts.IdempotencyKey
		if r, ok := sh.idem[key]; ok && now.Before(r.expires) {
			return r.sp, nil
		}
	}
	pub := &core.Publication{Data: data, Info: opts.Info, Tags: opts.Tags}
	var sp StreamPosition
	if opts.HistorySize > 0 && opts.HistoryTTL > 0 && !opts.SkipHistory {
		s := sh.stream(ch, now, opts.HistoryMetaTTL, true)
		s.top++
		pub.Offset = s.top
		s.items = append(s.items, pub)
		if over := len(s.items) - opts.HistorySize; over > 0 {
			clear(s.items[:over])
			s.items = s.items[over:]
		}
		s.itemsUntil = now.Add(opts.HistoryTTL)
		if until := now.Add(metaTTL(opts.HistoryMetaTTL, opts.HistoryTTL)); until.After(s.metaUntil) {
			s.metaUntil = until
		}
		sp = StreamPosition{Offset: s.top, Epoch: s.epoch}
	}
	if opts.IdempotencyKey != "" {
		sh.idem[ch+"\x00"+opts.IdempotencyKey] = idemResult{sp: sp, expires: now.Add(idempotencyTTL)}
		for k, r := range sh.idem {
			if now.After(r.expires) {
				delete(sh.idem, k)
			}
		}
	}
	if h != nil {
		h.HandlePublication(ch, pub, sp)
	}
	return sp, nil
}

func metaTTL(meta, history time.Duration) time.Duration {
	if meta > 0 {
		return max(meta, history)
	}
	return max(DefaultMetaTTL, history)
}

// stream returns ch's live stream, dropping expired parts first. With
// create it makes a new stream (with a new epoch) when there is none.
func (sh *memShard) stream(ch string, now time.Time, meta time.Duration, create bool) *stream {
	s := sh.streams[ch]
	if s != nil && now.After(s.metaUntil) {
		delete(sh.streams, ch)
		s = nil
	}
	if s == nil {
		if !create {
			return nil
		}
		s = &stream{epoch: NewEpoch(), metaUntil: now.Add(metaTTL(meta, 0))}
		sh.streams[ch] = s
	}
	if len(s.items) > 0 && now.After(s.itemsUntil) {
		s.items = nil
	}
	return s
}

// PublishControl implements Broker: control is delivered inline.
func (m *Memory) PublishControl(_ context.Context, data []byte) error {
	h, err := m.live()
	if err != nil {
		return err
	}
	if h != nil {
		h.HandleControl(data)
	}
	return nil
}

// Subscribe implements Broker; the memory engine delivers every channel.
func (m *Memory) Subscribe(context.Context, string) error { _, err := m.live(); return err }

// Unsubscribe implements Broker.
func (m *Memory) Unsubscribe(context.Context, string) error { _, err := m.live(); return err }

// History implements Broker.
func (m *Memory) History(_ context.Context, ch string, opts HistoryOptions) ([]*core.Publication, StreamPosition, error) {
	if _, err := m.live(); err != nil {
		return nil, StreamPosition{}, err
	}
	sh := m.shard(ch)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := m.now()
	s := sh.stream(ch, now, opts.MetaTTL, true)
	if until := now.Add(metaTTL(opts.MetaTTL, 0)); until.After(s.metaUntil) {
		s.metaUntil = until
	}
	sp := StreamPosition{Offset: s.top, Epoch: s.epoch}
	items := s.items
	if opts.Since != nil {
		if opts.Since.Epoch != "" && opts.Since.Epoch != s.epoch {
			return nil, sp, ErrUnrecoverablePosition
		}
		since := opts.Since.Offset
		oldest := s.top - uint64(len(s.items)) + 1
		switch {
		case opts.Reverse:
			// Paging backwards: the publications before since.
			n := 0
			if since > oldest {
				n = int(min(since, s.top+1) - oldest)
			}
			items = s.items[:n]
		case since > s.top || since+1 < oldest:
			return nil, sp, ErrUnrecoverablePosition
		default:
			items = s.items[len(s.items)-int(s.top-since):]
		}
	}
	return pick(items, opts.Limit, opts.Reverse), sp, nil
}

// pick copies up to limit items (all when negative), newest first when
// reverse.
func pick(items []*core.Publication, limit int, reverse bool) []*core.Publication {
	n := len(items)
	if limit >= 0 && limit < n {
		n = limit
	}
	if n == 0 {
		return nil
	}
	out := make([]*core.Publication, n)
	for i := 0; i < n; i++ {
		if reverse {
			out[i] = items[len(items)-1-i]
		} else {
			out[i] = items[i]
		}
	}
	return out
}

// RemoveHistory implements Broker.
func (m *Memory) RemoveHistory(_ context.Context, ch string) error {
	if _, err := m.live(); err != nil {
		return err
	}
	sh := m.shard(ch)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s := sh.streams[ch]; s != nil {
		s.items = nil
	}
	return nil
}

// Nodes implements broker.Nodes: the memory engine knows only this node.
func (m *Memory) Nodes(context.Context) ([]NodeInfo, error) {
	h, err := m.live()
	if err != nil {
		return nil, err
	}
	if d, ok := h.(Describer); ok {
		return []NodeInfo{d.Describe()}, nil
	}
	return nil, nil
}

// Close implements Broker.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

const epochLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewEpoch returns a random 8-letter stream epoch.
func NewEpoch() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = epochLetters[int(b[i])%len(epochLetters)]
	}
	return string(b[:])
}
