package server

import (
	"context"
	"encoding/json"

	"github.com/uniws/uniws/core"
	"github.com/uniws/uniws/server/api"
	"github.com/uniws/uniws/server/broker"
)

// Refresh extends or ends the matching connections on every node: expired
// closes them with 3005; expire_at (unix seconds) in the future extends
// them and sends the refresh push, 0 makes them never expire; info replaces
// their client info.
func (e executor) Refresh(ctx context.Context, req *api.RefreshRequest) error {
	if len(req.Info) != 0 && !json.Valid(req.Info) {
		return core.ErrBadRequest.Err()
	}
	return e.control(ctx, control{Op: "refresh", User: req.User, Client: req.Client, Session: req.Session, Expired: req.Expired, ExpireAt: req.ExpireAt, Info: exactJSON(req.Info)})
}

// Presence lists the clients in a channel: 108 when the channel has no
// presence or the engine keeps none.
func (e executor) Presence(ctx context.Context, req *api.ChannelRequest) (*api.PresenceResult, error) {
	pm, err := e.presence(req.Channel)
	if err != nil {
		return nil, err
	}
	p, err := pm.Presence(ctx, req.Channel)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = map[string]core.ClientInfo{}
	}
	return &api.PresenceResult{Presence: p}, nil
}

// PresenceStats counts the clients and distinct users in a channel.
func (e executor) PresenceStats(ctx context.Context, req *api.ChannelRequest) (*api.PresenceStatsResult, error) {
	pm, err := e.presence(req.Channel)
	if err != nil {
		return nil, err
	}
	st, err := pm.PresenceStats(ctx, req.Channel)
	if err != nil {
		return nil, err
	}
	return &api.PresenceStatsResult{NumClients: st.NumClients, NumUsers: st.NumUsers}, nil
}

func (e executor) presence(ch string) (broker.PresenceManager, error) {
	opts, err := e.channelOptions(ch)
	if err != nil {
		return nil, err
	}
	pm, ok := e.n.broker.(broker.PresenceManager)
	if !opts.Presence || !ok {
		return nil, core.ErrNotAvailable.Err()
	}
	return pm, nil
}
