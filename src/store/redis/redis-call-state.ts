import type {
    CallCommit,
    CallCounts,
    CallEviction,
    CallExpiry,
    CallStateStore,
    CommitOutcome,
    PendingBatch,
    StoredCall,
    StoredCalls,
} from '../../lifecycle/call-state-store';
import { errorText } from '../../errors/error-text';
import { StoreError } from '../durable-store';
import type { RedisConnection } from './redis-connection';
import { keyPartOf, textOfKeyPart } from './redis-key-part';
import { RedisScript } from './redis-script';

// Index entries whose call record Redis has expired are dropped this many at a time by a commit or a count: a commit
// stays short however many calls expired at once, and the tick's count catches up within seconds.
const SWEEP_LIMIT = 64;

// The indexes of the calls, KEYS[1] to KEYS[5] of every script that keeps them: finished and unfinished calls by last
// activity, recording deadlines, each call's stored bytes, and the total of those bytes.
const INDEXES = `
local FINISHED, UNFINISHED, DEADLINES, SIZES, BYTES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- Takes a call out of every index, its bytes out of the total.
local function unindex(member)
    redis.call('ZREM', FINISHED, member)
    redis.call('ZREM', UNFINISHED, member)
    redis.call('ZREM', DEADLINES, member)
    local size = redis.call('ZSCORE', SIZES, member)
    if size then
        redis.call('ZREM', SIZES, member)
        redis.call('DECRBY', BYTES, size)
    end
end

-- Drops the calls idle since before the cutoff whose record has expired (a record whose expiry moved, on a clock a
-- little off, stays until its key is really gone).
local function sweep(index, cutoff, prefix)
    local idle = redis.call('ZRANGEBYSCORE', index, '-inf', cutoff, 'LIMIT', 0, ${SWEEP_LIMIT})
    for _, member in ipairs(idle) do
        if redis.call('EXISTS', prefix .. member) == 0 then unindex(member) end
    end
end
`;

// The cluster's one clock: Redis's TIME, so instances whose clocks are off agree on every deadline, lease and expiry.
// \`clock(given)\` is a test's time when the caller passed one (a number), the server's otherwise ('').
const CLOCK = `
-- Redis 3.2 to 4 replicate a script that reads TIME only as its effects; 5 and later always do.
if redis.replicate_commands then redis.replicate_commands() end
local function clock(given)
    if given ~= '' then return tonumber(given) end
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// ARGV: none. The server's clock first, then each record's version and JSON.
const READ = new RedisScript(`${CLOCK}
local out = {string.format('%d', clock(''))}
for i, key in ipairs(KEYS) do
    local fields = redis.call('HMGET', key, 'v', 'r')
    out[2 * i] = fields[1]
    out[2 * i + 1] = fields[2]
end
return out
`);

const INDEX_KEYS = 5;
const WRITE_ARGS = 9;
// KEYS: the five indexes, pending, leases, then one record key per write.
// ARGV: writes, maxCalls (-1: none), maxBytes (-1: none), index TTL, record key prefix, finished cutoff, unfinished
// cutoff, batch id, pending JSON, lease end, clock tolerance ('' for none), the batch's now, acknowledged batches, then
// per write: member, kind, expected version, version, record JSON, expires at, processed (1/0), deadline ('' for
// none), last activity; then the acknowledged batch ids.
// Replies {1, server time, evictions...}, or {0, server time, then each record's version and JSON} when it did not
// commit: the caller runs the batch again on that, without reading.
const COMMIT = new RedisScript(`${INDEXES}${CLOCK}
local PENDING, LEASES = KEYS[6], KEYS[7]
local writes = tonumber(ARGV[1])
local maxCalls = tonumber(ARGV[2])
local maxBytes = tonumber(ARGV[3])
local indexTtl = ARGV[4]
local prefix = ARGV[5]
local FIRST, RECORDS = 13, 7
local serverNow = clock('')
-- Batches emitted since this instance's last trip: forgotten whatever becomes of the commit.
for i = 1, tonumber(ARGV[13]) do
    local id = ARGV[FIRST + writes * ${WRITE_ARGS} + i]
    redis.call('HDEL', PENDING, id)
    redis.call('ZREM', LEASES, id)
end
local function refused()
    local out = {0, string.format('%d', serverNow)}
    for i = 1, writes do
        local fields = redis.call('HMGET', KEYS[RECORDS + i], 'v', 'r')
        out[2 * i + 1] = fields[1]
        out[2 * i + 2] = fields[2]
    end
    return out
end
-- A batch run on the caller's estimate of this clock is refused when the estimate is off (its clock jumped).
if ARGV[11] ~= '' and math.abs(tonumber(ARGV[12]) - serverNow) > tonumber(ARGV[11]) then return refused() end
for i = 1, writes do
    local current = redis.call('HGET', KEYS[RECORDS + i], 'v') or ''
    if current ~= ARGV[FIRST + (i - 1) * ${WRITE_ARGS} + 3] then return refused() end
end
local written = {}
for i = 1, writes do
    local at = FIRST + (i - 1) * ${WRITE_ARGS}
    local key = KEYS[RECORDS + i]
    local member = ARGV[at + 1]
    local kind = ARGV[at + 2]
    written[member] = true
    if kind == 'put' then
        local json = ARGV[at + 5]
        redis.call('HSET', key, 'v', ARGV[at + 4], 'r', json)
        redis.call('PEXPIREAT', key, ARGV[at + 6])
        local into, from = UNFINISHED, FINISHED
        if ARGV[at + 7] == '1' then into, from = FINISHED, UNFINISHED end
        redis.call('ZREM', from, member)
        redis.call('ZADD', into, ARGV[at + 9], member)
        local size = tonumber(redis.call('ZSCORE', SIZES, member) or '0')
        redis.call('ZADD', SIZES, #json, member)
        redis.call('INCRBY', BYTES, #json - size)
        if ARGV[at + 8] ~= '' then redis.call('ZADD', DEADLINES, ARGV[at + 8], member) else redis.call('ZREM', DEADLINES, member) end
    elseif kind == 'delete' then
        redis.call('DEL', key)
        unindex(member)
    elseif ARGV[at + 8] ~= '' then
        redis.call('ZADD', DEADLINES, ARGV[at + 8], member)
    else
        redis.call('ZREM', DEADLINES, member)
    end
end
if ARGV[8] ~= '' then
    redis.call('HSET', PENDING, ARGV[8], ARGV[9])
    redis.call('ZADD', LEASES, ARGV[10], ARGV[8])
    redis.call('PEXPIRE', PENDING, indexTtl)
    redis.call('PEXPIRE', LEASES, indexTtl)
end
sweep(FINISHED, ARGV[6], prefix)
sweep(UNFINISHED, ARGV[7], prefix)

-- The least recently active call, finished ones first, passing over the calls this commit wrote.
local function oldest()
    for _, index in ipairs({FINISHED, UNFINISHED}) do
        local first = redis.call('ZRANGE', index, 0, 0)[1]
        if first and not written[first] then return first, index == FINISHED end
    end
    return nil
end
local out = {1, string.format('%d', serverNow)}
while true do
    local reason
    if maxCalls >= 0 and redis.call('ZCARD', FINISHED) + redis.call('ZCARD', UNFINISHED) > maxCalls then
        reason = 'calls'
    elseif maxBytes >= 0 and tonumber(redis.call('GET', BYTES) or '0') > maxBytes then
        reason = 'bytes'
    else
        break
    end
    local victim, processed = oldest()
    if not victim then break end
    unindex(victim)
    if redis.call('DEL', prefix .. victim) == 1 then
        out[#out + 1] = victim
        out[#out + 1] = processed and '1' or '0'
        out[#out + 1] = reason
    end
end
for i = 1, ${INDEX_KEYS} do redis.call('PEXPIRE', KEYS[i], indexTtl) end
return out
`);

// KEYS: pending, leases. ARGV: now ('' for the server's), lease ms, limit, then the batch ids the caller acknowledges.
// Replies the lease end, then id, payload...
const CLAIM_PENDING = new RedisScript(`${CLOCK}
for i = 4, #ARGV do
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
end
local now = clock(ARGV[1])
local leaseEnd = string.format('%d', now + tonumber(ARGV[2]))
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', now), 'LIMIT', 0, tonumber(ARGV[3]))
local out = {leaseEnd}
for _, id in ipairs(ids) do
    local payload = redis.call('HGET', KEYS[1], id)
    if payload then
        redis.call('ZADD', KEYS[2], leaseEnd, id)
        out[#out + 1] = id
        out[#out + 1] = payload
    else
        redis.call('ZREM', KEYS[2], id)
    end
end
return out
`);

// KEYS: pending, leases. ARGV: batch ids.
const ACKNOWLEDGE = new RedisScript(`
for _, id in ipairs(ARGV) do
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
end
return 1
`);

// KEYS: deadlines. ARGV: now ('' for the server's), lease ms, limit.
const CLAIM_DUE = new RedisScript(`${CLOCK}
local now = clock(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now), 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), member) end
return due
`);

// KEYS: the five indexes. ARGV: record key prefix, now ('' for the server's), finished idle ms, unfinished idle ms
// ('' for kept for ever).
const COUNT = new RedisScript(`${INDEXES}${CLOCK}
local now = clock(ARGV[2])
local function cutoff(idle) if idle == '' then return '-inf' end return string.format('%d', now - tonumber(idle)) end
sweep(FINISHED, cutoff(ARGV[3]), ARGV[1])
sweep(UNFINISHED, cutoff(ARGV[4]), ARGV[1])
local unfinished = redis.call('ZCARD', UNFINISHED)
return {redis.call('ZCARD', FINISHED) + unfinished, unfinished, tonumber(redis.call('GET', BYTES) or '0')}
`);

/** The scripts by name, so a test (or an operator reading MONITOR) can tell which one a call's EVALSHA ran. */
export const CALL_STATE_SCRIPTS: Readonly<Record<string, RedisScript>> = { READ, COMMIT, CLAIM_PENDING, ACKNOWLEDGE, CLAIM_DUE, COUNT };

/** Whatever a Redis command failed with, as the package's store failure (code `store`, reason `io`). */
function storeErrorOf(err: unknown): StoreError {
    if (err instanceof StoreError) return err;
    return new StoreError(`Redis: ${errorText(err)}`, { cause: err, reason: 'io' });
}

function stringOrNull(value: unknown): string | null {
    return value === null || value === undefined ? null : String(value);
}

function parsed(json: string | null): unknown {
    if (json === null) return undefined;
    try {
        return JSON.parse(json) as unknown;
    } catch {
        return json;
    }
}

export interface RedisCallStateOptions {
    /**
     * How long the indexes and the pending triggers outlive the last commit (ms): a safety net for a cluster that
     * stopped for good. Default: 7 days, longer than any call is kept.
     */
    indexTtlMs?: number;
}

export const DEFAULT_INDEX_TTL_MS = 7 * 24 * 60 * 60_000;

/**
 * The shared call state of one call event in node (one node id) on Redis, every key of it under the hash tag
 * `{<node id>}` so they share a slot (the door to Redis Cluster stays open):
 * - `<prefix>:calls:{<node>}:call:<call>`: a hash, `v` the version (a random token per commit, so a record
 *   expired and made again never matches an old read) and `r` the TrackedCall JSON; it expires at the call's
 *   last activity plus the retention (processed) or the stale limit (unprocessed);
 * - `:finished`, `:unfinished`: sorted sets of calls by last activity, for the bounds and the counts;
 * - `:sizes` (a sorted set of each call's stored bytes) and `:bytes` (their total), for the maxBytes bound;
 * - `:deadlines`: a sorted set of calls by recording deadline (or by the end of a claim on it);
 * - `:pending`, `:leases`: triggers committed and not yet acknowledged, by batch, and each batch's lease end.
 * Every write is one Lua script, so a failure (Redis gone mid-way) leaves all of it or none of it. Every time in these
 * keys (last activity, expiry, deadline, lease end) is on Redis's clock (TIME, read by the scripts): an instance whose
 * own clock is minutes off still fires a recording wait when it ends and takes over only leases that have ended.
 */
export class RedisCallState implements CallStateStore {
    private readonly base: string;
    private readonly recordPrefix: string;
    private readonly indexTtlMs: number;

    constructor(
        private readonly connection: RedisConnection,
        nodeId: string,
        options: RedisCallStateOptions = {},
    ) {
        this.base = connection.key('calls', `{${nodeId}}`);
        this.recordPrefix = `${this.base}:call:`;
        this.indexTtlMs = options.indexTtlMs ?? DEFAULT_INDEX_TTL_MS;
    }

    /** The keys of the indexes, in the order the scripts take them (KEYS[1] to KEYS[5]). */
    private get indexes(): string[] {
        return ['finished', 'unfinished', 'deadlines', 'sizes', 'bytes'].map((name) => `${this.base}:${name}`);
    }

    private get pendingKeys(): [pending: string, leases: string] {
        return [`${this.base}:pending`, `${this.base}:leases`];
    }

    recordKey(callId: string): string {
        return this.recordPrefix + keyPartOf(callId);
    }

    async read(callIds: readonly string[]): Promise<StoredCalls> {
        const reply = (await this.run(
            READ,
            callIds.map((callId) => this.recordKey(callId)),
            [],
        )) as Array<string | null>;
        const calls = new Map<string, StoredCall>();
        callIds.forEach((callId, index) => {
            const version = reply[2 * index + 1];
            if (version !== null && version !== undefined) calls.set(callId, { version, record: parsed(reply[2 * index + 2] ?? null) });
        });
        return { now: Number(reply[0]), calls };
    }

    async commit(commit: CallCommit): Promise<CommitOutcome> {
        const keys = [...this.indexes, ...this.pendingKeys];
        const bound = (limit: number): number => (Number.isFinite(limit) ? limit : -1);
        const args: Array<string | number> = [
            commit.writes.length,
            bound(commit.maxCalls),
            bound(commit.maxBytes),
            this.indexTtlMs,
            this.recordPrefix,
            ...this.cutoffs(commit.now, commit.expiry),
            commit.pending?.batchId ?? '',
            commit.pending ? JSON.stringify({ instanceId: commit.pending.instanceId, triggers: commit.pending.triggers }) : '',
            commit.pending?.leaseUntil ?? 0,
            commit.clockToleranceMs ?? '',
            commit.now,
            commit.acknowledged?.length ?? 0,
        ];
        for (const write of commit.writes) {
            keys.push(this.recordKey(write.callId));
            const put = write.kind === 'put' ? write : undefined;
            const deadline = put ? put.record.recordingDeadline : write.kind === 'keep' ? write.deadline : undefined;
            args.push(
                keyPartOf(write.callId),
                write.kind,
                write.expected ?? '',
                put?.version ?? '',
                put ? JSON.stringify(put.record) : '',
                put?.expiresAt ?? 0,
                put?.record.processed ? '1' : '0',
                deadline ?? '',
                put?.record.lastActivity ?? 0,
            );
        }
        args.push(...(commit.acknowledged ?? []));
        const reply = (await this.run(COMMIT, keys, args)) as Array<number | string | null>;
        if (reply[0] !== 1) {
            const calls = new Map<string, StoredCall>();
            commit.writes.forEach((write, index) => {
                const version = reply[2 * index + 2];
                if (version !== null && version !== undefined)
                    calls.set(write.callId, { version: String(version), record: parsed(stringOrNull(reply[2 * index + 3])) });
            });
            return { committed: false, current: { now: Number(reply[1]), calls } };
        }
        // A commit is what lets call event in answer 202, so it waits for minReplicas here. When they do not confirm
        // it, the commit stays on the primary with its triggers pending (another tick sends them after the lease if it
        // survives), and the 503 has the platform send the events again (duplicates, if it survived).
        await this.connection.acknowledged(keys[0]!);
        const evicted: CallEviction[] = [];
        for (let index = 2; index + 2 < reply.length; index += 3) {
            evicted.push({
                callId: textOfKeyPart(String(reply[index])),
                processed: reply[index + 1] === '1',
                reason: reply[index + 2] === 'bytes' ? 'bytes' : 'calls',
            });
        }
        return { committed: true, evicted, now: Number(reply[1]) };
    }

    async acknowledge(batchIds: readonly string[]): Promise<void> {
        if (batchIds.length === 0) return;
        const [pending, leases] = this.pendingKeys;
        await this.run(ACKNOWLEDGE, [pending, leases], batchIds);
    }

    async claimPending(leaseMs: number, limit: number, now?: number, acknowledged: readonly string[] = []): Promise<PendingBatch[]> {
        const [pending, leases] = this.pendingKeys;
        const reply = (await this.run(CLAIM_PENDING, [pending, leases], [now ?? '', Math.ceil(leaseMs), limit, ...acknowledged])) as string[];
        const leaseUntil = Number(reply[0]);
        const batches: PendingBatch[] = [];
        for (let index = 1; index + 1 < reply.length; index += 2) {
            const payload = parsed(reply[index + 1]) as { instanceId?: unknown; triggers?: unknown };
            // A payload this code did not write is dropped rather than emitted half-formed.
            if (!Array.isArray(payload?.triggers)) continue;
            batches.push({ batchId: reply[index], instanceId: String(payload.instanceId), leaseUntil, triggers: payload.triggers });
        }
        return batches;
    }

    async claimDue(leaseMs: number, limit: number, now?: number): Promise<string[]> {
        const reply = (await this.run(CLAIM_DUE, [this.indexes[2]], [now ?? '', Math.ceil(leaseMs), limit])) as string[];
        return reply.map(textOfKeyPart);
    }

    async count(expiry: CallExpiry, now?: number): Promise<CallCounts> {
        const idle = (ms: number): string => (Number.isFinite(ms) ? String(ms) : '');
        const args = [this.recordPrefix, now ?? '', idle(expiry.finishedMs), idle(expiry.unfinishedMs)];
        const [calls, open, bytes] = (await this.run(COUNT, this.indexes, args)) as number[];
        return { calls, unfinished: open, bytes };
    }

    /** The activity scores before which a call has expired; a call kept for ever has none. */
    private cutoffs(now: number, expiry: CallExpiry): [string, string] {
        const cutoff = (idleMs: number): string => (Number.isFinite(idleMs) ? String(now - idleMs) : '-inf');
        return [cutoff(expiry.finishedMs), cutoff(expiry.unfinishedMs)];
    }

    private async run(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
        try {
            return await script.run(this.connection.client, keys, args);
        } catch (err) {
            throw storeErrorOf(err);
        }
    }
}
