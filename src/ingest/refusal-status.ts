import { CodedError } from '../errors/coded-error';

/**
 * The HTTP answer for an error raised while taking events in. Only an I/O failure of the call state store is a
 * 503 (the platform should retry later); an event the bounds refuse is a 413 and a malformed one a 400, because
 * retrying either can never succeed and must not be mistaken for the store being down.
 */
export function refusalStatus(err: unknown): 400 | 413 | 500 | 503 {
    if ((err as { status?: unknown } | null)?.status === 413) return 413;
    if (err instanceof CodedError && err.code === 'input') return 400;
    if (err instanceof CodedError && err.code === 'store') return 503;
    return 500;
}
