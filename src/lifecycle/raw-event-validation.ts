import { CALL_DIRECTIONS } from '../call/call';
import { RAW_EVENT_TYPES, type RawEvent } from '../call/raw-event';
import { InputError } from '../errors/coded-error';
import { logText } from '../logging/log-text';
import { LimitExceededError, resolveEventLimits, type EventLimits } from './event-limits';

const TEXT_FIELDS = ['reportCallId', 'callerName', 'dnis', 'externalNumber', 'location', 'group', 'recordingUrl'] as const;
const TIME_FIELDS = ['timestamp', 'startTime'] as const;
const LIST_FIELDS = ['tags', 'accountCodes'] as const;

function describe(value: unknown): string {
    if (value === undefined) return 'nothing';
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    // The text goes back to the sender and into the log: cut and with its control characters escaped.
    return typeof value === 'string' ? `"${logText(value, 43)}"` : `${typeof value} ${logText(value, 43)}`;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks one raw event and returns it in its canonical shape: a NEW object holding only the fields of the raw
 * format, in the order the format lists them, so nothing downstream (the duplicate key over the event's JSON, the
 * store, the triggers) ever carries or walks an extra field a sender chose. A bad event is refused naming where it
 * stands (`event 3`) and the field: an `InputError` (400) when malformed, a `LimitExceededError` (413) when over a
 * bound of `limits`.
 */
export function validateRawEvent(value: unknown, where: string, limits: Partial<EventLimits> = {}): RawEvent {
    const bounds = resolveEventLimits(limits);
    const fail = (field: string, problem: string): never => {
        throw new InputError(`${where}: ${field ? `${field} ` : ''}${problem}`);
    };
    const text = (field: string, value: string, max: number): string => {
        if (value.length > max) throw new LimitExceededError(where, field, `is ${value.length} characters, over the limit of ${max}`);
        return value;
    };
    if (!isObject(value)) return fail('', `must be an object, got ${describe(value)}`);
    const event = value;
    if (!RAW_EVENT_TYPES.includes(event.type as RawEvent['type'])) fail('type', `must be one of ${RAW_EVENT_TYPES.join(', ')}, got ${describe(event.type)}`);
    if (typeof event.callId !== 'string' || event.callId.trim() === '') fail('callId', `must be a non-empty string, got ${describe(event.callId)}`);
    const canonical: Record<string, unknown> = { type: event.type, callId: text('callId', event.callId as string, bounds.maxIdLength) };

    if (event.eventId !== undefined) {
        if (typeof event.eventId !== 'string') fail('eventId', `must be a string, got ${describe(event.eventId)}`);
        canonical.eventId = text('eventId', event.eventId as string, bounds.maxIdLength);
    }
    for (const field of TEXT_FIELDS) {
        if (event[field] !== undefined && typeof event[field] !== 'string') fail(field, `must be a string, got ${describe(event[field])}`);
    }
    for (const field of TIME_FIELDS) {
        const time = event[field];
        if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time) || time < 0))
            fail(field, `must be ms since 1970 (a number), got ${describe(time)}`);
    }
    for (const field of LIST_FIELDS) {
        const list = event[field];
        if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string')))
            fail(field, `must be an array of strings, got ${describe(list)}`);
    }
    if (event.direction !== undefined && !CALL_DIRECTIONS.includes(event.direction as never)) {
        fail('direction', `must be one of ${CALL_DIRECTIONS.join(', ')}, got ${describe(event.direction)}`);
    }
    let agent: { name?: string; extension?: string } | undefined;
    if (event.agent !== undefined) {
        if (!isObject(event.agent)) return fail('agent', `must be an object {"name", "extension"}, got ${describe(event.agent)}`);
        const given = event.agent;
        agent = {};
        for (const part of ['name', 'extension'] as const) {
            const partValue = given[part];
            if (partValue === undefined) continue;
            if (typeof partValue !== 'string') return fail(`agent.${part}`, `must be a string, got ${describe(partValue)}`);
            agent[part] = text(`agent.${part}`, partValue, bounds.maxTextLength);
        }
    }
    if (event.pendingRecordings !== undefined) {
        const pending = event.pendingRecordings;
        if (typeof pending !== 'number' || !Number.isInteger(pending) || pending < 0)
            fail('pendingRecordings', `must be a whole number >= 0, got ${describe(pending)}`);
    }
    if (event.type === 'recording' && (typeof event.recordingUrl !== 'string' || event.recordingUrl === ''))
        fail('recordingUrl', 'is required on a recording event');
    if (event.type === 'accountCodes' && !Array.isArray(event.accountCodes)) fail('accountCodes', 'is required on an accountCodes event (the whole new list)');

    // Built in the order of the RawEvent interface, the order the README documents: an event sent that way keys
    // (for duplicates) exactly as it did before unknown fields were dropped.
    if (event.timestamp !== undefined) canonical.timestamp = event.timestamp;
    for (const field of ['reportCallId', 'direction', 'callerName', 'dnis', 'externalNumber', 'location'] as const) {
        if (event[field] !== undefined) canonical[field] = text(field, event[field] as string, bounds.maxTextLength);
    }
    if (event.startTime !== undefined) canonical.startTime = event.startTime;
    if (agent) canonical.agent = agent;
    if (event.group !== undefined) canonical.group = text('group', event.group as string, bounds.maxTextLength);
    for (const field of LIST_FIELDS) {
        const list = event[field] as string[] | undefined;
        if (list === undefined) continue;
        if (list.length > bounds.maxListMembers) {
            throw new LimitExceededError(where, field, `has ${list.length} members, over the limit of ${bounds.maxListMembers}`);
        }
        canonical[field] = list.map((member, index) => text(`${field}[${index}]`, member, bounds.maxTextLength));
    }
    if (event.pendingRecordings !== undefined) canonical.pendingRecordings = event.pendingRecordings;
    if (event.recordingUrl !== undefined) canonical.recordingUrl = text('recordingUrl', event.recordingUrl as string, bounds.maxTextLength);
    return canonical as unknown as RawEvent;
}

/**
 * One raw event or an array of them; all valid or none taken, the error naming the first bad event by its index.
 * At most `maxEvents` events (413 beyond).
 */
export function validateRawEvents(body: unknown, limits: Partial<EventLimits> = {}): RawEvent[] {
    const bounds = resolveEventLimits(limits);
    if (Array.isArray(body) && body.length > bounds.maxEvents) {
        throw new LimitExceededError('request', '', `has ${body.length} events, over the limit of ${bounds.maxEvents} per request`);
    }
    if (Array.isArray(body)) return body.map((event, index) => validateRawEvent(event, `event ${index}`, bounds));
    return [validateRawEvent(body, 'event 0', bounds)];
}
