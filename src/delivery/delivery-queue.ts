import { CodedError, InputError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { StoreError, type DurableStore } from '../store/durable-store';
import { MAX_VALUE_BYTES } from '../store/log-format';
import {
    ATTEMPT_NOTE_FORMAT,
    ATTEMPTS_SUFFIX,
    encodedEntry,
    entryBytes,
    isAttemptNote,
    migratedEntry,
    OUTBOX_FORMAT,
    withNote,
    type AttemptNote,
    type OutboxEntry,
    type OutboxRecord,
} from './outbox';
import type { NewRequest, OutboxQueue } from './outbox-queue';
import { jittered } from './retry-schedule';
import { RetryTimetable } from './retry-timetable';
import type { Verdict } from './retry-policy';
import { MAX_TRIES_KEPT } from './dead-letters';

export const DEFAULT_CONCURRENCY = 16;
/**
 * Requests one node keeps queued at most. A backlog this long at the default concurrency drains in minutes once the
 * receiver is back, and its outbox is read in well under a second on start.
 */
export const DEFAULT_MAX_QUEUED = 10_000;
export const MIB = 1024 * 1024;
/** Bytes of outbox entries one node keeps at most: 10,000 requests of about 6 KiB, far above a typical call. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * MIB;
/** The largest value each delivery setting of web service out takes (the editor reads them from the runtime). */
export const DELIVERY_SETTING_MAXIMA = { concurrency: 1000, maxQueued: 10_000_000, maxQueuedSize: 1024 * 1024 } as const;

export type QueueBound = 'maxQueued' | 'maxQueuedSize';

/** A new request refused because the queue holds as much as it may; nothing already queued was dropped for it. */
export class QueueFullError extends CodedError {
    constructor(
        readonly bound: QueueBound,
        readonly queued: number,
        readonly queuedBytes: number,
        message: string,
    ) {
        super('queue-full', message);
        this.name = 'QueueFullError';
    }
}

/** Sizes as a user reads them next to a bound set in MiB. */
export function formatBytes(bytes: number): string {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < MIB) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / MIB).toFixed(2)} MiB`;
}

/**
 * What both queues (file and Redis) check before taking a request: its outbox JSON and size when one record may hold
 * it, otherwise an InputError naming msg.call and msg.payload (not JSON, or too large). `encode` gives the JSON and
 * the bytes the stored record will take.
 */
export function keepableEntry(encode: () => { json: string; bytes: number }, maxEntryBytes: number): { json: string; bytes: number } {
    let encoded: { json: string; bytes: number };
    try {
        encoded = encode();
    } catch (error) {
        throw new InputError(`msg.call or msg.payload cannot be kept in the outbox: ${errorText(error)}`);
    }
    if (encoded.bytes > maxEntryBytes) {
        throw new InputError(
            `the message is too large to keep in the outbox: msg.call and msg.payload take ${formatBytes(encoded.bytes)} (${encoded.bytes} bytes), one request may take at most ${formatBytes(maxEntryBytes)} (${maxEntryBytes} bytes)`,
        );
    }
    return encoded;
}

/** A generous size of one attempt in a note (`{"at":1767225600000,"code":"server-5xx","status":503},` is 54). */
export const NOTE_TRY_BYTES = 80;
const NOTE_OVERHEAD_BYTES = 40;

/** The most an attempt note takes when a request may be retried `retries` times: its latest MAX_TRIES_KEPT tries. */
export function noteReserveOf(retries: number): number {
    return retries > 0 ? NOTE_OVERHEAD_BYTES + NOTE_TRY_BYTES * Math.min(retries, MAX_TRIES_KEPT) : 0;
}

function noteBytesOf(note: AttemptNote): number {
    return Buffer.byteLength(JSON.stringify(note), 'utf8');
}

/** One request of the queue: its outbox entry under its store key. */
export interface Job {
    readonly key: string;
    readonly entry: OutboxEntry;
    /** Resolves once the entry is durable; a job is never attempted before. */
    readonly recorded: Promise<void>;
    /** What the entry takes in the outbox (entryBytes), counted in the queue's byte total while it is queued. */
    readonly bytes: number;
    /** What its attempt note takes in the outbox, once a retry wrote one; counted in the byte total as well. */
    noteBytes?: number;
}

export interface AttemptOutcome<R> {
    verdict: Verdict;
    /** Whatever the caller needs to report the attempt (the exchange result, for the node). */
    result: R;
}

export interface DeliveryQueueOptions<R> {
    /** Waits before the 2nd, 3rd, ... attempt (ms); one attempt more than there are waits. */
    schedule: number[];
    /** Attempts in flight at once, over all calls. */
    concurrency?: number;
    /** Attempts started per second at most; undefined: no limit. */
    ratePerSecond?: number;
    /** Requests queued at most (in flight and waiting included); a new one beyond is refused. Default 10,000. */
    maxQueued?: number;
    /** Bytes of queued entries at most; a new one that would go beyond is refused. Default 64 MiB. */
    maxQueuedBytes?: number;
    /** One entry at most: beyond, the store could not keep it, so it is refused as bad input. */
    maxEntryBytes?: number;
    /** Makes one attempt; must not reject. */
    attempt(job: Job): Promise<AttemptOutcome<R>>;
    /** The job is done: delivered, or failed for good (a final answer, or the last attempt failed). */
    onSettled(job: Job, outcome: AttemptOutcome<R>, delivered: boolean): void;
    /**
     * Keeps a job that failed for good somewhere else (the dead letters) before it leaves the outbox: its removal
     * is written only once this resolves, so a crash in between sends it once more instead of losing it. When it
     * rejects, the entry stays in the outbox (`onStoreError` hears of it) and the next start attempts it again.
     */
    keep?(job: Job, outcome: AttemptOutcome<R>): Promise<void>;
    /** An attempt failed and the job waits `delayMs` for the next one. */
    onRetry?(job: Job, outcome: AttemptOutcome<R>, delayMs: number): void;
    /** Something the status shows changed. */
    onChange?(): void;
    /**
     * The outbox could not record a change that is not a matter of its disk (a note it cannot encode, say); the
     * disk failing is told once, by onStoreHealth.
     */
    onStoreError?(error: unknown): void;
    /**
     * The outbox's disk stopped taking writes (`failure`), or took them again (undefined): while it does not, new
     * requests are refused with a `store` error (see enqueue).
     */
    onStoreHealth?(failure: StoreError | undefined): void;
    now?: () => number;
    random?: () => number;
}

export interface QueueSnapshot {
    /** Jobs not settled yet, in flight included. */
    queued: number;
    /** Bytes of their outbox entries. */
    queuedBytes: number;
    /**
     * A new request would be refused: a bound is reached, or the last request was refused for its size and nothing
     * has left the queue since.
     */
    full: boolean;
    inFlight: number;
    /** The earliest retry any call waits for (ms since 1970, this process's clock); undefined when none waits. */
    nextRetryAt?: number;
}

/** A queued job as the deliveries list shows it. */
export interface QueuedJob {
    entry: OutboxEntry;
    inFlight: boolean;
    /**
     * Waiting for its next attempt: when it is due (ms since 1970, this process's clock: the shared outbox converts
     * Redis's time by the difference between the clocks seen in the same reply, so `nextAttemptAt - Date.now()` is
     * the wait on any instance). `entry.queuedAt` is on the queue's clock (`OutboxQueue.now`).
     */
    nextAttemptAt?: number;
}

/** The requests of one call: only the head is ever attempted, so a later trigger never overtakes an earlier one. */
interface Lane {
    readonly id: string;
    readonly jobs: Job[];
    /** ready: queued for a slot; running: head in flight; waiting: head waits for its retry. */
    state: 'ready' | 'running' | 'waiting';
    retryAt?: number;
    /** The lane's entry in the retry timetable while it waits. */
    waitToken?: number;
}

function laneOf(call: Record<string, unknown>): string {
    return String(call.callId);
}

/**
 * The outbox-backed delivery queue of one node: head-of-line per call, calls independent of each other, a
 * concurrency limit and an optional rate limit over all of them, and retries on the schedule. Every job is in the
 * store before its first attempt and leaves it when it settles, so after a crash `open` resumes exactly the jobs
 * that had not settled; a job in flight at the crash is attempted again (at-least-once), under the same key.
 */
export class DeliveryQueue<R> implements OutboxQueue {
    readonly shared = false;
    private readonly lanes = new Map<string, Lane>();
    /** Lanes whose head may start, in the order they became ready. */
    private ready: Lane[] = [];
    private readyHead = 0;
    /** Attempts started and not yet settled (their outcome recorded); close waits until none is left. */
    private inFlight = 0;
    private idleWaiters: Array<() => void> = [];
    /**
     * Lanes waiting out a backoff because the receiver could not be reached. The first request it answers says it is
     * back: these are woken then, so a backlog built while it was down drains at once instead of over the schedule.
     * A Retry-After, or a failure the receiver itself answered (5xx), is waited out as scheduled.
     */
    private readonly unreachableWaits = new Set<Lane>();
    private readonly retries: RetryTimetable<Lane>;
    private running = 0;
    private queued = 0;
    private queuedBytes = 0;
    /** The last enqueue was refused by a bound; cleared when a job settles or a request is accepted. */
    private refused = false;
    private nextSeq: number;
    private nextSlotAt = 0;
    private slotTimer: NodeJS.Timeout | undefined;
    private closing: Promise<number> | undefined;
    private readonly stopWatchingStore: (() => void) | undefined;
    private readonly concurrency: number;
    private readonly maxQueued: number;
    private readonly maxQueuedBytes: number;
    private readonly maxEntryBytes: number;
    /** The most the attempt note of one request takes with this schedule (none without retries). */
    private readonly noteReserve: number;
    private readonly clock: () => number;
    private readonly random: () => number;

    private constructor(
        private readonly store: DurableStore<OutboxRecord>,
        private readonly options: DeliveryQueueOptions<R>,
        nextSeq: number,
    ) {
        this.nextSeq = nextSeq;
        this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
        this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
        this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
        this.maxEntryBytes = Math.min(options.maxEntryBytes ?? MAX_VALUE_BYTES, MAX_VALUE_BYTES);
        this.noteReserve = noteReserveOf(options.schedule.length);
        this.clock = options.now ?? Date.now;
        this.random = options.random ?? Math.random;
        this.retries = new RetryTimetable<Lane>(
            this.clock,
            (lane) => lane.waitToken,
            (due) => this.retryDue(due),
        );
        this.stopWatchingStore = store.onFailureChange?.(() => options.onStoreHealth?.(store.failure));
    }

    /** The outbox's write failure in force: new requests are refused until the store has repaired itself. */
    get writeFailure(): StoreError | undefined {
        return this.store.failure;
    }

    /**
     * Starts a queue on an opened store, resuming what it holds in the order it was accepted. A resumed request is
     * attempted at once, not at the end of the wait it was in: a restart or redeploy is usually someone fixing
     * something (the receiver, the node's settings), and its attempt count goes on, so it still gives up in time.
     * Returns the queue and how many stored values could not be read as entries (they are removed). Every stored
     * entry is resumed even beyond the bounds (they may have been lowered since): new requests wait until it drains.
     */
    static async open<R>(store: DurableStore<OutboxRecord>, options: DeliveryQueueOptions<R>): Promise<{ queue: DeliveryQueue<R>; unreadable: number }> {
        const stored = await store.load();
        let nextSeq = 0;
        let unreadable = 0;
        const drop = (key: string) => void store.delete(key).catch((error: unknown) => options.onStoreError?.(error));
        const notes = new Map<string, { note: AttemptNote; bytes: number }>();
        for (const [key, storedValue] of stored) {
            if (key.endsWith(ATTEMPTS_SUFFIX) && isAttemptNote(storedValue))
                notes.set(key.slice(0, -ATTEMPTS_SUFFIX.length), { note: storedValue, bytes: noteBytesOf(storedValue) });
        }
        const resumed: Job[] = [];
        for (const [key, storedValue] of stored) {
            if (key.endsWith(ATTEMPTS_SUFFIX)) {
                const entryKey = key.slice(0, -ATTEMPTS_SUFFIX.length);
                if (!notes.has(entryKey)) unreadable += 1;
                // A note outlives its entry only by a crash between their removals: nothing is left to note.
                if (!notes.has(entryKey) || !stored.has(entryKey)) drop(key);
                continue;
            }
            const value = migratedEntry(storedValue);
            if (!value) {
                unreadable += 1;
                drop(key);
                if (notes.has(key)) drop(key + ATTEMPTS_SUFFIX);
                continue;
            }
            nextSeq = Math.max(nextSeq, value.seq + 1);
            const noted = notes.get(key);
            // Counted as stored: a migrated entry of 0.1.0 takes its old size until its next write.
            resumed.push({
                key,
                entry: withNote(value, noted?.note),
                recorded: Promise.resolve(),
                bytes: entryBytes(storedValue as OutboxEntry),
                ...(noted ? { noteBytes: noted.bytes } : {}),
            });
        }
        const queue = new DeliveryQueue<R>(store, options, nextSeq);
        for (const job of resumed) queue.add(job);
        queue.pump();
        return { queue, unreadable };
    }

    /**
     * Accepts a request: it is written to the outbox at once and attempted meanwhile, its outcome settled once that
     * write has ended. Refuses it, and changes nothing, when the outbox's disk refuses writes (StoreError, code
     * `store`), its entry cannot be kept (InputError: not JSON, or larger than one store record) or the queue is full
     * (QueueFullError). A request accepted just before the disk failed stays queued and is delivered: the store keeps
     * its entry in memory and writes it with its repair, under the same key.
     */
    enqueue(input: NewRequest, register?: (job: Job) => void): Job {
        if (this.closing) throw new Error('the delivery queue is closed');
        const failure = this.store.failure;
        if (failure) {
            throw new StoreError(`the outbox cannot record requests (${failure.message}): the request is refused, not queued`, { cause: failure });
        }
        const entry: OutboxEntry = { ...input, format: OUTBOX_FORMAT, attempts: 0, queuedAt: this.clock(), seq: this.nextSeq };
        const { bytes, json } = this.admit(entry);
        const seq = this.nextSeq++;
        const key = String(seq);
        let recorded: Promise<void>;
        try {
            // The store encodes the entry before put returns (DurableStore.put), so the job can keep changing it.
            recorded = this.store.put(key, entry, json);
        } catch (error) {
            recorded = Promise.reject(error);
        }
        recorded = recorded.catch((error: unknown) => this.storeErrorOf(error));
        const job: Job = { key, entry, recorded, bytes };
        register?.(job);
        this.refused = false;
        this.add(job);
        this.pump();
        return job;
    }

    /**
     * The entry's JSON and its size (what entryBytes gives) when the queue may take it; otherwise throws, so that
     * nothing was accepted.
     */
    private admit(entry: OutboxEntry): { bytes: number; json: string } {
        const encoded = keepableEntry(() => encodedEntry(entry), this.maxEntryBytes);
        const { bytes } = encoded;
        const refuse = (bound: QueueBound, message: string): never => {
            this.refused = true;
            throw new QueueFullError(bound, this.queued, this.queuedBytes, message);
        };
        if (this.queued >= this.maxQueued) {
            refuse(
                'maxQueued',
                `queue full: ${this.queued} requests are queued, the most this node keeps (maxQueued ${this.maxQueued}); new messages are refused until some are delivered`,
            );
        }
        if (bytes > this.maxQueuedBytes) {
            refuse(
                'maxQueuedSize',
                `queue full: this request takes ${formatBytes(bytes)}, more than the whole queue may keep (maxQueuedSize ${formatBytes(this.maxQueuedBytes)}); ${this.queued} requests are queued`,
            );
        }
        if (this.queuedBytes + bytes + this.noteReserve > this.maxQueuedBytes) {
            refuse(
                'maxQueuedSize',
                `queue full: ${this.queued} queued requests take ${formatBytes(this.queuedBytes)} and this one ${formatBytes(bytes)}, beyond what this node keeps (maxQueuedSize ${formatBytes(this.maxQueuedBytes)}); new messages are refused until some are delivered`,
            );
        }
        return encoded;
    }

    get queuedCount(): number {
        return this.queued;
    }

    now(): number {
        return this.clock();
    }

    /** Every queued job, call by call in the order of their requests: for the deliveries list, not for every change. */
    list(limit = Number.POSITIVE_INFINITY): QueuedJob[] {
        const jobs: QueuedJob[] = [];
        for (const lane of this.lanes.values()) {
            if (jobs.length >= limit) break;
            lane.jobs.forEach((job, index) => {
                const head = index === 0;
                jobs.push({
                    entry: job.entry,
                    inFlight: head && lane.state === 'running',
                    ...(head && lane.state === 'waiting' && lane.retryAt !== undefined ? { nextAttemptAt: lane.retryAt } : {}),
                });
            });
        }
        return jobs;
    }

    /**
     * Attempts the request with this idempotency key now instead of at its next retry: true when it was waiting for
     * one (it is the head of its call's requests and not in flight).
     */
    retryNow(idempotencyKey: string): boolean {
        for (const lane of this.lanes.values()) {
            const head = lane.jobs[0];
            if (lane.state !== 'waiting' || head?.entry.idempotencyKey !== idempotencyKey) continue;
            this.unreachableWaits.delete(lane);
            this.wake(lane);
            this.pump();
            this.options.onChange?.();
            return true;
        }
        return false;
    }

    /** Walks the waiting calls for the next retry: for a status shown now and then, not for every change. */
    snapshot(): QueueSnapshot {
        let nextRetryAt: number | undefined;
        for (const lane of this.lanes.values()) {
            if (lane.state === 'waiting' && lane.retryAt !== undefined && (nextRetryAt === undefined || lane.retryAt < nextRetryAt)) nextRetryAt = lane.retryAt;
        }
        const full = this.refused || this.queued >= this.maxQueued || this.queuedBytes >= this.maxQueuedBytes;
        return { queued: this.queued, queuedBytes: this.queuedBytes, full, inFlight: this.running, ...(nextRetryAt !== undefined ? { nextRetryAt } : {}) };
    }

    /**
     * Stops starting attempts, waits for those in flight (each ends within its timeout), records their outcome and
     * closes the store. Jobs waiting for a retry stay in the outbox for the next start. Resolves with how many
     * jobs were left unsettled.
     */
    close(): Promise<number> {
        this.closing ??= (async () => {
            clearTimeout(this.slotTimer);
            this.retries.stop();
            if (this.inFlight > 0) await new Promise<void>((idle) => this.idleWaiters.push(idle));
            this.stopWatchingStore?.();
            await this.store.close();
            return this.queued;
        })();
        return this.closing;
    }

    private add(job: Job): void {
        this.queued += 1;
        this.queuedBytes += this.counted(job);
        const id = laneOf(job.entry.call);
        const lane = this.lanes.get(id);
        if (lane) {
            lane.jobs.push(job);
            return;
        }
        const created: Lane = { id, jobs: [job], state: 'ready' };
        this.lanes.set(id, created);
        this.wake(created);
    }

    /** Queues the lane's head for a slot: a new call, the next request of a call, or a resumed one (at once). */
    private wake(lane: Lane): void {
        if (lane.waitToken !== undefined) {
            // Woken before its time: its timetable entry is left behind.
            lane.waitToken = undefined;
            this.retries.dropped();
        }
        lane.state = 'ready';
        lane.retryAt = undefined;
        this.ready.push(lane);
    }

    private wait(lane: Lane, delayMs: number): void {
        lane.state = 'waiting';
        lane.retryAt = this.clock() + delayMs;
        if (this.closing) return;
        lane.waitToken = this.retries.add(lane, lane.retryAt);
    }

    /** Lanes whose retry is due, earliest first: queued for a slot in that order. */
    private retryDue(due: Lane[]): void {
        for (const lane of due) {
            lane.waitToken = undefined;
            this.unreachableWaits.delete(lane);
            this.wake(lane);
        }
        this.pump();
        this.options.onChange?.();
    }

    private pump(): void {
        if (this.closing) return;
        while (this.running < this.concurrency && this.readyHead < this.ready.length) {
            if (this.options.ratePerSecond) {
                const now = this.clock();
                if (now < this.nextSlotAt) {
                    if (!this.slotTimer) {
                        this.slotTimer = setTimeout(() => {
                            this.slotTimer = undefined;
                            this.pump();
                        }, this.nextSlotAt - now);
                    }
                    break;
                }
                this.nextSlotAt = Math.max(now, this.nextSlotAt) + 1000 / this.options.ratePerSecond;
            }
            const lane = this.ready[this.readyHead++]!;
            this.start(lane);
        }
        // Drop the consumed part now and then, so a long-running node does not keep every lane it ever readied.
        if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
            this.ready = this.ready.slice(this.readyHead);
            this.readyHead = 0;
        }
    }

    private start(lane: Lane): void {
        lane.state = 'running';
        this.running += 1;
        this.inFlight += 1;
        void this.run(lane, lane.jobs[0]!);
        this.options.onChange?.();
    }

    private async run(lane: Lane, job: Job): Promise<void> {
        try {
            job.entry.attempts += 1;
            // The first attempt goes out while its outbox record is still being written, not after: a crash before
            // that write is durable loses the message either way, and the attempt may by then have delivered it.
            // The outcome is settled only once the record is durable, so its retry or its removal is written after
            // it, and the message is done only then.
            const [outcome] = await Promise.all([this.options.attempt(job), job.recorded]);
            this.running -= 1;
            this.settle(lane, job, outcome);
        } finally {
            this.inFlight -= 1;
            if (this.inFlight === 0) for (const idle of this.idleWaiters.splice(0)) idle();
        }
    }

    private settle(lane: Lane, job: Job, outcome: AttemptOutcome<R>): void {
        const { verdict } = outcome;
        const waitsLeft = this.options.schedule.length - (job.entry.attempts - 1);
        // A failure being kept is reported, and the change shown, once it is kept: not an empty queue before.
        let reportedLater = false;
        // The queue's own state is updated before the caller hears of it, so a throwing callback cannot wedge a call.
        try {
            if (verdict.kind === 'retry' && waitsLeft > 0) {
                const delayMs = verdict.retryAfterMs ?? jittered(this.options.schedule[job.entry.attempts - 1]!, this.random);
                // Recorded so that a restart goes on with the schedule instead of starting it again: the attempts only,
                // beside the entry, so that a retry does not write the whole request again.
                this.recordAttempts(job);
                this.wait(lane, delayMs);
                if (verdict.unreachable && verdict.retryAfterMs === undefined) this.unreachableWaits.add(lane);
                this.options.onRetry?.(job, outcome, delayMs);
            } else {
                // Lazy: a delivered request that outlives a crash is only sent again, under its key (at least once).
                // One that failed for good leaves the outbox once it is kept elsewhere.
                const keep = verdict.kind === 'delivered' ? undefined : this.options.keep;
                if (keep) {
                    // Reported once kept, so that whoever hears of the failure finds the dead letter.
                    const kept = Promise.resolve().then(() => keep(job, outcome));
                    this.record(kept.then(() => this.remove(job)));
                    const report = () => this.reportSettled(job, outcome, false);
                    void kept.then(report, report);
                    reportedLater = true;
                } else this.record(this.remove(job));
                lane.jobs.shift();
                this.queued -= 1;
                this.queuedBytes -= this.counted(job);
                this.refused = false;
                if (lane.jobs.length > 0) this.wake(lane);
                else this.lanes.delete(lane.id);
                if (verdict.kind === 'delivered') this.wakeUnreachable();
                if (!keep) this.options.onSettled(job, outcome, verdict.kind === 'delivered');
            }
        } finally {
            this.pump();
            if (!reportedLater) this.options.onChange?.();
        }
    }

    private reportSettled(job: Job, outcome: AttemptOutcome<R>, delivered: boolean): void {
        try {
            this.options.onSettled(job, outcome, delivered);
        } catch (error) {
            this.options.onStoreError?.(error);
        } finally {
            this.options.onChange?.();
        }
    }

    /** The receiver answered: the lanes that waited only because it could not be reached try again now. */
    private wakeUnreachable(): void {
        if (this.unreachableWaits.size === 0 || this.closing) return;
        for (const lane of this.unreachableWaits) {
            if (lane.state !== 'waiting') continue;
            this.wake(lane);
        }
        this.unreachableWaits.clear();
    }

    /**
     * What a job counts against maxQueuedSize: its entry, and room for the note of its attempts from the start, so
     * that notes growing with each retry cannot take the outbox past its bound after the queue took the request.
     */
    private counted(job: Job): number {
        return job.bytes + Math.max(job.noteBytes ?? 0, this.noteReserve);
    }

    private recordAttempts(job: Job): void {
        const { attempts, tries } = job.entry;
        const note: AttemptNote = { note: ATTEMPT_NOTE_FORMAT, attempts, ...(tries ? { tries } : {}) };
        const json = JSON.stringify(note);
        this.queuedBytes -= this.counted(job);
        job.noteBytes = Buffer.byteLength(json, 'utf8');
        this.queuedBytes += this.counted(job);
        try {
            this.record(this.store.put(job.key + ATTEMPTS_SUFFIX, note, json));
        } catch (error) {
            this.options.onStoreError?.(error);
        }
    }

    /**
     * Lazy: a delivered request that outlives a crash is only sent again, under its key (at least once). The entry
     * goes before its note: a crash between the two leaves a note without an entry, which open drops, never an entry
     * that forgot its attempts.
     */
    private remove(job: Job): Promise<void> {
        const removed = this.store.delete(job.key, { lazy: true });
        if (job.noteBytes === undefined) return removed;
        return Promise.all([removed, this.store.delete(job.key + ATTEMPTS_SUFFIX, { lazy: true })]).then(() => undefined);
    }

    private record(write: Promise<void>): void {
        write.catch((error: unknown) => this.storeErrorOf(error));
    }

    /** A write the failing disk refused is told by onStoreHealth, once for the outage; anything else is told here. */
    private storeErrorOf(error: unknown): void {
        if (error instanceof StoreError && error.reason === 'io' && this.store.onFailureChange) return;
        this.options.onStoreError?.(error);
    }
}
