import type { DeadLetterBox } from '../../delivery/dead-letter-box';
import { isDeadLetter, MAX_TRIES_KEPT, type AttemptRecord, type DeadLetter, type DeadLetterBounds } from '../../delivery/dead-letters';
import { errorText } from '../../errors/error-text';
import { StoreError } from '../durable-store';
import type { RedisConnection } from './redis-connection';
import { RedisScript } from './redis-script';

/**
 * How long the dead-letter keys of a node live after their last write: the longest age a dead letter may be kept
 * (MAX_DEAD_LETTER_DAYS), a safety net for a node no instance runs any more.
 */
export const DEAD_LETTER_KEY_TTL_MS = 30 * 24 * 3_600_000;
const REPLY_TIMEOUT_MS = 10_000;

// KEYS: entries (hash key -> JSON), order (sorted set key by failure time), bytes (string), tries (hash key -> JSON
// array of the attempts made so far, written by whichever instance made them).
const PRELUDE = `
local entries, order, bytes, tries = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop(key)
    local size = redis.call('HSTRLEN', entries, key)
    redis.call('HDEL', entries, key)
    redis.call('ZREM', order, key)
    if redis.call('HLEN', entries) == 0 then redis.call('DEL', bytes) else redis.call('DECRBY', bytes, size) end
end
`;

// ARGV: key, failedAt, JSON, maxCount, maxAgeMs, maxBytes, ttl. Replies with how many older letters were dropped.
const ADD = new RedisScript(`${PRELUDE}
local key, failedAt, json = ARGV[1], ARGV[2], ARGV[3]
local maxCount, maxAge, maxBytes, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
if redis.call('HEXISTS', entries, key) == 1 then drop(key) end
redis.call('HSET', entries, key, json)
redis.call('ZADD', order, failedAt, key)
redis.call('INCRBY', bytes, #json)
redis.call('HDEL', tries, key)
local dropped = 0
while true do
    local oldest = redis.call('ZRANGE', order, 0, 0, 'WITHSCORES')
    if #oldest == 0 then break end
    local over = redis.call('ZCARD', order) > maxCount or tonumber(redis.call('GET', bytes) or '0') > maxBytes
    if not over and tonumber(oldest[2]) >= now - maxAge then break end
    drop(oldest[1])
    dropped = dropped + 1
end
for _, name in ipairs({entries, order, bytes}) do
    if redis.call('EXISTS', name) == 1 then redis.call('PEXPIRE', name, ttl) end
end
return dropped
`);

// ARGV: keys to remove. Replies with how many were there.
const REMOVE = new RedisScript(`${PRELUDE}
local removed = 0
for index = 1, #ARGV do
    if redis.call('HEXISTS', entries, ARGV[index]) == 1 then
        drop(ARGV[index])
        removed = removed + 1
    end
end
return removed
`);

// ARGV: key, attempt JSON, most kept, ttl.
const NOTE_TRY = new RedisScript(`${PRELUDE}
local key, record, most, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local list = {}
local old = redis.call('HGET', tries, key)
if old then list = cjson.decode(old) end
table.insert(list, cjson.decode(record))
while #list > most do table.remove(list, 1) end
redis.call('HSET', tries, key, cjson.encode(list))
redis.call('PEXPIRE', tries, ttl)
return #list
`);

/** A node's dead letters in Redis, shared by every instance that runs it (keys `<prefix>:dead-letters:{<node id>}:*`). */
export class RedisDeadLetters implements DeadLetterBox {
    private readonly keys: string[];

    constructor(
        private readonly connection: RedisConnection,
        nodeId: string,
        private readonly bounds: DeadLetterBounds,
    ) {
        this.keys = ['entries', 'order', 'bytes', 'tries'].map((name) => connection.key('dead-letters', `{${nodeId}}`, name));
    }

    async add(letter: DeadLetter): Promise<{ dropped: number }> {
        const { maxCount, maxAgeMs, maxBytes } = this.bounds;
        const json = JSON.stringify(letter);
        const dropped = await this.run<number>(ADD, [
            letter.request.idempotencyKey,
            letter.failedAt,
            json,
            maxCount,
            maxAgeMs,
            maxBytes,
            DEAD_LETTER_KEY_TTL_MS,
        ]);
        return { dropped: Number(dropped) };
    }

    async list(): Promise<DeadLetter[]> {
        const [keys, values] = await this.command(async (client) => {
            const order = await client.zrange(this.keys[1]!, 0, -1);
            return [order, order.length ? await client.hmget(this.keys[0]!, ...order) : []] as const;
        });
        const letters: DeadLetter[] = [];
        keys.forEach((_key, index) => {
            const letter = parsed(values[index]);
            if (letter) letters.push(letter);
        });
        // Letters that failed within one millisecond tie in the sorted set, which then orders them by key (a hash):
        // they are listed in the order their requests were accepted instead, as the file store lists them.
        return letters.sort((a, b) => a.failedAt - b.failedAt || a.request.queuedAt - b.request.queuedAt || a.request.seq - b.request.seq);
    }

    async count(): Promise<number> {
        return this.command((client) => client.zcard(this.keys[1]!));
    }

    async get(key: string): Promise<DeadLetter | undefined> {
        return parsed(await this.command((client) => client.hget(this.keys[0]!, key)));
    }

    async remove(keys: readonly string[]): Promise<number> {
        if (keys.length === 0) return 0;
        return Number(await this.run<number>(REMOVE, [...keys]));
    }

    async noteTry(key: string, record: AttemptRecord): Promise<void> {
        await this.run(NOTE_TRY, [key, JSON.stringify(record), MAX_TRIES_KEPT, DEAD_LETTER_KEY_TTL_MS]);
    }

    async triesOf(key: string): Promise<AttemptRecord[]> {
        return triesFrom(await this.command((client) => client.hget(this.keys[3]!, key)));
    }

    async triesOfEach(keys: readonly string[]): Promise<Map<string, AttemptRecord[]>> {
        const found = new Map<string, AttemptRecord[]>();
        if (keys.length === 0) return found;
        const values = await this.command((client) => client.hmget(this.keys[3]!, ...keys));
        keys.forEach((key, index) => {
            const tries = triesFrom(values[index]);
            if (tries.length) found.set(key, tries);
        });
        return found;
    }

    async forgetTries(key: string): Promise<void> {
        await this.command((client) => client.hdel(this.keys[3]!, key));
    }

    /** The connection belongs to the ccaas-redis node: nothing of this box's own to close. */
    async close(): Promise<void> {}

    private run<T>(script: RedisScript, args: (string | number)[]): Promise<T> {
        return this.command((client) => script.run(client, this.keys, args) as Promise<T>);
    }

    private async command<T>(work: (client: RedisConnection['client']) => Promise<T>): Promise<T> {
        let timer: NodeJS.Timeout | undefined;
        const unanswered = new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
        });
        try {
            return await Promise.race([work(this.connection.client), unanswered]);
        } catch (error) {
            throw new StoreError(`Redis did not take the dead-letter change: ${errorText(error)}`, { cause: error });
        } finally {
            clearTimeout(timer);
        }
    }
}

function triesFrom(json: string | null | undefined): AttemptRecord[] {
    if (!json) return [];
    try {
        const list = JSON.parse(json) as unknown;
        return Array.isArray(list) ? (list as AttemptRecord[]) : [];
    } catch {
        return [];
    }
}

function parsed(json: string | null | undefined): DeadLetter | undefined {
    if (!json) return undefined;
    try {
        const value = JSON.parse(json) as unknown;
        return isDeadLetter(value) ? value : undefined;
    } catch {
        return undefined;
    }
}
