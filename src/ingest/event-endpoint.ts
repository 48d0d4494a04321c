import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebhookAdapter } from '../adapters/adapter';
import type { RawEvent } from '../call/raw-event';
import { CodedError, InputError } from '../errors/coded-error';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../lifecycle/event-limits';
import { validateRawEvents } from '../lifecycle/raw-event-validation';
import { verifyWebhook } from '../signing/standard-webhooks';
import { nestingProblem } from './bounded-json';
import { refusalStatus } from './refusal-status';
import type { ReplayMemory } from './replay-guard';

export type EndpointAuth =
    | { type: 'none' }
    | { type: 'header'; headerName: string; secret: string }
    | { type: 'standard-webhooks'; secret: string; toleranceSeconds: number; replays?: ReplayMemory };

export interface EndpointOptions {
    maxBodyBytes: number;
    auth: EndpointAuth;
    /** For platform sources; our raw format when absent. */
    adapter?: WebhookAdapter;
    /** The public URL the platform calls (Twilio signs it); the URL Node-RED sees otherwise. */
    publicUrl?: string;
    /** The body when it was read before the route (by a middleware); the request stream is read otherwise. */
    body?: Buffer | 'too-large' | 'size-unknown';
    /** Bounds on the events taken; DEFAULT_EVENT_LIMITS for those not given. */
    limits?: Partial<EventLimits>;
}

/** What to answer and, when the body was taken in, the events it carried (in order). */
export interface EndpointOutcome {
    status: number;
    headers: Record<string, string>;
    body: string;
    events: RawEvent[];
    /** Why the request was refused, for node.error; undefined when taken in. */
    error?: CodedError;
    /**
     * Call when the events could not be taken after all (the store failed): a Standard Webhooks sender retries
     * with the same webhook-id, which must then not count as a replay.
     */
    release?: () => void;
    /**
     * The answer comes before the body was read to its end (it passed the limit): the route closes the connection
     * if the sender has not finished shortly after (closeUnfinishedRequest).
     */
    unreadBody?: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function refuse(status: number, message: string, error: CodedError = new InputError(message)): EndpointOutcome {
    return { status, headers: JSON_HEADERS, body: JSON.stringify({ error: message }), events: [], error };
}

/** A body over the limit: 413, answered before the body was read to its end (see unreadBody). */
function refuseTooLarge(message: string): EndpointOutcome {
    return { ...refuse(413, message), unreadBody: true };
}

function refuseError(err: unknown): EndpointOutcome {
    const message = (err as Error).message;
    return refuse(refusalStatus(err), message, err instanceof CodedError ? err : new InputError(message, { cause: err }));
}

/**
 * Reads the whole body, or answers 'too-large' as soon as it passes the limit (by its Content-Length, or counted as
 * it arrives). What the sender still streams is discarded, not waited for: the 413 goes out at once, and the
 * connection is closed if the sender is not done soon after (closeUnfinishedRequest).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
        req.resume();
        return Promise.resolve('too-large');
    }
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const take = (chunk: Buffer): void => {
            size += chunk.length;
            if (size > maxBytes) {
                chunks.length = 0;
                req.off('data', take);
                req.resume();
                resolve('too-large');
                return;
            }
            chunks.push(chunk);
        };
        req.on('data', take);
        req.on('end', () => resolve(Buffer.concat(chunks)));
        req.on('error', reject);
    });
}

function sameSecret(given: string, expected: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Why the request does not authenticate, or undefined when it does; a replayed webhook-id does not. Rejects with a
 * StoreError when the replay memory (Redis) cannot be asked.
 */
async function authenticate(auth: EndpointAuth, headers: IncomingMessage['headers'], body: Buffer): Promise<string | undefined> {
    switch (auth.type) {
        case 'none':
            return undefined;
        case 'header': {
            const value = headers[auth.headerName.toLowerCase()];
            const given = Array.isArray(value) ? value[0] : value;
            if (!given) return `missing ${auth.headerName} header`;
            return sameSecret(given, auth.secret) ? undefined : `${auth.headerName} header does not match the shared secret`;
        }
        case 'standard-webhooks':
            try {
                verifyWebhook(auth.secret, headers, body, auth.toleranceSeconds);
            } catch (err) {
                return (err as Error).message;
            }
            // Only a request that verified is remembered: unsigned requests cannot fill the guard or block an id.
            return (await auth.replays?.seenBefore(webhookId(headers))) ? 'replayed webhook-id (already received within the tolerance window)' : undefined;
    }
}

function webhookId(headers: IncomingMessage['headers']): string {
    const value = headers['webhook-id'];
    return (Array.isArray(value) ? value[0] : value) ?? '';
}

/**
 * One POST to the node's endpoint: size limit (413), authentication (401, a replayed webhook-id included; 503 when
 * the replay memory cannot be asked), nesting depth (400), then every event valid and within the limits or none
 * taken (400 or 413 naming the first bad event by index and its field), else 202 {"accepted": N}. Platform sources
 * answer the way their platform expects, through their adapter, and the events they make pass the same validation
 * and limits as raw ones.
 */
export async function receiveEventPost(req: IncomingMessage, options: EndpointOptions): Promise<EndpointOutcome> {
    const body = options.body ?? (await readBody(req, options.maxBodyBytes));
    if (body === 'too-large') return refuseTooLarge(`body larger than the limit of ${options.maxBodyBytes} bytes`);
    if (body === 'size-unknown') {
        return refuse(
            413,
            `body was parsed by another middleware without a Content-Length, so it cannot be held to the limit of ${options.maxBodyBytes} bytes`,
        );
    }
    let denied: string | undefined;
    try {
        denied = await authenticate(options.auth, req.headers, body);
    } catch (err) {
        // The replay memory could not be asked: 503, so the sender tries again, rather than take a possible replay.
        return refuseError(err);
    }
    if (denied) return refuse(401, `authentication failed: ${denied}`);
    const outcome = takeIn(req, body, options);
    if (options.auth.type === 'standard-webhooks' && options.auth.replays) {
        const replays = options.auth.replays;
        const id = webhookId(req.headers);
        if (outcome.error) replays.forget(id);
        else outcome.release = () => replays.forget(id);
    }
    return outcome;
}

function takeIn(req: IncomingMessage, body: Buffer, options: EndpointOptions): EndpointOutcome {
    const limits = { ...DEFAULT_EVENT_LIMITS, ...options.limits };
    if (options.adapter) {
        const outcome = options.adapter.receive({ headers: req.headers, rawBody: body, url: options.publicUrl });
        const answer = outcome.answer;
        if (!outcome.ok) return { status: answer.status, headers: answer.headers, body: answer.body, events: [], error: outcome.error };
        let events: RawEvent[];
        try {
            events = validateRawEvents(outcome.events, limits);
        } catch (err) {
            return refuseError(err);
        }
        return { status: answer.status, headers: answer.headers, body: answer.body, events };
    }

    const text = body.toString('utf8');
    const tooDeep = nestingProblem(text);
    if (tooDeep) return refuse(400, `body ${tooDeep}`);
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        return refuse(400, `body is not JSON: ${(err as Error).message}`);
    }
    try {
        const events = validateRawEvents(parsed, limits);
        return { status: 202, headers: JSON_HEADERS, body: JSON.stringify({ accepted: events.length }), events };
    } catch (err) {
        return refuseError(err);
    }
}
