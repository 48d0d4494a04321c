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
