import { randomUUID } from 'node:crypto';
import { CodedError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { StoreError } from '../store/durable-store';
import { MAX_VALUE_BYTES } from '../store/log-format';
import type { RedisConnection } from '../store/redis/redis-connection';
import { ENTRY_HEAD, RedisOutbox, wakeMessageOf, type ClaimAlong, type ClaimLimits, type ClaimReply, type OutboxCounts } from '../store/redis/redis-outbox';
import {
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_QUEUED,
    DEFAULT_MAX_QUEUED_BYTES,
    formatBytes,
    keepableEntry,
    QueueFullError,
    type AttemptOutcome,
    type DeliveryQueueOptions,
    type Job,
    type QueuedJob,
    type QueueSnapshot,
} from './delivery-queue';
import { migratedEntry, OUTBOX_FORMAT, type OutboxEntry } from './outbox';
import type { NewRequest, OutboxQueue } from './outbox-queue';
import { jittered } from './retry-schedule';

/**
 * The fallback poll: how long an idle instance waits at most before it asks Redis for ready work again. It is woken
 * before that by Redis (the outbox scripts publish on the node's wake channel whenever a head becomes ready, with
 * when), by work accepted or a slot freed here, and by the time of the next retry it learnt from its last reply. The
 * poll only finds what pub/sub cannot promise: a message lost while the subscriber reconnected. A lease of a dead
 * instance is taken over when it ends: an idle instance's last reply said when the first lease ends, and it asks
 * again then.
 */
export const DEFAULT_POLL_MS = 5_000;
/** How often the contexts of requests accepted here but settled by another instance are looked for and dropped. */
export const DEFAULT_SWEEP_MS = 60_000;
/** The wait between two tries of a claim or a settle while Redis does not answer. */
const UNREACHABLE_RETRY_MS = 500;
/**
 * How long close() keeps trying to record an outcome while Redis does not answer: Node-RED gives a closing node
 * 15 s. A request left unrecorded is sent again by another instance once its lease runs out.
 */
const CLOSE_SETTLE_WAIT_MS = 5_000;
/** Job keys asked about in one sweep script. */
const SWEEP_BATCH = 1000;

export interface SharedDeliveryQueueOptions<R> extends Omit<DeliveryQueueOptions<R>, 'now'> {
    connection: RedisConnection;
    /** The node id: instances running the same node share its outbox. */
    nodeId: string;
    /**
     * How long a claim holds a call's head before another instance may take it back. It is renewed every third of
     * it while the attempt runs, so only an instance that died (or lost Redis for this long) loses it.
     */
    leaseMs: number;
    pollMs?: number;
    sweepMs?: number;
    /** Requests accepted here that another instance settled (their outcome was reported there). */
    onSettledElsewhere?(keys: string[]): void;
    /** This instance's lease on an attempt it made was taken back; another instance attempts it again. */
    onLeaseLost?(job: Job): void;
    /** A stored entry no format of this version reads (damaged, or from a later version): removed. */
    onUnreadable?(key: string): void;
}

/** A claimed head: its lane (call id) comes with it, since the settle names both. */
interface ClaimedJob extends Job {
    readonly lane: string;
    /** Its settle claimed on the same trip (or was told why not): the claim loop need not ask again for its slot. */
    claimedAlong?: boolean;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The outbox of one web service out node shared by every instance that runs it, in Redis (see RedisOutbox). The
 * cluster keeps DeliveryQueue's promises: head-of-line per call, `concurrency` and `rate` over all calls (here of
 * all instances), retries on the schedule with attempts, backoff and Retry-After carried in Redis, so whichever
 * instance makes the next attempt goes on where the last one stopped. A request is accepted once Redis replied
 * (durable with `appendfsync always`); an instance that died during an attempt loses its lease, and another sends
 * the request again under the same idempotency key.
 */
export class SharedDeliveryQueue<R> implements OutboxQueue {
    readonly shared = true;
    private readonly outbox: RedisOutbox;
    /** Names this queue's leases, so a settle after a takeover cannot clobber the new owner's. */
    private readonly token = randomUUID();
    private counts: OutboxCounts | undefined;
    /**
     * Redis's clock minus this one, from the last reply. Every lease, ready time and rate slot is decided in Redis
     * on its own TIME; this is only for what is shown or counted here: nextRetryAt and nextAttemptAt are converted to
     * this process's clock (so a status's "retrying in" is right on a skewed instance), and now() is Redis's.
     */
    private clockOffset = 0;
    private running = 0;
    private readonly inFlight = new Set<Promise<void>>();
    private readonly inFlightKeys = new Set<string>();
    /** Keys of requests accepted here and not settled here, whose context the caller holds. */
    private readonly acceptedHere = new Set<string>();
    private refused = false;
    private closing = false;
    private closed: Promise<number> | undefined;
    private readonly loop: Promise<void>;
    /** The claim loop's wait: until `until` (this clock), unless woken sooner. */
    private sleeper: { timer: NodeJS.Timeout; until: number; resolve: () => void } | undefined;
    private readonly stopWakeUps: () => void;
    /** A ready time announced while the loop was asking Redis (this clock): its next sleep ends by then. */
    private wakeBy: number | undefined;
    private woken = false;
    /**
     * Redis's time of the last claim this instance had answered (its loop's, or one made on an enqueue's or a
     * settle's trip). A "ready now" published before it is stale here: that claim saw the head, and whatever it
     * left ready was published by the same script, later.
     */
    private claimedAt = -Infinity;
    /** A failure was reported and nothing has succeeded since: one report per outage, not one per poll. */
    private failing = false;
    /** A claim failed: Redis may have run it and only its reply was lost, leaving a lease held for nothing. */
    private mayHoldOrphans = false;
    /**
     * Enqueues and settles that claim on their trip, until the job they claimed is started: the orphans' release
     * waits for them (a lease they took is not yet among the keys attempted here) and no new one starts meanwhile.
     */
    private readonly claimsAlong = new Set<Promise<unknown>>();
    private releasing = false;
    private readonly sweepTimer: NodeJS.Timeout;
    private readonly stopListening: () => void;
    private readonly concurrency: number;
    private readonly maxQueued: number;
    private readonly maxQueuedBytes: number;
    private readonly maxEntryBytes: number;
    private readonly pollMs: number;
    private readonly random: () => number;

    constructor(private readonly options: SharedDeliveryQueueOptions<R>) {
        this.outbox = new RedisOutbox(options.connection, options.nodeId);
        this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
        this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
        this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
        // The same bound as the file store's, so a request one store takes the other takes too.
        this.maxEntryBytes = Math.min(options.maxEntryBytes ?? MAX_VALUE_BYTES, MAX_VALUE_BYTES);
        this.pollMs = Math.max(1, options.pollMs ?? DEFAULT_POLL_MS);
        this.random = options.random ?? Math.random;
        this.stopListening = options.connection.onChange(() => {
            if (options.connection.state === 'ready') this.wake();
        });
        this.stopWakeUps = options.connection.subscribe(this.outbox.wakeChannel, {
            message: (text) => this.heard(text),
            // Whatever was published before, or while the subscriber was away, is looked for now.
            subscribed: () => this.wake(),
        });
        this.sweepTimer = setInterval(() => void this.sweep(), options.sweepMs ?? DEFAULT_SWEEP_MS);
        this.sweepTimer.unref();
        this.loop = this.claimLoop();
    }

    /**
     * Accepts a request once Redis has stored it, within the cluster's bounds. Rejects with nothing stored when
     * the entry cannot be kept (InputError), the cluster's queue is full (QueueFullError) or Redis did not answer
     * (StoreError, code `store`).
     */
    async enqueue(input: NewRequest, register?: (job: Job) => void): Promise<Job> {
        if (this.closing) throw new Error('the delivery queue is closed');
        const body = this.bodyOf(input);
        const along = this.claimAlong(0);
        const accepting = this.store(input, body, along, register);
        try {
            return await (along ? this.trackClaimAlong(accepting) : accepting);
        } catch (error) {
            if (!(error instanceof StoreError)) throw error;
            const reason = error.cause !== undefined ? errorText(error.cause) : errorText(error);
            throw new StoreError(`the shared outbox in Redis is unavailable (${reason}): the request is refused, not queued`, { cause: error });
        }
    }

    /**
     * enqueue's trip (and the replicas' wait): a head claimed on it is started before this resolves, once the job's
     * context is registered, so that the orphans' release that waits for it sees its key attempted.
     */
    private async store(input: NewRequest, body: string, along: ClaimAlong | undefined, register?: (job: Job) => void): Promise<Job> {
        let reply: Awaited<ReturnType<RedisOutbox['enqueue']>>;
        try {
            reply = await this.outbox.enqueue(String(input.call.callId), body, { maxQueued: this.maxQueued, maxQueuedBytes: this.maxQueuedBytes }, along);
        } catch (error) {
            throw error instanceof StoreError ? error : new StoreError(errorText(error), { cause: error });
        }
        const claimed = reply.kind === 'queued' && reply.claim?.kind === 'claimed' ? reply.claim : undefined;
        try {
            // done() says "durable", so with minReplicas it waits for the replicas. When they do not confirm, the
            // message is refused although the request sits in the primary's outbox: sent if the primary lives on,
            // lost if it dies now, and the refusal says it is not guaranteed.
            if (reply.kind === 'queued') await this.options.connection.acknowledged(this.outbox.keyNames.all[0]!);
        } catch (error) {
            // The head claimed on the trip is this instance's to send all the same (another would after the lease),
            // with no msg to report to.
            if (claimed) this.start(claimed);
            throw error instanceof StoreError ? error : new StoreError(errorText(error), { cause: error });
        }
        this.noteCounts(reply.counts);
        const { queued, queuedBytes } = reply.counts;
        if (reply.kind === 'full') {
            this.refused = true;
            this.changed();
            const message =
                reply.bound === 'maxQueued'
                    ? `queue full: ${queued} requests are queued in the cluster, the most this node keeps (maxQueued ${this.maxQueued}); new messages are refused until some are delivered`
                    : `queue full: ${queued} queued requests take ${formatBytes(queuedBytes)} in the cluster and this one ${formatBytes(Buffer.byteLength(body))}, beyond what this node keeps (maxQueuedSize ${formatBytes(this.maxQueuedBytes)}); new messages are refused until some are delivered`;
            throw new QueueFullError(reply.bound, queued, queuedBytes, message);
        }
        const entry: OutboxEntry = { format: OUTBOX_FORMAT, attempts: 0, seq: reply.seq, queuedAt: reply.queuedAt, ...input };
        const bytes = Buffer.byteLength(`${ENTRY_HEAD}0,"seq":${reply.seq},"queuedAt":${reply.queuedAt},`) + Buffer.byteLength(body) - 1;
        const job: Job = { key: reply.key, entry, recorded: Promise.resolve(), bytes };
        this.acceptedHere.add(job.key);
        register?.(job);
        this.refused = false;
        // Started once its context is registered: the attempt reports to the msg that made it.
        if (claimed) this.start(claimed);
        this.tookClaimAlong(reply.claim);
        this.changed();
        return job;
    }

    /** The claim an enqueue or a settle may make on its trip: while this instance has a free slot and is not closing. */
    private claimAlong(freeing: 0 | 1): ClaimAlong | undefined {
        if (this.closing || this.releasing || this.mayHoldOrphans || this.running - freeing >= this.concurrency) return undefined;
        return { token: this.token, limits: this.claimLimits() };
    }

    private claimLimits(): ClaimLimits {
        return {
            leaseMs: this.options.leaseMs,
            concurrency: this.concurrency,
            rateIntervalMs: this.options.ratePerSecond ? 1000 / this.options.ratePerSecond : 0,
        };
    }

    /** Keeps an operation that claims on its trip in view of the orphans' release; a failed one may have left a lease. */
    private async trackClaimAlong<T>(operation: Promise<T>): Promise<T> {
        this.claimsAlong.add(operation);
        try {
            return await operation;
        } catch (error) {
            // A full queue was refused before any claim; a store failure may have claimed with its reply lost.
            if (error instanceof StoreError) this.mayHoldOrphans = true;
            throw error;
        } finally {
            this.claimsAlong.delete(operation);
        }
    }

    /**
     * What the claim loop still has to do after a claim made on another trip: nothing when it leased a head (started
     * by the caller) or found none ready or the cluster busy (a settle anywhere publishes what it frees), wait for the
     * rate slot, and look for itself when no claim was made. Returns whether the claim was made.
     */
    private tookClaimAlong(claim: ClaimReply | undefined): boolean {
        if (!claim) {
            this.wake();
            return false;
        }
        this.claimedAt = claim.counts.now;
        if (claim.kind === 'rate') this.wakeAt(claim.slotAt);
        return true;
    }

    /** The JSON of the request's own fields, or an InputError when the outbox could not keep it. */
    private bodyOf(input: NewRequest): string {
        const { json: body, bytes } = keepableEntry(() => {
            const json = JSON.stringify(input);
            // What the script adds in front (format, attempts, seq, queuedAt) takes well under 100 bytes.
            return { json, bytes: Buffer.byteLength(json) + 100 };
        }, this.maxEntryBytes);
        if (bytes > this.maxQueuedBytes) {
            this.refused = true;
            throw new QueueFullError(
                'maxQueuedSize',
                this.counts?.queued ?? 0,
                this.counts?.queuedBytes ?? 0,
                `queue full: this request takes ${formatBytes(bytes)}, more than the whole queue may keep (maxQueuedSize ${formatBytes(this.maxQueuedBytes)})`,
            );
        }
        return body;
    }

    /** Redis's clock as of its last reply (queuedAt and every time in the outbox are on it). */
    now(): number {
        return Date.now() + this.clockOffset;
    }

    /** Cluster-wide counts as of this instance's last reply from Redis (a claim, a settle or the fallback poll). */
    get queuedCount(): number {
        return this.counts?.queued ?? 0;
    }

    snapshot(): QueueSnapshot {
        const queued = this.counts?.queued ?? 0;
        const queuedBytes = this.counts?.queuedBytes ?? 0;
        const nextReadyAt = this.counts?.nextReadyAt;
        const full = this.refused || queued >= this.maxQueued || queuedBytes >= this.maxQueuedBytes;
        return { queued, queuedBytes, full, inFlight: this.running, ...(nextReadyAt !== undefined ? { nextRetryAt: nextReadyAt - this.clockOffset } : {}) };
    }

    /** Every request in the cluster's outbox, for the deliveries list (nextAttemptAt on this instance's clock, queuedAt on Redis's). */
    async list(limit?: number): Promise<QueuedJob[]> {
        // The oldest `limit` entries by key are the oldest accepted: the first of a call among them is its head.
        const contents = await this.outbox.contents(limit);
        const offset = contents.now - Date.now();
        const jobs: QueuedJob[] = [];
        const headSeen = new Set<string>();
        for (const { key, json } of contents.entries) {
            let entry: OutboxEntry | undefined;
            try {
                entry = migratedEntry(JSON.parse(json));
            } catch {
                entry = undefined;
            }
            if (!entry) continue;
            const lane = String(entry.call.callId);
            const head = !headSeen.has(lane);
            headSeen.add(lane);
            const readyAt = contents.readyAt.get(lane);
            const inFlight = contents.leased.get(lane) === key;
            jobs.push({
                entry,
                inFlight,
                ...(head && !inFlight && readyAt !== undefined && readyAt > contents.now ? { nextAttemptAt: readyAt - offset } : {}),
            });
        }
        return jobs;
    }

    /** Makes the request with this idempotency key ready now, when it is its call's head waiting for a retry. */
    async retryNow(idempotencyKey: string): Promise<boolean> {
        const contents = await this.outbox.contents();
        for (const { key, json } of contents.entries) {
            if (!json.includes(JSON.stringify(idempotencyKey))) continue;
            const entry = migratedEntry(JSON.parse(json));
            if (entry?.idempotencyKey !== idempotencyKey) continue;
            const ready = await this.outbox.retryNow(String(entry.call.callId), key);
            if (ready) this.wake();
            return ready;
        }
        return false;
    }

    /**
     * Stops claiming, waits for this instance's attempts in flight and records their outcome; the shared keys stay
     * for the other instances and the next start. Resolves with the requests left in the cluster's outbox.
     */
    close(): Promise<number> {
        this.closed ??= (async () => {
            this.closing = true;
            clearInterval(this.sweepTimer);
            this.stopListening();
            this.stopWakeUps();
            this.wake();
            await this.loop;
            while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
            return this.counts?.queued ?? 0;
        })();
        return this.closed;
    }

    private async claimLoop(): Promise<void> {
        while (!this.closing) {
            if (this.running >= this.concurrency || this.options.connection.state !== 'ready') {
                await this.sleep(this.pollMs);
                continue;
            }
            let reply: ClaimReply;
            try {
                if (this.mayHoldOrphans) await this.releaseOrphans();
                reply = await this.outbox.claim(this.token, this.claimLimits());
            } catch (error) {
                this.mayHoldOrphans = true;
                this.reportFailure(error);
                await this.sleep(UNREACHABLE_RETRY_MS);
                continue;
            }
            this.failing = false;
            this.noteCounts(reply.counts);
            this.claimedAt = reply.counts.now;
            if (reply.kind === 'claimed') {
                this.start(reply);
                continue;
            }
            let waitMs = this.pollMs;
            const { now, nextReadyAt, firstLeaseEndAt } = reply.counts;
            if (reply.kind === 'rate') waitMs = reply.slotAt - now;
            else {
                // A lease that ends unrenewed is a dead instance's: its head is taken over then, not at the next poll.
                if (firstLeaseEndAt !== undefined) waitMs = Math.min(waitMs, firstLeaseEndAt - now + 1);
                if (reply.kind === 'idle' && nextReadyAt !== undefined) waitMs = Math.min(waitMs, nextReadyAt - now);
            }
            await this.sleep(Math.min(this.pollMs, Math.max(1, Math.ceil(waitMs))));
        }
    }

    /** Gives back the leases a lost reply may have left this instance, once no claim on another trip is under way. */
    private async releaseOrphans(): Promise<void> {
        this.releasing = true;
        try {
            while (this.claimsAlong.size > 0) await Promise.allSettled([...this.claimsAlong]);
            await this.outbox.releaseOrphans(this.token, [...this.inFlightKeys]);
            this.mayHoldOrphans = false;
        } finally {
            this.releasing = false;
        }
    }

    /** Waits `ms`, or less when woken (Redis's wake channel, local enqueue, a local slot freed, Redis back, close). */
    private sleep(ms: number): Promise<void> {
        if (this.woken || this.closing) {
            this.woken = false;
            return Promise.resolve();
        }
        const { wakeBy } = this;
        this.wakeBy = undefined;
        const waitMs = wakeBy === undefined ? ms : Math.max(1, Math.min(ms, Math.ceil(wakeBy - Date.now())));
        return new Promise((resolve) => {
            this.sleeper = { timer: this.sleepTimer(waitMs, resolve), until: Date.now() + waitMs, resolve };
        });
    }

    private sleepTimer(ms: number, resolve: () => void): NodeJS.Timeout {
        return setTimeout(() => {
            this.sleeper = undefined;
            resolve();
        }, ms);
    }

    /** A script's news on the wake channel: fresher counts, and maybe a head ready now or later. */
    private heard(text: string): void {
        const message = wakeMessageOf(text);
        if (!message) {
            this.wake();
            return;
        }
        // The message and a reply travel on two connections: the later of the two by Redis's clock wins.
        if (!this.counts || message.counts.now >= this.counts.now) this.noteCounts(message.counts);
        if (this.closing) return;
        // Its own messages reach an instance too, on another connection and so sometimes after its next claims.
        const staleReadyNow = message.readyAt !== undefined && message.readyAt <= message.counts.now && message.counts.now < this.claimedAt;
        if (message.readyAt !== undefined && !staleReadyNow) this.wakeAt(message.readyAt);
        // A lease taken by another instance: should it die, its head is this one's to take when the lease ends.
        if (message.counts.firstLeaseEndAt !== undefined) this.wakeAt(message.counts.firstLeaseEndAt + 1);
    }

    /**
     * A head becomes ready at `at` (Redis clock), as the wake channel says: now wakes the loop, later shortens its
     * sleep to then. Announced while the loop is asking Redis, it bounds the next sleep (the reply may predate it).
     */
    private wakeAt(at: number): void {
        const local = at - this.clockOffset;
        const waitMs = Math.ceil(local - Date.now());
        if (!Number.isFinite(waitMs) || waitMs <= 0) {
            this.wake();
            return;
        }
        const { sleeper } = this;
        if (!sleeper) {
            this.wakeBy = Math.min(this.wakeBy ?? local, local);
            return;
        }
        if (sleeper.until <= local) return;
        clearTimeout(sleeper.timer);
        sleeper.until = local;
        sleeper.timer = this.sleepTimer(waitMs, sleeper.resolve);
    }

    private wake(): void {
        const { sleeper } = this;
        if (!sleeper) {
            // The loop is waiting for Redis: it asks again at once instead of sleeping after this answer.
            this.woken = true;
            return;
        }
        this.sleeper = undefined;
        clearTimeout(sleeper.timer);
        sleeper.resolve();
    }

    private start(claimed: Extract<ClaimReply, { kind: 'claimed' }>): void {
        let parsed: unknown;
        try {
            parsed = JSON.parse(claimed.json);
        } catch {
            parsed = undefined;
        }
        const entry = migratedEntry(parsed);
        const job: ClaimedJob = { key: claimed.key, lane: claimed.lane, entry: entry!, recorded: Promise.resolve(), bytes: Buffer.byteLength(claimed.json) };
        this.running += 1;
        this.inFlightKeys.add(job.key);
        const work = (entry ? this.attemptAndSettle(job) : this.dropUnreadable(job))
            .catch((error: unknown) => this.options.onStoreError?.(error))
            .finally(() => {
                this.running -= 1;
                this.inFlightKeys.delete(job.key);
                this.inFlight.delete(work);
                // The slot freed is the loop's to fill, unless the settle already claimed for it.
                if (!job.claimedAlong) this.wake();
                this.changed();
            });
        this.inFlight.add(work);
        this.changed();
    }

    private async dropUnreadable(job: ClaimedJob): Promise<void> {
        if ((await this.recordSettle(job, 'done', 0)) === 'settled') {
            this.acceptedHere.delete(job.key);
            this.options.onUnreadable?.(job.key);
        }
    }

    private async attemptAndSettle(job: ClaimedJob): Promise<void> {
        const { leaseMs } = this.options;
        const renewal = setInterval(() => {
            this.outbox.renew(this.token, job.lane, job.key, leaseMs).catch(() => undefined);
        }, leaseMs / 3);
        let outcome: AttemptOutcome<R>;
        try {
            outcome = await this.options.attempt(job);
        } finally {
            clearInterval(renewal);
        }
        const { verdict } = outcome;
        const { attempts } = job.entry;
        const waitsLeft = this.options.schedule.length - (attempts - 1);
        const retry = verdict.kind === 'retry' && waitsLeft > 0;
        const delayMs = retry ? (verdict.retryAfterMs ?? jittered(this.options.schedule[attempts - 1]!, this.random)) : 0;
        if (!retry && verdict.kind !== 'delivered' && this.options.keep) {
            // Kept before it leaves the outbox: when keeping fails the lease runs out and the request is attempted
            // again (by any instance), so it is never lost between the two.
            try {
                await this.options.keep(job, outcome);
            } catch (error) {
                this.reportFailure(error);
                return;
            }
        }
        const recorded = await this.recordSettle(job, retry ? 'retry' : 'done', delayMs);
        if (recorded === 'unrecorded') return;
        if (recorded === 'lost') {
            this.options.onLeaseLost?.(job);
            return;
        }
        if (retry) {
            this.options.onRetry?.(job, outcome, delayMs);
            return;
        }
        this.acceptedHere.delete(job.key);
        this.refused = false;
        this.options.onSettled(job, outcome, verdict.kind === 'delivered');
    }

    /**
     * Records an attempt's outcome, trying again while Redis does not answer: the lease is still this instance's
     * until another claims it after the outage. Gives up when the connection is closed for good or, during close,
     * after CLOSE_SETTLE_WAIT_MS: then the lease runs out and another instance attempts the request again.
     */
    private async recordSettle(job: ClaimedJob, outcome: 'done' | 'retry', delayMs: number): Promise<'settled' | 'lost' | 'unrecorded'> {
        let giveUpAt: number | undefined;
        for (;;) {
            try {
                // The slot this job frees is the one the claim fills.
                const along = this.claimAlong(1);
                const settling = this.outbox.settle(this.token, job.lane, job.key, outcome, delayMs, along).then((reply) => {
                    // Started before the settle's promise ends, so the orphans' release sees its key attempted.
                    if (reply.claim?.kind === 'claimed') this.start(reply.claim);
                    return reply;
                });
                const reply = await (along ? this.trackClaimAlong(settling) : settling);
                this.failing = false;
                this.noteCounts(reply.counts);
                job.claimedAlong = this.tookClaimAlong(reply.claim) || undefined;
                return reply.kind;
            } catch (error) {
                this.reportFailure(error);
            }
            if (this.options.connection.state === 'closed') return 'unrecorded';
            if (this.closing) {
                giveUpAt ??= Date.now() + Math.min(this.options.leaseMs, CLOSE_SETTLE_WAIT_MS);
                if (Date.now() >= giveUpAt) return 'unrecorded';
            }
            await delay(UNREACHABLE_RETRY_MS);
        }
    }

    /** Tells the caller which requests accepted here were settled by another instance, so it can let go of them. */
    private async sweep(): Promise<void> {
        const candidates = [...this.acceptedHere].filter((key) => !this.inFlightKeys.has(key));
        const gone: string[] = [];
        try {
            for (let index = 0; index < candidates.length; index += SWEEP_BATCH)
                gone.push(...(await this.outbox.gone(candidates.slice(index, index + SWEEP_BATCH))));
        } catch {
            return; // Redis away: the next sweep asks again.
        }
        const settledElsewhere = gone.filter((key) => this.acceptedHere.delete(key) && !this.inFlightKeys.has(key));
        if (settledElsewhere.length > 0) this.options.onSettledElsewhere?.(settledElsewhere);
    }

    private noteCounts(counts: OutboxCounts): void {
        const before = this.counts;
        this.counts = counts;
        this.clockOffset = counts.now - Date.now();
        if (!before || before.queued !== counts.queued || before.queuedBytes !== counts.queuedBytes || before.nextReadyAt !== counts.nextReadyAt) {
            this.changed();
        }
    }

    /** A status callback that throws must not stop the claim loop or leave a lease unsettled. */
    private changed(): void {
        try {
            this.options.onChange?.();
        } catch {
            // The caller's own report failed; the queue's state is already up to date.
        }
    }

    private reportFailure(error: unknown): void {
        if (this.failing) return;
        this.failing = true;
        this.options.onStoreError?.(error instanceof CodedError ? error : new StoreError(errorText(error), { cause: error }));
    }
}
