/** A server asking for more than this is treated as asking for this: a request is never parked for days. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The wait a `Retry-After` header asks for (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Undefined when the
 * header is missing or unreadable, so the schedule applies; a date in the past is a wait of 0.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number = Date.now()): number | undefined {
    const value = (Array.isArray(header) ? header[0] : header)?.trim();
    if (!value) return undefined;
    if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
    // Date.parse also accepts forms that are no HTTP date ("5", "2026"); an IMF-fixdate always names a weekday.
    if (!/^[A-Za-z]{3},? /.test(value) && !/^[A-Za-z]+day, /.test(value)) return undefined;
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}
