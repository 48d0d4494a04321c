import { ConfigError } from '../errors/coded-error';
import { maskText } from '../request/masking';
import type { ExchangeResult } from './exchange';
import type { OutboxEntry } from './outbox';

/** Dead letters one node keeps at most by default; 0 keeps none. */
export const DEFAULT_DEAD_LETTERS = 1000;
/** How long a dead letter is kept by default, in days. */
export const DEFAULT_DEAD_LETTER_DAYS = 7;
/** The longest a dead letter may be kept: the Redis keys of a node expire 30 days after its last write. */
export const MAX_DEAD_LETTER_DAYS = 30;
/** The most dead letters a node may be told to keep. */
export const MAX_DEAD_LETTERS = 100_000;
export const DEAD_LETTER_FORMAT = 1;
/** Attempts itemised per request: the latest ones, enough for any schedule a user types. */
export const MAX_TRIES_KEPT = 25;
/** The piece of the last response body a dead letter keeps (characters), enough to read a service's reason. */
export const RESPONSE_PIECE_LENGTH = 2048;

/** One failed attempt, as the dead letter and the deliveries list show it. */
export interface AttemptRecord {
    /** When the attempt ended, ms since 1970. */
    at: number;
    /** The error code (`http-4xx`, `refused`, `timeout`, ...). */
    code: string;
    /** The status the service answered, when it answered. */
    status?: number;
}

/**
 * A request that failed for good, kept so that it can be replayed once the cause is fixed. A public format (files
 * and Redis): what it needs to be built again from the node's profile, never the built request, so no secret is
 * written (the credentials of the node at replay time are used).
 */
export interface DeadLetter {
    format: typeof DEAD_LETTER_FORMAT;
    /** The outbox entry as it left the queue: call, payload, topic, idempotency key, attempts, time of acceptance. */
    request: OutboxEntry;
    /** The attempts itemised (the latest MAX_TRIES_KEPT); `request.attempts` counts all of them. */
    tries: AttemptRecord[];
    failedAt: number;
    /** The final error's code and message (the message bounded and with secrets masked). */
    code: string;
    message: string;
    /** What the service answered last, when it answered: status, and a piece of the body with secrets masked. */
    response?: { statusCode: number; body: string; truncated: boolean };
}

/** What the deliveries list shows of a dead letter or a queued request. */
export interface DeliverySummary {
    /** The idempotency key: names the request in every list and action. */
    key: string;
    callId: string;
    event?: string;
    topic?: string;
    attempts: number;
    /** The last attempt's error code, when an attempt failed. */
    code?: string;
    status?: number;
    queuedAt: number;
    /** A dead letter: when it failed for good; a queued request: when its last attempt failed. */
    failedAt?: number;
    /** A queued request waiting for its next attempt: when it is due (ms since 1970). */
    nextAttemptAt?: number;
    inFlight?: boolean;
    /** Where the request goes, built from the node's settings now (secrets masked); absent when it cannot be built. */
    method?: string;
    url?: string;
}

export interface DeadLetterBounds {
    /** Dead letters kept at most; 0: none are kept. */
    maxCount: number;
    maxAgeMs: number;
    /** Bytes of dead letters at most (their JSON), the node's outbox bound: a small box keeps its disk. */
    maxBytes: number;
}

/** The record of an attempt that failed, from its result. */
export function attemptRecordOf(result: ExchangeResult, at: number): AttemptRecord {
    const record: AttemptRecord = { at, code: result.error?.code ?? 'network' };
    if (result.response) record.status = result.response.statusCode;
    return record;
}

/** The tries with one more, the oldest dropped beyond MAX_TRIES_KEPT. */
export function withTry(tries: readonly AttemptRecord[] | undefined, record: AttemptRecord): AttemptRecord[] {
    // concat sizes the new array exactly; a spread grows it with slack (about 140 bytes more for three tries), which
    // every request of a refused backlog kept while it waited.
    const kept = (tries ?? []).concat([record]);
    return kept.length > MAX_TRIES_KEPT ? kept.slice(kept.length - MAX_TRIES_KEPT) : kept;
}

/** The answer's status and the first RESPONSE_PIECE_LENGTH characters of its body, with the request's secrets masked. */
export function responsePiece(result: ExchangeResult): DeadLetter['response'] {
    const { response } = result;
    if (!response) return undefined;
    const text = typeof response.body === 'string' ? response.body : `(${response.body.length} bytes, not text)`;
    const masked = maskText(text, result.secrets ?? []);
    const truncated = masked.length > RESPONSE_PIECE_LENGTH;
    return { statusCode: response.statusCode, body: truncated ? masked.slice(0, RESPONSE_PIECE_LENGTH) : masked, truncated };
}

/** The dead letter of a request whose last attempt gave `result`; `tries` ends with that attempt. */
export function deadLetterOf(entry: OutboxEntry, result: ExchangeResult, message: string, tries: AttemptRecord[], failedAt: number): DeadLetter {
    const { tries: _kept, ...request } = entry;
    const letter: DeadLetter = {
        format: DEAD_LETTER_FORMAT,
        request,
        tries,
        failedAt,
        code: result.error?.code ?? 'network',
        message: maskText(message, result.secrets ?? []),
    };
    const response = responsePiece(result);
    if (response) letter.response = response;
    return letter;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** A stored value that is a dead letter of this format; anything else (damaged, or of a later version) is not. */
export function isDeadLetter(value: unknown): value is DeadLetter {
    if (typeof value !== 'object' || value === null) return false;
    const letter = value as Partial<DeadLetter>;
    const request = letter.request as Partial<OutboxEntry> | undefined;
    return (
        letter.format === DEAD_LETTER_FORMAT &&
        typeof request === 'object' &&
        request !== null &&
        typeof request.call === 'object' &&
        request.call !== null &&
        typeof request.idempotencyKey === 'string' &&
        isNumber(request.attempts) &&
        isNumber(request.queuedAt) &&
        Array.isArray(letter.tries) &&
        isNumber(letter.failedAt) &&
        typeof letter.code === 'string' &&
        typeof letter.message === 'string'
    );
}

/** The list row of a dead letter. */
export function deadLetterSummary(letter: DeadLetter): DeliverySummary {
    const { request } = letter;
    const last = letter.tries.at(-1);
    const summary: DeliverySummary = {
        key: request.idempotencyKey,
        callId: String(request.call.callId ?? ''),
        attempts: request.attempts,
        code: letter.code,
        queuedAt: request.queuedAt,
        failedAt: letter.failedAt,
    };
    if (typeof request.call.event === 'string') summary.event = request.call.event;
    if (request.topic !== undefined) summary.topic = request.topic;
    const status = letter.response?.statusCode ?? last?.status;
    if (status !== undefined) summary.status = status;
    return summary;
}

/** The list row of a request still queued. */
export function queuedSummary(entry: OutboxEntry, state: { inFlight: boolean; nextAttemptAt?: number }): DeliverySummary {
    const last = entry.tries?.at(-1);
    const summary: DeliverySummary = {
        key: entry.idempotencyKey,
        callId: String(entry.call.callId ?? ''),
        attempts: entry.attempts,
        queuedAt: entry.queuedAt,
    };
    if (typeof entry.call.event === 'string') summary.event = entry.call.event;
    if (entry.topic !== undefined) summary.topic = entry.topic;
    if (last) {
        summary.code = last.code;
        summary.failedAt = last.at;
        if (last.status !== undefined) summary.status = last.status;
    }
    if (state.inFlight) summary.inFlight = true;
    if (state.nextAttemptAt !== undefined) summary.nextAttemptAt = state.nextAttemptAt;
    return summary;
}

/**
 * Which of the letters (oldest first, with their sizes) must go for the bounds to hold once one more of
 * `addedBytes` is kept: those past their age, then the oldest while the count or the bytes are over.
 */
export function overBounds(letters: ReadonlyArray<{ key: string; failedAt: number; bytes: number }>, bounds: DeadLetterBounds, now: number): string[] {
    const drop: string[] = [];
    let count = letters.length;
    let bytes = letters.reduce((sum, letter) => sum + letter.bytes, 0);
    for (const letter of letters) {
        const tooOld = letter.failedAt < now - bounds.maxAgeMs;
        if (!tooOld && count <= bounds.maxCount && bytes <= bounds.maxBytes) break;
        drop.push(letter.key);
        count -= 1;
        bytes -= letter.bytes;
    }
    return drop;
}

export interface DeadLetterSettings {
    maxCount: number;
    maxAgeMs: number;
}

const unset = (value: unknown): boolean => value === undefined || value === null || value === '';

/**
 * The node's `deadLetters` (how many, 0 for none) and `deadLetterDays` as the flow holds them; a flow saved before
 * they existed gets the defaults. Throws a ConfigError naming the property that cannot work.
 */
export function parseDeadLetterSettings(count: unknown, days: unknown): DeadLetterSettings {
    const maxCount = unset(count) ? DEFAULT_DEAD_LETTERS : Number(count);
    if (!Number.isInteger(maxCount) || maxCount < 0 || maxCount > MAX_DEAD_LETTERS) {
        throw new ConfigError(`deadLetters: "${String(count)}" is not a whole number from 0 (keep none) to ${MAX_DEAD_LETTERS}`);
    }
    const maxDays = unset(days) ? DEFAULT_DEAD_LETTER_DAYS : Number(days);
    if (!Number.isFinite(maxDays) || maxDays <= 0 || maxDays > MAX_DEAD_LETTER_DAYS) {
        throw new ConfigError(`deadLetterDays: "${String(days)}" is not a number of days above 0 and at most ${MAX_DEAD_LETTER_DAYS}`);
    }
    return { maxCount, maxAgeMs: Math.round(maxDays * 24 * 3_600_000) };
}
