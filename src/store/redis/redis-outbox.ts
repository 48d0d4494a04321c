import { errorText } from '../../errors/error-text';
import { StoreError } from '../durable-store';
import type { RedisConnection } from './redis-connection';
import { RedisScript } from './redis-script';

/**
 * The outbox of one web service out node in Redis, shared by every instance that runs the node (same node id, same
 * Redis and prefix). Every change is one Lua script, so it is atomic and nothing is half-written when Redis goes
 * away; times come from the server's TIME, so the instances' clocks do not matter. All keys carry the node id as a
 * hash tag (`<prefix>:outbox:{<node id>}:...`), so a node's outbox lives in one slot.
 *
 * Keys, and how each leaves Redis:
 * - `entries` hash: job key -> OutboxEntry (format 2) JSON. Emptied as jobs settle; Redis deletes an empty hash.
 * - `lane:<call id>` list: the job keys of one call in acceptance order; the head is the one attempted.
 * - `ready` sorted set: call id -> when its head may be attempted (now, or the time of its retry).
 * - `leases` sorted set: call id -> when the lease on its head expires; `owners` hash: call id -> "<token> <key>".
 * - `bytes`: the sum of the entries' JSON lengths; deleted with the last entry.
 * - `rate`: the cluster's next rate slot, set with an expiry at that slot.
 * - `settled` sorted set: "<token> <key>" of the jobs settled in the last ten minutes (SETTLED_MARK_MS), so a
 *   settle whose reply was lost and that is sent again knows it succeeded; trimmed by each settle, and it expires
 *   ten minutes after the last one.
 * - `seq`: the job key counter; kept (with the safety TTL) so that a key is not handed out again soon after its
 *   job left, while an instance may still hold that job's context.
 * - `wake` (a pub/sub channel, not a key): a script that makes a head ready publishes when (Redis clock, ms), so
 *   the idle instances claim at once, or know when to, instead of asking on a timer. Best effort: a message sent
 *   while an instance's subscriber is reconnecting is lost to it, and its fallback poll finds the work.
 * Collections are deleted by Redis when they empty; besides, every write sets an expiry of OUTBOX_KEY_TTL_MS on
 * the keys it touches, a safety net for a node no instance runs any more. It is far longer than any wait between
 * two writes to a key of a running node (one retry wait is at most a week).
 */
export const OUTBOX_KEY_TTL_MS = 30 * 24 * 3_600_000;

/** Where an entry's attempt count sits: first, after the format, so a script can change it without parsing JSON. */
/**
 * How long a settled job's mark says who settled it: a settle whose reply was lost is sent again within seconds,
 * and then learns that it did settle the job (and reports it) instead of taking it for a takeover.
 */
const SETTLED_MARK_MS = 10 * 60_000;

export const ENTRY_HEAD = '{"format":2,"attempts":';

export interface OutboxCounts {
    /** Entries in the outbox, cluster-wide (in flight included). */
    queued: number;
    queuedBytes: number;
    /** The earliest time a waiting call's head becomes ready, after now (ms since 1970, Redis clock). */
    nextReadyAt?: number;
    /**
     * When the first of the leases held in the cluster ends unless renewed (Redis clock): an idle instance asks again
     * then, so that the head of an instance that died is taken over when its lease ends, not at the next poll.
     */
    firstLeaseEndAt?: number;
    /** The server's time when the script ran. */
    now: number;
}

export type OutboxBound = 'maxQueued' | 'maxQueuedSize';

export type EnqueueReply =
    /** `claim`: the claim made on the same trip when one was asked for (the new head may be the one leased). */
    | { kind: 'queued'; key: string; seq: number; queuedAt: number; counts: OutboxCounts; claim?: ClaimReply }
    | { kind: 'full'; bound: OutboxBound; counts: OutboxCounts };

export type ClaimReply =
    /** The head of `lane` is leased to the caller; `json` is its entry with the attempt just started counted. */
    | { kind: 'claimed'; lane: string; key: string; json: string; counts: OutboxCounts }
    /** Nothing is ready yet. */
    | { kind: 'idle'; counts: OutboxCounts }
    /** `concurrency` unexpired leases are held in the cluster. */
    | { kind: 'busy'; counts: OutboxCounts }
    /** Work is ready but the cluster's rate slot comes at `slotAt` (Redis clock). */
    | { kind: 'rate'; slotAt: number; counts: OutboxCounts };

/** `claim`: the claim made on the same trip when one was asked for (the lease just freed may be the one used). */
export type SettleReply = { kind: 'settled' | 'lost'; counts: OutboxCounts; claim?: ClaimReply };

/** A claim an enqueue or a settle makes on its own trip, for a caller with a free slot. */
export interface ClaimAlong {
    token: string;
    limits: ClaimLimits;
}

export interface ClaimLimits {
    leaseMs: number;
    concurrency: number;
    /** ms between two claims in the cluster; 0: no rate limit. */
    rateIntervalMs: number;
}

// Shared head of every script: the keys, the clock, the safety TTL and the counts every reply ends with.
const PRELUDE = `
-- Redis 3.2 to 4 replicate a script that reads TIME only as its effects; 5 and later always do.
if redis.replicate_commands then redis.replicate_commands() end
local entries, ready, leases, owners, rate, seq, bytes = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local lanePrefix = ARGV[1]
local ttl = ARGV[2]
local base = string.sub(entries, 1, #entries - #'entries')
local function int(n) return string.format('%d', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function keep(...)
    for _, key in ipairs({...}) do redis.call('PEXPIRE', key, ttl) end
end
local function counts()
    local nextReady = redis.call('ZRANGEBYSCORE', ready, '(' .. int(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    local firstLeaseEnd = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
    return {int(now), redis.call('HLEN', entries), redis.call('GET', bytes) or '0', nextReady[2] or '', firstLeaseEnd[2] or ''}
end
-- Idle instances sleep until told: whatever makes a head ready says when ('-': nothing new is ready, only the
-- counts changed), with the counts, so that every instance's status follows the cluster without asking.
local function wake(at)
    local message = {at and int(at) or '-'}
    for _, value in ipairs(counts()) do table.insert(message, value) end
    redis.call('PUBLISH', base .. 'wake', table.concat(message, ' '))
end
local function readyWaiting()
    return #redis.call('ZRANGEBYSCORE', ready, '-inf', int(now), 'LIMIT', 0, 1) > 0
end
local function reply(kind, extra)
    local out = {kind}
    for _, value in ipairs(counts()) do table.insert(out, value) end
    for _, value in ipairs(extra) do table.insert(out, value) end
    return out
end
`;

// The claim, as its own script runs it and as an enqueue or a settle runs it on the same trip: takes back expired
// leases, then leases the earliest ready head to `token` within the cluster's concurrency and rate. Returns the
// outcome's kind and fields ({'claimed', lane, key, json}, {'idle'}, {'busy'}, {'rate', slot}).
const CLAIM_NEXT = `
local function claimNext(token, leaseMs, concurrency, interval)
    -- Leases whose owner stopped renewing them: their heads are ready again, at once, under the same entry.
    local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', int(now), 'LIMIT', 0, 100)
    for _, lane in ipairs(expired) do
        redis.call('ZREM', leases, lane)
        redis.call('HDEL', owners, lane)
        if redis.call('EXISTS', lanePrefix .. lane) == 1 then redis.call('ZADD', ready, int(now), lane) end
    end
    -- Heads taken back from a dead instance: this caller takes one, the other instances may take the rest.
    if #expired > 0 then wake(now) end
    if redis.call('ZCARD', leases) >= concurrency then return {'busy'} end
    for _ = 1, 10 do
        local head = redis.call('ZRANGEBYSCORE', ready, '-inf', int(now), 'LIMIT', 0, 1)
        if #head == 0 then return {'idle'} end
        local lane = head[1]
        local laneKey = lanePrefix .. lane
        local key = redis.call('LINDEX', laneKey, 0)
        local json = key and redis.call('HGET', entries, key)
        if not json then
            -- A lane or entry lost to the safety TTL: drop what is left of it and look at the next lane.
            redis.call('ZREM', ready, lane)
            if key then
                redis.call('LPOP', laneKey)
                if redis.call('LLEN', laneKey) > 0 then redis.call('ZADD', ready, int(now), lane) end
            end
        else
            if interval > 0 then
                local slot = tonumber(redis.call('GET', rate) or '0')
                if slot > now then return {'rate', string.format('%.3f', slot)} end
                redis.call('SET', rate, string.format('%.3f', now + interval), 'PX', math.ceil(interval) + 1)
            end
            local attempts = string.match(json, '^${ENTRY_HEAD}(%d+),')
            local updated = json
            if attempts then
                updated = '${ENTRY_HEAD}' .. int(tonumber(attempts) + 1) .. string.sub(json, ${ENTRY_HEAD.length} + #attempts + 1)
                redis.call('HSET', entries, key, updated)
                redis.call('INCRBY', bytes, #updated - #json)
            end
            redis.call('ZREM', ready, lane)
            redis.call('ZADD', leases, int(now + leaseMs), lane)
            redis.call('HSET', owners, lane, token .. ' ' .. key)
            keep(entries, bytes, leases, owners, laneKey)
            return {'claimed', lane, key, updated}
        end
    end
    return {'idle'}
end
-- The claim an enqueue or a settle makes on its trip when its caller has a free slot (a token at ARGV[at]; '' for
-- none): 'none' when not asked, else the claim's outcome. Whatever is still ready after it wakes the other instances.
local function claimAlong(at, tail)
    local token = ARGV[at]
    if token == nil or token == '' then
        table.insert(tail, 'none')
        return false
    end
    local outcome = claimNext(token, tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]))
    for _, value in ipairs(outcome) do table.insert(tail, value) end
    return true
end
`;

// ARGV: lanePrefix, ttl, callId, entry JSON after its first "{" without format/attempts/seq/queuedAt, maxQueued, maxBytes,
// then the claim along (token or '', leaseMs, concurrency, rateIntervalMs)
const ENQUEUE = new RedisScript(`${PRELUDE}${CLAIM_NEXT}
local lane, rest, maxQueued, maxBytes = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local queued = redis.call('HLEN', entries)
local used = tonumber(redis.call('GET', bytes) or '0')
if queued >= maxQueued then return reply('full', {'maxQueued', 'none'}) end
local key = redis.call('INCR', seq)
-- The counter may have expired with a long-idle node: never reuse the key of an entry still there.
for _ = 1, 1000 do
    if redis.call('HEXISTS', entries, key) == 0 then break end
    key = redis.call('INCR', seq)
end
local json = '${ENTRY_HEAD}0,"seq":' .. key .. ',"queuedAt":' .. int(now) .. ',' .. rest
if used + #json > maxBytes then
    redis.call('DECR', seq)
    return reply('full', {'maxQueuedSize', 'none'})
end
redis.call('HSET', entries, key, json)
redis.call('INCRBY', bytes, #json)
local laneKey = lanePrefix .. lane
local becameReady = redis.call('RPUSH', laneKey, key) == 1
if becameReady then redis.call('ZADD', ready, 'NX', int(now), lane) end
keep(entries, bytes, seq, laneKey, ready)
local tail = {tostring(key), int(now)}
claimAlong(7, tail)
-- A head made ready that this caller did not take wakes the others; one it took changes only the counts.
if becameReady then
    if readyWaiting() then wake(now) else wake(nil) end
end
return reply('queued', tail)
`);

// ARGV: lanePrefix, ttl, token, leaseMs, concurrency, rateIntervalMs
const CLAIM = new RedisScript(`${PRELUDE}${CLAIM_NEXT}
local outcome = claimNext(ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
local kind = table.remove(outcome, 1)
return reply(kind, outcome)
`);

// ARGV: lanePrefix, ttl, token, lane, key, 'done' | 'retry', delayMs, then the claim along (token or '', leaseMs,
// concurrency, rateIntervalMs)
const SETTLE = new RedisScript(`${PRELUDE}${CLAIM_NEXT}
local token, lane, key, outcome, delay = ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local settled = base .. 'settled'
local owner = token .. ' ' .. key
local tail = {}
if redis.call('HGET', owners, lane) ~= owner then
    claimAlong(8, tail)
    -- This caller's own settle ran before and only its reply was lost: it did settle the job.
    if redis.call('ZSCORE', settled, owner) then return reply('settled', tail) end
    return reply('lost', tail)
end
redis.call('ZREM', leases, lane)
redis.call('HDEL', owners, lane)
local laneKey = lanePrefix .. lane
if outcome == 'retry' then
    redis.call('ZADD', ready, int(now + delay), lane)
    keep(ready, laneKey, entries, bytes)
    claimAlong(8, tail)
    -- The lease freed lets another waiting head go now; else the retry's own time is news to the idle instances.
    if readyWaiting() then wake(now) else wake(now + delay) end
    return reply('settled', tail)
end
local size = redis.call('HSTRLEN', entries, key)
redis.call('HDEL', entries, key)
redis.call('LREM', laneKey, 1, key)
if redis.call('HLEN', entries) == 0 then redis.call('DEL', bytes) else redis.call('DECRBY', bytes, size) end
redis.call('ZREMRANGEBYSCORE', settled, '-inf', int(now - ${SETTLED_MARK_MS}))
redis.call('ZADD', settled, int(now), owner)
redis.call('PEXPIRE', settled, ${SETTLED_MARK_MS})
if redis.call('LLEN', laneKey) > 0 then
    redis.call('ZADD', ready, int(now), lane)
    keep(ready, laneKey)
end
-- The caller takes the next ready head itself when it can (the call's next request, or another call's that waited
-- for the lease freed here); what is still ready then wakes the others, else only the counts changed.
claimAlong(8, tail)
if readyWaiting() then wake(now) else wake(nil) end
return reply('settled', tail)
`);

// ARGV: lanePrefix, ttl, token, keys this caller is attempting now
const RELEASE_ORPHANS = new RedisScript(`${PRELUDE}
local token = ARGV[3]
local running = {}
for index = 4, #ARGV do running[ARGV[index]] = true end
local owned = redis.call('HGETALL', owners)
local released = 0
for index = 1, #owned, 2 do
    local lane, value = owned[index], owned[index + 1]
    local space = string.find(value, ' ', 1, true)
    if space and string.sub(value, 1, space - 1) == token and not running[string.sub(value, space + 1)] then
        redis.call('HDEL', owners, lane)
        redis.call('ZREM', leases, lane)
        if redis.call('EXISTS', lanePrefix .. lane) == 1 then redis.call('ZADD', ready, int(now), lane) end
        released = released + 1
    end
end
if released > 0 then wake(now) end
return released
`);

// ARGV: lanePrefix, ttl, token, lane, key, leaseMs
const RENEW = new RedisScript(`${PRELUDE}
local token, lane, key, leaseMs = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('HGET', owners, lane) ~= token .. ' ' .. key then return 0 end
redis.call('ZADD', leases, 'XX', int(now + leaseMs), lane)
return 1
`);

// ARGV: lanePrefix, ttl, job keys...: the ones whose entry is gone.
const GONE = new RedisScript(`${PRELUDE}
local missing = {}
for index = 3, #ARGV do
    if redis.call('HEXISTS', entries, ARGV[index]) == 0 then table.insert(missing, ARGV[index]) end
end
return missing
`);

// ARGV: lanePrefix, ttl, lane, key: the lane's head is made ready now if it is `key` and waits for a retry.
const RETRY_NOW = new RedisScript(`${PRELUDE}
local lane, key = ARGV[3], ARGV[4]
if redis.call('LINDEX', lanePrefix .. lane, 0) ~= key or redis.call('HEXISTS', owners, lane) == 1 then return 0 end
local at = redis.call('ZSCORE', ready, lane)
if not at or tonumber(at) <= now then return 0 end
redis.call('ZADD', ready, int(now), lane)
wake(now)
return 1
`);

/** The scripts by name, so a test (or an operator reading MONITOR) can tell which one an EVALSHA ran. */
export const OUTBOX_SCRIPTS: Readonly<Record<string, RedisScript>> = { ENQUEUE, CLAIM, SETTLE, RELEASE_ORPHANS, RENEW, GONE, RETRY_NOW };

/** What the outbox holds, for the deliveries list: each entry's JSON, each lane's next ready time and the leased lanes. */
export interface OutboxContents {
    entries: Array<{ key: string; json: string }>;
    /** Lane -> when its head is ready (Redis clock). */
    readyAt: Map<string, number>;
    /** Lane -> the job key being attempted. */
    leased: Map<string, string>;
    now: number;
}

export const DEFAULT_REPLY_TIMEOUT_MS = 10_000;

/** A message of the wake channel: when a head is ready (Redis clock), if one became ready, and the counts after. */
export interface WakeMessage {
    readyAt?: number;
    counts: OutboxCounts;
}

/**
 * The wake channel's text (`<ready at or -> <now> <queued> <bytes> <next ready or nothing> <first lease end or
 * nothing>`; a message of an earlier version ends before the lease end), or undefined.
 */
export function wakeMessageOf(text: string): WakeMessage | undefined {
    const [at, now, queued, bytes, nextReady = '', firstLeaseEnd = ''] = text.split(' ');
    if (at === undefined || now === undefined || queued === undefined || bytes === undefined) return undefined;
    const counts = countsOf(['', now, Number(queued), bytes, nextReady, firstLeaseEnd]);
    if (!Number.isFinite(counts.now) || !Number.isFinite(counts.queued)) return undefined;
    return { ...(at !== '-' ? { readyAt: Number(at) } : {}), counts };
}

type RawReply = [string, string, number, string, string, string, ...string[]];
/** Where a reply's own fields begin, after its kind and the counts. */
const FIELDS = 6;

function countsOf(raw: RawReply): OutboxCounts {
    const nextReadyAt = raw[4] === '' ? undefined : Number(raw[4]);
    const firstLeaseEndAt = raw[5] === '' || raw[5] === undefined ? undefined : Number(raw[5]);
    return {
        now: Number(raw[1]),
        queued: Number(raw[2]),
        queuedBytes: Number(raw[3]),
        ...(nextReadyAt !== undefined ? { nextReadyAt } : {}),
        ...(firstLeaseEndAt !== undefined ? { firstLeaseEndAt } : {}),
    };
}

/** A claim's outcome from `raw[at]` on ('claimed', lane, key, json | 'rate', slot | 'busy' | 'idle'); undefined for 'none'. */
function claimOf(raw: readonly unknown[], at: number, counts: OutboxCounts): ClaimReply | undefined {
    switch (raw[at]) {
        case 'claimed':
            return { kind: 'claimed', lane: String(raw[at + 1]), key: String(raw[at + 2]), json: String(raw[at + 3]), counts };
        case 'rate':
            return { kind: 'rate', slotAt: Number(raw[at + 1]), counts };
        case 'busy':
            return { kind: 'busy', counts };
        case 'idle':
            return { kind: 'idle', counts };
        default:
            return undefined;
    }
}

const claimArgs = (along: ClaimAlong | undefined): Array<string | number> =>
    along ? [along.token, Math.ceil(along.limits.leaseMs), along.limits.concurrency, along.limits.rateIntervalMs] : [''];

export class RedisOutbox {
    private readonly keys: string[];
    private readonly lanePrefix: string;
    private readonly channel: string;

    constructor(
        private readonly connection: RedisConnection,
        nodeId: string,
        /** A script not answered in this long fails; it may still run (its effect is then found by the next call). */
        private readonly replyTimeoutMs = DEFAULT_REPLY_TIMEOUT_MS,
    ) {
        const base = (name: string) => connection.key('outbox', `{${nodeId}}`, name);
        this.keys = ['entries', 'ready', 'leases', 'owners', 'rate', 'seq', 'bytes'].map(base);
        this.lanePrefix = base('lane:');
        this.channel = base('wake');
    }

    /** The pub/sub channel on which this node's scripts announce that a head is (or will be) ready. */
    get wakeChannel(): string {
        return this.channel;
    }

    /** Every key of this node's outbox but the lanes (`lane:<call id>`), for tests and operators. */
    get keyNames(): { all: readonly string[]; lanePattern: string } {
        return { all: this.keys, lanePattern: `${this.lanePrefix}*` };
    }

    /**
     * Stores a new entry at the end of its call's lane when the cluster's bounds allow it. `body` is the JSON of
     * the entry's own fields (call, payload, topic, idempotencyKey); the script puts format, attempts, seq and
     * queuedAt before them. With `along`, the same script then claims as claim() does (the new entry, when its call
     * had nothing queued and the cluster's limits allow), so the request leaves without a trip of its own.
     */
    async enqueue(lane: string, body: string, bounds: { maxQueued: number; maxQueuedBytes: number }, along?: ClaimAlong): Promise<EnqueueReply> {
        if (!body.startsWith('{"')) throw new TypeError('an outbox entry body is a JSON object with fields');
        const raw = await this.run(ENQUEUE, [lane, body.slice(1), bounds.maxQueued, bounds.maxQueuedBytes, ...claimArgs(along)]);
        const counts = countsOf(raw);
        if (raw[0] === 'full') return { kind: 'full', bound: raw[FIELDS] as OutboxBound, counts };
        const claim = claimOf(raw, FIELDS + 2, counts);
        return { kind: 'queued', key: raw[FIELDS]!, seq: Number(raw[FIELDS]), queuedAt: Number(raw[FIELDS + 1]), counts, ...(claim ? { claim } : {}) };
    }

    /** Takes back expired leases, then leases the earliest ready head to `token` if the cluster's limits allow. */
    async claim(token: string, limits: ClaimLimits): Promise<ClaimReply> {
        const raw = await this.run(CLAIM, [token, Math.ceil(limits.leaseMs), limits.concurrency, limits.rateIntervalMs]);
        const counts = countsOf(raw);
        // The reply is the claim's kind, the counts, then its fields: the claim read from the kind on.
        return claimOf([raw[0], ...raw.slice(FIELDS)], 0, counts) ?? { kind: 'idle', counts };
    }

    /**
     * Ends the caller's lease: `done` removes the entry (the lane's next job becomes ready), `retry` makes the lane
     * ready again after `delayMs`. `lost` when the lease is no longer the caller's: nothing was changed. With
     * `along`, the same script then claims as claim() does, so the next request leaves without a trip of its own.
     */
    async settle(token: string, lane: string, key: string, outcome: 'done' | 'retry', delayMs = 0, along?: ClaimAlong): Promise<SettleReply> {
        const raw = await this.run(SETTLE, [token, lane, key, outcome, Math.max(0, Math.round(delayMs)), ...claimArgs(along)]);
        const counts = countsOf(raw);
        const claim = claimOf(raw, FIELDS, counts);
        return { kind: raw[0] === 'settled' ? 'settled' : 'lost', counts, ...(claim ? { claim } : {}) };
    }

    /**
     * Releases the leases this caller holds on jobs it is not attempting: claims whose reply was lost when Redis
     * went away. Their calls are ready again at once, instead of waiting for the lease to run out.
     */
    async releaseOrphans(token: string, attempting: readonly string[]): Promise<number> {
        return this.run<number>(RELEASE_ORPHANS, [token, ...attempting]);
    }

    /** Extends the caller's lease; false when it is no longer the caller's. */
    async renew(token: string, lane: string, key: string, leaseMs: number): Promise<boolean> {
        return (await this.run<number>(RENEW, [token, lane, key, Math.ceil(leaseMs)])) === 1;
    }

    /** Makes a waiting head ready now; false when `key` is not the lane's head waiting for a retry. */
    async retryNow(lane: string, key: string): Promise<boolean> {
        return (await this.run<number>(RETRY_NOW, [lane, key])) === 1;
    }

    /**
     * What the outbox holds, read in one MULTI: every entry (at most the node's maxQueued), or with `limit` the
     * oldest `limit` of them only, so that a page of a backlog of thousands does not read every request (their keys
     * are read, small numbers, then those entries in a second trip).
     */
    async contents(limit?: number): Promise<OutboxContents> {
        const [entries, ready, , owners] = this.keys;
        const client = this.connection.client;
        const read = client.multi().time();
        if (limit === undefined) read.hgetall(entries!);
        else read.hkeys(entries!);
        const replies = await this.withReplyTimeout(read.zrange(ready!, 0, -1, 'WITHSCORES').hgetall(owners!).exec());
        const value = (index: number): unknown => {
            const [error, result] = replies?.[index] ?? [new Error('no reply'), undefined];
            if (error) throw storeErrorOf(error);
            return result;
        };
        const [seconds, micros] = value(0) as [string, string];
        let listed: Array<{ key: string; json: string }>;
        if (limit === undefined) {
            listed = Object.entries(value(1) as Record<string, string>).map(([key, json]) => ({ key, json }));
        } else {
            const keys = (value(1) as string[]).sort((a, b) => Number(a) - Number(b)).slice(0, limit);
            const jsons = keys.length > 0 ? await this.withReplyTimeout(client.hmget(entries!, ...keys)) : [];
            // An entry settled between the two trips is gone: it is left out, as it would be a moment later.
            listed = keys.flatMap((key, index) => (typeof jsons[index] === 'string' ? [{ key, json: jsons[index] }] : []));
        }
        const scores = value(2) as string[];
        const readyAt = new Map<string, number>();
        for (let index = 0; index < scores.length; index += 2) readyAt.set(scores[index]!, Number(scores[index + 1]));
        const leased = new Map<string, string>();
        for (const [lane, owner] of Object.entries(value(3) as Record<string, string>)) leased.set(lane, owner.slice(owner.indexOf(' ') + 1));
        return {
            entries: listed.sort((a, b) => Number(a.key) - Number(b.key)),
            readyAt,
            leased,
            now: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000),
        };
    }

    /** The given job keys whose entries have left the outbox. */
    async gone(keys: readonly string[]): Promise<string[]> {
        if (keys.length === 0) return [];
        return this.run<string[]>(GONE, [...keys]);
    }

    private async run<T = RawReply>(script: RedisScript, args: (string | number)[]): Promise<T> {
        return (await this.withReplyTimeout(script.run(this.connection.client, this.keys, [this.lanePrefix, OUTBOX_KEY_TTL_MS, ...args]))) as T;
    }

    private async withReplyTimeout<T>(reply: Promise<T>): Promise<T> {
        let timer: NodeJS.Timeout | undefined;
        // A connection that died without a reset leaves a command unanswered for as long as TCP takes to notice.
        const unanswered = new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.replyTimeoutMs} ms`)), this.replyTimeoutMs);
        });
        try {
            return await Promise.race([reply, unanswered]);
        } catch (error) {
            throw error instanceof StoreError ? error : storeErrorOf(error);
        } finally {
            clearTimeout(timer);
        }
    }
}

function storeErrorOf(error: unknown): StoreError {
    return new StoreError(`Redis did not take the outbox change: ${errorText(error)}`, { cause: error });
}
