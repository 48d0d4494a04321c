import { createHash } from 'node:crypto';
import type { RawEvent } from '../call/raw-event';

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

// Duplicate detection keeps this many event keys per call: far more than a real call's life has events.
export const SEEN_PER_CALL = 256;

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
    firstEventAt: number;
    lastEventAt: number;
    /** Wall-clock ms of the last event taken in: retention and the memory cap go by it. */
    lastActivity: number;
    /** Keys of the last SEEN_PER_CALL events taken in, oldest first. */
    seen: string[];
}

/**
 * A call as the tracker holds it: lists as Sets and Maps so that merging an event costs what the event holds, not
 * what the call already has; `bytes` follows every change so the memory bound never needs a JSON.stringify.
 */
export interface LiveCall {
    callId: string;
    values: Partial<Record<LastWinsField, string | number>>;
    valueTimes: Partial<Record<LastWinsField, number>>;
    tags: ReadonlySet<string>;
    accountCodes: ReadonlySet<string>;
    accountCodesBytes: number;
    accountCodesAt: number;
    /** Recording link -> time of its event, in arrival order. */
    recordings: ReadonlyMap<string, number>;
    /** Recordings whose event is not older than the disconnect: the ones that count against `pending`. */
    recordingsSinceComplete: number;
    complete?: { at: number; pending: number };
    processed: boolean;
    recordingDeadline?: number;
    recordingsMissing: boolean;
    answered: boolean;
    updateSeq: number;
    firstEventAt: number;
    lastEventAt: number;
    lastActivity: number;
    /** Insertion-ordered, so the oldest key is the first one: a FIFO with O(1) membership. */
    seen: Set<string>;
    /** An upper estimate of the UTF-8 bytes of this call's record as JSON (see recordBytes). */
    bytes: number;
    /** Frozen copies of the lists handed out with triggers, made again only after the list changed. */
    views: Partial<Record<ListView, readonly string[]>>;
}

export type ListView = 'tags' | 'accountCodes' | 'recordingLink';

// Most calls never get a tag, an account code or a recording: they share these empty ones (never added to: see
// withMember) instead of holding three empty collections of their own, a third of a call's memory.
const NO_MEMBERS: ReadonlySet<string> = new Set();
const NO_RECORDINGS: ReadonlyMap<string, number> = new Map();
const NO_VIEWS: LiveCall['views'] = Object.freeze({});

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
export function withoutView(views: LiveCall['views'], list: ListView): LiveCall['views'] {
    if (views[list] === undefined) return views;
    const { [list]: _dropped, ...kept } = views;
    return kept;
}

export function withView(views: LiveCall['views'], list: ListView, view: readonly string[]): LiveCall['views'] {
    return { ...views, [list]: view };
}

const hash = (text: string): string => createHash('sha1').update(text).digest('base64');

/**
 * The duplicate key of an event: a hash of its id, or, without one, of the whole (canonical) event, since a
 * byte-identical event is the same event delivered twice. Every key has the same 28 characters, so the seen list
 * of a call has a fixed size in bytes whatever the ids look like.
 */
export function eventKey(event: RawEvent): string {
    return hash(event.eventId ? `id:${event.eventId}` : JSON.stringify(event));
}

/** UTF-8 bytes of a string as JSON writes it (quotes and escapes included). */
export function jsonBytes(text: string): number {
    return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

// The widest finite number JSON can hold: the estimate counts every number at this width.
const WIDEST_NUMBER = -Number.MAX_VALUE;
const NUMBER_BYTES = JSON.stringify(WIDEST_NUMBER).length;

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
export const SEEN_KEY_BYTES = memberBytes(hash(''));
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
    let bytes = baseBytes(call.callId) + listBytes(call.tags) + call.accountCodesBytes + listBytes(call.seen);
    for (const field of LAST_WINS) bytes += valueBytes(field, call.values[field]);
    for (const url of call.recordings.keys()) bytes += recordingBytes(url);
    return bytes;
}

export function newLiveCall(callId: string, now: number, at: number): LiveCall {
    return {
        callId,
        values: {},
        valueTimes: {},
        tags: NO_MEMBERS,
        accountCodes: NO_MEMBERS,
        accountCodesBytes: 0,
        accountCodesAt: -1,
        recordings: NO_RECORDINGS,
        recordingsSinceComplete: 0,
        processed: false,
        recordingsMissing: false,
        answered: false,
        updateSeq: 0,
        firstEventAt: at,
        lastEventAt: at,
        lastActivity: now,
        seen: new Set(),
        bytes: baseBytes(callId),
        views: NO_VIEWS,
    };
}

export function countRecordingsSince(recordings: ReadonlyMap<string, number>, since: number): number {
    let count = 0;
    for (const at of recordings.values()) if (at >= since) count += 1;
    return count;
}

/** 0.1.0 kept `id:<eventId>` or `sha1:<hash of the event>`; both map onto the key eventKey gives the same event now. */
function migratedKey(key: string): string {
    return key.startsWith('sha1:') ? key.slice('sha1:'.length) : hash(key);
}

/** A stored record (of this format or of 0.1.0) as the tracker holds it. */
export function liveCallFrom(record: TrackedCall): LiveCall {
    const keys = record.format === undefined ? record.seen.map(migratedKey) : record.seen;
    const accountCodes = membersOf(record.accountCodes);
    let recordings = NO_RECORDINGS;
    for (const { url, at } of record.recordings) if (!recordings.has(url)) recordings = withRecording(recordings, url, at);
    const call: LiveCall = {
        callId: record.callId,
        values: { ...record.values },
        valueTimes: { ...record.valueTimes },
        tags: membersOf(record.tags),
        accountCodes,
        accountCodesBytes: listBytes(accountCodes),
        accountCodesAt: record.accountCodesAt,
        recordings,
        recordingsSinceComplete: record.complete ? countRecordingsSince(recordings, record.complete.at) : 0,
        complete: record.complete && { ...record.complete },
        processed: record.processed,
        recordingDeadline: record.recordingDeadline,
        recordingsMissing: record.recordingsMissing,
        answered: record.answered,
        updateSeq: record.updateSeq,
        firstEventAt: record.firstEventAt,
        lastEventAt: record.lastEventAt,
        lastActivity: record.lastActivity,
        seen: new Set(keys.slice(-SEEN_PER_CALL)),
        bytes: 0,
        views: NO_VIEWS,
    };
    call.bytes = recordBytes(call);
    return call;
}

/** The record to store (a fresh object sharing nothing with the live call). */
export function recordOf(call: LiveCall): TrackedCall {
    const record: TrackedCall = {
        format: TRACKED_CALL_FORMAT,
        callId: call.callId,
        values: { ...call.values },
        valueTimes: { ...call.valueTimes },
        tags: [...call.tags],
        accountCodes: [...call.accountCodes],
        accountCodesAt: call.accountCodesAt,
        recordings: Array.from(call.recordings, ([url, at]) => ({ url, at })),
        processed: call.processed,
        recordingsMissing: call.recordingsMissing,
        answered: call.answered,
        updateSeq: call.updateSeq,
        firstEventAt: call.firstEventAt,
        lastEventAt: call.lastEventAt,
        lastActivity: call.lastActivity,
        seen: [...call.seen],
    };
    if (call.complete) record.complete = { ...call.complete };
    if (call.recordingDeadline !== undefined) record.recordingDeadline = call.recordingDeadline;
    return record;
}
