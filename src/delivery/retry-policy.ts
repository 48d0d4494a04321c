import type { ErrorCode } from '../errors/coded-error';
import { parseRetryAfter } from './retry-after';

/** What to do after one attempt. */
export type Verdict =
    | { kind: 'delivered' }
    /** `unreachable`: the way to the server failed (refused, reset, timeout...), not the request: it is worth trying again as soon as the server answers another request. */
    | { kind: 'retry'; retryAfterMs?: number; unreachable?: boolean }
    | { kind: 'final' };

/** Failures of the way to the server, not of the request: the same request can succeed later. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(['timeout', 'dns', 'tls', 'refused', 'reset', 'network']);

export interface AttemptReport {
    error?: { code: ErrorCode };
    response?: { statusCode: number; headers: Record<string, string | string[]> };
}

/**
 * Network failures, timeouts, 408, 429 and 5xx are worth another attempt; every other 4xx (and a 3xx, or a
 * request that cannot be built) says the request itself is wrong, and sending it again would only repeat that.
 * `Retry-After` counts on 429 and 503, the statuses RFC 9110 gives it to.
 */
export function verdictOf(report: AttemptReport, nowMs: number = Date.now()): Verdict {
    if (!report.error) return { kind: 'delivered' };
    if (TRANSIENT.has(report.error.code)) return { kind: 'retry', unreachable: true };
    const status = report.response?.statusCode;
    if (status === undefined) return { kind: 'final' };
    if (status === 429 || status === 503) {
        const retryAfterMs = parseRetryAfter(report.response!.headers['retry-after'], nowMs);
        return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs };
    }
    if (status === 408 || status >= 500) return { kind: 'retry' };
    return { kind: 'final' };
}
