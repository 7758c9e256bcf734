package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// The node registry lives on the first Redis: a set of node ids and, per
// node, a key holding its NodeInfo as JSON with a TTL of three heartbeats.
// A node whose key expired is gone; every heartbeat (and every reader)
// drops such ids from the set, and the set expires with the last node.
// Channel counts travel in the heartbeat, so the API's channels method
// answers from Redis in one round trip without asking other nodes; the
// price is a heartbeat that grows with the node's channels, and counts up
// to one heartbeat old.

// describe returns this node's info (only its id when the handler is not a
// Describer).
func (r *Redis) describe() NodeInfo {
	if d, ok := r.handler.(Describer); ok {
		info := d.Describe()
		info.UID = r.uid
		return info
	}
	return NodeInfo{UID: r.uid}
}

func (r *Redis) nodeTTL() time.Duration { return 3 * r.opts.Heartbeat }

// heartbeat announces this node every Heartbeat until ctx ends.
func (r *Redis) heartbeat(ctx context.Context) {
	t := time.NewTicker(r.opts.Heartbeat)
	defer t.Stop()
	for {
		if err := r.announce(ctx); err != nil && ctx.Err() == nil {
			r.opts.Log.Warn("node heartbeat failed", "error", err.Error())
		}
		if err := r.prune(ctx); err != nil && ctx.Err() == nil {
			r.opts.Log.Warn("node registry cleanup failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Redis) announce(ctx context.Context) error {
	data, err := json.Marshal(r.describe())
	if err != nil {
		return fmt.Errorf("encode node info: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.opTimeout())
	defer cancel()
	sh := r.shards[0]
	pipe := sh.client.Pipeline()
	pipe.Set(ctx, r.keys.node(r.uid), data, r.nodeTTL())
	pipe.SAdd(ctx, r.keys.nodes(), r.uid)
	pipe.Expire(ctx, r.keys.nodes(), r.nodeTTL())
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("announce node to redis %s: %w", sh.addr, err)
	}
	r.announced.Store(true)
	return nil
}

// prune drops the ids of nodes whose heartbeat expired from the registry.
func (r *Redis) prune(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.opTimeout())
	defer cancel()
	_, err := r.others(ctx)
	return err
}

// unregister removes this node from the registry at Close.
func (r *Redis) unregister() {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.opTimeout())
	defer cancel()
	pipe := r.shards[0].client.Pipeline()
	pipe.Del(ctx, r.keys.node(r.uid))
	pipe.SRem(ctx, r.keys.nodes(), r.uid)
	if _, err := pipe.Exec(ctx); err != nil {
		r.opts.Log.Warn("node unregister failed", "error", err.Error())
	}
}

// Nodes implements broker.Nodes: this node described now, then every other
// node whose heartbeat is still alive, by name and id.
func (r *Redis) Nodes(ctx context.Context) ([]NodeInfo, error) {
	if err := r.live(); err != nil {
		return nil, err
	}
	rest, err := r.others(ctx)
	if err != nil {
		return nil, err
	}
	return append([]NodeInfo{r.describe()}, rest...), nil
}

// others returns the other live nodes, by name and id, and drops the ids
// of nodes whose heartbeat expired from the registry.
func (r *Redis) others(ctx context.Context) ([]NodeInfo, error) {
	sh := r.shards[0]
	ids, err := sh.client.SMembers(ctx, r.keys.nodes()).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes in redis %s: %w", sh.addr, err)
	}
	var others []string
	for _, id := range ids {
		if id != r.uid {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return nil, nil
	}
	keys := make([]string, len(others))
	for i, id := range others {
		keys[i] = r.keys.node(id)
	}
	vals, err := sh.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read nodes from redis %s: %w", sh.addr, err)
	}
	var gone []any
	var rest []NodeInfo
	for i, v := range vals {
		s, ok := v.(string)
		var info NodeInfo
		if !ok || json.Unmarshal([]byte(s), &info) != nil {
			gone = append(gone, others[i])
			continue
		}
		rest = append(rest, info)
	}
	if len(gone) > 0 {
		// Best effort: a node that comes back adds itself again.
		_ = sh.client.SRem(ctx, r.keys.nodes(), gone...).Err()
	}
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].Name != rest[j].Name {
			return rest[i].Name < rest[j].Name
		}
		return rest[i].UID < rest[j].UID
	})
	return rest, nil
}
