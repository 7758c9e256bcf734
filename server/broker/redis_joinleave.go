package broker

import (
	"context"
	"fmt"

	"github.com/uniws/uniws/core"
)

// Joins and leaves travel on the channel's own PUB/SUB channel, so a node
// gets them only for channels it has subscribers in, and in the order
// Redis got them relative to the channel's publications. A publication's
// message starts with its offset (a digit); a join starts with 'j', a leave
// with 'l', followed by a version byte and the client info: user, client,
// conn info and chan info, each length-prefixed as in a publication body.

const (
	joinMark  = 'j'
	leaveMark = 'l'
)

// PublishJoin implements JoinLeave.
func (r *Redis) PublishJoin(ctx context.Context, ch string, info core.ClientInfo) error {
	return r.publishJoinLeave(ctx, ch, joinMark, info)
}

// PublishLeave implements JoinLeave.
func (r *Redis) PublishLeave(ctx context.Context, ch string, info core.ClientInfo) error {
	return r.publishJoinLeave(ctx, ch, leaveMark, info)
}

func (r *Redis) publishJoinLeave(ctx context.Context, ch string, mark byte, info core.ClientInfo) error {
	if err := r.live(); err != nil {
		return err
	}
	sh := r.shardFor(ch)
	if err := sh.client.Publish(ctx, r.keys.pubsub(ch), encodeJoinLeave(mark, info)).Err(); err != nil {
		op := "join"
		if mark == leaveMark {
			op = "leave"
		}
		return fmt.Errorf("publish %s to redis %s: %w", op, sh.addr, err)
	}
	return nil
}

// encodeJoinLeave returns the PUB/SUB message of a join or leave (mark).
func encodeJoinLeave(mark byte, info core.ClientInfo) []byte {
	b := make([]byte, 0, 8+len(info.User)+len(info.Client)+len(info.ConnInfo)+len(info.ChanInfo))
	b = append(b, mark, codecVersion)
	b = appendString(b, info.User)
	b = appendString(b, info.Client)
	b = appendBytes(b, info.ConnInfo)
	return appendBytes(b, info.ChanInfo)
}

// decodeJoinLeave reads a message made by encodeJoinLeave. The info
// refers to b's memory.
func decodeJoinLeave(b []byte) (byte, core.ClientInfo, error) {
	r := &bodyReader{b: b}
	mark := r.byte()
	if (mark != joinMark && mark != leaveMark) || r.byte() != codecVersion {
		return 0, core.ClientInfo{}, errBadBody
	}
	info := core.ClientInfo{User: string(r.bytes()), Client: string(r.bytes()), ConnInfo: r.raw(), ChanInfo: r.raw()}
	if r.err != nil || len(r.b) != 0 {
		return 0, core.ClientInfo{}, errBadBody
	}
	return mark, info, nil
}

// deliverJoinLeave hands a join or leave of ch to the handler, when the
// handler takes them, and reports whether payload was one (a malformed
// one is logged and dropped).
func (r *Redis) deliverJoinLeave(ch, payload string) bool {
	if payload == "" || (payload[0] != joinMark && payload[0] != leaveMark) {
		return false
	}
	mark, info, err := decodeJoinLeave([]byte(payload))
	if err != nil {
		r.opts.Log.Warn("dropped malformed join or leave from redis", "channel", ch, "error", err.Error())
		return true
	}
	jl, ok := r.handler.(JoinLeaveHandler)
	switch {
	case !ok:
	case mark == joinMark:
		jl.HandleJoin(ch, info)
	default:
		jl.HandleLeave(ch, info)
	}
	return true
}
