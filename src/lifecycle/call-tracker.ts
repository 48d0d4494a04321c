import { agentDisplayName, type Call, type CallDirection, type TriggerEventId } from '../call/call';
import type { RawEvent } from '../call/raw-event';
import { logText } from '../logging/log-text';
import { ActivityOrder } from './activity-order';
import {
    baseBytes,
    countRecordingsSince,
    EMPTY_VIEW,
    FIRST_EVENT_AT,
    LAST_ACTIVITY,
    LAST_EVENT_AT,
    LAST_WINS,
    listBytes,
    liveCallFrom,
    memberBytes,
    membersOf,
    newLiveCall,
    ownLists,
    recordingBytes,
    recordOf,
    SEEN_KEY_BYTES,
    valueBytes,
    valueTimeIndex,
    withMember,
    withoutView,
    withRecording,
    withView,
    type LastWinsField,
    type ListView,
    type LiveCall,
    type TrackedCall,
} from './call-record';
import { eventKey, hasSeen, SEEN_PER_CALL, seenCount, withSeen } from './seen-event-keys';
import { LimitExceededError, resolveEventLimits, type EventLimits } from './event-limits';

export { TRACKED_CALL_FORMAT, type TrackedCall } from './call-record';

export interface Trigger {
    event: TriggerEventId;
    call: Call;
}

export interface TrackerOptions {
    /** How long "Call and Recordings Processed" waits for a pending recording before firing without it. */
    recordingWaitMs: number;
    /** How long a processed call is kept (for later account-code changes) after its last event. */
    retentionMs: number;
    /** An unfinished call idle this long is forgotten (its platform never sent the rest). */
    staleMs: number;
    /** At most this many calls are tracked; beyond, the least recently active are forgotten first. */
    maxCalls: number;
    /** At most this many bytes of call state (as stored, JSON) are tracked; beyond, calls are forgotten as for maxCalls. */
    maxBytes: number;
    /**
     * The per-call bounds (`maxCallListMembers`, `maxCallBytes`; the others are for validation): pass the same
     * EventLimits the events were validated with.
     */
    limits?: Partial<EventLimits>;
    now?: () => number;
    onWarning?: (message: string) => void;
    /** A forgotten call as data, for a caller that words its own warnings; given, it replaces the onWarning text. */
    onEviction?: (eviction: TrackerEviction) => void;
}

/** A call forgotten because a tracking bound was reached. */
export interface TrackerEviction {
    /** Which bound: maxCalls, or maxBytes of call state. */
    reason: 'calls' | 'bytes';
    /** The bound's value (calls, or bytes). */
    limit: number;
    callId: string;
    /** Unprocessed calls forgotten lose their remaining triggers. */
    processed: boolean;
}

export const DEFAULT_TRACKER_OPTIONS: Omit<TrackerOptions, 'now' | 'onWarning' | 'onEviction' | 'limits'> = {
    recordingWaitMs: 15 * 60_000,
    retentionMs: 60 * 60_000,
    staleMs: 24 * 60 * 60_000,
    maxCalls: 50_000,
    // maxCalls x about 2 KB: an ordinary call (1.1 KB in flight, 1.4 KB finished, by the estimate) never reaches it
    // before maxCalls does, while calls near maxCallBytes are cut at 96 MiB rather than at 50,000 x 64 KiB.
    maxBytes: 96 * 1024 * 1024,
};

export interface TrackerState {
    version: 1;
    calls: TrackedCall[];
}

/** What changed since the last `takeChanges()`: the calls to save again and the ones to delete. */
export interface TrackerChanges {
    changed: TrackedCall[];
    forgotten: string[];
}

/** Counts of the work done, so tests can prove the bounds by what the code did rather than by how long it took. */
export interface TrackerStats {
    calls: number;
    unfinished: number;
    /** The running estimate of the stored JSON of every tracked call (an upper bound). */
    bytes: number;
    evictions: number;
    /** Calls looked at to choose eviction victims, over all evictions. */
    evictionExamined: number;
    /** Calls looked at by expiry, over all ticks. */
    expiryExamined: number;
    /** Set and map operations on a call's lists and seen keys, over all events. */
    memberOps: number;
    /** List members copied into the snapshots triggers carry. */
    snapshotMembers: number;
}

function sameMembers(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
    if (a.size !== b.size) return false;
    for (const item of b) if (!a.has(item)) return false;
    return true;
}

/** The object without its undefined fields, built anew: deleting them would turn every snapshot into a slow dictionary. */
function definedOnly<T extends object>(value: T): T {
    const kept = {} as T;
    for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) kept[key] = value[key];
    return kept;
}

function lastWinsValues(event: RawEvent): Partial<Record<LastWinsField, string | number | undefined>> {
    return {
        reportCallId: event.reportCallId,
        direction: event.direction,
        callerName: event.callerName,
        dnis: event.dnis,
        externalNumber: event.externalNumber,
        location: event.location,
        startTime: event.startTime,
        agentName: event.agent?.name,
        agentExtension: event.agent?.extension,
        group: event.group,
    };
}

/** What a batch would make of one call: enough to refuse the batch before any of it is applied. */
interface Projection {
    keys: Set<string>;
    seen: number;
    tags: Set<string>;
    tagCount: number;
    recordings: Set<string>;
    recordingCount: number;
    accountCodesBytes: number;
    values: Partial<Record<LastWinsField, number>>;
    bytes: number;
}

/**
 * Tracks each call's life from raw events and decides which of the five triggering events fire. Plain domain
 * code: time comes from `now()` and deadlines are acted on when `tick()` is called, so tests control the clock
 * and the node drives it with one timer.
 *
 * Work per event is what the event holds: lists merge into Sets, duplicates are found among at most SEEN_PER_CALL
 * keys, and calls are kept in two activity orders (finished, unfinished) so eviction takes the oldest of one.
 */
export class CallTracker {
    private readonly calls = new Map<string, LiveCall>();
    // A call is moved to the end of its order whenever an event touches it.
    private readonly finished = new ActivityOrder<LiveCall>();
    private readonly unfinished = new ActivityOrder<LiveCall>();
    private readonly waiting = new Set<string>();
    private readonly changed = new Set<string>();
    private readonly forgotten = new Set<string>();
    private readonly options: TrackerOptions;
    private readonly limits: EventLimits;
    private readonly now: () => number;
    private totalBytes = 0;
    private readonly counters = { evictions: 0, evictionExamined: 0, expiryExamined: 0, memberOps: 0, snapshotMembers: 0 };

    constructor(options: Partial<TrackerOptions> = {}, state?: TrackerState) {
        this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
        this.limits = resolveEventLimits(options.limits);
        this.now = options.now ?? Date.now;
        // Expiry and eviction walk the maps oldest first; a store may give the calls back in another order.
        const restored = [...(state?.calls ?? [])].sort((a, b) => a.lastActivity - b.lastActivity);
        for (const record of restored) {
            const call = liveCallFrom(record);
            // A state listing a call twice keeps its most recent record: the other must leave its order too.
            const previous = this.calls.get(call.callId);
            if (previous) {
                this.order(previous).remove(previous);
                this.totalBytes -= previous.bytes;
            }
            this.calls.set(call.callId, call);
            this.order(call).append(call);
            this.totalBytes += call.bytes;
            if (call.recordingDeadline !== undefined) this.waiting.add(call.callId);
        }
        // Restored under lower caps than the state was saved with: the caps hold from the start.
        while (this.calls.size > this.options.maxCalls) this.evictOne('calls');
        while (this.totalBytes > this.options.maxBytes && this.calls.size > 0) this.evictOne('bytes');
    }

    get size(): number {
        return this.calls.size;
    }

    /** Calls tracked that have not been processed yet: the ones whose triggers a lost state would lose. */
    get unfinishedCount(): number {
        return this.unfinished.size;
    }

    stats(): TrackerStats {
        return { calls: this.calls.size, unfinished: this.unfinished.size, bytes: this.totalBytes, ...this.counters };
    }

    /** The state of one call (a copy, as stored), for inspection and tests. */
    get(callId: string): TrackedCall | undefined {
        const call = this.calls.get(callId);
        return call && recordOf(call);
    }

    /** The tracker's running byte estimate of one call's record (an upper bound of its JSON's UTF-8 bytes). */
    bytesOf(callId: string): number | undefined {
        return this.calls.get(callId)?.bytes;
    }

    exportState(): TrackerState {
        return { version: 1, calls: Array.from(this.calls.values(), recordOf) };
    }

    /**
     * The calls changed or forgotten since the last call, as copies, so a store can follow the tracker with one put
     * or delete per call however many events touched it.
     */
    takeChanges(): TrackerChanges {
        const changed: TrackedCall[] = [];
        for (const callId of this.changed) {
            const call = this.calls.get(callId);
            if (call) changed.push(recordOf(call));
        }
        const changes = { changed, forgotten: [...this.forgotten] };
        this.changed.clear();
        this.forgotten.clear();
        return changes;
    }

    /**
     * Refuses (with a LimitExceededError naming the event's index in `events`, the field and the bound) a batch
     * whose events would give a call more than `maxCallListMembers` tags, account codes or recordings, or a record
     * of more than `maxCallBytes`. Changes nothing; O(what the events hold).
     */
    check(events: readonly RawEvent[]): void {
        this.project(events);
    }

    /** What `check` does; returns each event's key, so that taking the events in does not hash them again. */
    private project(events: readonly RawEvent[]): string[] {
        const { maxCallListMembers, maxCallBytes } = this.limits;
        const keys: string[] = [];
        const projections = new Map<string, Projection>();
        events.forEach((event, index) => {
            const call = this.calls.get(event.callId);
            let projection = projections.get(event.callId);
            if (!projection) {
                projection = {
                    keys: new Set(),
                    seen: call ? seenCount(call.seen) : 0,
                    tags: new Set(),
                    tagCount: call?.lists.tags.size ?? 0,
                    recordings: new Set(),
                    recordingCount: call?.lists.recordings.size ?? 0,
                    accountCodesBytes: call?.lists.accountCodesBytes ?? 0,
                    values: {},
                    bytes: call?.bytes ?? baseBytes(event.callId),
                };
                projections.set(event.callId, projection);
            }
            const key = eventKey(event);
            keys.push(key);
            this.counters.memberOps += 2;
            const duplicate = (call !== undefined && hasSeen(call.seen, key)) || projection.keys.has(key);
            projection.keys.add(key);
            const where = `event ${index}`;
            // Only an error quotes the call id, so it is escaped only then.
            const callName = (): string => logText(event.callId);
            const tooMany = (field: string, count: number, noun: string): LimitExceededError =>
                new LimitExceededError(where, field, `would give call ${callName()} ${count} ${noun}, over the limit of ${maxCallListMembers} per call`);
            // The field that adds most to the record, named if the record grows over its bound.
            let largest = { field: 'seen', bytes: 0 };
            const grow = (field: string, bytes: number): void => {
                projection.bytes += bytes;
                if (bytes > largest.bytes) largest = { field, bytes };
            };

            // A duplicate is counted as if it were taken in (all but its key): it is, when its call is evicted by
            // an earlier event of the batch and comes back, and the same id may carry other data the second time.
            // Every key has the same size, so a full FIFO stays the same size when its oldest key goes.
            if (!duplicate && projection.seen < SEEN_PER_CALL) {
                projection.seen += 1;
                grow('eventId', SEEN_KEY_BYTES);
            }
            const incoming = lastWinsValues(event);
            for (const field of LAST_WINS) {
                const value = incoming[field];
                if (value === undefined) continue;
                // Which of the values wins depends on the times; the largest is the bound.
                const current = projection.values[field] ?? valueBytes(field, call?.[field]);
                const bytes = valueBytes(field, value);
                if (bytes > current) {
                    projection.values[field] = bytes;
                    grow(field.startsWith('agent') ? `agent.${field.slice(5).toLowerCase()}` : field, bytes - current);
                }
            }
            for (const tag of event.tags ?? []) {
                this.counters.memberOps += 2;
                if (call?.lists.tags.has(tag) || projection.tags.has(tag)) continue;
                projection.tags.add(tag);
                projection.tagCount += 1;
                if (projection.tagCount > maxCallListMembers) throw tooMany('tags', projection.tagCount, 'tags');
                grow('tags', memberBytes(tag));
            }
            if (event.accountCodes) {
                const codes = new Set(event.accountCodes);
                this.counters.memberOps += event.accountCodes.length;
                if (codes.size > maxCallListMembers) throw tooMany('accountCodes', codes.size, 'account codes');
                const bytes = listBytes(codes);
                if (bytes > projection.accountCodesBytes) {
                    grow('accountCodes', bytes - projection.accountCodesBytes);
                    projection.accountCodesBytes = bytes;
                }
            }
            if (event.type === 'recording' && event.recordingUrl !== undefined) {
                const url = event.recordingUrl;
                this.counters.memberOps += 2;
                if (!call?.lists.recordings.has(url) && !projection.recordings.has(url)) {
                    projection.recordings.add(url);
                    projection.recordingCount += 1;
                    if (projection.recordingCount > maxCallListMembers) throw tooMany('recordingUrl', projection.recordingCount, 'recordings');
                    grow('recordingUrl', recordingBytes(url));
                }
            }
            if (projection.bytes > maxCallBytes) {
                throw new LimitExceededError(
                    where,
                    largest.field,
                    `would give call ${callName()} a record of ${projection.bytes} bytes, over the limit of ${maxCallBytes} per call`,
                );
            }
        });
        return keys;
    }

    /**
     * Takes in a batch of raw events (already validated): all of it, or, when `check` refuses it, none of it (and
     * no trigger). Returns the triggers fired, in order.
     */
    apply(events: readonly RawEvent[]): Trigger[] {
        const keys = this.project(events);
        const triggers: Trigger[] = [];
        events.forEach((event, index) => triggers.push(...this.take(event, keys[index])));
        return triggers;
    }

    /** Takes in one raw event (already validated) and returns the triggers it fires, in order. */
    ingest(event: RawEvent): Trigger[] {
        return this.apply([event]);
    }

    /** Fires what is due at `now`: processing without the recordings that never came; forgets old calls. */
    tick(): Trigger[] {
        const now = this.now();
        const triggers: Trigger[] = [];
        for (const callId of [...this.waiting]) {
            const call = this.calls.get(callId);
            if (!call || call.processed) {
                this.waiting.delete(callId);
            } else if (call.recordingDeadline !== undefined && call.recordingDeadline <= now) {
                triggers.push(...this.process(call, true).map((id) => this.trigger(call, id)));
            }
        }
        this.expire(now);
        return triggers;
    }

    /** Wall-clock ms of the next recording deadline, for the node's timer. */
    nextDeadline(): number | undefined {
        let next: number | undefined;
        for (const callId of this.waiting) {
            const deadline = this.calls.get(callId)?.recordingDeadline;
            if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
        }
        return next;
    }

    private take(event: RawEvent, key: string): Trigger[] {
        const now = this.now();
        const at = event.timestamp ?? now;
        this.counters.memberOps += 1;
        const existing = this.calls.get(event.callId);
        if (existing && hasSeen(existing.seen, key)) return [];
        const call = existing ?? this.create(event.callId, now, at);
        this.remember(call, key);
        this.markChanged(call.callId);

        const times = call.times;
        times[FIRST_EVENT_AT] = Math.min(times[FIRST_EVENT_AT], at);
        times[LAST_EVENT_AT] = Math.max(times[LAST_EVENT_AT], at);
        times[LAST_ACTIVITY] = now;
        this.touch(call);
        const codesChanged = this.merge(call, event, at);
        if (event.type === 'connected') call.answered = true;

        const fired: TriggerEventId[] = [];
        switch (event.type) {
            case 'presenting':
            case 'connected':
                fired.push(event.type);
                break;
            case 'complete':
                // A call disconnects once; a second complete (another id, same call) only carries data.
                if (!call.complete) {
                    call.complete = { at, pending: event.pendingRecordings ?? 0 };
                    // Once per call: recordings that overtook their complete count too.
                    call.recordingsSinceComplete = countRecordingsSince(call.lists.recordings, at);
                    fired.push('complete');
                    if (this.recordingsRemaining(call) > 0) {
                        call.recordingDeadline = now + this.options.recordingWaitMs;
                        this.waiting.add(call.callId);
                    }
                }
                break;
            case 'recording': {
                const url = event.recordingUrl!;
                this.counters.memberOps += 1;
                if (!call.lists.recordings.has(url)) {
                    const lists = ownLists(call);
                    lists.recordings = withRecording(lists.recordings, url, at);
                    this.grow(call, recordingBytes(url));
                    lists.views = withoutView(lists.views, 'recordingLink');
                    if (call.complete && at >= call.complete.at) call.recordingsSinceComplete += 1;
                    // A recording that comes after processing changes what the receiver has: it is an update.
                    if (call.processed) fired.push('updated');
                }
                break;
            }
            case 'accountCodes':
            case 'update':
                break;
        }
        if (codesChanged && call.processed && !fired.includes('updated')) fired.push('updated');
        if (call.complete && !call.processed && this.recordingsRemaining(call) <= 0) fired.push(...this.process(call, false));
        const triggers = fired.map((id) => this.trigger(call, id));
        // The call taking the bytes is the most recent one: it is never the one evicted for them.
        while (this.totalBytes > this.options.maxBytes && this.calls.size > 1) this.evictOne('bytes', call.callId);
        return triggers;
    }

    private create(callId: string, now: number, at: number): LiveCall {
        if (this.calls.size >= this.options.maxCalls) this.evictOne('calls');
        const call = newLiveCall(callId, now, at);
        this.calls.set(callId, call);
        this.unfinished.append(call);
        this.totalBytes += call.bytes;
        return call;
    }

    private order(call: LiveCall): ActivityOrder<LiveCall> {
        return call.processed ? this.finished : this.unfinished;
    }

    /** Moves the call to the end of its activity order, which expiry and eviction rely on. */
    private touch(call: LiveCall): void {
        this.order(call).moveToEnd(call);
    }

    private grow(call: LiveCall, bytes: number): void {
        call.bytes += bytes;
        this.totalBytes += bytes;
    }

    private remember(call: LiveCall, key: string): void {
        // A full list drops its oldest key for the new one: every key has the same size, so the bytes stay.
        const full = seenCount(call.seen) >= SEEN_PER_CALL;
        call.seen = withSeen(call.seen, key);
        if (!full) this.grow(call, SEEN_KEY_BYTES);
        this.counters.memberOps += full ? 2 : 1;
    }

    /** Applies the event's fields; returns whether the account codes changed. */
    private merge(call: LiveCall, event: RawEvent, at: number): boolean {
        const incoming = lastWinsValues(event);
        const times = call.times;
        LAST_WINS.forEach((field, index) => {
            const value = incoming[field];
            if (value === undefined || times[valueTimeIndex(index)] > at) return;
            this.grow(call, valueBytes(field, value) - valueBytes(field, call[field]));
            call[field] = value;
            times[valueTimeIndex(index)] = at;
        });
        for (const tag of event.tags ?? []) {
            this.counters.memberOps += 1;
            if (call.lists.tags.has(tag)) continue;
            const lists = ownLists(call);
            lists.tags = withMember(lists.tags, tag);
            this.grow(call, memberBytes(tag));
            lists.views = withoutView(lists.views, 'tags');
        }
        if (event.accountCodes && at >= call.lists.accountCodesAt) {
            const lists = ownLists(call);
            const codes = membersOf(event.accountCodes);
            this.counters.memberOps += event.accountCodes.length;
            const changed = !sameMembers(lists.accountCodes, codes);
            const bytes = listBytes(codes);
            this.grow(call, bytes - lists.accountCodesBytes);
            lists.accountCodes = codes;
            lists.accountCodesBytes = bytes;
            lists.accountCodesAt = at;
            if (changed) lists.views = withoutView(lists.views, 'accountCodes');
            return changed;
        }
        return false;
    }

    private recordingsRemaining(call: LiveCall): number {
        if (!call.complete) return Number.POSITIVE_INFINITY;
        // A recording from before the disconnect was already processed then, so it is not one of the pending.
        return call.complete.pending - call.recordingsSinceComplete;
    }

    private markChanged(callId: string): void {
        this.forgotten.delete(callId);
        this.changed.add(callId);
    }

    private forget(callId: string): void {
        const call = this.calls.get(callId);
        if (!call) return;
        this.calls.delete(callId);
        this.order(call).remove(call);
        this.totalBytes -= call.bytes;
        this.waiting.delete(callId);
        this.changed.delete(callId);
        this.forgotten.add(callId);
    }

    private process(call: LiveCall, missing: boolean): TriggerEventId[] {
        this.markChanged(call.callId);
        this.unfinished.remove(call);
        call.processed = true;
        this.finished.append(call);
        call.recordingsMissing = missing;
        call.recordingDeadline = undefined;
        this.waiting.delete(call.callId);
        return ['processed', 'updated'];
    }

    private trigger(call: LiveCall, event: TriggerEventId): Trigger {
        if (event === 'updated') call.updateSeq += 1;
        else if (event === 'presenting') call.presentings += 1;
        else if (event === 'connected') call.connections += 1;
        if (call.recordingsMissing && this.recordingsRemaining(call) <= 0) call.recordingsMissing = false;
        return { event, call: this.snapshot(call, event) };
    }

    /**
     * The lists of a snapshot are frozen arrays shared by every trigger until the list changes, so a trigger costs
     * O(1) unless its event changed a list; with at most `maxCallListMembers` members per list, a request of
     * `maxEvents` events copies at most maxEvents x maxCallListMembers members however it is built.
     */
    private view(call: LiveCall, list: ListView, members: Iterable<string>, size: number): readonly string[] {
        if (size === 0) return EMPTY_VIEW;
        const lists = ownLists(call);
        let view = lists.views[list];
        if (!view) {
            view = Object.freeze(Array.from(members));
            this.counters.snapshotMembers += view.length;
            lists.views = withView(lists.views, list, view);
        }
        return view;
    }

    private snapshot(call: LiveCall, event: TriggerEventId): Call {
        const lists = call.lists;
        const lastEventAt = call.times[LAST_EVENT_AT];
        // The platform's start time when it sent one, else the first event of the call: "Time" is never empty. It is
        // whole milliseconds, as the product's Time is, although an event's timestamp may carry a fraction that only
        // orders events of the same millisecond (RingCentral's sequence).
        const startTime = Math.floor((call.startTime as number | undefined) ?? call.times[FIRST_EVENT_AT]);
        const agentName = call.agentName as string | undefined;
        const agentExtension = call.agentExtension as string | undefined;
        return definedOnly<Call>({
            callId: call.callId,
            reportCallId: call.reportCallId as string | undefined,
            direction: call.direction as CallDirection | undefined,
            callerName: call.callerName as string | undefined,
            dnis: call.dnis as string | undefined,
            externalNumber: call.externalNumber as string | undefined,
            location: call.location as string | undefined,
            time: startTime,
            agent: agentDisplayName(agentName, agentExtension),
            agentName,
            agentExtension,
            group: call.group as string | undefined,
            tags: this.view(call, 'tags', lists.tags, lists.tags.size) as string[],
            accountCodes: this.view(call, 'accountCodes', lists.accountCodes, lists.accountCodes.size) as string[],
            recordingLink: this.view(call, 'recordingLink', lists.recordings.keys(), lists.recordings.size) as string[],
            event,
            answered: call.answered,
            duration: lastEventAt >= startTime ? Math.round((lastEventAt - startTime) / 1000) : undefined,
            recordingsMissing: (event === 'processed' || event === 'updated') && call.recordingsMissing ? true : undefined,
            updateSeq: event === 'updated' ? call.updateSeq : undefined,
            eventSeq: event === 'presenting' ? call.presentings : event === 'connected' ? call.connections : undefined,
        });
    }

    private evictOne(reason: 'calls' | 'bytes', spare?: string): void {
        const victim = this.oldest(this.finished, spare) ?? this.oldest(this.unfinished, spare);
        if (!victim) return;
        this.counters.evictions += 1;
        this.forget(victim.callId);
        if (this.options.onEviction) {
            this.options.onEviction({
                reason,
                limit: reason === 'calls' ? this.options.maxCalls : this.options.maxBytes,
                callId: victim.callId,
                processed: victim.processed,
            });
            return;
        }
        const limit = reason === 'calls' ? `${this.options.maxCalls} calls` : `${this.options.maxBytes} bytes of call state`;
        const raise = reason === 'calls' ? 'Max tracked calls' : 'Tracked state (MiB)';
        this.options.onWarning?.(
            `tracking limit of ${limit} reached: forgot ${victim.processed ? 'finished' : 'unfinished'} call ${logText(victim.callId)}` +
                (victim.processed ? '' : ` before it was processed (raise "${raise}" if calls are being cut short)`),
        );
    }

    /** The least recently active call of one order, passing over `spare`: looks at two calls at most. */
    private oldest(order: ActivityOrder<LiveCall>, spare: string | undefined): LiveCall | undefined {
        for (let call = order.oldest; call; call = call.newer) {
            this.counters.evictionExamined += 1;
            if (call.callId !== spare) return call;
        }
        return undefined;
    }

    private expire(now: number): void {
        const { retentionMs, staleMs } = this.options;
        this.expireIdle(this.finished, now, Math.min(retentionMs, staleMs));
        this.expireIdle(this.unfinished, now, staleMs);
    }

    private expireIdle(order: ActivityOrder<LiveCall>, now: number, idleMs: number): void {
        for (let call = order.oldest; call; call = order.oldest) {
            this.counters.expiryExamined += 1;
            if (now - call.times[LAST_ACTIVITY] < idleMs) break;
            this.forget(call.callId);
        }
    }
}
