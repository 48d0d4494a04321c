import { createHash } from 'node:crypto';
import { agentDisplayName, type Call, type CallDirection, type TriggerEventId } from '../call/call';
import type { RawEvent } from '../call/raw-event';

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
    now?: () => number;
    onWarning?: (message: string) => void;
}

export const DEFAULT_TRACKER_OPTIONS: Omit<TrackerOptions, 'now' | 'onWarning'> = {
    recordingWaitMs: 15 * 60_000,
    retentionMs: 60 * 60_000,
    staleMs: 24 * 60 * 60_000,
    maxCalls: 50_000,
    maxBytes: 32 * 1024 * 1024,
};

// Fields where the last event wins. Each keeps the time of the event it came from, so an older event that
// arrives late never overwrites a newer value.
const LAST_WINS = ['reportCallId', 'direction', 'callerName', 'dnis', 'externalNumber', 'location', 'startTime', 'agentName', 'agentExtension', 'group'] as const;
type LastWinsField = (typeof LAST_WINS)[number];

// Duplicate detection keeps this many event keys per call: far more than a real call's life has events.
const SEEN_PER_CALL = 256;

/** The whole state of one call, as plain JSON so it can be persisted and restored. */
export interface TrackedCall {
    callId: string;
    values: Partial<Record<LastWinsField, string | number>>;
    valueTimes: Partial<Record<LastWinsField, number>>;
    tags: string[];
    accountCodes: string[];
    /** Time of the event the account codes came from; -1 before any. */
    accountCodesAt: number;
    recordings: Array<{ url: string; at: number }>;
    complete?: { at: number; pending: number };
    processed: boolean;
    /** Wall-clock ms at which "processed" fires without the missing recordings. */
    recordingDeadline?: number;
    recordingsMissing: boolean;
    answered: boolean;
    updateSeq: number;
    firstEventAt: number;
    lastEventAt: number;
    /** Wall-clock ms of the last event taken in: retention and the memory cap go by it. */
    lastActivity: number;
    seen: string[];
}

export interface TrackerState {
    version: 1;
    calls: TrackedCall[];
}

/** What changed since the last `takeChanges()`: the calls to save again and the ones to delete. */
export interface TrackerChanges {
    changed: TrackedCall[];
    forgotten: string[];
}

function eventKey(event: RawEvent): string {
    if (event.eventId) return `id:${event.eventId}`;
    // Without an id, a byte-identical event is the same event delivered twice.
    return `sha1:${createHash('sha1').update(JSON.stringify(event)).digest('base64')}`;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
    if (a.length !== b.length) return false;
    const set = new Set(a);
    return b.every((item) => set.has(item));
}

function compact<T extends object>(value: T): T {
    for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
    return value;
}

/**
 * Tracks each call's life from raw events and decides which of the five triggering events fire. Plain domain
 * code: time comes from `now()` and deadlines are acted on when `tick()` is called, so tests control the clock
 * and the node drives it with one timer.
 */
export class CallTracker {
    private readonly calls = new Map<string, TrackedCall>();
    private readonly waiting = new Set<string>();
    private readonly changed = new Set<string>();
    private readonly forgotten = new Set<string>();
    private readonly options: TrackerOptions;
    private readonly now: () => number;

    constructor(options: Partial<TrackerOptions> = {}, state?: TrackerState) {
        this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
        this.now = options.now ?? Date.now;
        // Expiry and eviction walk the map oldest first; a store may give the calls back in another order.
        const restored = [...(state?.calls ?? [])].sort((a, b) => a.lastActivity - b.lastActivity);
        for (const call of restored) {
            this.calls.set(call.callId, call);
            if (call.recordingDeadline !== undefined) this.waiting.add(call.callId);
        }
        // Restored under a lower "max calls" than the state was saved with: the cap holds from the start.
        while (this.calls.size > this.options.maxCalls) this.evictOne();
    }

    get size(): number {
        return this.calls.size;
    }

    /** The state of one call (a copy), for inspection and tests. */
    get(callId: string): TrackedCall | undefined {
        const call = this.calls.get(callId);
        return call && structuredClone(call);
    }

    exportState(): TrackerState {
        return { version: 1, calls: [...this.calls.values()].map((call) => structuredClone(call)) };
    }

    /**
     * The calls changed or forgotten since the last call, as copies, so a store can follow the tracker with one put
     * or delete per call however many events touched it.
     */
    takeChanges(): TrackerChanges {
        const changed: TrackedCall[] = [];
        for (const callId of this.changed) {
            const call = this.calls.get(callId);
            if (call) changed.push(structuredClone(call));
        }
        const changes = { changed, forgotten: [...this.forgotten] };
        this.changed.clear();
        this.forgotten.clear();
        return changes;
    }

    /** Takes in one raw event (already validated) and returns the triggers it fires, in order. */
    ingest(event: RawEvent): Trigger[] {
        const now = this.now();
        const at = event.timestamp ?? now;
        const call = this.callFor(event.callId, now, at);
        const key = eventKey(event);
        if (call.seen.includes(key)) return [];
        call.seen.push(key);
        if (call.seen.length > SEEN_PER_CALL) call.seen.shift();
        this.markChanged(call.callId);

        call.firstEventAt = Math.min(call.firstEventAt, at);
        call.lastEventAt = Math.max(call.lastEventAt, at);
        call.lastActivity = now;
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
                    fired.push('complete');
                    if (this.recordingsRemaining(call) > 0) {
                        call.recordingDeadline = now + this.options.recordingWaitMs;
                        this.waiting.add(call.callId);
                    }
                }
                break;
            case 'recording':
                if (!call.recordings.some((recording) => recording.url === event.recordingUrl)) {
                    call.recordings.push({ url: event.recordingUrl!, at });
                    // A recording that comes after processing changes what the receiver has: it is an update.
                    if (call.processed) fired.push('updated');
                }
                break;
            case 'accountCodes':
            case 'update':
                break;
        }
        if (codesChanged && call.processed && !fired.includes('updated')) fired.push('updated');
        if (call.complete && !call.processed && this.recordingsRemaining(call) <= 0) fired.push(...this.process(call, false));
        return fired.map((id) => this.trigger(call, id));
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

    private callFor(callId: string, now: number, at: number): TrackedCall {
        const existing = this.calls.get(callId);
        if (existing) return existing;
        if (this.calls.size >= this.options.maxCalls) this.evictOne();
        const call: TrackedCall = {
            callId,
            values: {},
            valueTimes: {},
            tags: [],
            accountCodes: [],
            accountCodesAt: -1,
            recordings: [],
            processed: false,
            recordingsMissing: false,
            answered: false,
            updateSeq: 0,
            firstEventAt: at,
            lastEventAt: at,
            lastActivity: now,
            seen: [],
        };
        this.calls.set(callId, call);
        return call;
    }

    /** Keeps the map in activity order (oldest first), which expiry and eviction rely on. */
    private touch(call: TrackedCall): void {
        this.calls.delete(call.callId);
        this.calls.set(call.callId, call);
    }

    /** Applies the event's fields; returns whether the account codes changed. */
    private merge(call: TrackedCall, event: RawEvent, at: number): boolean {
        const incoming: Partial<Record<LastWinsField, string | number | undefined>> = {
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
        for (const field of LAST_WINS) {
            const value = incoming[field];
            if (value === undefined) continue;
            if ((call.valueTimes[field] ?? Number.NEGATIVE_INFINITY) <= at) {
                call.values[field] = value;
                call.valueTimes[field] = at;
            }
        }
        for (const tag of event.tags ?? []) if (!call.tags.includes(tag)) call.tags.push(tag);
        if (event.accountCodes && at >= call.accountCodesAt) {
            const changed = !sameMembers(call.accountCodes, event.accountCodes);
            call.accountCodes = [...event.accountCodes];
            call.accountCodesAt = at;
            return changed;
        }
        return false;
    }

    private recordingsRemaining(call: TrackedCall): number {
        if (!call.complete) return Number.POSITIVE_INFINITY;
        const { at, pending } = call.complete;
        // A recording from before the disconnect was already processed then, so it is not one of the pending.
        return pending - call.recordings.filter((recording) => recording.at >= at).length;
    }

    private markChanged(callId: string): void {
        this.forgotten.delete(callId);
        this.changed.add(callId);
    }

    private forget(callId: string): void {
        this.calls.delete(callId);
        this.waiting.delete(callId);
        this.changed.delete(callId);
        this.forgotten.add(callId);
    }

    private process(call: TrackedCall, missing: boolean): TriggerEventId[] {
        this.markChanged(call.callId);
        call.processed = true;
        call.recordingsMissing = missing;
        call.recordingDeadline = undefined;
        this.waiting.delete(call.callId);
        return ['processed', 'updated'];
    }

    private trigger(call: TrackedCall, event: TriggerEventId): Trigger {
        if (event === 'updated') call.updateSeq += 1;
        if (call.recordingsMissing && this.recordingsRemaining(call) <= 0) call.recordingsMissing = false;
        return { event, call: this.snapshot(call, event) };
    }

    private snapshot(call: TrackedCall, event: TriggerEventId): Call {
        const values = call.values;
        const startTime = values.startTime as number | undefined;
        const agentName = values.agentName as string | undefined;
        const agentExtension = values.agentExtension as string | undefined;
        return compact<Call>({
            callId: call.callId,
            reportCallId: values.reportCallId as string | undefined,
            direction: values.direction as CallDirection | undefined,
            callerName: values.callerName as string | undefined,
            dnis: values.dnis as string | undefined,
            externalNumber: values.externalNumber as string | undefined,
            location: values.location as string | undefined,
            time: startTime,
            agent: agentDisplayName(agentName, agentExtension),
            agentName,
            agentExtension,
            group: values.group as string | undefined,
            tags: [...call.tags],
            accountCodes: [...call.accountCodes],
            recordingLink: call.recordings.map((recording) => recording.url),
            event,
            answered: call.answered,
            duration: startTime !== undefined && call.lastEventAt >= startTime ? Math.round((call.lastEventAt - startTime) / 1000) : undefined,
            recordingsMissing: (event === 'processed' || event === 'updated') && call.recordingsMissing ? true : undefined,
            updateSeq: event === 'updated' ? call.updateSeq : undefined,
        });
    }

    private evictOne(): void {
        let victim: TrackedCall | undefined;
        for (const call of this.calls.values()) {
            if (call.processed) {
                victim = call;
                break;
            }
            victim ??= call;
        }
        if (!victim) return;
        this.forget(victim.callId);
        this.options.onWarning?.(
            `tracking limit of ${this.options.maxCalls} calls reached: forgot ${victim.processed ? 'finished' : 'unfinished'} call ${victim.callId}` +
                (victim.processed ? '' : ' before it was processed (raise "max calls" if calls are being cut short)'),
        );
    }

    private expire(now: number): void {
        const { retentionMs, staleMs } = this.options;
        const soonest = Math.min(retentionMs, staleMs);
        for (const call of this.calls.values()) {
            const idle = now - call.lastActivity;
            if (idle < soonest) break;
            if ((call.processed && idle >= retentionMs) || idle >= staleMs) this.forget(call.callId);
        }
    }
}
