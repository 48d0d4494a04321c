import { CodedError } from '../errors/coded-error';

/**
 * A keyed collection of JSON-serialisable records that survives a crash: the outbox of "web service out" (requests
 * not yet delivered) and the per-call tracking state of "call event in" are both kept in one.
 *
 * The contract is deliberately small so that a store on a distributed engine is an obvious second implementation.
 * A Redis-backed store (the planned way to run several Node-RED instances) maps one to one:
 * - one Redis hash per store (e.g. `ccaas:outbox:<node id>`) for the values, plus a sorted set beside it that keeps
 *   the first-put order `load` promises; `put` is MULTI HSET + ZADD NX (score from INCR), `delete` is MULTI HDEL +
 *   ZREM, `load` is ZRANGE then HMGET in pages (JSON.parse of each value), `close` waits for pending replies and
 *   quits the connection;
 * - "durable on resolve" means the reply came back from a server running `appendfsync always` (Redis batches the
 *   fsync of one event-loop turn itself, which is the group commit the file store does by hand), optionally
 *   followed by WAIT for replicas;
 * - `recovery` reports the number of entries found and never a dropped tail: Redis repairs its own AOF on start;
 * - what Redis adds and the file store does not need: a lease (SET NX PX per store) so two Node-RED instances do not
 *   resume the same pending request.
 */
export interface DurableStore<V> {
    /** What opening the store found; a node shows `recovery.summary` when something was dropped. */
    readonly recovery: RecoveryReport;

    /**
     * Every live record, in the order its key was first put (putting an existing key again keeps its place; a key
     * deleted and put again goes to the end), so a queue resumed from it keeps trigger order. Values are fresh
     * copies parsed from the stored JSON: the caller validates their shape. Meant for start-up; later it also shows
     * puts and deletes whose promise has not resolved yet.
     */
    load(): Promise<Map<string, V>>;

    /**
     * Resolves once the record is on disk (or on the replicas): a crash after that cannot lose it. The value is
     * encoded before put returns, so the caller may change its object afterwards without a copy of its own.
     * `json`, when the caller made it already, is `JSON.stringify(value)`, so the value is not serialised twice.
     */
    put(key: string, value: V, json?: string): Promise<void>;

    /**
     * Resolves once the removal is durable; deleting a key that is not there resolves at once. `lazy`: the removal
     * is applied to memory now and written with the store's next flush (or within a fraction of a second): for a
     * record whose survival of a crash only repeats work already done (a delivered request is sent again, under its
     * key), so it need not cost a flush of its own.
     */
    delete(key: string, options?: { lazy?: boolean }): Promise<void>;

    /** Waits for every accepted put/delete to become durable, then releases the store. */
    close(): Promise<void>;

    /**
     * A store that can lose its disk and get it back (the file store) says so here: the write failure in force
     * (StoreError, reason `io`), undefined while writes work. While it is set, put and delete still apply to memory
     * but reject with it: not durable yet. The store repairs itself (it writes what memory holds anew) and clears
     * it; a put that resolves after that means everything put before it is durable too, the rejected ones included.
     */
    readonly failure?: StoreError;

    /** Hears of `failure` being set or cleared (not of every write failing meanwhile); returns how to stop listening. */
    onFailureChange?(listener: () => void): () => void;
}

export interface RecoveryReport {
    /** Live entries after replaying what was intact. */
    readonly entries: number;
    /** Records (puts and deletes) replayed to get there. */
    readonly records: number;
    /** What was cut off at the first torn or corrupt record; absent when everything was intact. */
    readonly dropped?: DroppedTail;
    /** A compaction interrupted by a crash left its half-written file; it was deleted (the old log was intact). */
    readonly discardedCompaction: boolean;
    /** One line for node.warn/status, e.g. "recovered 41 entries, dropped 1 torn record at byte 8123". */
    readonly summary: string;
}

export interface DroppedTail {
    /** Byte offset in the log where the first bad record starts; the log was truncated to this length. */
    readonly offset: number;
    /** Bytes removed from the end of the log. */
    readonly bytes: number;
    /**
     * Records lost: the bad one plus every intact-looking record after it (which cannot be trusted to follow a
     * consistent history, so it is not applied). An unreadable remainder counts as one.
     */
    readonly records: number;
    /**
     * `torn`: nothing intact follows the bad record, the signature of a crash during the last write.
     * `corrupt`: intact records follow it: damage from elsewhere (disk, a foreign write), or a power cut that
     * persisted the pages of one multi-page write out of order.
     */
    readonly kind: 'torn' | 'corrupt';
    /**
     * Where the removed bytes were kept for inspection; only for `corrupt`, since a torn tail (one write cut short)
     * holds nothing that was acknowledged.
     */
    readonly savedTo?: string;
}

/**
 * The store cannot be used: the directory holds something that is not a store log, the same log is already open,
 * or a write or flush failed. After a failed flush the store acknowledges nothing more until it has repaired itself
 * (see DurableStore.failure): the kernel may have dropped the unwritten pages, so a retried append could acknowledge
 * data that is not on disk; the repair writes a new log from memory instead.
 */
export class StoreError extends CodedError {
    /** What went wrong, for code that decides what to do next (retry an open, fall back to memory) without reading English. */
    readonly reason: StoreErrorReason;

    // The reason is an option (default `io`, the one failure that latches) so the message stays the first argument.
    constructor(message: string, options?: { cause?: unknown; reason?: StoreErrorReason }) {
        super('store', message, options?.cause === undefined ? undefined : { cause: options.cause });
        this.name = 'StoreError';
        this.reason = options?.reason ?? 'io';
    }
}

/**
 * `already-open`: another store of this process holds the log; `closed`: the store was closed; `io`: a write or
 * flush failed, or a record no longer reads back from the log (the store acknowledges nothing more until it has
 * repaired itself); `format`: the file is not a store log;
 * `too-large`: one record exceeds what the log can hold (only that put is refused).
 */
export type StoreErrorReason = 'already-open' | 'closed' | 'io' | 'format' | 'too-large';
