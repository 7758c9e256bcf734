package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gobwas/glob"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/api"
	"github.com/uniws/uniws/server/broker"
)

// executor carries out API calls for one node (api.Executor).
type executor struct{ n *node }

// channelOptions checks a channel name and returns its options: 107 for a
// malformed name, 102 for an unknown namespace.
func (e executor) channelOptions(ch string) (core.ChannelOptions, error) {
	name, err := core.ParseChannel(ch, e.n.cfg.ChannelMaxLength)
	if err != nil {
		return core.ChannelOptions{}, core.ErrBadRequest.Err()
	}
	opts, ok := e.n.cfg.NamespaceOptions(name.Namespace)
	if !ok {
		return core.ChannelOptions{}, core.ErrUnknownChannel.Err()
	}
	return opts, nil
}

func (e executor) Publish(ctx context.Context, req *api.PublishRequest) (*api.PublishResult, error) {
	opts, err := e.channelOptions(req.Channel)
	if err != nil {
		return nil, err
	}
	if !json.Valid(req.Data) {
		return nil, core.ErrBadRequest.Err()
	}
	start := time.Now()
	sp, err := e.n.broker.Publish(ctx, req.Channel, req.Data, broker.PublishOptions{
		HistorySize:    opts.HistorySize,
		HistoryTTL:     opts.HistoryTTL.D(),
		HistoryMetaTTL: opts.HistoryMetaTTL.D(),
		SkipHistory:    req.SkipHistory,
		Tags:           req.Tags,
		IdempotencyKey: req.IdempotencyKey,
	})
	e.n.metrics.BrokerPublish.Observe(time.Since(start).Seconds())
	if err != nil {
		e.n.metrics.EngineError("publish")
		return nil, err
	}
	return &api.PublishResult{Offset: sp.Offset, Epoch: sp.Epoch}, nil
}

func (e executor) control(ctx context.Context, c control) error {
	if err := e.n.publishControl(ctx, c); err != nil {
		e.n.metrics.EngineError("control")
		return err
	}
	return nil
}

func (e executor) Disconnect(ctx context.Context, req *api.DisconnectRequest) error {
	if req.Disconnect != nil && (req.Disconnect.Code < 3000 || req.Disconnect.Code > 4999) {
		return core.ErrBadRequest.Err()
	}
	return e.control(ctx, control{Op: "disconnect", User: req.User, Client: req.Client, Session: req.Session, Whitelist: req.Whitelist, Disconnect: req.Disconnect})
}

func (e executor) Unsubscribe(ctx context.Context, req *api.UnsubscribeRequest) error {
	if _, err := e.channelOptions(req.Channel); err != nil {
		return err
	}
	return e.control(ctx, control{Op: "unsubscribe", User: req.User, Client: req.Client, Session: req.Session, Channel: req.Channel})
}

func (e executor) Subscribe(ctx context.Context, req *api.SubscribeRequest) error {
	if _, err := e.channelOptions(req.Channel); err != nil {
		return err
	}
	if len(req.Info) != 0 && !json.Valid(req.Info) {
		return core.ErrBadRequest.Err()
	}
	c := control{Op: "subscribe", User: req.User, Client: req.Client, Session: req.Session, Channel: req.Channel, Data: exactJSON(req.Data), Info: exactJSON(req.Info)}
	if req.RecoverSince != nil {
		c.RecoverSince = &broker.StreamPosition{Offset: req.RecoverSince.Offset, Epoch: req.RecoverSince.Epoch}
	}
	return e.control(ctx, c)
}

func (e executor) History(ctx context.Context, req *api.HistoryRequest) (*api.HistoryResult, error) {
	opts, err := e.channelOptions(req.Channel)
	if err != nil {
		return nil, err
	}
	if !opts.HistoryEnabled() {
		return nil, core.ErrNotAvailable.Err()
	}
	ho := broker.HistoryOptions{Limit: req.Limit, Reverse: req.Reverse, MetaTTL: opts.HistoryMetaTTL.D()}
	if req.Since != nil {
		if req.Reverse && req.Since.Offset == 0 {
			return nil, core.ErrBadRequest.Err() // nothing comes before offset 0
		}
		ho.Since = &broker.StreamPosition{Offset: req.Since.Offset, Epoch: req.Since.Epoch}
	}
	pubs, sp, err := e.n.broker.History(ctx, req.Channel, ho)
	if errors.Is(err, broker.ErrUnrecoverablePosition) && req.Since != nil && (req.Since.Epoch == "" || req.Since.Epoch == sp.Epoch) {
		// As in Centrifugo, only another epoch makes since unrecoverable
		// here: past the top there is nothing yet, and before what the
		// stream keeps, it is read from its oldest publication.
		if req.Since.Offset >= sp.Offset {
			pubs, err = nil, nil
		} else {
			ho.Since = nil
			pubs, sp, err = e.n.broker.History(ctx, req.Channel, ho)
			if err == nil && req.Since.Epoch != "" && sp.Epoch != req.Since.Epoch {
				err = broker.ErrUnrecoverablePosition // a new stream meanwhile
			}
		}
	}
	if err == nil && req.Since != nil && req.Reverse && req.Since.Offset > sp.Offset+1 {
		// Backwards from past the top: Centrifugo finds nothing there.
		pubs = nil
	}
	if errors.Is(err, broker.ErrUnrecoverablePosition) {
		return nil, core.ErrUnrecoverablePos.Err()
	}
	if err != nil {
		e.n.metrics.EngineError("history")
		return nil, err
	}
	if pubs == nil {
		pubs = []*core.Publication{}
	}
	return &api.HistoryResult{Publications: pubs, Offset: sp.Offset, Epoch: sp.Epoch}, nil
}

func (e executor) HistoryRemove(ctx context.Context, req *api.ChannelRequest) error {
	opts, err := e.channelOptions(req.Channel)
	if err != nil {
		return err
	}
	if !opts.HistoryEnabled() {
		return core.ErrNotAvailable.Err()
	}
	if err := e.n.broker.RemoveHistory(ctx, req.Channel); err != nil {
		e.n.metrics.EngineError("history_remove")
		return err
	}
	return nil
}

// Channels merges every node's channels (num_clients summed over nodes).
// The pattern is a glob as Centrifugo reads it (gobwas/glob, no
// separators: * matches any run of characters, / included).
func (e executor) Channels(ctx context.Context, req *api.ChannelsRequest) (*api.ChannelsResult, error) {
	var g glob.Glob
	if req.Pattern != "" {
		var err error
		if g, err = glob.Compile(req.Pattern); err != nil {
			// Centrifugo answers 100 too; it is the caller's mistake, not
			// the server's, so it is not logged as a failure.
			e.n.log.Info("channels: bad pattern", "pattern", req.Pattern, "error", err.Error())
			return nil, core.ErrInternal.Err()
		}
	}
	nodes, err := e.n.nodes(ctx)
	if err != nil {
		return nil, err
	}
	res := &api.ChannelsResult{Channels: map[string]api.ChannelInfo{}}
	for _, node := range nodes {
		for ch, n := range node.Channels {
			if g != nil && !g.Match(ch) {
				continue
			}
			res.Channels[ch] = api.ChannelInfo{NumClients: res.Channels[ch].NumClients + n}
		}
	}
	return res, nil
}

// Info reports every node of the deployment.
func (e executor) Info(ctx context.Context) (*api.InfoResult, error) {
	nodes, err := e.n.nodes(ctx)
	if err != nil {
		return nil, err
	}
	res := &api.InfoResult{Nodes: make([]api.NodeInfo, 0, len(nodes))}
	for _, n := range nodes {
		res.Nodes = append(res.Nodes, api.NodeInfo{
			UID:         n.UID,
			Name:        n.Name,
			Version:     n.Version,
			NumClients:  n.NumClients,
			NumUsers:    n.NumUsers,
			NumSubs:     n.NumSubs,
			NumChannels: len(n.Channels),
			Uptime:      n.Uptime,
			MemoryBytes: n.MemoryBytes,
			Goroutines:  n.Goroutines,
			Process:     processInfo(n.RSS),
		})
	}
	return res, nil
}

// processInfo is Centrifugo's process field for a node's resident memory
// (nil when the node did not report it).
func processInfo(rss int64) *api.ProcessInfo {
	if rss <= 0 {
		return nil
	}
	return &api.ProcessInfo{RSS: rss}
}
