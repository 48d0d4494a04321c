import type { RawEvent } from '../call/raw-event';
import { StoreError, type DurableStore } from '../store/durable-store';
import { CallTracker, TRACKED_CALL_FORMAT, type TrackedCall, type TrackerOptions, type Trigger } from './call-tracker';
import type { CallTracking } from './call-tracking';

/**
 * A CallTracker whose per-call state follows it into a durable store (one record per call, keyed by call id), so a
 * restart between "complete" and the last recording still fires "processed" and "updated", a wait for a recording
 * still ends on time, and an event seen before the restart stays a duplicate after it.
 *
 * The caller applies events (or a tick), sends the triggers, then awaits `save()`. Saving after sending is on
 * purpose: a crash between the two then loses nothing, because the state on disk does not yet hold the events
 * and the triggers fire again once the platform retries the unacknowledged events (or the deadline is found
 * overdue on restart); saving first would make the same crash lose those triggers for good. The repeats carry the
 * same call, trigger and updateSeq, so a receiver can recognise them.
 */
export class DurableCallTracking implements CallTracking {
    private lastSave: Promise<void> = Promise.resolve();
    /** A write failure of a store that does not repair itself (no `failure` of its own): it fails every later save. */
    private latched: unknown;

    private constructor(
        readonly tracker: CallTracker,
        private readonly store: DurableStore<TrackedCall> | undefined,
        /** Calls restored from the store. */
        readonly restored: number,
        /** Keys whose stored value was not a call's state: they were left out and deleted. */
        readonly unreadable: string[],
    ) {}

    /**
     * Restores the tracker from what the store holds; pending waits resume from their wall-clock deadlines. Without
     * a store the state is kept in memory only (and `save()` resolves at once).
     */
    static async open(store: DurableStore<TrackedCall> | undefined, options: Partial<TrackerOptions> = {}): Promise<DurableCallTracking> {
        const calls: TrackedCall[] = [];
        const unreadable: string[] = [];
        for (const [key, value] of (await store?.load()) ?? []) {
            if (isTrackedCall(value) && value.callId === key) calls.push(value);
            else unreadable.push(key);
        }
        await Promise.all(unreadable.map((key) => store!.delete(key)));
        const tracker = new CallTracker(options, { version: 1, calls });
        return new DurableCallTracking(tracker, store, calls.length, unreadable);
    }

    get size(): number {
        return this.tracker.size;
    }

    /**
     * The store's write failure in force, which fails every save until the store has repaired itself; a save that
     * failed only for its own record (see save) leaves it unset, so a node can tell "this request" from "the store".
     */
    get failure(): unknown {
        return this.repairs ? this.store!.failure : this.latched;
    }

    /** The store tells its failure and repairs itself (the file store). */
    private get repairs(): boolean {
        return this.store?.onFailureChange !== undefined;
    }

    /** Calls tracked that have not been processed yet: the ones whose triggers a lost state would lose. */
    get unfinished(): number {
        return this.tracker.unfinishedCount;
    }

    /**
     * Takes in a batch of validated events, all or none: a batch that would push a call over a per-call bound
     * throws a LimitExceededError (code `input`, status 413) before any of it is applied or any trigger fires.
     */
    apply(events: readonly RawEvent[]): Trigger[] {
        return this.tracker.apply(events);
    }

    /**
     * Takes in a batch as the node does: applies it, emits its triggers, then resolves once the state is saved
     * (sending before saving is the at-least-once order explained above).
     */
    take(events: readonly RawEvent[], emit: (triggers: Trigger[]) => void): Promise<void> {
        // A refused batch rejects, as the shared tracking's does, rather than throwing before a promise exists.
        try {
            emit(this.tracker.apply(events));
        } catch (err) {
            return Promise.reject(err);
        }
        return this.save();
    }

    /**
     * Without `emit`, returns what is due (the older use); with it, emits what is due and resolves once the state
     * that fired it is saved.
     */
    tick(): Trigger[];
    tick(emit: (triggers: Trigger[]) => void): Promise<void>;
    tick(emit?: (triggers: Trigger[]) => void): Trigger[] | Promise<void> {
        const triggers = this.tracker.tick();
        if (!emit) return triggers;
        emit(triggers);
        return this.save();
    }

    nextDeadline(): number | undefined {
        return this.tracker.nextDeadline();
    }

    /**
     * Writes what changed since the last save: a put per changed call, a delete per forgotten one. Resolves once
     * those, and every earlier save, are durable, so an event found to be a duplicate of one still being saved is
     * not acknowledged before the original is.
     *
     * While the store's disk fails every save fails too (the node answers 503, and the platform sends the events
     * again), but its changes are still handed to the store, which keeps them in memory and writes them all with its
     * repair: the tracker's memory and the store's stay one state. A save after an earlier one failed that way
     * resolves only once the store is repaired (its own writes then resolve, which means everything before them is
     * durable): a duplicate is never acknowledged while its original is not on disk.
     *
     * A store that does not repair itself latches instead: after its first write failure every save fails, and
     * opening the store again (a redeploy or restart) is the way back.
     *
     * A record the store cannot take (over its record size, or not encodable: the per-call bounds make it
     * impossible, but it is not the disk's fault) fails that save only: it must not answer 503 for every call.
     */
    save(): Promise<void> {
        const { changed, forgotten } = this.tracker.takeChanges();
        const store = this.store;
        if (!store) return Promise.resolve();
        if (this.latched !== undefined) return Promise.reject(this.latched);
        const writes: Array<Promise<void>> = [];
        for (const call of changed) writes.push(attempted(() => store.put(call.callId, call)));
        for (const callId of forgotten) writes.push(attempted(() => store.delete(callId)));
        const own = Promise.all(writes).then(
            () => undefined,
            (error: unknown) => {
                if (!this.repairs && latches(error)) this.latched ??= error;
                throw error;
            },
        );
        const earlier = this.lastSave;
        const saved = earlier
            .catch((error: unknown) => {
                // An earlier save the disk failed is durable once the store is repaired: from then on it is not ours.
                if (latches(error) && this.failure !== undefined) throw this.failure;
            })
            .then(() => own);
        this.lastSave = saved;
        // Only keeps a save nobody awaits from being an unhandled rejection.
        saved.catch(() => undefined);
        return saved;
    }

    /** Waits for every save accepted so far, then closes the store. */
    async close(): Promise<void> {
        await this.lastSave.catch(() => undefined);
        await this.store?.close();
    }
}

/** The write's promise, or its synchronous throw (a value that cannot be encoded) as a rejection. */
function attempted(write: () => Promise<void>): Promise<void> {
    try {
        return write();
    } catch (error) {
        return Promise.reject(error);
    }
}

/**
 * Whether a failed save says the disk is gone (the store then acknowledges nothing until repaired) rather than that one
 * record could not be written: a record over the store's size (StoreError `too-large`) or one JSON cannot encode
 * (TypeError, RangeError) is a fault of that record alone.
 */
function latches(error: unknown): boolean {
    if (error instanceof StoreError) return error.reason === 'io';
    return !(error instanceof RangeError || error instanceof TypeError);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The shape check of a stored call: a record from another version or a damaged one is skipped, never half-used. */
export function isTrackedCall(value: unknown): value is TrackedCall {
    if (!isRecord(value)) return false;
    const call = value;
    return (
        (call.format === undefined || call.format === TRACKED_CALL_FORMAT) &&
        isString(call.callId) &&
        call.callId !== '' &&
        isRecord(call.values) &&
        isRecord(call.valueTimes) &&
        Array.isArray(call.tags) &&
        call.tags.every(isString) &&
        Array.isArray(call.accountCodes) &&
        call.accountCodes.every(isString) &&
        isNumber(call.accountCodesAt) &&
        Array.isArray(call.recordings) &&
        call.recordings.every((recording) => isRecord(recording) && isString(recording.url) && isNumber(recording.at)) &&
        (call.complete === undefined || (isRecord(call.complete) && isNumber(call.complete.at) && isNumber(call.complete.pending))) &&
        typeof call.processed === 'boolean' &&
        (call.recordingDeadline === undefined || isNumber(call.recordingDeadline)) &&
        typeof call.recordingsMissing === 'boolean' &&
        typeof call.answered === 'boolean' &&
        isNumber(call.updateSeq) &&
        (call.presentings === undefined || isNumber(call.presentings)) &&
        (call.connections === undefined || isNumber(call.connections)) &&
        isNumber(call.firstEventAt) &&
        isNumber(call.lastEventAt) &&
        isNumber(call.lastActivity) &&
        Array.isArray(call.seen) &&
        call.seen.every(isString)
    );
}
