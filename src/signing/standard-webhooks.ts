import { createHmac, timingSafeEqual } from 'node:crypto';
import { CodedError } from '../errors/coded-error';

/**
 * The Standard Webhooks scheme (standardwebhooks.com): the sender signs `${id}.${timestamp}.${body}` with
 * HMAC-SHA256 and sends `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature` ("v1,<base64>", several
 * space-separated during a key rotation). Secrets are written "whsec_<base64 key>".
 */
export interface WebhookSignatureHeaders {
    'webhook-id': string;
    'webhook-timestamp': string;
    'webhook-signature': string;
}

function keyOf(secret: string): Buffer {
    const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
    const key = Buffer.from(encoded, 'base64');
    if (key.length === 0) throw new CodedError('config', 'webhook secret: expected "whsec_" followed by a base64 key');
    return key;
}

function signature(key: Buffer, id: string, timestamp: string, body: Buffer | string): string {
    return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

export function signWebhook(secret: string, id: string, timestampSeconds: number, body: Buffer | string): WebhookSignatureHeaders {
    const timestamp = String(Math.floor(timestampSeconds));
    return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature(keyOf(secret), id, timestamp, body)}` };
}

/**
 * Verifies a signed request; throws with the reason (for a 401) when it does not verify. `toleranceSeconds`
 * bounds how far the timestamp may be from now, which is what stops a captured request being replayed later.
 */
export function verifyWebhook(
    secret: string,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer | string,
    toleranceSeconds: number,
    nowSeconds: number = Date.now() / 1000,
): void {
    const header = (name: string): string => {
        const value = headers[name];
        const text = Array.isArray(value) ? value[0] : value;
        if (!text) throw new CodedError('input', `missing ${name} header`);
        return text;
    };
    const id = header('webhook-id');
    const timestamp = header('webhook-timestamp');
    const signatures = header('webhook-signature');
    const seconds = Number(timestamp);
    if (!/^\d+$/.test(timestamp)) throw new CodedError('input', 'webhook-timestamp is not a number of seconds');
    if (Math.abs(nowSeconds - seconds) > toleranceSeconds) {
        throw new CodedError('input', `webhook-timestamp is ${Math.round(nowSeconds - seconds)} s from now, beyond the ${toleranceSeconds} s tolerance`);
    }
    const expected = Buffer.from(signature(keyOf(secret), id, timestamp, body), 'base64');
    const matches = signatures.split(' ').some((candidate) => {
        const [version, value] = candidate.split(',', 2);
        if (version !== 'v1' || !value) return false;
        const given = Buffer.from(value, 'base64');
        return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!matches) throw new CodedError('input', 'webhook-signature does not match the body');
}
