import { promises as fs } from 'node:fs';
import { sendAuthorized } from '../auth/authorized-send';
import type { TokenSource } from '../auth/token-source';
import { CodedError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { logText } from '../logging/log-text';
import type { RequestBuilder, RequestGrant } from '../request/build-request';
import { StoreError } from '../store/durable-store';
import { FileStore } from '../store/file-store';
import { nodeStateDirectory } from '../store/node-state-directory';
import { openNodeStore, type OpenedNodeStore } from '../store/node-store';
import type { StoreFileSystem } from '../store/store-file-system';
import { isConnectionProblem, type RedisConnection } from '../store/redis/redis-connection';
import { DeliveryError } from './delivery-error';
import type { Decorate } from './delivery-headers';
import { StoredDeadLetterBox, type DeadLetterBox } from './dead-letter-box';
import {
    attemptRecordOf,
    deadLetterOf,
    deadLetterSummary,
    queuedSummary,
    RESPONSE_PIECE_LENGTH,
    responsePiece,
    withTry,
    type DeadLetter,
    type DeliverySummary,
} from './dead-letters';
import { DEFAULT_MAX_QUEUED_BYTES, DeliveryQueue, type AttemptOutcome, type DeliveryQueueOptions, type Job, type QueueSnapshot } from './delivery-queue';
import { RedisDeadLetters } from '../store/redis/redis-dead-letters';
import type { OutboxQueue } from './outbox-queue';
import { SharedDeliveryQueue } from './shared-delivery-queue';
import { exchange, type ExchangeResult } from './exchange';
import { HttpTransport, type TlsOptions } from './http-transport';
import { idempotencyKey } from './idempotency';
import { restoredPayload, storedPayload, type OutboxEntry, type OutboxRecord } from './outbox';
import { maskText, type DisplayedRequest } from '../request/masking';
import { verdictOf } from './retry-policy';
import { formatWait } from './retry-schedule';

/**
 * An error's message becomes Node-RED's log line for node.error(err, msg) and done(err); remote answers and call
 * data in it are escaped and cut to this length, enough for the URL and the reason.
 */
export const MAX_ERROR_MESSAGE = 1000;
/**
 * How often an outbox that could not be opened is tried again: often enough that a fixed disk is noticed within
 * the time a person takes to look, rarely enough that a broken one costs nothing.
 */
export const DEFAULT_REOPEN_MS = 30_000;
/**
 * A shared outbox's lease outlasts the request timeout by this much by default: enough for a token request and
 * a slow Redis reply, short enough that a request of an instance that died is sent again within seconds.
 */
export const LEASE_MARGIN_MS = 10_000;
/** How long a request waits for a shared outbox's first connection to Redis before it is refused. */
export const FIRST_CONNECTION_WAIT_MS = 5_000;

/**
 * The outbox file takes at most `maxQueuedSize` times this on disk: the requests it keeps, plus records of those
 * that have left it since its last rewrite.
 */
export const OUTBOX_LOG_SLACK = 1.25;

/** How requests are built and sent: the node's profile, compiled once. */
export interface SenderProfile {
    builder: RequestBuilder;
    decorate: Decorate;
    tls?: TlsOptions;
    /** OAuth 2.0 tokens of the profile's config node, when it uses one. */
    tokens?: TokenSource;
    timeoutMs: number;
}

/** A request that left the queue: `context` is what `send` was given, undefined for one resumed from the outbox. */
export interface SettledRequest<C> {
    entry: OutboxEntry;
    context?: C;
    result: ExchangeResult;
    /** Attempts made, the sends after a 401 with a new token included. */
    attempts: number;
    totalMs: number;
}

export type StoreProblem =
    /** No user directory: requests are kept in memory only. */
    | { kind: 'memory' }
    /** The outbox opened, but part of its file was damaged. */
    | { kind: 'recovered'; logPath: string; summary: string }
    /** Stored values that no format of this version can read (damaged, or written by a later version): removed. */
    | { kind: 'unreadable'; count: number }
    /** The outbox cannot be opened: requests are refused with a `store` error until a later try opens it. */
    | { kind: 'unavailable'; reason: string; retryMs: number }
    | { kind: 'reopened' }
    /** A change could not be recorded for a reason of its own (file store), or is tried again (Redis). */
    | { kind: 'write'; reason: string }
    /**
     * The outbox's disk refuses writes (full, failing, read-only): new requests are refused with a `store` error;
     * those queued before are still delivered, and the outbox writes them anew once it has repaired itself.
     */
    | { kind: 'not-writable'; reason: string }
    /** The outbox repaired itself: everything queued is recorded again, and new requests are accepted. */
    | { kind: 'writable' }
    /** The shared outbox's Redis does not answer: requests are refused with a `store` error until it is back. */
    | { kind: 'redis-unavailable'; reason: string }
    /** Redis answers again: requests are accepted and delivery goes on by itself. */
    | { kind: 'redis-reconnected' };

export interface SenderEvents<C> {
    delivered(request: SettledRequest<C>): void;
    /** `deadLettered`: the request was kept as a dead letter and can be replayed. */
    failed(request: SettledRequest<C>, error: CodedError, deadLettered: boolean): void;
    /** An attempt failed and the request waits `delayMs` for the next one. */
    retried?(request: { entry: OutboxEntry; result: ExchangeResult; delayMs: number }): void;
    /** Dead letters were dropped by their bounds (the oldest first), or could not be kept. */
    deadLettersDropped?(count: number, bound: 'bounds' | 'store'): void;
    /** Dead letters were replayed: sent through the queue again. */
    replayed?(count: number): void;
    /** Something of the queue's snapshot changed. */
    changed(): void;
    storeProblem(problem: StoreProblem): void;
}

export interface SenderOptions<C> extends Pick<
    DeliveryQueueOptions<ExchangeResult>,
    'schedule' | 'concurrency' | 'ratePerSecond' | 'maxQueued' | 'maxQueuedBytes'
> {
    nodeId: string;
    /** Node-RED's settings.userDir (see openNodeStore). */
    userDir: unknown;
    profile: SenderProfile;
    events: SenderEvents<C>;
    reopenMs?: number;
    /** Where the outbox lives: absent, the node's own file (see openNodeStore); `redis`, shared by every instance. */
    store?: SharedOutboxStore;
    /** How many requests that failed for good are kept, and how long; maxCount 0 keeps none. */
    deadLetters?: { maxCount: number; maxAgeMs: number };
    /** The file operations of the outbox file (see openNodeStore): a test's, to fail writes at will. */
    outboxFileSystem?: StoreFileSystem;
}

/** What a replay or a discard did: how many, and why it stopped early when it did (the queue full, say). */
export interface ActionResult {
    count: number;
    error?: CodedError;
}

/** The last deliveries, kept in memory for the deliveries list. */
export const RECENT_DELIVERIES = 50;

export interface RecentDelivery extends DeliverySummary {
    deliveredAt: number;
    timeMs: number;
}

/** What opening a recent delivery shows: the request as sent and the answer, secrets masked, bodies cut short. */
export interface DeliveredExchange {
    request?: DisplayedRequest;
    response?: { statusCode: number; headers: Record<string, string | string[]>; body: string; truncated: boolean };
}

/** The outbox in Redis, shared by the instances that run the same node id against the same Redis and prefix. */
export interface SharedOutboxStore {
    kind: 'redis';
    connection: RedisConnection;
    /** How long a claimed attempt is this instance's before another may take it over; default timeoutMs + 10 s. */
    leaseMs?: number;
    /** The fallback poll of an idle instance, which Redis's wake channel wakes sooner (ms); default 5,000 (DEFAULT_POLL_MS). */
    pollMs?: number;
}

/** What a request is made of: the message's call, payload and topic. */
export interface Outgoing {
    call: Record<string, unknown>;
    payload?: unknown;
    topic?: unknown;
}

/** An error whose text is safe for the log line Node-RED writes from it; the code and response stay. */
export function loggableError(error: CodedError, message = error.message): CodedError {
    const safe = logText(message, MAX_ERROR_MESSAGE);
    if (safe === error.message) return error;
    return error instanceof DeliveryError ? new DeliveryError(error.code, safe, error.response) : new CodedError(error.code, safe);
}

/** What a refused send rejects with: a coded error made safe to log, anything else as it is. */
function reportable(err: unknown): unknown {
    return err instanceof CodedError ? loggableError(err) : err;
}

/** The final error of a request tried more than once says so. */
function finalError(error: CodedError, attempts: number, sinceMs: number): CodedError {
    if (attempts <= 1) return loggableError(error);
    return loggableError(error, `${error.message} (gave up after ${attempts} attempts over ${formatWait(sinceMs)})`);
}

/**
 * The delivery side of one web service out node: its outbox (opened by the package's state policy, see
 * openNodeStore), its queue, and each attempt (build, decorate, OAuth 2.0 token, send, verdict). It knows nothing
 * of Node-RED: it reports what happened through `events`, and the node turns that into msgs, done() and status.
 */
export class Sender<C> {
    private queue: OutboxQueue | undefined;
    private opened: OpenedNodeStore<OutboxRecord> | undefined;
    /** Settles once the current try to open the outbox has ended; requests wait on it, so they keep their order. */
    private opening: Promise<void>;
    private unavailable: StoreError | undefined;
    private reopenTimer: NodeJS.Timeout | undefined;
    private closed = false;
    private readonly contexts = new Map<string, C>();
    private deadLetterBox: DeadLetterBox | undefined;
    /** Dead letters being replayed now: a second replay of one waits for nothing and sends nothing twice. */
    private readonly replaying = new Set<string>();
    private readonly recent: Array<{ summary: RecentDelivery; exchange: DeliveredExchange }> = [];
    // Sends after a 401 with a new token, per request: they count in the attempts, not in the schedule.
    private readonly resends = new Map<string, number>();
    private readonly transport: HttpTransport;
    private stopWatchingRedis: (() => void) | undefined;
    /** The shared outbox's Redis was reported unavailable and has not been reported back since. */
    private redisDown = false;
    /** `opening` has settled: with no send still waiting on it, a file outbox takes a request at once. */
    private openSettled = false;
    /**
     * Sends chained on `opening` that have not run yet: a send made meanwhile (from a callback run between them)
     * must not overtake them.
     */
    private waitingSends = 0;

    constructor(private readonly options: SenderOptions<C>) {
        this.transport = new HttpTransport({ tls: options.profile.tls, maxSockets: options.concurrency });
        if (options.store?.kind === 'redis') {
            this.queue = this.sharedQueue(options.store);
            if (this.keepsDeadLetters) this.deadLetterBox = new RedisDeadLetters(options.store.connection, options.nodeId, this.deadLetterBounds());
            this.opening = Promise.resolve();
        } else this.opening = this.watchOpening(this.openOrRefuse());
    }

    private watchOpening(opening: Promise<void>): Promise<void> {
        this.openSettled = false;
        void opening.then(() => {
            this.openSettled = true;
        });
        return opening;
    }

    /**
     * True when the outbox is shared in Redis: `send` resolves once the request is stored there, so the node calls
     * done() at once (done means "durable"), and whichever instance makes the final attempt reports the outcome.
     */
    get shared(): boolean {
        return this.queue?.shared ?? this.options.store?.kind === 'redis';
    }

    private get keepsDeadLetters(): boolean {
        return (this.options.deadLetters?.maxCount ?? 0) > 0;
    }

    private deadLetterBounds() {
        const { maxCount, maxAgeMs } = this.options.deadLetters ?? { maxCount: 0, maxAgeMs: 0 };
        return { maxCount, maxAgeMs, maxBytes: this.options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES };
    }

    /**
     * The queued requests (in flight included), call by call; empty while the outbox is not open. `limit`: the first
     * ones only (the deliveries sidebar shows a page, not a backlog of thousands).
     */
    async queuedList(limit?: number): Promise<DeliverySummary[]> {
        await this.whenReady();
        const jobs = ((await this.queue?.list(limit)) ?? []).slice(0, limit);
        // A shared outbox's attempts are itemised in the dead-letter store, where every instance notes its own.
        const noted =
            this.queue?.shared && this.deadLetterBox?.triesOfEach
                ? await this.deadLetterBox.triesOfEach(jobs.map((job) => job.entry.idempotencyKey))
                : undefined;
        return jobs.map((job) => {
            const tries = noted?.get(job.entry.idempotencyKey);
            return this.addressed(queuedSummary(tries ? { ...job.entry, tries } : job.entry, job), job.entry);
        });
    }

    /** The summary with the method and URL the request goes to, as the node's settings build it now. */
    private addressed(summary: DeliverySummary, entry: OutboxEntry): DeliverySummary {
        try {
            const request = this.options.profile.builder.build(entry.call, restoredPayload(entry));
            summary.method = request.method;
            summary.url = maskText(request.url, request.secrets);
        } catch {
            // A request the settings cannot build now says why when it is opened (describe) or attempted.
        }
        return summary;
    }

    /** The outbox open, or the shared one's first connection made (or given up on): what the actions wait for. */
    private async whenReady(): Promise<void> {
        await this.opening;
        const connection = this.options.store?.connection;
        if (connection?.state === 'connecting') await connection.ready(FIRST_CONNECTION_WAIT_MS).catch(() => undefined);
    }

    /** The dead letters, oldest failure first; empty when none are kept. */
    async deadLetters(): Promise<DeadLetter[]> {
        await this.whenReady();
        return (await this.deadLetterBox?.list()) ?? [];
    }

    async deadLetter(key: string): Promise<DeadLetter | undefined> {
        await this.whenReady();
        return this.deadLetterBox?.get(key);
    }

    /** How many dead letters there are, without reading them. */
    async deadLetterCount(): Promise<number> {
        await this.whenReady();
        return (await this.deadLetterBox?.count()) ?? 0;
    }

    /** The dead letters' summaries, oldest failure first; `limit`: the first ones only. */
    async deadLetterList(limit?: number): Promise<DeliverySummary[]> {
        return (await this.deadLetters()).slice(0, limit).map((letter) => this.addressed(deadLetterSummary(letter), letter.request));
    }

    /** The last deliveries of this instance, newest first. */
    recentDeliveries(): RecentDelivery[] {
        return this.recent.map((delivery) => delivery.summary).reverse();
    }

    /** Attempts a queued request now instead of at its next retry; false when it is not waiting for one. */
    async retryNow(key: string): Promise<boolean> {
        await this.whenReady();
        return (await this.queue?.retryNow(key)) ?? false;
    }

    /**
     * Sends dead letters again through the queue (per-call order, limits, retries), each under its own idempotency
     * key and with the node's current profile and credentials; `keys` undefined: all of them, oldest first. A letter
     * leaves the dead letters once its request is in the outbox. Stops at the first refusal (the queue full, the
     * outbox away) and says so in `error`.
     */
    async replay(keys?: readonly string[]): Promise<ActionResult> {
        const letters = await this.chosenLetters(keys);
        let count = 0;
        for (const letter of letters) {
            const key = letter.request.idempotencyKey;
            if (this.replaying.has(key)) continue;
            this.replaying.add(key);
            try {
                const { request } = letter;
                const job = await this.enqueue(
                    {
                        call: request.call,
                        payload: restoredPayload(request),
                        topic: request.topic,
                    },
                    undefined,
                    key,
                );
                await job.recorded;
                await this.deadLetterBox!.remove([key]);
                count += 1;
            } catch (err) {
                if (count > 0) this.options.events.replayed?.(count);
                return { count, error: err instanceof CodedError ? loggableError(err) : new CodedError('store', errorText(err)) };
            } finally {
                this.replaying.delete(key);
            }
        }
        if (count > 0) this.options.events.replayed?.(count);
        this.options.events.changed();
        return { count };
    }

    /**
     * One request of the deliveries list, opened: its summary, the request it makes (built from the node's profile
     * now, secrets masked, as the debug sidebar's msg.request shows it) and, for a dead letter, what it kept; a recent
     * delivery of this instance: the request as it was sent and the answer (`delivered`).
     */
    async describe(
        key: string,
    ): Promise<
        { summary: DeliverySummary; request?: DisplayedRequest; error?: string; deadLetter?: DeadLetter; delivered?: DeliveredExchange['response'] } | undefined
    > {
        const letter = await this.deadLetter(key);
        let entry: OutboxEntry | undefined = letter?.request;
        let summary: DeliverySummary | undefined = letter && deadLetterSummary(letter);
        if (!entry) {
            const queued = ((await this.queue?.list()) ?? []).find((job) => job.entry.idempotencyKey === key);
            if (queued) {
                entry = queued.entry;
                summary = queuedSummary(queued.entry, queued);
            }
        }
        if (!entry || !summary) {
            const delivered = [...this.recent].reverse().find((delivery) => delivery.summary.key === key);
            if (!delivered) return undefined;
            const { request, response } = delivered.exchange;
            return { summary: delivered.summary, ...(request ? { request } : {}), ...(response ? { delivered: response } : {}) };
        }
        const { builder, decorate } = this.options.profile;
        const built = await exchange(builder, undefined, entry.call, restoredPayload(entry), {
            send: false,
            decorate: (request) => decorate(request, key),
        });
        return {
            summary: this.addressed(summary, entry),
            ...(built.request ? { request: built.request } : {}),
            ...(built.error ? { error: built.error.message } : {}),
            ...(letter ? { deadLetter: letter } : {}),
        };
    }

    /** What a metrics scrape reads of the queue now: depth, in flight, the oldest request's age, dead letters. */
    async gauges(): Promise<{ queued: number; inFlight: number; oldestQueuedSeconds: number; deadLetters: number }> {
        const snapshot = this.snapshot();
        // A shared outbox's oldest entry is its lowest key: a scrape reads that one, not the whole backlog.
        const [jobs, deadLetters] = await Promise.all([this.queue?.list(this.queue.shared ? 1 : undefined) ?? [], this.deadLetterBox?.count() ?? 0]);
        const oldest = jobs.reduce((min, job) => Math.min(min, job.entry.queuedAt), Number.POSITIVE_INFINITY);
        return {
            queued: snapshot?.queued ?? 0,
            inFlight: snapshot?.inFlight ?? 0,
            oldestQueuedSeconds: Number.isFinite(oldest) ? Math.max(0, (this.clock() - oldest) / 1000) : 0,
            deadLetters,
        };
    }

    /** The clock entries' queuedAt is on: Redis's for a shared outbox, this process's otherwise. */
    private clock(): number {
        return this.queue?.now() ?? Date.now();
    }

    /** Drops dead letters; `keys` undefined: all of them. */
    async discard(keys?: readonly string[]): Promise<ActionResult> {
        const letters = await this.chosenLetters(keys);
        const count = letters.length ? await this.deadLetterBox!.remove(letters.map((letter) => letter.request.idempotencyKey)) : 0;
        this.options.events.changed();
        return { count };
    }

    private async chosenLetters(keys: readonly string[] | undefined): Promise<DeadLetter[]> {
        if (keys === undefined) return this.deadLetters();
        const found = await Promise.all([...new Set(keys)].map((key) => this.deadLetter(key)));
        return found.filter((letter): letter is DeadLetter => letter !== undefined);
    }

    /** Requests queued now (0 while the outbox is not open), cheaply, for a check made on every change. */
    get queuedCount(): number {
        return this.queue?.queuedCount ?? 0;
    }

    /** What the queue holds now; undefined while the outbox is not open. */
    snapshot(): QueueSnapshot | undefined {
        return this.queue?.snapshot();
    }

    /**
     * True while the outbox cannot be opened, its disk refuses writes, or its Redis does not answer (requests are
     * refused).
     */
    get refusing(): boolean {
        if (this.options.store?.kind === 'redis') {
            const { state, problem } = this.options.store.connection;
            return state === 'reconnecting' || state === 'closed' || (state === 'connecting' && problem !== undefined);
        }
        return this.unavailable !== undefined || this.notWritable;
    }

    /** The outbox is open but its disk refuses writes: requests are refused until it has repaired itself. */
    get notWritable(): boolean {
        return this.queue?.writeFailure !== undefined;
    }

    /**
     * Queues a request once the outbox is open, in the order `send` was called. Rejects, with nothing queued, when
     * the outbox cannot be opened (StoreError, code `store`), the queue is full, or the request cannot be kept.
     */
    send(outgoing: Outgoing, context: C): Promise<void> {
        // The usual case, a file outbox that is open and no earlier send waiting for it: queued in this turn.
        if (this.openSettled && this.waitingSends === 0 && !this.options.store) {
            try {
                this.enqueue(outgoing, context);
                return Promise.resolve();
            } catch (err) {
                return Promise.reject(reportable(err));
            }
        }
        this.waitingSends += 1;
        const queued = this.opening.then(async () => {
            this.waitingSends -= 1;
            const connection = this.options.store?.connection;
            // A message that comes while the first connection is under way waits for it, as for a file outbox opening.
            if (connection?.state === 'connecting' && !this.unavailable && this.queue) {
                await connection.ready(FIRST_CONNECTION_WAIT_MS).catch(() => undefined);
            }
            await this.enqueue(outgoing, context);
        });
        return queued.catch((err: unknown) => {
            throw reportable(err);
        });
    }

    /** Queues the request now; throws (nothing queued) when the outbox is not there or refuses it. */
    private enqueue(outgoing: Outgoing, context: C | undefined, key?: string): ReturnType<OutboxQueue['enqueue']> {
        if (this.unavailable) throw this.unavailable;
        if (!this.queue) throw new StoreError('the outbox is closed', { reason: 'closed' });
        const { call } = outgoing;
        // The context is attached as the job gets its key, before this process can attempt or settle it.
        return this.queue.enqueue(
            {
                call,
                ...storedPayload(outgoing.payload),
                ...(typeof outgoing.topic === 'string' ? { topic: outgoing.topic } : {}),
                idempotencyKey: key ?? idempotencyKey(this.options.nodeId, call),
            },
            (job) => {
                if (context !== undefined) this.contexts.set(job.key, context);
            },
        );
    }

    /**
     * Ends attempts in flight (they are recorded) and closes the outbox; retries not yet due stay in it for the
     * next start, unless the node was removed: then its folder goes. Resolves with the requests left undelivered.
     */
    async close(removed: boolean): Promise<number> {
        this.closed = true;
        clearTimeout(this.reopenTimer);
        this.stopWatchingRedis?.();
        if (this.queue?.shared) {
            // The shared outbox belongs to every instance: removing the node here deletes nothing of it.
            const left = await this.queue.close();
            this.transport.close();
            return left;
        }
        await this.opening;
        let left = this.queue ? await this.queue.close() : 0;
        // After the queue: its last attempts may still add dead letters.
        await this.deadLetterBox?.close().catch(() => undefined);
        this.transport.close();
        if (!removed) return left;
        const userDir = this.options.userDir;
        if (typeof userDir === 'string' && userDir !== '') {
            await fs.rm(nodeStateDirectory(userDir, 'dead-letters', this.options.nodeId), { recursive: true, force: true });
        }
        let directory = this.opened?.directory;
        if (!this.opened) {
            // Never opened: its file may still hold requests of an earlier start, which the user should hear of.
            const late = await openNodeStore<OutboxRecord>(this.storeRequest(), { waitMs: 0 }).catch(() => undefined);
            if (late) {
                left = (await late.store.load()).size;
                await late.store.close();
                directory = late.directory;
            }
        }
        if (directory) await fs.rm(directory, { recursive: true, force: true });
        return left;
    }

    /** The queue of a shared outbox, and the reports of its Redis going away and coming back. */
    private sharedQueue(store: SharedOutboxStore): SharedDeliveryQueue<ExchangeResult> {
        const { events } = this.options;
        const { connection } = store;
        this.stopWatchingRedis = connection.onChange(() => {
            if (connection.state === 'ready' && this.redisDown) {
                this.redisDown = false;
                events.storeProblem({ kind: 'redis-reconnected' });
            } else if (!this.redisDown && (connection.state === 'reconnecting' || (connection.state === 'connecting' && connection.problem !== undefined))) {
                // Lost, or never reached: a first connection still under way is not a problem yet.
                this.redisDown = true;
                const reason = connection.problem ?? 'the connection to Redis was lost';
                events.storeProblem({ kind: 'redis-unavailable', reason: logText(reason, MAX_ERROR_MESSAGE) });
            }
            events.changed();
        });
        return new SharedDeliveryQueue<ExchangeResult>({
            connection,
            nodeId: this.options.nodeId,
            leaseMs: store.leaseMs ?? this.options.profile.timeoutMs + LEASE_MARGIN_MS,
            pollMs: store.pollMs,
            ...this.queueOptions(),
            onStoreError: (err) => {
                // Redis being away is said once by redis-unavailable; what is left is Redis refusing (OOM, ACL).
                if (connection.state !== 'ready' || isConnectionProblem(err)) return;
                events.storeProblem({ kind: 'write', reason: logText(errorText(err), MAX_ERROR_MESSAGE) });
            },
            onSettledElsewhere: (keys) => {
                for (const key of keys) this.contexts.delete(key);
            },
            onLeaseLost: (job) => this.resends.delete(job.key),
            onUnreadable: () => events.storeProblem({ kind: 'unreadable', count: 1 }),
        });
    }

    /** What every queue of this sender runs with, whichever store keeps it: the node's settings and the attempt. */
    private queueOptions(): Omit<DeliveryQueueOptions<ExchangeResult>, 'onStoreError'> {
        return {
            schedule: this.options.schedule,
            concurrency: this.options.concurrency,
            ratePerSecond: this.options.ratePerSecond,
            maxQueued: this.options.maxQueued,
            maxQueuedBytes: this.options.maxQueuedBytes,
            attempt: (job) => this.attempt(job),
            onSettled: (job, outcome, delivered) => this.settled(job, outcome, delivered),
            keep: (job, outcome) => this.keep(job, outcome),
            onRetry: (job, outcome, delayMs) => this.options.events.retried?.({ entry: job.entry, result: outcome.result, delayMs }),
            onChange: () => this.options.events.changed(),
        };
    }

    private storeRequest() {
        const maxLogBytes = Math.floor((this.options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES) * OUTBOX_LOG_SLACK);
        const { outboxFileSystem: fileSystem } = this.options;
        return {
            userDir: this.options.userDir,
            kind: 'outbox' as const,
            nodeId: this.options.nodeId,
            name: 'outbox',
            maxLogBytes,
            ...(fileSystem ? { fileSystem } : {}),
        };
    }

    /** Never rejects: requests wait on it, and a failure of any kind means the outbox is not there to record them. */
    private openOrRefuse(): Promise<void> {
        return this.open().catch((err: unknown) => this.refuse(err));
    }

    private async open(): Promise<void> {
        const { events } = this.options;
        let opened: OpenedNodeStore<OutboxRecord>;
        try {
            opened = await openNodeStore<OutboxRecord>(this.storeRequest());
        } catch (err) {
            this.refuse(err);
            return;
        }
        if (this.closed) {
            await opened.store.close();
            return;
        }
        const { store } = opened;
        let resumed: Awaited<ReturnType<typeof DeliveryQueue.open<ExchangeResult>>>;
        try {
            // Before the queue: a request it resumes may fail for good at once.
            if (this.keepsDeadLetters && !this.deadLetterBox) await this.openDeadLetters();
            resumed = await DeliveryQueue.open<ExchangeResult>(store, {
                ...this.queueOptions(),
                onStoreError: (err) => events.storeProblem({ kind: 'write', reason: logText(errorText(err), MAX_ERROR_MESSAGE) }),
                onStoreHealth: (failure) => {
                    events.storeProblem(failure ? { kind: 'not-writable', reason: logText(errorText(failure), MAX_ERROR_MESSAGE) } : { kind: 'writable' });
                    events.changed();
                },
            });
        } catch (err) {
            await store.close().catch(() => undefined);
            this.refuse(err);
            return;
        }
        const wasUnavailable = this.unavailable !== undefined;
        this.unavailable = undefined;
        this.opened = opened;
        this.queue = resumed.queue;
        if (!opened.durable) events.storeProblem({ kind: 'memory' });
        if (store instanceof FileStore && (store.recovery.dropped || store.recovery.discardedCompaction)) {
            events.storeProblem({ kind: 'recovered', logPath: store.logPath, summary: store.recovery.summary });
        }
        if (resumed.unreadable) events.storeProblem({ kind: 'unreadable', count: resumed.unreadable });
        if (wasUnavailable) events.storeProblem({ kind: 'reopened' });
        events.changed();
    }

    /** The node's own dead-letter store, beside its outbox (in memory when the outbox is). */
    private async openDeadLetters(): Promise<void> {
        const opened = await openNodeStore<DeadLetter>({
            userDir: this.options.userDir,
            kind: 'dead-letters',
            nodeId: this.options.nodeId,
            name: 'dead-letters',
        });
        try {
            const { box, unreadable, dropped } = await StoredDeadLetterBox.open(opened.store, this.deadLetterBounds());
            this.deadLetterBox = box;
            if (unreadable) this.options.events.storeProblem({ kind: 'unreadable', count: unreadable });
            if (dropped) this.options.events.deadLettersDropped?.(dropped, 'bounds');
        } catch (err) {
            await opened.store.close().catch(() => undefined);
            throw err;
        }
    }

    /**
     * Keeps a request that failed for good as a dead letter, with its attempts itemised: those the queue carried
     * (the file outbox) or those noted in the shared store (Redis). Rejects when it could not be kept, and the queue
     * then leaves the request in the outbox.
     */
    private async keep(job: Job, outcome: AttemptOutcome<ExchangeResult>): Promise<void> {
        const box = this.deadLetterBox;
        if (!box) return;
        const { entry } = job;
        let tries = entry.tries ?? [];
        if (box.triesOf) {
            const noted = await box.triesOf(entry.idempotencyKey).catch(() => []);
            tries = [...noted, ...tries];
        }
        const error = outcome.result.error ?? new CodedError('network', 'the request failed');
        // On the queue's clock: a shared outbox's dead letters age by Redis's TIME, and their queuedAt is Redis's too.
        const letter = deadLetterOf(entry, outcome.result, logText(error.message, MAX_ERROR_MESSAGE), tries, this.clock());
        try {
            const { dropped } = await box.add(letter);
            if (dropped) this.options.events.deadLettersDropped?.(dropped, 'bounds');
        } catch (err) {
            this.options.events.deadLettersDropped?.(1, 'store');
            throw err;
        }
    }

    /** The outbox cannot be opened: refuse requests, say so, and try again later, so a fix needs no redeploy. */
    private refuse(err: unknown): void {
        const retryMs = this.options.reopenMs ?? DEFAULT_REOPEN_MS;
        const reason = logText(errorText(err), MAX_ERROR_MESSAGE);
        const first = this.unavailable === undefined;
        this.unavailable = new StoreError(`outbox unavailable (${reason}): the request is refused, not queued`, { cause: err });
        if (first) this.options.events.storeProblem({ kind: 'unavailable', reason, retryMs });
        this.options.events.changed();
        if (this.closed) return;
        this.reopenTimer = setTimeout(() => {
            this.opening = this.watchOpening(this.opening.then(() => this.openOrRefuse()));
        }, retryMs);
    }

    private async attempt(job: Job): Promise<AttemptOutcome<ExchangeResult>> {
        const { builder, decorate, tokens, timeoutMs } = this.options.profile;
        const { transport } = this;
        const send = (grant?: RequestGrant) =>
            exchange(builder, transport, job.entry.call, restoredPayload(job.entry), {
                timeoutMs,
                decorate: (request) => decorate(request, job.entry.idempotencyKey),
                grant,
            });
        let result: ExchangeResult;
        try {
            if (tokens) {
                const authorized = await sendAuthorized(tokens, transport, send);
                if (authorized.resent) this.resends.set(job.key, (this.resends.get(job.key) ?? 0) + authorized.resent);
                if (authorized.verdict) return { verdict: authorized.verdict, result: authorized.result };
                result = authorized.result;
            } else result = await send();
        } catch (err) {
            result = { error: new CodedError('network', errorText(err)) };
        }
        const verdict = verdictOf(result);
        if (verdict.kind !== 'delivered') this.noteTry(job, result);
        return { verdict, result };
    }

    /**
     * Itemises a failed attempt: in the entry, which the file outbox writes with the retry's record (and a shared
     * one does not), and in the shared store, where any instance's attempts meet.
     */
    private noteTry(job: Job, result: ExchangeResult): void {
        const record = attemptRecordOf(result, this.clock());
        const box = this.deadLetterBox;
        if (this.queue?.shared) {
            box?.noteTry?.(job.entry.idempotencyKey, record).catch(() => undefined);
            return;
        }
        (job.entry as { tries?: (typeof record)[] }).tries = withTry(job.entry.tries, record);
    }

    private settled(job: Job, outcome: AttemptOutcome<ExchangeResult>, delivered: boolean): void {
        const { entry } = job;
        const context = this.contexts.get(job.key);
        this.contexts.delete(job.key);
        const attempts = entry.attempts + (this.resends.get(job.key) ?? 0);
        this.resends.delete(job.key);
        const request: SettledRequest<C> = { entry, context, result: outcome.result, attempts, totalMs: this.clock() - entry.queuedAt };
        if (delivered) {
            this.remember(request);
            if (this.queue?.shared && entry.attempts > 1) this.deadLetterBox?.forgetTries?.(entry.idempotencyKey).catch(() => undefined);
            this.options.events.delivered(request);
        } else this.options.events.failed(request, finalError(outcome.result.error!, attempts, request.totalMs), this.deadLetterBox !== undefined);
    }

    private remember(request: SettledRequest<C>): void {
        const { request: sent, response } = request.result;
        const { code: _lastFailure, failedAt: _failedAt, ...summary } = queuedSummary(request.entry, { inFlight: false });
        // The bodies cut as a dead letter cuts its answer's: the ring stays small however large the requests are.
        const exchange: DeliveredExchange = {};
        if (sent) exchange.request = sent.body === undefined ? sent : { ...sent, body: sent.body.slice(0, RESPONSE_PIECE_LENGTH) };
        const piece = responsePiece(request.result);
        if (piece && response) exchange.response = { ...piece, headers: response.headers };
        this.recent.push({
            summary: {
                ...summary,
                ...(sent ? { method: sent.method, url: sent.url } : {}),
                attempts: request.attempts,
                ...(response ? { status: response.statusCode } : {}),
                deliveredAt: this.clock(),
                timeMs: request.totalMs,
            },
            exchange,
        });
        if (this.recent.length > RECENT_DELIVERIES) this.recent.shift();
    }
}
