import { promises as fs } from 'node:fs';
import { sendAuthorized } from '../auth/authorized-send';
import type { TokenSource } from '../auth/token-source';
import { CodedError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { logText } from '../logging/log-text';
import type { RequestBuilder, RequestGrant } from '../request/build-request';
import { StoreError } from '../store/durable-store';
import { FileStore } from '../store/file-store';
import { openNodeStore, type OpenedNodeStore } from '../store/node-store';
import { isConnectionProblem, type RedisConnection } from '../store/redis/redis-connection';
import { DeliveryError } from './delivery-error';
import type { Decorate } from './delivery-headers';
import { DeliveryQueue, type AttemptOutcome, type DeliveryQueueOptions, type Job, type QueueSnapshot } from './delivery-queue';
import type { OutboxQueue } from './outbox-queue';
import { SharedDeliveryQueue } from './shared-delivery-queue';
import { exchange, type ExchangeResult } from './exchange';
import { HttpTransport, type TlsOptions } from './http-transport';
import { idempotencyKey } from './idempotency';
import { restoredPayload, storedPayload, type OutboxEntry } from './outbox';
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
    /** A change could not be recorded: delivery goes on from memory (file store), or is tried again (Redis). */
    | { kind: 'write'; reason: string }
    /** The shared outbox's Redis does not answer: requests are refused with a `store` error until it is back. */
    | { kind: 'redis-unavailable'; reason: string }
    /** Redis answers again: requests are accepted and delivery goes on by itself. */
    | { kind: 'redis-reconnected' };

export interface SenderEvents<C> {
    delivered(request: SettledRequest<C>): void;
    failed(request: SettledRequest<C>, error: CodedError): void;
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
}

/** The outbox in Redis, shared by the instances that run the same node id against the same Redis and prefix. */
export interface SharedOutboxStore {
    kind: 'redis';
    connection: RedisConnection;
    /** How long a claimed attempt is this instance's before another may take it over; default timeoutMs + 10 s. */
    leaseMs?: number;
    /** How often an idle instance asks for ready work (ms); default 200. */
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
    private opened: OpenedNodeStore<OutboxEntry> | undefined;
    /** Settles once the current try to open the outbox has ended; requests wait on it, so they keep their order. */
    private opening: Promise<void>;
    private unavailable: StoreError | undefined;
    private reopenTimer: NodeJS.Timeout | undefined;
    private closed = false;
    private readonly contexts = new Map<string, C>();
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

    /** Requests queued now (0 while the outbox is not open), cheaply, for a check made on every change. */
    get queuedCount(): number {
        return this.queue?.queuedCount ?? 0;
    }

    /** What the queue holds now; undefined while the outbox is not open. */
    snapshot(): QueueSnapshot | undefined {
        return this.queue?.snapshot();
    }

    /** True while the outbox cannot be opened, or its Redis does not answer (requests are refused). */
    get refusing(): boolean {
        if (this.options.store?.kind === 'redis') {
            const { state, problem } = this.options.store.connection;
            return state === 'reconnecting' || state === 'closed' || (state === 'connecting' && problem !== undefined);
        }
        return this.unavailable !== undefined;
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
    private enqueue(outgoing: Outgoing, context: C): ReturnType<OutboxQueue['enqueue']> {
        if (this.unavailable) throw this.unavailable;
        if (!this.queue) throw new StoreError('the outbox is closed', { reason: 'closed' });
        const { call } = outgoing;
        // The context is attached as the job gets its key, before this process can attempt or settle it.
        return this.queue.enqueue(
            {
                call,
                ...storedPayload(outgoing.payload),
                ...(typeof outgoing.topic === 'string' ? { topic: outgoing.topic } : {}),
                idempotencyKey: idempotencyKey(this.options.nodeId, call),
            },
            (job) => this.contexts.set(job.key, context),
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
        this.transport.close();
        if (!removed) return left;
        let directory = this.opened?.directory;
        if (!this.opened) {
            // Never opened: its file may still hold requests of an earlier start, which the user should hear of.
            const late = await openNodeStore<OutboxEntry>(this.storeRequest(), { waitMs: 0 }).catch(() => undefined);
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
            onChange: () => this.options.events.changed(),
        };
    }

    private storeRequest() {
        return { userDir: this.options.userDir, kind: 'outbox' as const, nodeId: this.options.nodeId, name: 'outbox' };
    }

    /** Never rejects: requests wait on it, and a failure of any kind means the outbox is not there to record them. */
    private openOrRefuse(): Promise<void> {
        return this.open().catch((err: unknown) => this.refuse(err));
    }

    private async open(): Promise<void> {
        const { events } = this.options;
        let opened: OpenedNodeStore<OutboxEntry>;
        try {
            opened = await openNodeStore<OutboxEntry>(this.storeRequest());
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
            resumed = await DeliveryQueue.open<ExchangeResult>(store, {
                ...this.queueOptions(),
                onStoreError: (err) => events.storeProblem({ kind: 'write', reason: logText(errorText(err), MAX_ERROR_MESSAGE) }),
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
        return { verdict: verdictOf(result), result };
    }

    private settled(job: Job, outcome: AttemptOutcome<ExchangeResult>, delivered: boolean): void {
        const { entry } = job;
        const context = this.contexts.get(job.key);
        this.contexts.delete(job.key);
        const attempts = entry.attempts + (this.resends.get(job.key) ?? 0);
        this.resends.delete(job.key);
        const request: SettledRequest<C> = { entry, context, result: outcome.result, attempts, totalMs: Date.now() - entry.queuedAt };
        if (delivered) this.options.events.delivered(request);
        else this.options.events.failed(request, finalError(outcome.result.error!, attempts, request.totalMs));
    }
}
