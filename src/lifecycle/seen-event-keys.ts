import { createHash } from 'node:crypto';
import type { RawEvent } from '../call/raw-event';

/**
 * The keys of the events a call has taken in, oldest first, kept as one string: the keys side by side. Every key
 * is a SHA-1 in base64 (27 characters and one '='), so a call's keys cost one flat string of 28 bytes a key
 * instead of a Set with a string object per key (about 250 bytes for the two keys of a rung call, against 72).
 *
 * Membership is one `indexOf`: '=' ends every key and appears nowhere else, so a key can only match where a key
 * starts (a match elsewhere would need an '=' inside the key). A call keeps at most SEEN_PER_CALL keys, so the
 * search and the copy a new key makes are bounded per event whatever the call's history.
 */
export type SeenKeys = string;

export const NO_SEEN_KEYS: SeenKeys = '';

// Duplicate detection keeps this many event keys per call: far more than a real call's life has events.
export const SEEN_PER_CALL = 256;

const hash = (text: string): string => createHash('sha1').update(text).digest('base64');

export const EVENT_KEY_LENGTH = hash('').length;

const EVENT_KEY_SHAPE = /^[A-Za-z0-9+/]{27}=$/;

/**
 * The duplicate key of an event: a hash of its id, or, without one, of the whole (canonical) event, since a
 * byte-identical event is the same event delivered twice. A 160-bit hash keeps the dedupe exact in practice (two
 * different ids collide with a chance of about 2^-160 per pair), and every key has the same 28 characters, so the
 * seen list of a call has a fixed size in bytes whatever the ids look like.
 */
export function eventKey(event: RawEvent): string {
    return hash(event.eventId ? `id:${event.eventId}` : JSON.stringify(event));
}

/** 0.1.0 kept `id:<eventId>` or `sha1:<hash of the event>`; both map onto the key eventKey gives the same event now. */
export function migratedKey(key: string): string {
    return key.startsWith('sha1:') ? key.slice('sha1:'.length) : hash(key);
}

export const seenCount = (keys: SeenKeys): number => keys.length / EVENT_KEY_LENGTH;

export const hasSeen = (keys: SeenKeys, key: string): boolean => keys.indexOf(key) !== -1;

/** The oldest key, the one a full list drops for a new one. */
export const oldestSeen = (keys: SeenKeys): string => keys.slice(0, EVENT_KEY_LENGTH);

/**
 * The keys with `key` added at the end and, when that makes more than SEEN_PER_CALL, the oldest dropped. Built by
 * `join`, which gives a flat string: `+` would give a rope that keeps every earlier piece alive.
 */
export function withSeen(keys: SeenKeys, key: string): SeenKeys {
    if (keys === NO_SEEN_KEYS) return key;
    const kept = seenCount(keys) >= SEEN_PER_CALL ? keys.slice(EVENT_KEY_LENGTH) : keys;
    return [kept, key].join('');
}

/**
 * The last SEEN_PER_CALL distinct keys of a stored list, in order. A string that is not a key eventKey can give is
 * left out: no event can match it, so it never made a duplicate, and it would break the alignment `hasSeen` needs.
 */
export function seenFrom(list: readonly string[]): SeenKeys {
    const kept: string[] = [];
    const distinct = new Set<string>();
    for (let index = list.length - 1; index >= 0 && kept.length < SEEN_PER_CALL; index -= 1) {
        const key = list[index];
        if (!EVENT_KEY_SHAPE.test(key) || distinct.has(key)) continue;
        distinct.add(key);
        kept.push(key);
    }
    return kept.reverse().join('');
}

export function seenList(keys: SeenKeys): string[] {
    const list: string[] = [];
    for (let start = 0; start < keys.length; start += EVENT_KEY_LENGTH) list.push(keys.slice(start, start + EVENT_KEY_LENGTH));
    return list;
}
