import { createHash, timingSafeEqual } from 'node:crypto';
import type { RawEvent } from '../call/raw-event';
import { InputError } from '../errors/coded-error';
import { nestingProblem } from '../ingest/bounded-json';

/**
 * One webhook request as the HTTP handler of "call event in" received it. The body stays raw because every
 * platform signs bytes, not parsed objects.
 */
export interface WebhookRequest {
    /** Header names lower-cased, as Node's http module gives them. */
    headers: Record<string, string | string[] | undefined>;
    rawBody: Buffer;
    /** The Content-Type header, if the handler has it apart; otherwise it is read from `headers`. */
    contentType?: string;
    /**
     * The full URL the platform called, scheme, host and query included. Twilio signs it, so behind a proxy the
     * handler must give the public URL configured in Twilio, not the one Node-RED sees.
     */
    url?: string;
}

/** What to send back so the platform counts the delivery as done and does not retry it. */
export interface WebhookAnswer {
    status: number;
    headers: Record<string, string>;
    body: string;
}

export type AdapterOutcome =
    | { ok: true; events: RawEvent[]; answer: WebhookAnswer; /** Why nothing came of the request, when nothing did. */ ignored?: string }
    | { ok: false; error: WebhookRejection; answer: WebhookAnswer };

/** A platform's webhook format, turned into raw call events. One implementation per platform file. */
export interface WebhookAdapter {
    readonly source: string;
    /** Never throws: a bad or unauthenticated request comes back as `ok: false` with the answer to send. */
    receive(request: WebhookRequest): AdapterOutcome;
}

/**
 * A request the adapter refuses. `status` is the HTTP answer: 400 for a body that is not the platform's format
 * (naming the field), 401 for a signature or token that does not verify, 415 for a content type it cannot read.
 */
export class WebhookRejection extends InputError {
    readonly status: 400 | 401 | 415;

    constructor(status: 400 | 401 | 415, message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = 'WebhookRejection';
        this.status = status;
    }
}

export function jsonAnswer(status: number, body: unknown): WebhookAnswer {
    return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Runs a platform's parse step and turns its outcome into the answer. Platforms differ only in the success answer
 * (Twilio wants TwiML); refusals are JSON `{ "error": ... }` like the raw endpoint's.
 */
export function receiveWith(parse: () => RawEvent[], success: (events: RawEvent[]) => WebhookAnswer, ignoredWhenEmpty: string): AdapterOutcome {
    try {
        const events = parse();
        const answer = success(events);
        return events.length ? { ok: true, events, answer } : { ok: true, events, answer, ignored: ignoredWhenEmpty };
    } catch (err) {
        const error = err instanceof WebhookRejection ? err : new WebhookRejection(400, `the request could not be read: ${String(err)}`, { cause: err });
        return { ok: false, error, answer: jsonAnswer(error.status, { error: error.message }) };
    }
}

export function headerValue(request: WebhookRequest, name: string): string | undefined {
    const value = request.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
}

export function contentTypeOf(request: WebhookRequest): string {
    return (request.contentType ?? headerValue(request, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Comparing secrets in constant time, so response timing cannot reveal how much of a guess was right. */
export function sameSecret(given: string, expected: string): boolean {
    const a = createHash('sha256').update(given, 'utf8').digest();
    const b = createHash('sha256').update(expected, 'utf8').digest();
    return timingSafeEqual(a, b) && given.length === expected.length;
}

export function parseJsonBody(request: WebhookRequest, platform: string): unknown {
    const text = request.rawBody.toString('utf8');
    if (!text.trim()) throw new WebhookRejection(400, `${platform}: the request body is empty`);
    return parseBoundedJson(text, `${platform}: the request body`);
}

/** JSON.parse, after the nesting depth is measured by a linear scan: a hostile body is refused before it is built. */
export function parseBoundedJson(text: string, what: string): unknown {
    const tooDeep = nestingProblem(text);
    if (tooDeep) throw new WebhookRejection(400, `${what} ${tooDeep}`);
    try {
        return JSON.parse(text);
    } catch (err) {
        throw new WebhookRejection(400, `${what} is not JSON (${(err as Error).message})`, { cause: err });
    }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Platforms send ids as numbers or strings; the call model keeps them as strings. */
export function idString(value: unknown): string | undefined {
    if (typeof value === 'string' && value.trim()) return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return undefined;
}

export function optionalString(value: unknown): string | undefined {
    if (typeof value === 'string' && value.trim()) return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return undefined;
}

/**
 * Epoch numbers arrive in seconds (Aircall) or milliseconds (Dialpad); anything below 10^11 cannot be a
 * millisecond time after 1973, so it is taken as seconds. Strings are ISO 8601 or RFC 2822 dates (Twilio).
 */
export function epochMs(value: unknown): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
    if (typeof value === 'string' && value.trim()) {
        if (/^\d+(\.\d+)?$/.test(value.trim())) return epochMs(Number(value));
        const parsed = Date.parse(value);
        return Number.isNaN(parsed) ? undefined : parsed;
    }
    return undefined;
}

/** A stable id for one delivery, so a platform's retry of the same body is dropped as a duplicate. */
export function bodyDigest(rawBody: Buffer): string {
    return createHash('sha256').update(rawBody).digest('hex').slice(0, 32);
}

/** Drops undefined fields so events compare and serialise the same whatever the platform left out. */
export function compact<T extends object>(value: T): T {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
        if (field === undefined) continue;
        if (key === 'agent' && isRecord(field) && Object.values(field).every((part) => part === undefined)) continue;
        out[key] = isRecord(field) ? compact(field) : field;
    }
    return out as T;
}
