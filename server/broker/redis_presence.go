package broker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uniws/uniws/core"
)

// Presence on Redis works as Centrifugo's does: per channel a hash of
// entries and a sorted set of their expiry times, changed atomically by
// the scripts in redis_presence_scripts.go, so every node reads the same
// presence and the entries of a node that stopped renewing them (it died)
// disappear after their TTL. A channel's presence lives on the channel's
// shard, under the engine's prefix.

// AddPresence implements PresenceManager.
func (r *Redis) AddPresence(ctx context.Context, ch, clientID string, info core.ClientInfo, ttl time.Duration) error {
	if err := r.live(); err != nil {
		return err
	}
	sh := r.shardFor(ch)
	now := r.opts.Now()
	err := addPresenceScript.Run(ctx, sh.client, r.keys.presence(ch),
		clientID, encodePresence(clientID, info), info.User,
		now.Add(ttl).UnixMilli(), durationMS(ttl), now.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("add presence in redis %s: %w", sh.addr, err)
	}
	return nil
}

// RemovePresence implements PresenceManager. The user is read from the
// stored entry, so user is not needed.
func (r *Redis) RemovePresence(ctx context.Context, ch, clientID, _ string) error {
	if err := r.live(); err != nil {
		return err
	}
	sh := r.shardFor(ch)
	if err := removePresenceScript.Run(ctx, sh.client, r.keys.presence(ch), clientID).Err(); err != nil {
		return fmt.Errorf("remove presence in redis %s: %w", sh.addr, err)
	}
	return nil
}

// Presence implements PresenceManager.
func (r *Redis) Presence(ctx context.Context, ch string) (map[string]core.ClientInfo, error) {
	if err := r.live(); err != nil {
		return nil, err
	}
	sh := r.shardFor(ch)
	kv, err := presenceScript.Run(ctx, sh.client, r.keys.presence(ch), r.opts.Now().UnixMilli()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("read presence from redis %s: %w", sh.addr, err)
	}
	out := make(map[string]core.ClientInfo, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		info, err := decodePresence(kv[i], kv[i+1])
		if err != nil {
			r.opts.Log.Warn("skipped malformed presence entry", "channel", ch, "client", kv[i], "error", err.Error())
			continue
		}
		out[kv[i]] = info
	}
	return out, nil
}

// PresenceStats implements PresenceManager in one round trip that reads no
// entries.
func (r *Redis) PresenceStats(ctx context.Context, ch string) (PresenceStats, error) {
	if err := r.live(); err != nil {
		return PresenceStats{}, err
	}
	sh := r.shardFor(ch)
	n, err := presenceStatsScript.Run(ctx, sh.client, r.keys.presence(ch), r.opts.Now().UnixMilli()).Int64Slice()
	if err != nil {
		return PresenceStats{}, fmt.Errorf("read presence stats from redis %s: %w", sh.addr, err)
	}
	if len(n) != 2 {
		return PresenceStats{}, fmt.Errorf("read presence stats from redis %s: unexpected reply %v", sh.addr, n)
	}
	return PresenceStats{NumClients: int(n[0]), NumUsers: int(n[1])}, nil
}

// A presence entry is "<length of user>:<user>" (for the scripts), then a
// version byte, a flags byte and the rest of the client info as in a
// publication body. The client id is left out when it is the entry's key,
// as it nearly always is.

const presenceSameClient = 1 << 0

// encodePresence returns the entry stored for clientID.
func encodePresence(clientID string, info core.ClientInfo) []byte {
	b := make([]byte, 0, 16+len(info.User)+len(info.ConnInfo)+len(info.ChanInfo))
	b = strconv.AppendInt(b, int64(len(info.User)), 10)
	b = append(b, ':')
	b = append(b, info.User...)
	b = append(b, codecVersion)
	if info.Client == clientID {
		b = append(b, presenceSameClient)
	} else {
		b = append(b, 0)
		b = appendString(b, info.Client)
	}
	b = appendBytes(b, info.ConnInfo)
	return appendBytes(b, info.ChanInfo)
}

// decodePresence reads the entry stored for clientID.
func decodePresence(clientID, v string) (core.ClientInfo, error) {
	n, rest, ok := strings.Cut(v, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || size > len(rest) {
		return core.ClientInfo{}, errBadBody
	}
	info := core.ClientInfo{User: rest[:size], Client: clientID}
	r := &bodyReader{b: []byte(rest[size:])}
	if r.byte() != codecVersion {
		return core.ClientInfo{}, errBadBody
	}
	if r.byte()&presenceSameClient == 0 {
		info.Client = string(r.bytes())
	}
	info.ConnInfo, info.ChanInfo = r.raw(), r.raw()
	if r.err != nil || len(r.b) != 0 {
		return core.ClientInfo{}, errBadBody
	}
	return info, nil
}
