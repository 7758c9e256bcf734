package broker

import (
	"context"
	"time"

	"github.com/uniws/uniws/core"
)

// PresenceStats counts a channel's present clients and distinct users.
type PresenceStats struct {
	NumClients int
	NumUsers   int
}

// PresenceManager is an optional engine capability: who is subscribed to a
// channel, across every node. The server checks for it with a type
// assertion; without it presence and presence_stats answer 108 and
// client_user_personal_single_connection sends its disconnect on every
// connect instead of only when the user has another connection.
//
// The server adds a client when it subscribes to a channel with presence
// on, adds it again every client_presence_update_interval while it stays
// (refreshing its TTL), and removes it when it leaves. An entry not added
// again within its TTL must disappear on its own: that is how the presence
// of a node that died without cleaning up ends (on Redis, a key TTL or a
// score per entry swept on read). All methods are safe for concurrent use.
type PresenceManager interface {
	// AddPresence records (or refreshes) clientID in channel until ttl
	// passes. info is what Presence returns for it.
	AddPresence(ctx context.Context, channel, clientID string, info core.ClientInfo, ttl time.Duration) error
	// RemovePresence forgets clientID (of user) in channel.
	RemovePresence(ctx context.Context, channel, clientID, user string) error
	// Presence returns the channel's live entries by client id.
	Presence(ctx context.Context, channel string) (map[string]core.ClientInfo, error)
	// PresenceStats counts the channel's live entries and distinct users.
	PresenceStats(ctx context.Context, channel string) (PresenceStats, error)
}

// JoinLeave is an optional engine capability: it delivers join and leave
// events to every node subscribed to the channel, the way publications
// travel (on Redis: the channel's own PUB/SUB channel), by calling the
// node's JoinLeaveHandler. Without it the server sends them as control
// messages, which every node receives.
type JoinLeave interface {
	PublishJoin(ctx context.Context, channel string, info core.ClientInfo) error
	PublishLeave(ctx context.Context, channel string, info core.ClientInfo) error
}

// JoinLeaveHandler is implemented by Handlers that take join and leave
// events. Like HandlePublication, its methods must not block.
type JoinLeaveHandler interface {
	HandleJoin(channel string, info core.ClientInfo)
	HandleLeave(channel string, info core.ClientInfo)
}
