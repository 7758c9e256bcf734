package api

import (
	"context"
	"encoding/json"

	"github.com/uniws/uniws/core"
)

// Executor carries out API methods. The HTTP handler decodes and checks
// requests, so an Executor gets well-formed input. Errors that are
// *core.Error go back to the caller as API errors; any other error is
// reported as 100 internal. Implementations are safe for concurrent use.
type Executor interface {
	Publish(ctx context.Context, req *PublishRequest) (*PublishResult, error)
	Disconnect(ctx context.Context, req *DisconnectRequest) error
	Unsubscribe(ctx context.Context, req *UnsubscribeRequest) error
	Subscribe(ctx context.Context, req *SubscribeRequest) error
	Refresh(ctx context.Context, req *RefreshRequest) error
	Presence(ctx context.Context, req *ChannelRequest) (*PresenceResult, error)
	PresenceStats(ctx context.Context, req *ChannelRequest) (*PresenceStatsResult, error)
	History(ctx context.Context, req *HistoryRequest) (*HistoryResult, error)
	HistoryRemove(ctx context.Context, req *ChannelRequest) error
	Channels(ctx context.Context, req *ChannelsRequest) (*ChannelsResult, error)
	Info(ctx context.Context) (*InfoResult, error)
}

// PublishRequest is the publish method's params.
type PublishRequest struct {
	Channel        string            `json:"channel"`
	Data           json.RawMessage   `json:"data"`
	SkipHistory    bool              `json:"skip_history,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	B64Data        string            `json:"b64data,omitempty"`
}

// PublishResult is the publish method's result.
type PublishResult struct {
	Offset uint64 `json:"offset,omitempty"`
	Epoch  string `json:"epoch,omitempty"`
}

// BroadcastRequest is the broadcast method's params.
type BroadcastRequest struct {
	Channels       []string          `json:"channels"`
	Data           json.RawMessage   `json:"data"`
	SkipHistory    bool              `json:"skip_history,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
}

// PublishReply is one entry of a broadcast result.
type PublishReply struct {
	Error  *core.Error    `json:"error,omitempty"`
	Result *PublishResult `json:"result,omitempty"`
}

// BroadcastResult is the broadcast method's result.
type BroadcastResult struct {
	Responses []PublishReply `json:"responses"`
}

// DisconnectRequest is the disconnect method's params.
type DisconnectRequest struct {
	User       string           `json:"user"`
	Client     string           `json:"client,omitempty"`
	Session    string           `json:"session,omitempty"`
	Whitelist  []string         `json:"whitelist,omitempty"`
	Disconnect *core.Disconnect `json:"disconnect,omitempty"`
}

// SubscribeRequest is the subscribe method's params.
type SubscribeRequest struct {
	User         string           `json:"user"`
	Channel      string           `json:"channel"`
	Client       string           `json:"client,omitempty"`
	Session      string           `json:"session,omitempty"`
	Info         json.RawMessage  `json:"info,omitempty"`
	Data         json.RawMessage  `json:"data,omitempty"`
	RecoverSince *StreamPosition  `json:"recover_since,omitempty"`
	Override     *json.RawMessage `json:"override,omitempty"`
}

// UnsubscribeRequest is the unsubscribe method's params.
type UnsubscribeRequest struct {
	User    string `json:"user"`
	Channel string `json:"channel"`
	Client  string `json:"client,omitempty"`
	Session string `json:"session,omitempty"`
}

// RefreshRequest is the refresh method's params.
type RefreshRequest struct {
	User     string          `json:"user"`
	Client   string          `json:"client,omitempty"`
	Session  string          `json:"session,omitempty"`
	Expired  bool            `json:"expired,omitempty"`
	ExpireAt int64           `json:"expire_at,omitempty"`
	Info     json.RawMessage `json:"info,omitempty"`
}

// ChannelRequest names one channel (presence, presence_stats, history_remove).
type ChannelRequest struct {
	Channel string `json:"channel"`
}

// StreamPosition is a place in a channel's stream.
type StreamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// HistoryRequest is the history method's params.
type HistoryRequest struct {
	Channel string          `json:"channel"`
	Limit   int             `json:"limit,omitempty"`
	Since   *StreamPosition `json:"since,omitempty"`
	Reverse bool            `json:"reverse,omitempty"`
}

// HistoryResult is the history method's result.
type HistoryResult struct {
	Publications []*core.Publication `json:"publications"`
	Offset       uint64              `json:"offset,omitempty"`
	Epoch        string              `json:"epoch,omitempty"`
}

// PresenceResult is the presence method's result.
type PresenceResult struct {
	Presence map[string]core.ClientInfo `json:"presence"`
}

// PresenceStatsResult is the presence_stats method's result.
type PresenceStatsResult struct {
	NumClients int `json:"num_clients"`
	NumUsers   int `json:"num_users"`
}

// ChannelsRequest is the channels method's params.
type ChannelsRequest struct {
	Pattern string `json:"pattern,omitempty"`
}

// ChannelInfo is one channel in a channels result.
type ChannelInfo struct {
	NumClients int `json:"num_clients"`
}

// ChannelsResult is the channels method's result.
type ChannelsResult struct {
	Channels map[string]ChannelInfo `json:"channels"`
}

// NodeInfo describes one node in an info result.
type NodeInfo struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	NumClients  int    `json:"num_clients"`
	NumUsers    int    `json:"num_users"`
	NumSubs     int    `json:"num_subs"`
	NumChannels int    `json:"num_channels"`
	Uptime      int64  `json:"uptime"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	Goroutines  int    `json:"num_goroutines,omitempty"`
	// Process is Centrifugo's process field: the node's resident memory.
	Process *ProcessInfo `json:"process,omitempty"`
}

// ProcessInfo describes a node's process.
type ProcessInfo struct {
	// RSS is the resident set size in bytes.
	RSS int64 `json:"rss,omitempty"`
}

// InfoResult is the info method's result.
type InfoResult struct {
	Nodes []NodeInfo `json:"nodes"`
}
