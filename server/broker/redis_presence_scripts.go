package broker

import "github.com/redis/go-redis/v9"

// A channel's presence is three keys on the channel's shard, changed only
// by the scripts below so they always agree:
//
//   - KEYS[1], a hash: client id -> entry (see encodePresence), whose value
//     starts with "<length of user>:<user>" so a script can read the user;
//   - KEYS[2], a sorted set: client id -> expiry (unix ms on the engine's
//     clock), which readers sweep: an entry not added again in time is gone;
//   - KEYS[3], a hash: user -> number of its clients in KEYS[1], so that
//     stats count users without reading every entry.
//
// Every add extends the keys' TTL to at least the entry's: when no node
// adds anything for a TTL (every node with clients there died), Redis drops
// the keys whole. PEXPIRE is guarded by "pttl < wanted", as for streams.

// presenceLib holds the functions the presence scripts share.
const presenceLib = `
local function user_of(v)
	local sep = string.find(v, ":", 1, true)
	if not sep then
		return ""
	end
	return string.sub(v, sep + 1, sep + tonumber(string.sub(v, 1, sep - 1)))
end
local function release(user)
	if redis.call("hincrby", KEYS[3], user, -1) <= 0 then
		redis.call("hdel", KEYS[3], user)
	end
end
local function forget(id)
	local v = redis.call("hget", KEYS[1], id)
	if v then
		release(user_of(v))
		redis.call("hdel", KEYS[1], id)
	end
	redis.call("zrem", KEYS[2], id)
end
local function sweep(now, limit)
	local expired
	if limit > 0 then
		expired = redis.call("zrangebyscore", KEYS[2], "-inf", "(" .. now, "LIMIT", 0, limit)
	else
		expired = redis.call("zrangebyscore", KEYS[2], "-inf", "(" .. now)
	end
	for _, id in ipairs(expired) do
		forget(id)
	end
end
`

// addPresenceScript records or refreshes one client, after sweeping a few
// expired entries so a channel that is never read stays small.
//
// ARGV: client id, entry, user, expiry ms, key TTL ms, now ms.
var addPresenceScript = redis.NewScript(presenceLib + `
sweep(ARGV[6], 64)
local old = redis.call("hget", KEYS[1], ARGV[1])
if not old then
	redis.call("hincrby", KEYS[3], ARGV[3], 1)
elseif user_of(old) ~= ARGV[3] then
	release(user_of(old))
	redis.call("hincrby", KEYS[3], ARGV[3], 1)
end
redis.call("hset", KEYS[1], ARGV[1], ARGV[2])
redis.call("zadd", KEYS[2], ARGV[4], ARGV[1])
local ttl = tonumber(ARGV[5])
for i = 1, 3 do
	if redis.call("pttl", KEYS[i]) < ttl then
		redis.call("pexpire", KEYS[i], ttl)
	end
end
return 1
`)

// removePresenceScript forgets one client. ARGV: client id.
var removePresenceScript = redis.NewScript(presenceLib + `
forget(ARGV[1])
return 1
`)

// presenceScript sweeps every expired entry and returns the rest as
// HGETALL does. ARGV: now ms.
var presenceScript = redis.NewScript(presenceLib + `
sweep(ARGV[1], 0)
return redis.call("hgetall", KEYS[1])
`)

// presenceStatsScript sweeps every expired entry and returns {clients,
// users}. ARGV: now ms.
var presenceStatsScript = redis.NewScript(presenceLib + `
sweep(ARGV[1], 0)
return {redis.call("hlen", KEYS[1]), redis.call("hlen", KEYS[3])}
`)
