import { InputError } from '../errors/coded-error';

/**
 * Bounds on what one request (or one msg.payload) may ask of call tracking. Every one has a default that real call
 * data stays far below and a node property for the rare user who needs more; exceeding one refuses the whole
 * request with a 413 naming the event, the field and the bound, so the platform's resend of the good events works.
 */
export interface EventLimits {
    /** Events in one request body or one msg.payload array. */
    maxEvents: number;
    /** Characters of a call id or an event id. */
    maxIdLength: number;
    /** Characters of any other text field (names, numbers, groups, links). */
    maxTextLength: number;
    /** Members of `tags` or `accountCodes` in one event. */
    maxListMembers: number;
    /** Tags, account codes and recordings kept for one call, each list on its own. */
    maxCallListMembers: number;
    /** Bytes of one call's record as it is stored (JSON). */
    maxCallBytes: number;
}

export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = {
    maxEvents: 500,
    maxIdLength: 256,
    maxTextLength: 4096,
    maxListMembers: 100,
    maxCallListMembers: 500,
    maxCallBytes: 64 * 1024,
};

/**
 * An event or request over one of the bounds: an input error (code `input`, Catch-able) that an endpoint answers
 * with `413 Payload Too Large` rather than `400`.
 */
export class LimitExceededError extends InputError {
    readonly status = 413;

    /**
     * @param where the event, as `event 3` (its index in the request), or `request`
     * @param field the field over its bound, as the raw format names it (`callerName`, `tags`)
     * @param problem what exceeds what, e.g. `is 5000 characters, over the limit of 4096`
     */
    constructor(
        readonly where: string,
        readonly field: string,
        problem: string,
    ) {
        super(`${where}: ${field ? `${field} ` : ''}${problem}`);
        this.name = 'LimitExceededError';
    }
}

/** The limits in force: the defaults, overridden by every bound the caller set (an unset or undefined one keeps its default). */
export function resolveEventLimits(limits: Partial<EventLimits> = {}): EventLimits {
    const resolved: EventLimits = { ...DEFAULT_EVENT_LIMITS };
    for (const key of Object.keys(DEFAULT_EVENT_LIMITS) as (keyof EventLimits)[]) {
        const value = limits[key];
        if (value !== undefined) resolved[key] = value;
    }
    return resolved;
}
