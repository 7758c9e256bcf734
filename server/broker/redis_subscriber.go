package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// subscriber keeps one PUB/SUB connection to a shard, subscribed to the
// channels this node has local subscribers for (and, on the first shard,
// to the control channel).
//
// Subscribe and Unsubscribe count per channel and mark it dirty; while
// connected, a writer goroutine turns the dirty set into batched
// SUBSCRIBE/UNSUBSCRIBE commands. A channel is ready once Redis confirmed
// the latest SUBSCRIBE on the current connection. When the connection
// breaks, run reconnects with backoff, subscribes everything again and
// reports the channels it cannot prove complete (see resubscribed).
type subscriber struct {
	r  *Redis
	sh *redisShard

	controlReady chan struct{} // closed at the first confirmed control subscription
	controlOnce  sync.Once

	mu     sync.Mutex
	chans  map[string]*subState
	dirty  map[string]struct{}
	kick   chan struct{} // capacity 1: the dirty set grew
	ps     *redis.PubSub // the current connection, nil between connections
	closed bool
	// lost is set when a connection ends and cleared when Redis answers
	// on the next one: meanwhile a subscription cannot be confirmed.
	lost bool

	// Owned by the run goroutine.
	last map[string]StreamPosition // last position delivered per channel
}

// subState is one channel's subscription. ready is closed exactly while
// confirmed is true.
type subState struct {
	count     int  // local Subscribe calls not yet undone
	sent      bool // the last command sent for it was SUBSCRIBE
	acks      int  // confirmations still due on this connection
	confirmed bool
	ready     chan struct{}
	// wasLive: confirmed when a connection was lost, and not yet again
	// on a new one. Such a channel is in the reconnect's check (see
	// resubscribed), so while the connection is lost it can take more
	// subscribers without waiting.
	wasLive bool
}

func newSubscriber(r *Redis, sh *redisShard) *subscriber {
	return &subscriber{
		r:            r,
		sh:           sh,
		controlReady: make(chan struct{}),
		chans:        make(map[string]*subState),
		dirty:        make(map[string]struct{}),
		kick:         make(chan struct{}, 1),
		last:         make(map[string]StreamPosition),
	}
}

// Subscribe implements Broker: it returns once Redis confirmed the
// subscription, so a history read afterwards cannot miss a publication in
// between. While the connection to Redis is lost it does not wait: a
// channel that was confirmed on the lost connection takes the subscriber
// (the reconnect subscribes it again and checks what was missed), and any
// other is refused at once.
func (r *Redis) Subscribe(ctx context.Context, ch string) error {
	if err := r.live(); err != nil {
		return err
	}
	s := r.shardFor(ch).sub
	ready, live, lost, err := s.add(ch)
	if err != nil {
		return err
	}
	select {
	case <-ready: // confirmed for an earlier subscriber
		return nil
	default:
	}
	if lost {
		if live {
			return nil
		}
		s.remove(ch)
		return fmt.Errorf("subscribe to redis %s: %w", s.sh.addr, errConnectionLost)
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		s.remove(ch)
		return fmt.Errorf("subscribe to redis %s: %w", s.sh.addr, ctx.Err())
	case <-r.ctx.Done():
		return ErrClosed
	}
}

// Unsubscribe implements Broker. It does not wait for Redis.
func (r *Redis) Unsubscribe(_ context.Context, ch string) error {
	if err := r.live(); err != nil {
		return err
	}
	r.shardFor(ch).sub.remove(ch)
	return nil
}

// errConnectionLost refuses a new subscription while the PUB/SUB
// connection is being re-established.
var errConnectionLost = errors.New("connection lost, reconnecting")

// add counts a local subscriber of ch. It returns the channel closed once
// the subscription is confirmed, whether ch was confirmed on the lost
// connection (wasLive), and whether the connection to Redis is lost.
func (s *subscriber) add(ch string) (ready <-chan struct{}, live, lost bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, false, ErrClosed
	}
	st := s.chans[ch]
	if st == nil {
		st = &subState{ready: make(chan struct{})}
		s.chans[ch] = st
	}
	st.count++
	if st.count == 1 {
		s.markLocked(ch)
	}
	return st.ready, st.wasLive, s.lost, nil
}

func (s *subscriber) setLost(lost bool) {
	s.mu.Lock()
	s.lost = lost
	s.mu.Unlock()
}

func (s *subscriber) remove(ch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chans[ch]
	if st == nil || st.count == 0 {
		return
	}
	st.count--
	if st.count == 0 {
		s.markLocked(ch)
	}
}

func (s *subscriber) markLocked(ch string) {
	s.dirty[ch] = struct{}{}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// pending turns the dirty set into the commands to send and updates the
// states as if they were sent.
func (s *subscriber) pending() (subs, unsubs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.dirty {
		st := s.chans[ch]
		switch {
		case st == nil:
		case st.count > 0 && !st.sent:
			st.sent = true
			st.acks++
			subs = append(subs, s.r.keys.pubsub(ch))
		case st.count == 0 && st.sent:
			st.sent = false
			st.acks++
			st.unconfirmLocked()
			unsubs = append(unsubs, s.r.keys.pubsub(ch))
		case st.count == 0 && st.acks == 0:
			delete(s.chans, ch)
		}
	}
	clear(s.dirty)
	return subs, unsubs
}

func (st *subState) unconfirmLocked() {
	if st.confirmed {
		st.confirmed = false
		st.ready = make(chan struct{})
	}
}

// confirm handles Redis's confirmation of a SUBSCRIBE or UNSUBSCRIBE.
func (s *subscriber) confirm(m *redis.Subscription) {
	if m.Channel == s.r.keys.control() {
		if m.Kind == "subscribe" {
			s.controlOnce.Do(func() { close(s.controlReady) })
		}
		return
	}
	ch, ok := strings.CutPrefix(m.Channel, s.r.keys.pubsubPrefix())
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chans[ch]
	if st == nil || st.acks == 0 {
		return
	}
	st.acks--
	switch {
	case st.acks > 0:
	case st.sent && !st.confirmed:
		st.confirmed, st.wasLive = true, false
		close(st.ready)
	case !st.sent:
		delete(s.last, ch)
		if st.count == 0 {
			delete(s.chans, ch)
		}
	}
}

// writer sends the dirty set as batched commands until ctx ends or a
// write fails; a failure ends the connection through fail.
func (s *subscriber) writer(ctx context.Context, ps *redis.PubSub, fail func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		subs, unsubs := s.pending()
		for _, batch := range chunks(subs) {
			if err := ps.Subscribe(ctx, batch...); err != nil {
				fail(fmt.Errorf("subscribe: %w", err))
				return
			}
		}
		for _, batch := range chunks(unsubs) {
			if err := ps.Unsubscribe(ctx, batch...); err != nil {
				fail(fmt.Errorf("unsubscribe: %w", err))
				return
			}
		}
	}
}

// chunks splits names into commands of at most 512 channels.
func chunks(names []string) [][]string {
	const size = 512
	var out [][]string
	for len(names) > size {
		out = append(out, names[:size])
		names = names[size:]
	}
	if len(names) > 0 {
		out = append(out, names)
	}
	return out
}

// close ends the current connection; run notices and, its context being
// done, returns.
func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.ps != nil {
		_ = s.ps.Close()
	}
}
