package broker

import "github.com/redis/go-redis/v9"

// A stream is two keys: a Redis stream of bodies whose entry ids are the
// offsets ("<offset>-0"), and a meta hash holding the top offset "s" and
// the epoch "e". The meta outlives the entries (history_meta_ttl against
// history_ttl), so the position survives the publications' expiry; when
// the meta itself is gone (expired, or Redis restarted empty) the next
// publish or read starts a new epoch.
//
// TTLs on the meta are only ever extended here: "pttl < wanted" guards
// each PEXPIRE (PEXPIRE GT needs Redis 7; this works on any version).

// publishScript appends a publication to its stream and publishes it, in
// one atomic step, so offsets are one sequence whatever node publishes.
//
// KEYS: stream, meta, idempotency result.
// ARGV: body, history size (0: no history), history TTL ms, meta TTL ms,
// epoch to use when the stream has none, PUB/SUB channel, idempotency TTL
// ms (0: no key).
// Returns {offset, epoch} as strings.
var publishScript = redis.NewScript(`
if ARGV[7] ~= "0" then
	local prev = redis.call("get", KEYS[3])
	if prev then
		local sep = string.find(prev, ":", 1, true)
		return {string.sub(prev, 1, sep - 1), string.sub(prev, sep + 1)}
	end
end
local offset, epoch = 0, ""
if ARGV[2] ~= "0" then
	epoch = redis.call("hget", KEYS[2], "e")
	if not epoch then
		epoch = ARGV[5]
		redis.call("del", KEYS[1])
		redis.call("hset", KEYS[2], "e", epoch, "s", 0)
	end
	offset = redis.call("hincrby", KEYS[2], "s", 1)
	redis.call("xadd", KEYS[1], "MAXLEN", ARGV[2], offset .. "-0", "d", ARGV[1])
	redis.call("pexpire", KEYS[1], ARGV[3])
	if redis.call("pttl", KEYS[2]) < tonumber(ARGV[4]) then
		redis.call("pexpire", KEYS[2], ARGV[4])
	end
end
redis.call("publish", ARGV[6], offset .. ":" .. epoch .. ":" .. ARGV[1])
if ARGV[7] ~= "0" then
	redis.call("set", KEYS[3], offset .. ":" .. epoch, "PX", ARGV[7])
end
return {tostring(offset), epoch}
`)

// historyScript reads a stream's position and, optionally, a range of it.
// A stream without meta gets one (with a new epoch), as in the memory
// engine, so a client positioned now keeps its epoch across the first
// publish.
//
// KEYS: stream, meta.
// ARGV: epoch to use when the stream has none, meta TTL ms, mode ("n": no
// publications, "f": forward from ARGV[4], "r": backwards from ARGV[4]),
// start id, count (0: all).
// Returns {top, epoch, entries}.
var historyScript = redis.NewScript(`
local meta = redis.call("hmget", KEYS[2], "e", "s")
local epoch, top = meta[1], meta[2]
if not epoch then
	epoch = ARGV[1]
	top = "0"
	redis.call("del", KEYS[1])
	redis.call("hset", KEYS[2], "e", epoch, "s", 0)
end
if not top then
	top = "0"
end
if redis.call("pttl", KEYS[2]) < tonumber(ARGV[2]) then
	redis.call("pexpire", KEYS[2], ARGV[2])
end
local entries = {}
if ARGV[3] == "f" then
	if ARGV[5] == "0" then
		entries = redis.call("xrange", KEYS[1], ARGV[4], "+")
	else
		entries = redis.call("xrange", KEYS[1], ARGV[4], "+", "COUNT", ARGV[5])
	end
elseif ARGV[3] == "r" then
	if ARGV[5] == "0" then
		entries = redis.call("xrevrange", KEYS[1], ARGV[4], "-")
	else
		entries = redis.call("xrevrange", KEYS[1], ARGV[4], "-", "COUNT", ARGV[5])
	end
end
return {top, epoch, entries}
`)
