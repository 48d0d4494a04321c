import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebhookAdapter } from '../adapters/adapter';
import type { RawEvent } from '../call/raw-event';
import { CodedError } from '../errors/coded-error';
import { validateRawEvents } from '../lifecycle/raw-event-validation';
import { verifyWebhook } from '../signing/standard-webhooks';

export type EndpointAuth =
    | { type: 'none' }
    | { type: 'header'; headerName: string; secret: string }
    | { type: 'standard-webhooks'; secret: string; toleranceSeconds: number };

export interface EndpointOptions {
    maxBodyBytes: number;
    auth: EndpointAuth;
    /** For platform sources; our raw format when absent. */
    adapter?: WebhookAdapter;
    /** The public URL the platform calls (Twilio signs it); the URL Node-RED sees otherwise. */
    publicUrl?: string;
    /** The body when it was read before the route (by a middleware); the request stream is read otherwise. */
    body?: Buffer | 'too-large';
}

/** What to answer and, when the body was taken in, the events it carried (in order). */
export interface EndpointOutcome {
    status: number;
    headers: Record<string, string>;
    body: string;
    events: RawEvent[];
    /** Why the request was refused, for node.error; undefined when taken in. */
    error?: CodedError;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function refuse(status: number, message: string): EndpointOutcome {
    return { status, headers: JSON_HEADERS, body: JSON.stringify({ error: message }), events: [], error: new CodedError('input', message) };
}

/** Reads the whole body, stopping (and discarding the rest) as soon as it passes the limit. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
        req.resume();
        return Promise.resolve('too-large');
    }
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let over = false;
        req.on('data', (chunk: Buffer) => {
            if (over) return;
            size += chunk.length;
            if (size > maxBytes) {
                over = true;
                chunks.length = 0;
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
        req.on('error', reject);
    });
}

function sameSecret(given: string, expected: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
}

function authenticate(auth: EndpointAuth, headers: IncomingMessage['headers'], body: Buffer): string | undefined {
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
                return undefined;
            } catch (err) {
                return (err as Error).message;
            }
    }
}

/**
 * One POST to the node's endpoint: size limit (413), authentication (401), then every event valid or none taken
 * (400 naming the first bad event by index and its field), else 202 {"accepted": N}. Platform sources answer the
 * way their platform expects, through their adapter.
 */
export async function receiveEventPost(req: IncomingMessage, options: EndpointOptions): Promise<EndpointOutcome> {
    const body = options.body ?? (await readBody(req, options.maxBodyBytes));
    if (body === 'too-large') return refuse(413, `body larger than the limit of ${options.maxBodyBytes} bytes`);
    const denied = authenticate(options.auth, req.headers, body);
    if (denied) return refuse(401, `authentication failed: ${denied}`);

    if (options.adapter) {
        const outcome = options.adapter.receive({ headers: req.headers, rawBody: body, url: options.publicUrl });
        const answer = outcome.answer;
        return outcome.ok
            ? { status: answer.status, headers: answer.headers, body: answer.body, events: outcome.events }
            : { status: answer.status, headers: answer.headers, body: answer.body, events: [], error: outcome.error };
    }

    let parsed: unknown;
    try {
        parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
        return refuse(400, `body is not JSON: ${(err as Error).message}`);
    }
    try {
        const events = validateRawEvents(parsed);
        return { status: 202, headers: JSON_HEADERS, body: JSON.stringify({ accepted: events.length }), events };
    } catch (err) {
        return refuse(400, (err as Error).message);
    }
}
