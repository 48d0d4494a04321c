import type { OutgoingRequest } from './build-request';

export const MASK = '***';

/** A request as the debug sidebar, the Test dialog and the logs show it: the body as text, secrets as ***. */
export interface DisplayedRequest {
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string;
}

/**
 * Replaces every secret value inside a text. Longest first, so a secret that contains a shorter one (the
 * base64 of "user:password" never does, but a token might contain a password) is masked as a whole.
 */
export function maskText(text: string, secrets: readonly string[]): string {
    if (secrets.length === 0) return text;
    let masked = text;
    for (const secret of [...secrets].filter(Boolean).sort((a, b) => b.length - a.length)) {
        masked = masked.split(secret).join(MASK);
    }
    return masked;
}

/** Masks secrets anywhere inside a JSON-like value (strings in objects and arrays). */
export function maskValue<T>(value: T, secrets: readonly string[]): T {
    if (typeof value === 'string') return maskText(value, secrets) as T;
    if (Buffer.isBuffer(value)) return value;
    if (Array.isArray(value)) return value.map((item) => maskValue(item, secrets)) as T;
    if (value && typeof value === 'object') {
        const copy: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) copy[key] = maskValue(item, secrets);
        return copy as T;
    }
    return value;
}

export function displayRequest(request: OutgoingRequest): DisplayedRequest {
    const headers: Record<string, string> = {};
    for (const name in request.headers) headers[name] = maskText(request.headers[name]!, request.secrets);
    const shown: DisplayedRequest = { method: request.method, url: maskText(request.url, request.secrets), headers };
    if (request.body) shown.body = maskText(request.body.toString('utf8'), request.secrets);
    return shown;
}
