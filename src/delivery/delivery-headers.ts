import { ConfigError } from '../errors/coded-error';
import { HEADER_NAME, type OutgoingRequest } from '../request/build-request';
import { signWebhook } from '../signing/standard-webhooks';

const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
// These close the header list of a built request; the delivery headers go before them.
const TRAILING = new Set(['accept-encoding', 'content-length']);

export interface DeliveryHeaderOptions {
    /** Header for the idempotency key; empty: none. */
    idempotencyHeader: string;
    /** A Standard Webhooks secret ("whsec_..."); empty: the request is not signed. */
    signingSecret?: string;
    /** The profile's own header names, which the delivery headers must not collide with. */
    profileHeaders: string[];
}

export type Decorate = (request: OutgoingRequest, key: string, nowSeconds?: number) => OutgoingRequest;

/**
 * Checks the options on deploy and returns what adds the idempotency key and signature to each attempt's request.
 * Signed per attempt: a receiver rejects a timestamp older than its tolerance (minutes), and retries come hours
 * later. The signature is masked wherever the request is shown, like every other credential-derived value.
 */
export function deliveryHeaders(options: DeliveryHeaderOptions): Decorate {
    const header = options.idempotencyHeader.trim();
    const taken = new Set(options.profileHeaders.map((name) => name.toLowerCase()));
    if (header) {
        if (!HEADER_NAME.test(header)) throw new ConfigError(`idempotencyHeader: "${header}" is not a valid header name`);
        if (taken.has(header.toLowerCase())) throw new ConfigError(`idempotencyHeader: "${header}" is also set in the HTTP headers`);
    }
    const secret = options.signingSecret ?? '';
    if (secret) {
        // Fails on deploy for a malformed secret, not on the first message.
        signWebhook(secret, 'check', 0, '');
        for (const name of SIGNATURE_HEADERS) {
            if (taken.has(name) || name === header.toLowerCase()) throw new ConfigError(`signing: the header "${name}" is also set elsewhere in the profile`);
        }
    }
    if (!header && !secret) return (request) => request;
    return (request, key, nowSeconds = Date.now() / 1000) => {
        const added: Record<string, string> = {};
        if (header) added[header] = key;
        let { secrets } = request;
        if (secret) {
            const signed = signWebhook(secret, key, nowSeconds, request.body ?? '');
            Object.assign(added, signed);
            secrets = [...secrets, signed['webhook-signature']];
        }
        const leading: Record<string, string> = {};
        const trailing: Record<string, string> = {};
        for (const name in request.headers) (TRAILING.has(name.toLowerCase()) ? trailing : leading)[name] = request.headers[name]!;
        return { ...request, headers: Object.assign(leading, added, trailing), secrets };
    };
}
