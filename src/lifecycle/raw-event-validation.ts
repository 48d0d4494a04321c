import { CALL_DIRECTIONS } from '../call/call';
import { RAW_EVENT_TYPES, type RawEvent } from '../call/raw-event';
import { InputError } from '../errors/coded-error';
import { DEFAULT_EVENT_LIMITS, LimitExceededError, type EventLimits } from './event-limits';

const TEXT_FIELDS = ['eventId', 'reportCallId', 'callerName', 'dnis', 'externalNumber', 'location', 'group', 'recordingUrl'] as const;
const TIME_FIELDS = ['timestamp', 'startTime'] as const;
const LIST_FIELDS = ['tags', 'accountCodes'] as const;

function describe(value: unknown): string {
    if (value === undefined) return 'nothing';
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    return typeof value === 'string' ? `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"` : `${typeof value} ${String(value)}`;
}

/**
 * Checks one raw event and returns it in its canonical shape; a bad one is refused naming where it stands
 * (`event 3`) and the field, so an integrator can find the fault in the body they sent.
 */
export function validateRawEvent(value: unknown, where: string): RawEvent {
    const fail = (field: string, problem: string): never => {
        throw new InputError(`${where}: ${field ? `${field} ` : ''}${problem}`);
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('', `must be an object, got ${describe(value)}`);
    const event = value as Record<string, unknown>;
    if (!RAW_EVENT_TYPES.includes(event.type as RawEvent['type'])) fail('type', `must be one of ${RAW_EVENT_TYPES.join(', ')}, got ${describe(event.type)}`);
    if (typeof event.callId !== 'string' || event.callId.trim() === '') fail('callId', `must be a non-empty string, got ${describe(event.callId)}`);
    for (const field of TEXT_FIELDS) {
        if (event[field] !== undefined && typeof event[field] !== 'string') fail(field, `must be a string, got ${describe(event[field])}`);
    }
    for (const field of TIME_FIELDS) {
        const time = event[field];
        if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time) || time < 0)) fail(field, `must be ms since 1970 (a number), got ${describe(time)}`);
    }
    for (const field of LIST_FIELDS) {
        const list = event[field];
        if (list !== undefined && (!Array.isArray(list) || list.some((item) => typeof item !== 'string'))) fail(field, `must be an array of strings, got ${describe(list)}`);
    }
    if (event.direction !== undefined && !CALL_DIRECTIONS.includes(event.direction as never)) {
        fail('direction', `must be one of ${CALL_DIRECTIONS.join(', ')}, got ${describe(event.direction)}`);
    }
    if (event.agent !== undefined) {
        const agent = event.agent as Record<string, unknown>;
        if (typeof agent !== 'object' || agent === null || Array.isArray(agent)) fail('agent', `must be an object {"name", "extension"}, got ${describe(agent)}`);
        for (const part of ['name', 'extension']) {
            if (agent[part] !== undefined && typeof agent[part] !== 'string') fail(`agent.${part}`, `must be a string, got ${describe(agent[part])}`);
        }
    }
    if (event.pendingRecordings !== undefined) {
        const pending = event.pendingRecordings;
        if (typeof pending !== 'number' || !Number.isInteger(pending) || pending < 0) fail('pendingRecordings', `must be a whole number >= 0, got ${describe(pending)}`);
    }
    if (event.type === 'recording' && (typeof event.recordingUrl !== 'string' || event.recordingUrl === '')) fail('recordingUrl', 'is required on a recording event');
    if (event.type === 'accountCodes' && !Array.isArray(event.accountCodes)) fail('accountCodes', 'is required on an accountCodes event (the whole new list)');
    return event as unknown as RawEvent;
}

/** One raw event or an array of them; all valid or none taken. */
export function validateRawEvents(body: unknown, limits: Partial<EventLimits> = {}): RawEvent[] {
    const maxEvents = limits.maxEvents ?? DEFAULT_EVENT_LIMITS.maxEvents;
    if (Array.isArray(body) && body.length > maxEvents) {
        throw new LimitExceededError('request', '', `has ${body.length} events, over the limit of ${maxEvents} per request`);
    }
    if (Array.isArray(body)) return body.map((event, index) => validateRawEvent(event, `event ${index}`));
    return [validateRawEvent(body, 'event 0')];
}
