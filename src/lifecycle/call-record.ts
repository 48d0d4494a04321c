import type { ActivityLinks } from './activity-order';
import { EVENT_KEY_LENGTH, migratedKey, NO_SEEN_KEYS, seenFrom, seenList, type SeenKeys } from './seen-event-keys';

export { eventKey, SEEN_PER_CALL } from './seen-event-keys';

// Fields where the last event wins. Each keeps the time of the event it came from, so an older event that
// arrives late never overwrites a newer value.
export const LAST_WINS = [
    'reportCallId',
    'direction',
    'callerName',
    'dnis',
    'externalNumber',
    'location',
    'startTime',
    'agentName',
    'agentExtension',
    'group',
] as const;
export type LastWinsField = (typeof LAST_WINS)[number];

/** Written on every record since 0.2.0; a record without it was written by 0.1.0 and is migrated on load. */
export const TRACKED_CALL_FORMAT = 2;

/**
 * The whole state of one call as it is stored (plain JSON). A public format: a state file written by an older
 * version must still load, so a change of shape gets a new `format` and a migration in `liveCallFrom`.
 */
export interface TrackedCall {
    /** 2 since 0.2.0 (event keys all hashed, lists without repeats); absent on a 0.1.0 record. */
    format?: number;
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
    /**
     * How many "Call is Presenting" and "Call is Connected" fired, since 0.4.0. A record of 0.2.0 or 0.3.0 has
     * neither (the format stays 2, so that an instance of 0.3.0 sharing a Redis still reads the record); see
     * `liveCallFrom` for what stands in for them.
     */
    presentings?: number;
    connections?: number;
    firstEventAt: number;
    lastEventAt: number;
    /** Wall-clock ms of the last event taken in: retention and the memory cap go by it. */
    lastActivity: number;
    /** Keys of the last SEEN_PER_CALL events taken in, oldest first. */
    seen: string[];
}

export type LastWinsValues = Record<LastWinsField, string | number | undefined>;

/** Where a call's own times sit in LiveCall.times; each last-wins value's time follows, in LAST_WINS order. */
export const FIRST_EVENT_AT = 0;
export const LAST_EVENT_AT = 1;
/** Wall-clock ms of the last event taken in: retention and the memory cap go by it. */
export const LAST_ACTIVITY = 2;
export const valueTimeIndex = (fieldIndex: number): number => 3 + fieldIndex;
/** The time of a last-wins value no event has given yet: any event's time wins over it. */
export const NEVER = Number.NEGATIVE_INFINITY;

/** A call's tags, account codes and recordings; most calls have none and share NO_LISTS (see ownLists). */
export interface CallLists {
    tags: ReadonlySet<string>;
    accountCodes: ReadonlySet<string>;
    accountCodesBytes: number;
    /** Time of the event the account codes came from; -1 before any. */
    accountCodesAt: number;
    /** Recording link -> time of its event, in arrival order. */
    recordings: ReadonlyMap<string, number>;
    /** Frozen copies of the non-empty lists handed out with triggers, made again only after the list changed. */
    views: Partial<Record<ListView, readonly string[]>>;
}

/**
 * A call as the tracker holds it, shaped for memory as much as for speed (a tracker may hold 100,000 of them):
 * lists as Sets and Maps so that merging an event costs what the event holds, not what the call already has, but
 * shared empty ones until a call has a member; the last-wins values as fields of the call itself, every one present
 * from the start, so that every call has one fixed shape with no overflow storage; the times as one array of doubles, which V8 stores unboxed where a number
 * field would hold a heap number each; the seen keys as one string (see seen-event-keys). `bytes` follows every
 * change so the memory bound never needs a JSON.stringify.
 */
export interface LiveCall extends ActivityLinks<LiveCall>, LastWinsValues {
    callId: string;
    /** FIRST_EVENT_AT, LAST_EVENT_AT, LAST_ACTIVITY, then each value's time (NEVER while it has none). */
    times: number[];
    lists: CallLists;
    complete: { at: number; pending: number } | undefined;
    /** Recordings whose event is not older than the disconnect: the ones that count against `pending`. */
    recordingsSinceComplete: number;
    /** Wall-clock ms at which "processed" fires without the missing recordings. */
    recordingDeadline: number | undefined;
    processed: boolean;
    recordingsMissing: boolean;
    answered: boolean;
    updateSeq: number;
    /** How many "Call is Presenting" fired: the next one's eventSeq is one more. */
    presentings: number;
    /** How many "Call is Connected" fired. */
    connections: number;
    seen: SeenKeys;
    /** An upper estimate of the UTF-8 bytes of this call's record as JSON (see recordBytes). */
    bytes: number;
}

export type ListView = 'tags' | 'accountCodes' | 'recordingLink';

const NO_MEMBERS: ReadonlySet<string> = new Set();
const NO_RECORDINGS: ReadonlyMap<string, number> = new Map();
const NO_VIEWS: CallLists['views'] = Object.freeze({});
/** Shared by every call without tags, account codes or recordings; never written to (see ownLists). */
const NO_LISTS: CallLists = Object.freeze({
    tags: NO_MEMBERS,
    accountCodes: NO_MEMBERS,
    accountCodesBytes: 0,
    accountCodesAt: -1,
    recordings: NO_RECORDINGS,
    views: NO_VIEWS,
});
/** The view of every empty list: a trigger of a call without tags carries this one rather than an array of its own. */
export const EMPTY_VIEW: readonly string[] = Object.freeze([]);

/** The call's lists, made its own (in place of the shared empty ones) so that they can be written to. */
export function ownLists(call: LiveCall): CallLists {
    if (call.lists === NO_LISTS) call.lists = { ...NO_LISTS };
    return call.lists;
}

/** The set with `member` added: the set itself, or a new one in place of the shared empty set. */
export function withMember(set: ReadonlySet<string>, member: string): ReadonlySet<string> {
    const owned = set === NO_MEMBERS ? new Set<string>() : (set as Set<string>);
    owned.add(member);
    return owned;
}

export function withRecording(recordings: ReadonlyMap<string, number>, url: string, at: number): ReadonlyMap<string, number> {
    const owned = recordings === NO_RECORDINGS ? new Map<string, number>() : (recordings as Map<string, number>);
    owned.set(url, at);
    return owned;
}

export const membersOf = (list: readonly string[]): ReadonlySet<string> => (list.length === 0 ? NO_MEMBERS : new Set(list));

/** The views with one list's view gone (the list changed): a new object, since calls share the empty one. */
export function withoutView(views: CallLists['views'], list: ListView): CallLists['views'] {
    if (views[list] === undefined) return views;
    const { [list]: _dropped, ...kept } = views;
    return kept;
}

export function withView(views: CallLists['views'], list: ListView, view: readonly string[]): CallLists['views'] {
    return { ...views, [list]: view };
}

// Printable ASCII other than the quote and the backslash: JSON writes it as it is, a byte a character (most ids and names).
const VERBATIM_IN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** UTF-8 bytes of a string as JSON writes it (quotes and escapes included). */
export function jsonBytes(text: string): number {
    return VERBATIM_IN_JSON.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text), 'utf8');
}

// The widest finite number JSON can hold: the estimate counts every number at this width.
const WIDEST_NUMBER = -Number.MAX_VALUE;
const NUMBER_BYTES = JSON.stringify(WIDEST_NUMBER).length;
// A count of triggers is a whole number a call never takes past the safe integers.
const WIDEST_COUNT = Number.MAX_SAFE_INTEGER;

/** A record with every field present, every number at its widest, every list empty and no last-wins value. */
const SKELETON_BYTES = Buffer.byteLength(
    JSON.stringify({
        format: TRACKED_CALL_FORMAT,
        callId: '',
        values: {},
        valueTimes: {},
        tags: [],
        accountCodes: [],
        accountCodesAt: WIDEST_NUMBER,
        recordings: [],
        complete: { at: WIDEST_NUMBER, pending: WIDEST_NUMBER },
        processed: false,
        recordingDeadline: WIDEST_NUMBER,
        recordingsMissing: false,
        answered: false,
        updateSeq: WIDEST_NUMBER,
        presentings: WIDEST_COUNT,
        connections: WIDEST_COUNT,
        firstEventAt: WIDEST_NUMBER,
        lastEventAt: WIDEST_NUMBER,
        lastActivity: WIDEST_NUMBER,
        seen: [],
    } satisfies Required<TrackedCall>),
);
const RECORDING_BYTES = Buffer.byteLength(JSON.stringify({ url: '', at: WIDEST_NUMBER })) + 1;

/** What a new call's record takes before any list member or text value. */
export const baseBytes = (callId: string): number => SKELETON_BYTES + jsonBytes(callId) - 2;
/** What one member of tags, accountCodes or seen adds (the text and a comma). */
export const memberBytes = (member: string): number => jsonBytes(member) + 1;
/** Every event key has the same size (see eventKey). */
export const SEEN_KEY_BYTES = EVENT_KEY_LENGTH + 3;
export const recordingBytes = (url: string): number => RECORDING_BYTES + jsonBytes(url) - 2;
/** What a last-wins value adds: its entry in `values` and its time in `valueTimes` (each with a comma). */
export function valueBytes(field: LastWinsField, value: string | number | undefined): number {
    if (value === undefined) return 0;
    const key = jsonBytes(field) + 1;
    return key + (typeof value === 'string' ? jsonBytes(value) : NUMBER_BYTES) + 1 + key + NUMBER_BYTES + 1;
}

export function listBytes(members: Iterable<string>): number {
    let bytes = 0;
    for (const member of members) bytes += memberBytes(member);
    return bytes;
}

/** The estimate of a whole call, computed from scratch: for a call restored from the store. */
function recordBytes(call: LiveCall): number {
    const { tags, accountCodesBytes, recordings } = call.lists;
    let bytes = baseBytes(call.callId) + listBytes(tags) + accountCodesBytes + (call.seen.length / EVENT_KEY_LENGTH) * SEEN_KEY_BYTES;
    for (const field of LAST_WINS) bytes += valueBytes(field, call[field]);
    for (const url of recordings.keys()) bytes += recordingBytes(url);
    return bytes;
}

// Every field is written here, in this order, so that every call has one shape (see LiveCall).
function liveCall(callId: string, times: number[], lists: CallLists): LiveCall {
    return {
        older: undefined,
        newer: undefined,
        callId,
        reportCallId: undefined,
        direction: undefined,
        callerName: undefined,
        dnis: undefined,
        externalNumber: undefined,
        location: undefined,
        startTime: undefined,
        agentName: undefined,
        agentExtension: undefined,
        group: undefined,
        times,
        lists,
        complete: undefined,
        recordingsSinceComplete: 0,
        recordingDeadline: undefined,
        processed: false,
        recordingsMissing: false,
        answered: false,
        updateSeq: 0,
        presentings: 0,
        connections: 0,
        seen: NO_SEEN_KEYS,
        bytes: 0,
    };
}

// A literal of numbers (NEVER is not a small integer) makes an array of unboxed doubles.
const newTimes = (firstEventAt: number, lastEventAt: number, lastActivity: number): number[] => [
    firstEventAt,
    lastEventAt,
    lastActivity,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
    NEVER,
];

export function newLiveCall(callId: string, now: number, at: number): LiveCall {
    const call = liveCall(callId, newTimes(at, at, now), NO_LISTS);
    call.bytes = baseBytes(callId);
    return call;
}

export function countRecordingsSince(recordings: ReadonlyMap<string, number>, since: number): number {
    let count = 0;
    for (const at of recordings.values()) if (at >= since) count += 1;
    return count;
}

function listsFrom(record: TrackedCall): CallLists {
    if (record.tags.length === 0 && record.accountCodes.length === 0 && record.recordings.length === 0 && record.accountCodesAt === -1) return NO_LISTS;
    const accountCodes = membersOf(record.accountCodes);
    let recordings = NO_RECORDINGS;
    for (const { url, at } of record.recordings) if (!recordings.has(url)) recordings = withRecording(recordings, url, at);
    return {
        tags: membersOf(record.tags),
        accountCodes,
        accountCodesBytes: listBytes(accountCodes),
        accountCodesAt: record.accountCodesAt,
        recordings,
        views: NO_VIEWS,
    };
}

/** A stored record (of this format or of 0.1.0) as the tracker holds it. */
export function liveCallFrom(record: TrackedCall): LiveCall {
    const keys = record.format === undefined ? record.seen.map(migratedKey) : record.seen;
    const call = liveCall(record.callId, newTimes(record.firstEventAt, record.lastEventAt, record.lastActivity), listsFrom(record));
    LAST_WINS.forEach((field, index) => {
        const value = record.values[field];
        if (value === undefined) return;
        call[field] = value;
        call.times[valueTimeIndex(index)] = record.valueTimes[field] ?? NEVER;
    });
    call.complete = record.complete && { at: record.complete.at, pending: record.complete.pending };
    call.recordingsSinceComplete = record.complete ? countRecordingsSince(call.lists.recordings, record.complete.at) : 0;
    call.recordingDeadline = record.recordingDeadline;
    call.processed = record.processed;
    call.recordingsMissing = record.recordingsMissing;
    call.answered = record.answered;
    call.updateSeq = record.updateSeq;
    // A record of 0.3.0 or older does not say how many fired. Counting one that may not have fired only skips a
    // number; counting none would give the next Presenting of a call already presented the first one's key, which
    // a receiver that drops repeated keys would drop.
    call.presentings = record.presentings ?? 1;
    call.connections = record.connections ?? (record.answered ? 1 : 0);
    call.seen = seenFrom(keys);
    call.bytes = recordBytes(call);
    return call;
}

/** The record to store (a fresh object sharing nothing with the live call). */
export function recordOf(call: LiveCall): TrackedCall {
    const values: TrackedCall['values'] = {};
    const valueTimes: TrackedCall['valueTimes'] = {};
    LAST_WINS.forEach((field, index) => {
        const value = call[field];
        if (value === undefined) return;
        values[field] = value;
        // A restored value may have come without its time: it still has none (JSON would write -Infinity as null).
        const time = call.times[valueTimeIndex(index)];
        if (time !== NEVER) valueTimes[field] = time;
    });
    const { tags, accountCodes, accountCodesAt, recordings } = call.lists;
    const record: TrackedCall = {
        format: TRACKED_CALL_FORMAT,
        callId: call.callId,
        values,
        valueTimes,
        tags: [...tags],
        accountCodes: [...accountCodes],
        accountCodesAt,
        recordings: Array.from(recordings, ([url, at]) => ({ url, at })),
        processed: call.processed,
        recordingsMissing: call.recordingsMissing,
        answered: call.answered,
        updateSeq: call.updateSeq,
        presentings: call.presentings,
        connections: call.connections,
        firstEventAt: call.times[FIRST_EVENT_AT],
        lastEventAt: call.times[LAST_EVENT_AT],
        lastActivity: call.times[LAST_ACTIVITY],
        seen: seenList(call.seen),
    };
    if (call.complete) record.complete = { ...call.complete };
    if (call.recordingDeadline !== undefined) record.recordingDeadline = call.recordingDeadline;
    return record;
}
