import { CALL_DIRECTIONS, type CallDirection } from '../call/call';
import { RAW_EVENT_TYPES, type RawEvent, type RawEventType } from '../call/raw-event';
import { ConfigError } from '../errors/coded-error';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookRequest,
    WebhookRejection,
    compact,
    contentTypeOf,
    epochMs,
    headerValue,
    isRecord,
    jsonAnswer,
    optionalString,
    parseBoundedJson,
    receiveWith,
    sameSecret,
} from './adapter';

/** Call fields a mapping can fill; the names are the raw event's, with the agent split in two. */
export const MAPPED_FIELDS = [
    'eventId',
    'timestamp',
    'reportCallId',
    'direction',
    'callerName',
    'dnis',
    'externalNumber',
    'location',
    'startTime',
    'agentName',
    'agentExtension',
    'group',
    'tags',
    'accountCodes',
    'pendingRecordings',
    'recordingUrl',
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/**
 * How a platform this package does not know posts its call events. Plain JSON, so it lives in the node's config
 * and the editor can build it. Paths are dotted (`data.user.name`, `legs.0.id`); for a form body a path is the
 * field name.
 */
export interface CustomMapping {
    /** How the body is read; by default from its Content-Type (form for x-www-form-urlencoded, JSON otherwise). */
    format?: 'json' | 'form';
    /** Path to an array of events inside the body, when one request carries several; a top-level array needs none. */
    items?: string;
    /** Path to the call's id (required). */
    callId: string;
    /** Path to the value that says what happened (required). */
    eventType: string;
    /** That value -> raw event type; a value not listed (or mapped to "ignore") produces no event. */
    eventTypes: Record<string, RawEventType | 'ignore'>;
    /** Call field -> path. Paths that are absent in a request leave that field out. */
    fields?: Partial<Record<MappedField, string>>;
    /** Incoming direction value -> call direction; without it, inbound/outbound/internal/intersite in any case. */
    directions?: Record<string, CallDirection>;
    /** Header that must carry the shared secret, when a secret is configured. */
    secretHeader?: string;
}

export interface CustomMappingOptions {
    /** Shared secret expected in `secretHeader`. */
    secret?: string;
}

export interface MappingPreview {
    events: RawEvent[];
    /** Optional fields whose path found nothing, per event index: usually a typo in the path. */
    missing: { index: number; field: MappedField; path: string }[];
    /** Event type values that no entry of `eventTypes` maps, so they produced no event. */
    unmapped: string[];
}

/** Refuses a mapping that cannot work, naming what to fix; called on deploy so the node shows it at once. */
export function validateMapping(mapping: unknown): CustomMapping {
    if (!isRecord(mapping)) throw new ConfigError('custom mapping: the mapping must be an object');
    const required = (name: 'callId' | 'eventType') => {
        if (typeof mapping[name] !== 'string' || !(mapping[name] as string).trim())
            throw new ConfigError(`custom mapping: "${name}" needs the path of the ${name === 'callId' ? "call's id" : 'event type'} in the request`);
    };
    required('callId');
    required('eventType');
    if (mapping.format !== undefined && mapping.format !== 'json' && mapping.format !== 'form')
        throw new ConfigError('custom mapping: "format" must be "json" or "form"');
    if (!isRecord(mapping.eventTypes) || Object.keys(mapping.eventTypes).length === 0) {
        throw new ConfigError('custom mapping: "eventTypes" must map at least one incoming value to a raw event type');
    }
    for (const [value, type] of Object.entries(mapping.eventTypes)) {
        if (type !== 'ignore' && !RAW_EVENT_TYPES.includes(type as RawEventType)) {
            throw new ConfigError(
                `custom mapping: "eventTypes" maps ${JSON.stringify(value)} to ${JSON.stringify(type)}; use one of ${[...RAW_EVENT_TYPES, 'ignore'].join(', ')}`,
            );
        }
    }
    if (mapping.fields !== undefined) {
        if (!isRecord(mapping.fields)) throw new ConfigError('custom mapping: "fields" must be an object of call field -> path');
        for (const [field, path] of Object.entries(mapping.fields)) {
            if (!MAPPED_FIELDS.includes(field as MappedField))
                throw new ConfigError(`custom mapping: "fields" has unknown call field "${field}"; use one of ${MAPPED_FIELDS.join(', ')}`);
            if (typeof path !== 'string' || !path.trim()) throw new ConfigError(`custom mapping: "fields.${field}" must be a path`);
        }
    }
    if (mapping.directions !== undefined) {
        if (!isRecord(mapping.directions)) throw new ConfigError('custom mapping: "directions" must be an object of incoming value -> direction');
        for (const [value, direction] of Object.entries(mapping.directions)) {
            if (!CALL_DIRECTIONS.includes(direction as CallDirection))
                throw new ConfigError(
                    `custom mapping: "directions" maps ${JSON.stringify(value)} to ${JSON.stringify(direction)}; use one of ${CALL_DIRECTIONS.join(', ')}`,
                );
        }
    }
    if (mapping.items !== undefined && typeof mapping.items !== 'string') throw new ConfigError('custom mapping: "items" must be a path');
    if (mapping.secretHeader !== undefined && typeof mapping.secretHeader !== 'string')
        throw new ConfigError('custom mapping: "secretHeader" must be a header name');
    return mapping as unknown as CustomMapping;
}

export function customMappingAdapter(mapping: CustomMapping, options: CustomMappingOptions = {}): WebhookAdapter {
    const valid = validateMapping(mapping);
    if (options.secret && !valid.secretHeader) throw new ConfigError('custom mapping: a secret is set but no "secretHeader" says where the request carries it');
    return {
        source: 'custom',
        receive(request: WebhookRequest): AdapterOutcome {
            return receiveWith(
                () => {
                    if (options.secret && valid.secretHeader) {
                        const given = headerValue(request, valid.secretHeader);
                        if (!given || !sameSecret(given, options.secret))
                            throw new WebhookRejection(401, `custom mapping: the ${valid.secretHeader} header does not carry the configured secret`);
                    }
                    const format = valid.format ?? (contentTypeOf(request) === 'application/x-www-form-urlencoded' ? 'form' : 'json');
                    return mapBody(valid, readBody(request.rawBody.toString('utf8'), format)).events;
                },
                (events) => jsonAnswer(200, { received: events.length }),
                'no event in the request has an event type the mapping maps',
            );
        },
    };
}

/**
 * The editor's preview: the events a pasted sample would produce, or the first error in words that name the path.
 * Same code as the runtime, so what the preview shows is what the node will do.
 */
export function previewCustomMapping(
    mapping: unknown,
    sample: string,
    format: 'json' | 'form' = 'json',
): { ok: true; preview: MappingPreview } | { ok: false; error: string } {
    try {
        const valid = validateMapping(mapping);
        return { ok: true, preview: mapBody(valid, readBody(sample, valid.format ?? format)) };
    } catch (err) {
        return { ok: false, error: (err as Error).message };
    }
}

function readBody(text: string, format: 'json' | 'form'): unknown {
    if (format === 'form') {
        const fields: Record<string, string | string[]> = {};
        for (const [name, value] of new URLSearchParams(text)) {
            const existing = fields[name];
            // Pushing, not copying: a body repeating one name thousands of times must stay linear.
            if (existing === undefined) fields[name] = value;
            else if (Array.isArray(existing)) existing.push(value);
            else fields[name] = [existing, value];
        }
        return fields;
    }
    if (!text.trim()) throw new WebhookRejection(400, 'custom mapping: the body is empty');
    return parseBoundedJson(text, 'custom mapping: the body');
}

/** Reads a dotted path; a key that itself contains dots (form fields often do) is tried whole first. */
export function valueAt(source: unknown, path: string): unknown {
    if (isRecord(source) && path in source) return source[path];
    let current = source;
    for (const segment of path.split('.')) {
        if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
        else if (isRecord(current)) current = current[segment];
        else return undefined;
        if (current === undefined || current === null) return undefined;
    }
    return current;
}

function mapBody(mapping: CustomMapping, body: unknown): MappingPreview {
    let items: unknown[];
    if (mapping.items) {
        const found = valueAt(body, mapping.items);
        if (!Array.isArray(found)) throw new WebhookRejection(400, `custom mapping: "items" path "${mapping.items}" does not lead to an array`);
        items = found;
    } else {
        items = Array.isArray(body) ? body : [body];
    }
    const preview: MappingPreview = { events: [], missing: [], unmapped: [] };
    // A Set, not Array.includes: a body of many distinct unmapped types must stay linear.
    const unmapped = new Set<string>();
    items.forEach((item, index) => {
        const where = items.length > 1 ? ` in event ${index}` : '';
        const typeValue = optionalString(scalar(valueAt(item, mapping.eventType)));
        if (typeValue === undefined) throw new WebhookRejection(400, `custom mapping: no event type at "${mapping.eventType}"${where}`);
        const type = Object.prototype.hasOwnProperty.call(mapping.eventTypes, typeValue) ? mapping.eventTypes[typeValue] : undefined;
        if (type === undefined) {
            unmapped.add(typeValue);
            return;
        }
        if (type === 'ignore') return;
        const callId = optionalString(scalar(valueAt(item, mapping.callId)));
        if (callId === undefined) throw new WebhookRejection(400, `custom mapping: no call id at "${mapping.callId}"${where}`);

        const read = (field: MappedField): unknown => {
            const path = mapping.fields?.[field];
            if (!path) return undefined;
            const value = valueAt(item, path);
            if (value === undefined || value === null || value === '') {
                preview.missing.push({ index, field, path });
                return undefined;
            }
            return value;
        };
        const event: RawEvent = {
            type,
            callId,
            eventId: optionalString(scalar(read('eventId'))),
            timestamp: epochMs(scalar(read('timestamp'))),
            reportCallId: optionalString(scalar(read('reportCallId'))),
            direction: directionOf(scalar(read('direction')), mapping.directions, where),
            callerName: optionalString(scalar(read('callerName'))),
            dnis: optionalString(scalar(read('dnis'))),
            externalNumber: optionalString(scalar(read('externalNumber'))),
            location: optionalString(scalar(read('location'))),
            startTime: epochMs(scalar(read('startTime'))),
            agent: { name: optionalString(scalar(read('agentName'))), extension: optionalString(scalar(read('agentExtension'))) },
            group: optionalString(scalar(read('group'))),
            tags: listOf(read('tags')),
            accountCodes: listOf(read('accountCodes')),
            recordingUrl: optionalString(scalar(read('recordingUrl'))),
        };
        const pending = read('pendingRecordings');
        if (pending !== undefined) {
            const count = Number(scalar(pending));
            if (!Number.isInteger(count) || count < 0)
                throw new WebhookRejection(
                    400,
                    `custom mapping: "${mapping.fields?.pendingRecordings}"${where} is ${JSON.stringify(pending)}, not a whole number of pending recordings`,
                );
            event.pendingRecordings = count;
        }
        if (type === 'recording' && !event.recordingUrl) {
            throw new WebhookRejection(
                400,
                `custom mapping: a recording event${where} needs a recording URL, but ${mapping.fields?.recordingUrl ? `"${mapping.fields.recordingUrl}" is empty` : 'fields.recordingUrl is not mapped'}`,
            );
        }
        preview.events.push(compact(event));
    });
    preview.unmapped = [...unmapped];
    return preview;
}

/** Form fields repeat as arrays; a single-valued field is what a scalar call field wants. */
function scalar(value: unknown): unknown {
    return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function listOf(value: unknown): string[] | undefined {
    if (value === undefined) return undefined;
    if (Array.isArray(value)) {
        return value.map((item) => (isRecord(item) ? optionalString(item.name) : optionalString(item))).filter((item): item is string => !!item);
    }
    const text = optionalString(value);
    return text === undefined
        ? undefined
        : text
              .split(',')
              .map((part) => part.trim())
              .filter(Boolean);
}

function directionOf(value: unknown, table: Record<string, CallDirection> | undefined, where: string): CallDirection | undefined {
    const text = optionalString(value);
    if (text === undefined) return undefined;
    if (table) {
        if (Object.prototype.hasOwnProperty.call(table, text)) return table[text];
        throw new WebhookRejection(400, `custom mapping: direction ${JSON.stringify(text)}${where} is not in "directions"`);
    }
    const found = CALL_DIRECTIONS.find((direction) => direction.toLowerCase() === text.toLowerCase());
    if (!found)
        throw new WebhookRejection(
            400,
            `custom mapping: direction ${JSON.stringify(text)}${where} is not Inbound, Outbound, Internal or Intersite; add a "directions" table`,
        );
    return found;
}
