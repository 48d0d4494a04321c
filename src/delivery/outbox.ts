import type { AttemptRecord } from './dead-letters';

/**
 * One request waiting in a node's outbox: what it takes to build it again from the node's current profile, never
 * the built request (which holds the credentials: secrets are not written to disk).
 */
export interface OutboxEntry {
    /**
     * The entry's shape, so that a later version can tell what it reads. 0.1.0 wrote none (its shape is format 2
     * without this field): such an entry is migrated on load, never dropped.
     */
    format?: typeof OUTBOX_FORMAT;
    /** msg.call when the request was triggered. */
    call: Record<string, unknown>;
    /** msg.payload, when it can be written as JSON (a Buffer as base64 in `payloadBase64`). */
    payload?: unknown;
    payloadBase64?: string;
    /** msg.topic: the trigger's name. */
    topic?: string;
    idempotencyKey: string;
    /** Attempts made so far. */
    attempts: number;
    /** When the node accepted the message, ms since 1970. */
    queuedAt: number;
    /** Order of acceptance within the node, for the reader of an outbox; the store keeps the order itself. */
    seq: number;
    /**
     * The failed attempts itemised, the latest MAX_TRIES_KEPT, since 0.4.0 (an entry of 0.3.0 has none: its attempts
     * are only counted). Written with the retry's record, so the file outbox keeps them across a restart.
     */
    tries?: AttemptRecord[];
}

export const OUTBOX_FORMAT = 2;

/**
 * What a retry records since 0.4.0: the attempts of a queued request, under its entry's key with ATTEMPTS_SUFFIX,
 * instead of the whole entry again (an 8 KB request retried ten times wrote 88 KB to the log; its note is a few
 * hundred bytes). An outbox of 0.3.0 has no notes: its entries carry their attempts themselves, and are read as
 * they are. A note whose entry is gone (a crash between the two removals) is dropped on open.
 */
export interface AttemptNote {
    note: typeof ATTEMPT_NOTE_FORMAT;
    attempts: number;
    tries?: AttemptRecord[];
}

export const ATTEMPT_NOTE_FORMAT = 1;
/** Entry keys are sequence numbers: a key with this end is the attempt note of the entry named by the rest. */
export const ATTEMPTS_SUFFIX = '.attempts';

/** What the file outbox holds under a key: an entry, or (under `<entry key>.attempts`) the note of its attempts. */
export type OutboxRecord = OutboxEntry | AttemptNote;

export function isAttemptNote(value: unknown): value is AttemptNote {
    const note = value as Partial<AttemptNote> | null;
    return (
        typeof note === 'object' &&
        note !== null &&
        note.note === ATTEMPT_NOTE_FORMAT &&
        typeof note.attempts === 'number' &&
        (note.tries === undefined || Array.isArray(note.tries))
    );
}

/** The entry with what its note says: the attempts made and the latest of them itemised. */
export function withNote(entry: OutboxEntry, note: AttemptNote | undefined): OutboxEntry {
    if (!note || note.attempts < entry.attempts) return entry;
    return { ...entry, attempts: note.attempts, ...(note.tries ? { tries: note.tries } : {}) };
}

/** The payload as the outbox keeps it; undefined for a payload that JSON cannot carry (it is left out). */
export function storedPayload(payload: unknown): Pick<OutboxEntry, 'payload' | 'payloadBase64'> {
    if (payload === undefined) return {};
    if (Buffer.isBuffer(payload)) return { payloadBase64: payload.toString('base64') };
    try {
        return JSON.stringify(payload) === undefined ? {} : { payload };
    } catch {
        return {};
    }
}

/**
 * What an entry takes in the outbox: the bytes of its JSON, which is what the store writes for it (plus a few bytes
 * of framing). Throws a TypeError for a value JSON cannot carry (a BigInt, a cycle).
 */
export function entryBytes(entry: OutboxEntry): number {
    return encodedEntry(entry).bytes;
}

/** The entry's JSON, as the store writes it, and its size in bytes (entryBytes); throws as entryBytes does. */
export function encodedEntry(entry: OutboxEntry): { json: string; bytes: number } {
    const json = JSON.stringify(entry);
    return { json, bytes: Buffer.byteLength(json, 'utf8') };
}

export function restoredPayload(entry: OutboxEntry): unknown {
    return entry.payloadBase64 !== undefined ? Buffer.from(entry.payloadBase64, 'base64') : entry.payload;
}

/** A stored value that can be resumed; anything else (written by a future version, or damaged) is not. */
export function isOutboxEntry(value: unknown): value is OutboxEntry {
    const entry = value as Partial<OutboxEntry> | null;
    return (
        typeof entry === 'object' &&
        entry !== null &&
        (entry.format === undefined || entry.format === OUTBOX_FORMAT) &&
        typeof entry.call === 'object' &&
        entry.call !== null &&
        typeof entry.idempotencyKey === 'string' &&
        typeof entry.attempts === 'number' &&
        typeof entry.queuedAt === 'number' &&
        typeof entry.seq === 'number'
    );
}

/**
 * A stored value as the current format, or undefined when it cannot be resumed. An entry of 0.1.0 (no `format`)
 * carries every field of format 2 under the same meaning, so its migration only names the format: its
 * idempotency key, attempts and time of acceptance stay, and the receiver can still recognise a repeat.
 */
export function migratedEntry(value: unknown): OutboxEntry | undefined {
    if (!isOutboxEntry(value)) return undefined;
    return value.format === OUTBOX_FORMAT ? value : { ...value, format: OUTBOX_FORMAT };
}
