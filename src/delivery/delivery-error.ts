import { CodedError, type ErrorCode } from '../errors/coded-error';

/** What came back from the server, before any interpretation of the body. */
export interface ReceivedResponse {
    statusCode: number;
    statusMessage: string;
    headers: Record<string, string | string[]>;
    body: Buffer;
    /** From the start of sending to the last byte of the body. */
    timeMs: number;
}

/** A request that did not succeed: the stable code says why, `response` is there when the server answered. */
export class DeliveryError extends CodedError {
    readonly response?: ReceivedResponse;

    constructor(code: ErrorCode, message: string, response?: ReceivedResponse) {
        super(code, message);
        this.name = 'DeliveryError';
        this.response = response;
    }
}

export type DeliveryOutcome = { ok: true; response: ReceivedResponse } | { ok: false; error: DeliveryError };

interface SystemErrorLike {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
}

/** The first system error code (ECONNREFUSED, ENOTFOUND, ...) in an error, its causes or an AggregateError's parts. */
function systemCode(err: unknown, depth = 0): string | undefined {
    if (!err || typeof err !== 'object' || depth > 5) return undefined;
    const candidate = err as SystemErrorLike;
    const own = typeof candidate.code === 'string' && !/^ERR_(BAD_|CANCELED|NETWORK)|^ECONNABORTED$/.test(candidate.code) ? candidate.code : undefined;
    if (own) return own;
    const fromCause = systemCode(candidate.cause, depth + 1);
    if (fromCause) return fromCause;
    // Happy eyeballs (autoSelectFamily) reports one failure per address tried.
    if (Array.isArray(candidate.errors))
        for (const part of candidate.errors) {
            const code = systemCode(part, depth + 1);
            if (code) return code;
        }
    return undefined;
}

// undici's own codes for a timer of its that fired and for a connection the other side closed.
const UNDICI_TIMEOUT = /^UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT$/;
const UNDICI_CLOSED = 'UND_ERR_SOCKET';

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|EPROTO$)|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO|ERR_OSSL/;

function reasonOf(err: unknown): string {
    const message = err && typeof err === 'object' ? (err as SystemErrorLike).message : undefined;
    return typeof message === 'string' && message ? message : String(err);
}

/**
 * Sorts a failure to send into the stable codes flows branch on. `timedOut` is true when the overall timer fired:
 * the abort it causes surfaces as a cancellation, which alone would not say why.
 */
export function classifyFailure(err: unknown, target: string, timeoutMs: number, timedOut: boolean): DeliveryError {
    const axiosCode = err && typeof err === 'object' ? (err as SystemErrorLike).code : undefined;
    if (timedOut || axiosCode === 'ECONNABORTED' || axiosCode === 'ETIMEDOUT') {
        return new DeliveryError('timeout', `${target}: no complete answer within ${timeoutMs} ms`);
    }
    const code = systemCode(err);
    const host = (() => {
        try {
            return new URL(target.replace(/^[A-Z]+ /, '')).host;
        } catch {
            return target;
        }
    })();
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
        return new DeliveryError('dns', `${target}: the host name could not be resolved (${code})`);
    }
    if (code === 'ECONNREFUSED') return new DeliveryError('refused', `${target}: ${host} refused the connection`);
    if (code === 'ETIMEDOUT' || (code && UNDICI_TIMEOUT.test(code)))
        return new DeliveryError('timeout', `${target}: no complete answer within ${timeoutMs} ms`);
    if (code && TLS_CODE.test(code)) return new DeliveryError('tls', `${target}: the TLS connection failed: ${reasonOf(err)} (${code})`);
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === UNDICI_CLOSED || /socket hang up/i.test(reasonOf(err))) {
        return new DeliveryError('reset', `${target}: the connection was closed before a complete answer (${code ?? 'socket hang up'})`);
    }
    return new DeliveryError('network', `${target}: ${reasonOf(err)}${code ? ` (${code})` : ''}`);
}

/** A complete answer whose status is not 2xx. */
export function statusFailure(target: string, response: ReceivedResponse): DeliveryError {
    const status = `${response.statusCode}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
    if (response.statusCode >= 500) return new DeliveryError('http-5xx', `${target}: the server answered ${status}`, response);
    if (response.statusCode >= 400) return new DeliveryError('http-4xx', `${target}: the server answered ${status}`, response);
    const location = response.headers.location;
    return new DeliveryError(
        'http-3xx',
        `${target}: the server answered ${status}${location ? ` and redirects to ${String(location)}` : ''}; redirects are not followed, so set the Target URL to the final address`,
        response,
    );
}
