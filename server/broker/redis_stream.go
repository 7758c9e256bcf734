package broker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uniws/uniws/core"
)

// Publish implements Broker. A publication with history or an idempotency
// key runs publishScript; a plain one is a single PUBLISH. While Redis is
// unreachable it fails within the dial and I/O timeouts.
func (r *Redis) Publish(ctx context.Context, ch string, data []byte, opts PublishOptions) (StreamPosition, error) {
	if err := r.live(); err != nil {
		return StreamPosition{}, err
	}
	sh := r.shardFor(ch)
	body := encodePublication(data, opts.Info, opts.Tags)
	withHistory := opts.HistorySize > 0 && opts.HistoryTTL > 0 && !opts.SkipHistory
	if !withHistory && opts.IdempotencyKey == "" {
		msg := make([]byte, 0, 3+len(body))
		msg = append(append(msg, "0::"...), body...)
		if err := sh.client.Publish(ctx, r.keys.pubsub(ch), msg).Err(); err != nil {
			return StreamPosition{}, fmt.Errorf("publish to redis %s: %w", sh.addr, err)
		}
		return StreamPosition{}, nil
	}
	size, idemTTL := 0, int64(0)
	if withHistory {
		size = opts.HistorySize
	}
	if opts.IdempotencyKey != "" {
		idemTTL = durationMS(idempotencyTTL)
	}
	keys := []string{r.keys.stream(ch), r.keys.meta(ch), r.keys.idempotency(ch, opts.IdempotencyKey)}
	res, err := publishScript.Run(ctx, sh.client, keys,
		body, size, durationMS(opts.HistoryTTL), durationMS(metaTTL(opts.HistoryMetaTTL, opts.HistoryTTL)),
		NewEpoch(), r.keys.pubsub(ch), idemTTL).StringSlice()
	if err != nil {
		return StreamPosition{}, fmt.Errorf("publish to redis %s: %w", sh.addr, err)
	}
	if len(res) != 2 {
		return StreamPosition{}, fmt.Errorf("publish to redis %s: unexpected reply %q", sh.addr, res)
	}
	offset, err := strconv.ParseUint(res[0], 10, 64)
	if err != nil {
		return StreamPosition{}, fmt.Errorf("publish to redis %s: bad offset %q", sh.addr, res[0])
	}
	return StreamPosition{Offset: offset, Epoch: res[1]}, nil
}

// PublishControl implements Broker: one PUBLISH on the control channel of
// the first Redis, which every node subscribes to.
func (r *Redis) PublishControl(ctx context.Context, data []byte) error {
	if err := r.live(); err != nil {
		return err
	}
	sh := r.shards[0]
	if err := sh.client.Publish(ctx, r.keys.control(), data).Err(); err != nil {
		return fmt.Errorf("publish control to redis %s: %w", sh.addr, err)
	}
	return nil
}

// History implements Broker with one historyScript call.
func (r *Redis) History(ctx context.Context, ch string, opts HistoryOptions) ([]*core.Publication, StreamPosition, error) {
	if err := r.live(); err != nil {
		return nil, StreamPosition{}, err
	}
	mode, start, count := "n", "-", 0
	if opts.Limit > 0 {
		count = opts.Limit
	}
	since := opts.Since
	switch {
	case since == nil && opts.Limit == 0:
	case since == nil && !opts.Reverse:
		mode = "f"
	case since == nil:
		mode, start = "r", "+"
	case !opts.Reverse:
		// Read at least one entry to prove that the one after since is
		// still there.
		mode, start, count = "f", strconv.FormatUint(since.Offset+1, 10), max(count, 1)
		if opts.Limit < 0 {
			count = 0
		}
	case opts.Limit != 0 && since.Offset > 1:
		mode, start = "r", strconv.FormatUint(since.Offset-1, 10)
	}
	sh := r.shardFor(ch)
	res, err := historyScript.Run(ctx, sh.client, []string{r.keys.stream(ch), r.keys.meta(ch)},
		NewEpoch(), durationMS(metaTTL(opts.MetaTTL, 0)), mode, start, count).Slice()
	if err != nil {
		return nil, StreamPosition{}, fmt.Errorf("read history from redis %s: %w", sh.addr, err)
	}
	pubs, sp, err := parseHistory(res)
	if err != nil {
		return nil, StreamPosition{}, fmt.Errorf("read history from redis %s: %w", sh.addr, err)
	}
	if since != nil {
		if since.Epoch != "" && since.Epoch != sp.Epoch {
			return nil, sp, ErrUnrecoverablePosition
		}
		if !opts.Reverse {
			if since.Offset > sp.Offset || since.Offset < sp.Offset && (len(pubs) == 0 || pubs[0].Offset != since.Offset+1) {
				return nil, sp, ErrUnrecoverablePosition
			}
			if opts.Limit == 0 {
				pubs = nil
			}
		}
	}
	return pubs, sp, nil
}

// parseHistory reads historyScript's reply.
func parseHistory(res []any) ([]*core.Publication, StreamPosition, error) {
	if len(res) != 3 {
		return nil, StreamPosition{}, fmt.Errorf("unexpected reply of %d elements", len(res))
	}
	top, _ := res[0].(string)
	epoch, _ := res[1].(string)
	entries, _ := res[2].([]any)
	offset, err := strconv.ParseUint(top, 10, 64)
	if err != nil {
		return nil, StreamPosition{}, fmt.Errorf("bad top offset %v", res[0])
	}
	sp := StreamPosition{Offset: offset, Epoch: epoch}
	var pubs []*core.Publication
	for _, e := range entries {
		pub, err := parseEntry(e)
		if err != nil {
			return nil, sp, err
		}
		pubs = append(pubs, pub)
	}
	return pubs, sp, nil
}

// parseEntry reads one stream entry: ["<offset>-0", ["d", body]].
func parseEntry(e any) (*core.Publication, error) {
	entry, _ := e.([]any)
	if len(entry) != 2 {
		return nil, fmt.Errorf("bad stream entry %v", e)
	}
	id, _ := entry[0].(string)
	fields, _ := entry[1].([]any)
	idOffset, _, _ := strings.Cut(id, "-")
	offset, err := strconv.ParseUint(idOffset, 10, 64)
	if err != nil || len(fields) != 2 {
		return nil, fmt.Errorf("bad stream entry %v", e)
	}
	body, _ := fields[1].(string)
	pub, err := decodePublication([]byte(body))
	if err != nil {
		return nil, fmt.Errorf("stream entry %s: %w", id, err)
	}
	pub.Offset = offset
	return pub, nil
}

// RemoveHistory implements Broker: the entries go, the meta (position and
// epoch) stays.
func (r *Redis) RemoveHistory(ctx context.Context, ch string) error {
	if err := r.live(); err != nil {
		return err
	}
	sh := r.shardFor(ch)
	if err := sh.client.Del(ctx, r.keys.stream(ch)).Err(); err != nil {
		return fmt.Errorf("remove history in redis %s: %w", sh.addr, err)
	}
	return nil
}
