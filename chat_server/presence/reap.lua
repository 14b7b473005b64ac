-- Reaps expired presence connections, atomically, so that of several processes reaping
-- at once exactly one reports each departure (see redis_store.py).
-- KEYS[1]: user id -> the latest expiry of any of their connections.
-- ARGV: now, the key prefix of a user's connection set, how many users to look at.
-- Returns {how many users it looked at, user id, latest expiry, ...}: the pairs are the
-- users whose last connections just expired; a user who disconnected cleanly has no
-- expired connections and is dropped silently.
local timed_out = {0}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[3])
timed_out[1] = #due / 2
for i = 1, #due, 2 do
    local user, latest = due[i], due[i + 1]
    local connections = ARGV[2] .. user
    local expired = redis.call('ZREMRANGEBYSCORE', connections, '-inf', ARGV[1])
    local alive = redis.call('ZRANGE', connections, -1, -1, 'WITHSCORES')
    if #alive > 0 then
        redis.call('ZADD', KEYS[1], alive[2], user)
    else
        redis.call('ZREM', KEYS[1], user)
        if expired > 0 then
            table.insert(timed_out, user)
            table.insert(timed_out, latest)
        end
    end
end
return timed_out
