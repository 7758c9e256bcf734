package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/uniws/uniws/core"
)

// decode reads params into v; a body that does not decode is errBadBody.
func decode(params json.RawMessage, v any) error {
	if err := json.Unmarshal(params, v); err != nil {
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	return nil
}

// handle adapts a typed method to the method table.
func handle[Req any, Res any](f func(context.Context, *Req) (Res, error)) method {
	return func(ctx context.Context, params json.RawMessage) (any, error) {
		req := new(Req)
		if err := decode(params, req); err != nil {
			return nil, err
		}
		return f(ctx, req)
	}
}

// noResult adapts a method without a result.
func noResult[Req any](f func(context.Context, *Req) error) method {
	return handle(func(ctx context.Context, req *Req) (any, error) {
		return nil, f(ctx, req)
	})
}

func (h *Handler) methodTable() map[string]method {
	e := h.exec
	m := map[string]method{
		"publish":        handle(h.publish),
		"broadcast":      handle(h.broadcast),
		"disconnect":     noResult(h.disconnect),
		"subscribe":      noResult(h.subscribe),
		"unsubscribe":    noResult(h.unsubscribe),
		"refresh":        noResult(h.refresh),
		"presence":       handle(withChannel(e.Presence)),
		"presence_stats": handle(withChannel(e.PresenceStats)),
		"history":        handle(h.history),
		"history_remove": noResult(func(ctx context.Context, req *ChannelRequest) error {
			if req.Channel == "" {
				return core.ErrBadRequest.Err()
			}
			return e.HistoryRemove(ctx, req)
		}),
		"channels": handle(e.Channels),
		"info": func(ctx context.Context, _ json.RawMessage) (any, error) {
			return e.Info(ctx)
		},
	}
	m["batch"] = handle(h.batch)
	return m
}

func withChannel[Res any](f func(context.Context, *ChannelRequest) (Res, error)) func(context.Context, *ChannelRequest) (Res, error) {
	return func(ctx context.Context, req *ChannelRequest) (Res, error) {
		if req.Channel == "" {
			var zero Res
			return zero, core.ErrBadRequest.Err()
		}
		return f(ctx, req)
	}
}

func (h *Handler) publish(ctx context.Context, req *PublishRequest) (*PublishResult, error) {
	if req.Channel == "" {
		return nil, core.ErrBadRequest.Err()
	}
	// b64data wins over data when both are given, as in Centrifugo.
	if req.B64Data != "" {
		data, err := base64.StdEncoding.DecodeString(req.B64Data)
		if err != nil || !json.Valid(data) {
			return nil, core.ErrBadRequest.Err()
		}
		req.Data = data
	}
	if len(req.Data) == 0 {
		return nil, core.ErrBadRequest.Err()
	}
	return h.exec.Publish(ctx, req)
}

func (h *Handler) broadcast(ctx context.Context, req *BroadcastRequest) (*BroadcastResult, error) {
	if len(req.Channels) == 0 || len(req.Data) == 0 {
		return nil, core.ErrBadRequest.Err()
	}
	if max := h.cfg.BroadcastMaxChannels; max > 0 && len(req.Channels) > max {
		return nil, core.ErrLimitExceeded.Err()
	}
	res := &BroadcastResult{Responses: make([]PublishReply, len(req.Channels))}
	var wg sync.WaitGroup
	for i, ch := range req.Channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.publish(ctx, &PublishRequest{Channel: ch, Data: req.Data, SkipHistory: req.SkipHistory, Tags: req.Tags, IdempotencyKey: req.IdempotencyKey})
			rep := h.toReply(r, err)
			if rep.Error != nil {
				res.Responses[i] = PublishReply{Error: rep.Error}
			} else {
				res.Responses[i] = PublishReply{Result: r}
			}
		}()
	}
	wg.Wait()
	return res, nil
}

func (h *Handler) disconnect(ctx context.Context, req *DisconnectRequest) error {
	if req.User == "" && req.Client == "" && req.Session == "" {
		return core.ErrBadRequest.Err()
	}
	return h.exec.Disconnect(ctx, req)
}

func (h *Handler) subscribe(ctx context.Context, req *SubscribeRequest) error {
	if req.Channel == "" || (req.User == "" && req.Client == "" && req.Session == "") {
		return core.ErrBadRequest.Err()
	}
	return h.exec.Subscribe(ctx, req)
}

func (h *Handler) unsubscribe(ctx context.Context, req *UnsubscribeRequest) error {
	if req.Channel == "" || (req.User == "" && req.Client == "" && req.Session == "") {
		return core.ErrBadRequest.Err()
	}
	return h.exec.Unsubscribe(ctx, req)
}

func (h *Handler) refresh(ctx context.Context, req *RefreshRequest) error {
	if req.User == "" && req.Client == "" && req.Session == "" {
		return core.ErrBadRequest.Err()
	}
	return h.exec.Refresh(ctx, req)
}

func (h *Handler) history(ctx context.Context, req *HistoryRequest) (*HistoryResult, error) {
	if req.Channel == "" {
		return nil, core.ErrBadRequest.Err()
	}
	return h.exec.History(ctx, req)
}

// batchRequest is the batch method's params. A command is Centrifugo v6's
// {"publish":{...}}, one key naming the method, or {"method":"publish",
// "params":{...}}.
type batchRequest struct {
	Commands []map[string]json.RawMessage `json:"commands"`
	Parallel bool                         `json:"parallel,omitempty"`
}

// batchResult holds a reply per command, each {"result":...} or
// {"error":...} as every API reply is (PROTOCOL.md §8).
type batchResult struct {
	Replies []reply `json:"replies"`
}

// command returns a batch command's method and params.
func command(c map[string]json.RawMessage) (string, json.RawMessage) {
	if raw, ok := c["method"]; ok {
		var name string
		if json.Unmarshal(raw, &name) != nil {
			return "", nil
		}
		return name, c["params"]
	}
	if len(c) != 1 {
		return "", nil
	}
	for name, params := range c {
		return name, params
	}
	return "", nil
}

func (h *Handler) batch(ctx context.Context, req *batchRequest) (*batchResult, error) {
	res := &batchResult{Replies: make([]reply, len(req.Commands))}
	run := func(i int) {
		name, params := command(req.Commands[i])
		m, ok := h.methods[name]
		if !ok || name == "batch" {
			res.Replies[i] = reply{Error: core.ErrNotFound.Err()}
			return
		}
		if len(params) == 0 || string(params) == "null" {
			params = []byte("{}")
		}
		r, err := m(ctx, params)
		if err != nil && isBadBody(err) {
			err = core.ErrBadRequest.Err()
		}
		res.Replies[i] = h.toReply(r, err)
	}
	if !req.Parallel {
		for i := range req.Commands {
			run(i)
		}
		return res, nil
	}
	var wg sync.WaitGroup
	for i := range req.Commands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	wg.Wait()
	return res, nil
}

func isBadBody(err error) bool { return errors.Is(err, errBadBody) }
