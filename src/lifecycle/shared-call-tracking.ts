import { randomBytes } from 'node:crypto';
import type { RawEvent } from '../call/raw-event';
import { logText } from '../logging/log-text';
import { StoreError } from '../store/durable-store';
import type { CallCounts, CallEviction, CallExpiry, CallStateStore, CallWrite, PendingBatch, StoredCall, StoredCalls } from './call-state-store';
import { CallTracker, DEFAULT_TRACKER_OPTIONS, type TrackedCall, type TrackerOptions, type Trigger } from './call-tracker';
import type { CallTracking } from './call-tracking';
import { isTrackedCall } from './durable-call-tracking';

export interface SharedCallTrackingOptions extends Partial<TrackerOptions> {
    /** This instance, named in the pending triggers it commits (a process's host and pid, say). */
    instanceId: string;
    /**
     * How long an instance has to emit what it committed, and to finish a recording wait it claimed, before another
     * instance takes over (ms). Far longer than a commit takes; a takeover re-emits, so it is what a crash costs.
     */
    leaseMs?: number;
    /** Commits tried for one batch while other instances keep changing its calls; then a StoreError. */
    maxAttempts?: number;
    /** Pending batches and due calls one tick takes on, so a tick stays short after an outage. */
    claimLimit?: number;
    /** A stored record that is not a call's state (another version's, damaged): it is dropped, and reported here. */
    onUnreadable?: (callId: string) => void;
}

export const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_MAX_ATTEMPTS = 25;
const DEFAULT_CLAIM_LIMIT = 100;
/**
 * Calls whose stored state this instance remembers from its own last commit, so that the next batch of one of them
 * commits without reading first (the commit checks the version; a stale memory costs a refused commit, which says
 * the current state). The most recently committed are kept.
 */
const REMEMBERED_CALLS = 1000;
/**
 * How far this instance's estimate of the store's clock (its own clock plus the difference seen in the last reply)
 * may be from the store's when a batch runs on it; beyond, the store refuses the commit and says its clock.
 */
const CLOCK_TOLERANCE_MS = 250;

/**
 * How long the best estimate of the store's clock stands before a later reply's replaces it even when worse: long
 * enough to ride out a burst of slow replies, short enough to follow a failover to a server whose clock differs.
 */
const CLOCK_SAMPLE_KEEP_MS = 10_000;

interface Transaction {
    triggers: Trigger[];
    batchId?: string;
}

const newToken = (): string => randomBytes(12).toString('base64url');

/**
 * The call state of one call event in node shared by every instance that runs the same flow: any instance may take
 * any event of any call, and the cluster fires what one CallTracker would. For a batch it reads the batch's calls,
 * runs a CallTracker made of just those records (the one copy of the trigger rules), and commits every changed call
 * in one atomic check-and-set; a conflict (another instance changed one of them meanwhile) runs again on the state
 * the refused commit says.
 *
 * The commit also records the batch's triggers as pending under a lease; they are emitted, then acknowledged on a
 * trip of their own before the batch is answered. That trip is what keeps a call's triggers in order across instances:
 * an event answered by one instance has the next sent to another, and by then the first one's triggers must have
 * reached web service out (sending the answer a trip sooner let the next event's request overtake them). An
 * acknowledgement that fails rides on the instance's next commit or tick. A batch's first trip is its commit when
 * the instance remembers its calls from its own last commit (a refused commit says the current state, so a stale
 * memory costs one more commit, as a read would). An instance that dies before the
 * acknowledgement leaves them pending, and another instance's tick emits them once the lease has
 * ended, with the snapshots as first fired: at least once across a crash, with the same idempotency key, and exactly
 * once without one. Recording waits are claimed the same way, so each fires once in the cluster.
 *
 * The cluster-wide bounds are the store's: maxCalls and maxBytes (of the records' JSON as stored; finished calls go
 * first, least recently active first), the retention and the stale limit as expiries of the records.
 */
export class SharedCallTracking implements CallTracking {
    private readonly trackerOptions: Partial<TrackerOptions>;
    private readonly expiry: CallExpiry;
    private readonly maxCalls: number;
    private readonly maxBytes: number;
    private readonly leaseMs: number;
    private readonly maxAttempts: number;
    private readonly claimLimit: number;
    /** A test's clock; undefined (always, in a node) means the store's clock, the one every instance shares. */
    private readonly now: (() => number) | undefined;
    private readonly inFlight = new Set<Promise<unknown>>();
    private counts: CallCounts = { calls: 0, unfinished: 0, bytes: 0 };
    private lastFailure: unknown;
    private closed = false;
    private ticking: Promise<void> | undefined;
    /** Commits redone because a call had changed since this instance last saw it: how contended the calls are. */
    conflicts = 0;
    /** The store's state of recently committed calls, as this instance's commits left it. */
    private readonly remembered = new Map<string, StoredCall>();
    /** The store's clock minus this one, from the best recent reply that said it (see noteStoreClock); undefined before. */
    private storeClockOffset: number | undefined;
    private storeClockOffsetAt = 0;
    /** Batches emitted and not yet acknowledged: the next trip carries them. */
    private unacknowledged: string[] = [];

    constructor(
        private readonly state: CallStateStore,
        private readonly options: SharedCallTrackingOptions,
    ) {
        const resolved = { ...DEFAULT_TRACKER_OPTIONS, ...options };
        for (const name of ['retentionMs', 'staleMs'] as const) {
            if (!Number.isFinite(resolved[name]) || resolved[name] <= 0) throw new RangeError(`${name} must be a positive number of ms for shared call state`);
        }
        // Not Date.now: an instance whose clock is minutes off would fire recording waits early or late, take over
        // leases others still hold, and expire calls early. Deadlines and leases are on the store's clock.
        this.now = options.now;
        this.expiry = { finishedMs: Math.min(resolved.retentionMs, resolved.staleMs), unfinishedMs: resolved.staleMs };
        this.maxCalls = resolved.maxCalls;
        this.maxBytes = resolved.maxBytes;
        // The store holds the cluster-wide bounds; a tracker of a batch's few calls must never evict one of them.
        const { instanceId: _instance, leaseMs: _lease, maxAttempts: _attempts, claimLimit: _claims, onUnreadable: _unreadable, ...tracker } = options;
        this.trackerOptions = { ...tracker, maxCalls: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY, onEviction: undefined };
        this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
        this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
        this.claimLimit = options.claimLimit ?? DEFAULT_CLAIM_LIMIT;
    }

    get size(): number {
        return this.counts.calls;
    }

    get unfinished(): number {
        return this.counts.unfinished;
    }

    /** Bytes of call state in the store (the records' JSON), as of the last tick. */
    get bytes(): number {
        return this.counts.bytes;
    }

    /** The failure of the last store operation, cleared by the next one that succeeds: Redis reconnects by itself. */
    get failure(): unknown {
        return this.lastFailure;
    }

    take(events: readonly RawEvent[], emit: (triggers: Trigger[]) => void): Promise<void> {
        const callIds = [...new Set(events.map((event) => event.callId))];
        return this.guarded(async () => {
            const done = await this.transact(callIds, (tracker) => tracker.apply(events));
            await this.deliver(done, emit);
        });
    }

    /**
     * Re-emits the pending triggers of instances that did not acknowledge them within the lease, fires the recording
     * waits that ended (one emit per batch), and refreshes the counts. A tick asked for while one is running is that
     * one (its emit is the one used): a timer's ticks never pile up behind a slow Redis.
     */
    tick(emit: (triggers: Trigger[]) => void): Promise<void> {
        if (this.ticking) return this.ticking;
        const ticking = this.runTick(emit).finally(() => {
            this.ticking = undefined;
        });
        this.ticking = ticking;
        return ticking;
    }

    private runTick(emit: (triggers: Trigger[]) => void): Promise<void> {
        return this.guarded(async () => {
            // This instance's own acknowledgements go first, so that it never takes back a batch it emitted.
            const acknowledged = this.takeUnacknowledged();
            let pending: PendingBatch[];
            try {
                pending = await this.state.claimPending(this.leaseMs, this.claimLimit, this.now?.(), acknowledged);
            } catch (err) {
                this.giveBackUnacknowledged(acknowledged);
                throw err;
            }
            for (const batch of pending) {
                await this.deliver({ triggers: batch.triggers, batchId: batch.batchId }, emit);
            }
            for (const callId of await this.state.claimDue(this.leaseMs, this.claimLimit, this.now?.())) {
                const done = await this.transact([callId], (tracker) => tracker.tick());
                if (done.triggers.length > 0) await this.deliver(done, emit);
            }
            this.counts = await this.state.count(this.expiry, this.now?.());
        });
    }

    /**
     * Waits for the operations under way and sends the acknowledgements still due; the store's connection is its
     * owner's to close. One that cannot be sent leaves its batch to be emitted again after the lease (same snapshots).
     */
    async close(): Promise<void> {
        this.closed = true;
        await Promise.allSettled([...this.inFlight]);
        await this.acknowledgeNow();
    }

    /**
     * Runs `step` on a tracker of just these calls and commits the outcome with its triggers pending. The calls' state
     * is what this instance's last commit of them left, when it remembers all of them, and the time its estimate of
     * the store's clock: then the commit is the batch's one trip. A commit refused (a call changed elsewhere, or the
     * estimate was off) says the state and clock as they are, and the batch runs again on those.
     */
    private async transact(callIds: readonly string[], step: (tracker: CallTracker) => Trigger[]): Promise<Transaction> {
        let known = this.rememberedState(callIds);
        try {
            for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
                const estimated = known?.estimated ?? false;
                const { now: storeNow, calls: stored } = known?.state ?? (await this.state.read(callIds));
                const done = await this.commitOnce(callIds, step, stored, this.now?.() ?? storeNow, estimated);
                if ('triggers' in done) return done;
                this.conflicts += 1;
                known = done.current ? { state: done.current, estimated: false } : undefined;
                // A short random pause, longer with each attempt, so two instances racing on one call stop colliding.
                if (attempt > 1 || !estimated) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 2));
            }
        } catch (err) {
            // What the tracker may have changed in place, or a commit of unknown fate, is not to be trusted later.
            for (const callId of callIds) this.remembered.delete(callId);
            throw err;
        }
        for (const callId of callIds) this.remembered.delete(callId);
        throw new StoreError(`the state of ${callIds.length === 1 ? 'a call' : `${callIds.length} calls`} kept changing under ${this.maxAttempts} attempts`, {
            reason: 'io',
        });
    }

    /** One run of the batch on `stored` at `now`, and its commit: the transaction, or the state the store found instead. */
    private async commitOnce(
        callIds: readonly string[],
        step: (tracker: CallTracker) => Trigger[],
        stored: Map<string, StoredCall>,
        now: number,
        estimated: boolean,
    ): Promise<Transaction | { current?: StoredCalls }> {
        // Every time the batch writes (last activity, recording deadline, expiry, lease) is on the store's clock.
        const records: TrackedCall[] = [];
        const unreadable = new Set<string>();
        for (const [callId, { record }] of stored) {
            if (isTrackedCall(record) && record.callId === callId) records.push(record);
            else unreadable.add(callId);
        }
        const tracker = new CallTracker({ ...this.trackerOptions, now: () => now }, { version: 1, calls: records });
        // A LimitExceededError leaves here, before anything is written.
        const triggers = step(tracker);
        const { changed, forgotten } = tracker.takeChanges();
        const changedById = new Map(changed.map((record) => [record.callId, record]));
        const writes: CallWrite[] = callIds.map((callId): CallWrite => {
            const expected = stored.get(callId)?.version;
            const record = changedById.get(callId);
            if (record) {
                const idleMs = record.processed ? this.expiry.finishedMs : this.expiry.unfinishedMs;
                return { kind: 'put', callId, expected, version: newToken(), record, expiresAt: record.lastActivity + idleMs };
            }
            if (expected !== undefined && (forgotten.includes(callId) || unreadable.has(callId))) return { kind: 'delete', callId, expected };
            return { kind: 'keep', callId, expected, deadline: tracker.get(callId)?.recordingDeadline };
        });
        const pending: PendingBatch | undefined =
            triggers.length > 0 ? { batchId: newToken(), instanceId: this.options.instanceId, leaseUntil: now + this.leaseMs, triggers } : undefined;
        const acknowledged = this.takeUnacknowledged();
        let outcome: Awaited<ReturnType<CallStateStore['commit']>>;
        try {
            outcome = await this.state.commit({
                writes,
                pending,
                maxCalls: this.maxCalls,
                maxBytes: this.maxBytes,
                now,
                expiry: this.expiry,
                acknowledged,
                ...(estimated ? { clockToleranceMs: CLOCK_TOLERANCE_MS } : {}),
            });
        } catch (err) {
            // Sent again by the next trip: forgetting a batch twice does no harm.
            this.giveBackUnacknowledged(acknowledged);
            throw err;
        }
        if (!outcome.committed) {
            // Refused: the estimate may be what was off (this instance's clock jumped), so this reply's clock stands.
            if (outcome.current) this.noteStoreClock(outcome.current.now, true);
            return { current: outcome.current };
        }
        if (outcome.now !== undefined) this.noteStoreClock(outcome.now);
        for (const write of writes) {
            this.remembered.delete(write.callId);
            if (write.kind === 'put') this.remembered.set(write.callId, { version: write.version, record: write.record });
            else if (write.kind === 'keep' && write.expected !== undefined) this.remembered.set(write.callId, stored.get(write.callId)!);
        }
        for (const [callId] of this.remembered) {
            if (this.remembered.size <= REMEMBERED_CALLS) break;
            this.remembered.delete(callId);
        }
        for (const callId of unreadable) this.reportUnreadable(callId);
        for (const eviction of outcome.evicted) {
            this.remembered.delete(eviction.callId);
            this.reportEviction(eviction);
        }
        return { triggers, batchId: pending?.batchId };
    }

    /**
     * The state of these calls as this instance's own commits left it, when it remembers every one of them (a call it
     * never saw may be new: the commit then says whether it was), with the time on this instance's estimate of the
     * store's clock; undefined when it must read.
     */
    private rememberedState(callIds: readonly string[]): { state: StoredCalls; estimated: boolean } | undefined {
        const now = this.now?.() ?? (this.storeClockOffset === undefined ? undefined : Date.now() + this.storeClockOffset);
        if (now === undefined) return undefined;
        const calls = new Map<string, StoredCall>();
        let unknown = 0;
        for (const callId of callIds) {
            const call = this.remembered.get(callId);
            if (call) calls.set(callId, call);
            else unknown += 1;
        }
        // A batch of calls this instance has never seen: they are most likely new; one of them known is enough.
        if (unknown === callIds.length && callIds.length > 1) return undefined;
        return { state: { now, calls }, estimated: this.now === undefined };
    }

    /**
     * A reply's time is the store's when the script ran, and arrives after its fsync and the trip back: the offset it
     * gives is short by that wait, never long. So the largest offset seen lately is the closest, and one slow reply
     * (a loaded machine, a slow fsync) does not put the next commits' estimate behind by as much. `refused`: a commit
     * was refused, maybe for the estimate itself, which then gives way to this reply's.
     */
    private noteStoreClock(storeNow: number, refused = false): void {
        if (!Number.isFinite(storeNow)) return;
        const now = Date.now();
        const offset = storeNow - now;
        const stale = now - this.storeClockOffsetAt > CLOCK_SAMPLE_KEEP_MS;
        if (refused || stale || this.storeClockOffset === undefined || offset >= this.storeClockOffset) {
            this.storeClockOffset = offset;
            this.storeClockOffsetAt = now;
        }
    }

    /**
     * Emits, then acknowledges the batch (with any acknowledgement an earlier trip failed to carry) before the caller
     * answers. An emit that throws leaves the batch pending (another tick re-emits it after the lease); an
     * acknowledgement that is lost (a crash, Redis away) only means one more emission after the lease, with the same
     * snapshots and so the same idempotency keys, so the caller is not failed for it.
     */
    private async deliver(done: Transaction, emit: (triggers: Trigger[]) => void): Promise<void> {
        emit(done.triggers);
        if (done.batchId === undefined) return;
        this.unacknowledged.push(done.batchId);
        await this.acknowledgeNow();
    }

    private takeUnacknowledged(): string[] {
        const taken = this.unacknowledged;
        this.unacknowledged = [];
        return taken;
    }

    /** Puts back acknowledgements a trip failed to carry: the next trip (a commit, a tick, close) carries them. */
    private giveBackUnacknowledged(batchIds: string[]): void {
        if (batchIds.length > 0) this.unacknowledged.unshift(...batchIds);
    }

    /** Sends the acknowledgements due on a trip of their own; those it cannot send wait for the next trip. */
    private async acknowledgeNow(): Promise<void> {
        const batchIds = this.takeUnacknowledged();
        if (batchIds.length === 0) return;
        try {
            await this.state.acknowledge(batchIds);
        } catch {
            this.giveBackUnacknowledged(batchIds);
        }
    }

    private reportUnreadable(callId: string): void {
        if (this.options.onUnreadable) this.options.onUnreadable(callId);
        else this.options.onWarning?.(`dropped the stored state of call ${logText(callId)}: it is not a call record of this version`);
    }

    private reportEviction({ callId, processed, reason }: CallEviction): void {
        const limit = reason === 'calls' ? this.maxCalls : this.maxBytes;
        if (this.options.onEviction) {
            this.options.onEviction({ reason, limit, callId, processed });
            return;
        }
        const bound = reason === 'calls' ? `${limit} calls` : `${limit} bytes of call state`;
        const raise = reason === 'calls' ? 'Max tracked calls' : 'Tracked state (MiB)';
        this.options.onWarning?.(
            `tracking limit of ${bound} reached: forgot ${processed ? 'finished' : 'unfinished'} call ${logText(callId)}` +
                (processed ? '' : ` before it was processed (raise "${raise}" if calls are being cut short)`),
        );
    }

    /** Runs one operation: refused once closed, awaited by close, and its store failure kept as `failure`. */
    private async guarded(operation: () => Promise<void>): Promise<void> {
        if (this.closed) throw new StoreError('the shared call state is closed', { reason: 'closed' });
        const running = operation();
        this.inFlight.add(running);
        try {
            await running;
            this.lastFailure = undefined;
        } catch (err) {
            if (err instanceof StoreError) this.lastFailure = err;
            throw err;
        } finally {
            this.inFlight.delete(running);
        }
    }
}
