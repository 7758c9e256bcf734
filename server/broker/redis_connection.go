package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/uniws/uniws/core"
)

const (
	// healthInterval is how long the subscriber connection may stay silent
	// before it is pinged; three silent intervals in a row end it.
	healthInterval = time.Second
	backoffMin     = 50 * time.Millisecond
	backoffMax     = 2 * time.Second
	// barrierPing marks the PING sent after the subscriptions of a new
	// connection: its reply proves Redis has processed them all.
	barrierPing = "resubscribed"
)

// run keeps the subscriber connected until ctx ends, reconnecting with
// exponential backoff and jitter.
func (s *subscriber) run(ctx context.Context) {
	var unchecked map[string]bool // were live on a lost connection, not yet proven complete
	failures := 0
	for ctx.Err() == nil {
		res := s.connection(ctx, unchecked)
		if res.checked {
			unchecked = res.live
		} else {
			for ch := range res.live {
				if unchecked == nil {
					unchecked = make(map[string]bool)
				}
				unchecked[ch] = true
			}
		}
		if ctx.Err() != nil {
			return
		}
		if res.replied {
			failures = 0
		}
		delay := min(backoffMax, backoffMin<<min(failures, 10))
		delay = delay/2 + rand.N(delay/2+1)
		failures++
		s.r.opts.Log.Warn("redis subscriber connection lost", "address", s.sh.addr, "error", res.err.Error(), "retry_in", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

type connResult struct {
	err     error
	replied bool            // Redis answered on this connection
	checked bool            // the channels of wasLive were checked
	live    map[string]bool // channels confirmed when it ended
}

// connection runs one PUB/SUB connection: it subscribes to every wanted
// channel, starts the writer, and reads until the connection fails.
func (s *subscriber) connection(ctx context.Context, wasLive map[string]bool) (res connResult) {
	ps := s.sh.client.Subscribe(ctx)
	names, ok := s.start(ps)
	if !ok {
		_ = ps.Close()
		return connResult{err: ErrClosed}
	}
	defer func() { res.live = s.end(ps) }()
	connCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var once sync.Once
	var writeErr error
	fail := func(err error) {
		once.Do(func() { writeErr = err })
		_ = ps.Close()
	}
	defer func() {
		cancel()
		wg.Wait()
		if writeErr != nil {
			res.err = writeErr
		}
	}()
	if s.sh.index == 0 {
		names = append([]string{s.r.keys.control()}, names...)
	}
	for _, batch := range chunks(names) {
		if err := ps.Subscribe(ctx, batch...); err != nil {
			return connResult{err: fmt.Errorf("subscribe: %w", err)}
		}
	}
	switch {
	case len(wasLive) > 0:
		if err := ps.Ping(ctx, barrierPing); err != nil {
			return connResult{err: fmt.Errorf("ping: %w", err)}
		}
	case len(names) == 0:
		// Nothing to subscribe to (a shard without channels): a Ping's
		// reply shows at once that Redis answers again.
		if err := ps.Ping(ctx); err != nil {
			return connResult{err: fmt.Errorf("ping: %w", err)}
		}
	}
	wg.Go(func() { s.writer(connCtx, ps, fail) })
	return s.read(ctx, ps, wasLive)
}

// start makes ps the current connection and returns the channels to
// subscribe to on it.
func (s *subscriber) start(ps *redis.PubSub) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	s.ps = ps
	clear(s.dirty)
	var names []string
	for ch, st := range s.chans {
		if st.count == 0 {
			delete(s.chans, ch)
			continue
		}
		st.sent, st.acks = true, 1
		names = append(names, s.r.keys.pubsub(ch))
	}
	return names, true
}

// end closes ps and resets every channel to unconfirmed; it returns the
// channels that were confirmed on ps.
func (s *subscriber) end(ps *redis.PubSub) map[string]bool {
	_ = ps.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ps = nil
	s.lost = true
	live := make(map[string]bool)
	for ch, st := range s.chans {
		if st.confirmed {
			live[ch] = true
			st.wasLive = true
		}
		st.unconfirmLocked()
		st.sent, st.acks = false, 0
		if st.count == 0 {
			delete(s.chans, ch)
			delete(s.last, ch)
		}
	}
	return live
}

// read handles what arrives on ps until it fails.
func (s *subscriber) read(ctx context.Context, ps *redis.PubSub, wasLive map[string]bool) connResult {
	var res connResult
	silent := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil {
				res.err = err
				return res
			}
			if silent++; silent >= 3 {
				res.err = fmt.Errorf("no reply for %s", 3*healthInterval)
				return res
			}
			if err := ps.Ping(ctx); err != nil {
				res.err = fmt.Errorf("ping: %w", err)
				return res
			}
			continue
		}
		silent = 0
		if !res.replied {
			res.replied = true
			s.setLost(false)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			s.confirm(m)
		case *redis.Message:
			s.deliver(m)
		case *redis.Pong:
			if m.Payload == barrierPing {
				s.resubscribed(ctx, wasLive)
				res.checked = true
			}
		}
	}
}

// deliver hands a PUB/SUB message to the control queue or the handler.
// Publications, joins and leaves of a channel share its PUB/SUB channel
// and this goroutine, so they reach the handler in the order Redis got them.
func (s *subscriber) deliver(m *redis.Message) {
	if m.Channel == s.r.keys.control() {
		s.r.control.push([]byte(m.Payload))
		return
	}
	ch, ok := strings.CutPrefix(m.Channel, s.r.keys.pubsubPrefix())
	if !ok {
		return
	}
	if s.r.deliverJoinLeave(ch, m.Payload) {
		return
	}
	sp, body, err := parseMessage(m.Payload)
	var pub *core.Publication
	if err == nil {
		pub, err = decodePublication(body)
	}
	if err != nil {
		s.r.opts.Log.Warn("dropped malformed message from redis", "channel", ch, "error", err.Error())
		return
	}
	pub.Offset = sp.Offset
	if sp.Offset > 0 {
		s.last[ch] = sp
	}
	s.r.handler.HandlePublication(ch, pub, sp)
}

// resubscribed runs once a new connection's subscriptions are all in
// place. For each channel that was live on the lost connection and is
// still wanted, it compares the stream's top with the last position this
// subscriber delivered: equal means nothing was missed. The others go to
// the handler's HandleResubscribe.
func (s *subscriber) resubscribed(ctx context.Context, wasLive map[string]bool) {
	var candidates []string
	s.mu.Lock()
	for ch := range wasLive {
		if st := s.chans[ch]; st != nil && st.count > 0 {
			candidates = append(candidates, ch)
		}
	}
	s.mu.Unlock()
	if len(candidates) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.r.opts.opTimeout())
	defer cancel()
	pipe := s.sh.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(candidates))
	for i, ch := range candidates {
		cmds[i] = pipe.HMGet(ctx, s.r.keys.meta(ch), "e", "s")
	}
	_, err := pipe.Exec(ctx)
	var lost []string
	for i, ch := range candidates {
		last, ok := s.last[ch]
		if err == nil && ok && metaIs(cmds[i].Val(), last) {
			continue
		}
		lost = append(lost, ch)
	}
	s.r.opts.Log.Info("redis subscriber resubscribed", "address", s.sh.addr, "channels", len(candidates), "unproven", len(lost))
	if len(lost) > 0 {
		s.r.handler.HandleResubscribe(lost)
	}
}

// metaIs reports whether an HMGET e s reply names position sp.
func metaIs(vals []any, sp StreamPosition) bool {
	if len(vals) != 2 {
		return false
	}
	epoch, _ := vals[0].(string)
	top, _ := vals[1].(string)
	return epoch == sp.Epoch && top == strconv.FormatUint(sp.Offset, 10)
}
