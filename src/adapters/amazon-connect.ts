import type { RawEvent, RawEventType } from '../call/raw-event';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookRequest,
    WebhookRejection,
    compact,
    contentTypeOf,
    epochMs,
    idString,
    isRecord,
    jsonAnswer,
    optionalString,
    parseJsonBody,
    receiveWith,
} from './adapter';
import { EMPTY_NAME_TABLE, type NameTable, nameOrId } from './name-table';

/**
 * Amazon Connect contact events (Amazon Connect Administrator Guide, "Amazon Connect contact events" and its data
 * model) as an EventBridge rule sends them to an API destination (EventBridge User Guide, "API destinations"): with
 * no input transformer the POST body is the whole EventBridge event, `{ version, id, detail-type, source, account,
 * time, region, resources, detail }`, the contact being `detail`. EventBridge signs nothing; the API destination's
 * connection adds an API key header or Basic credentials, which the node's own shared-secret-header authentication
 * checks before the body reaches this adapter, so the adapter takes no secret.
 */
export interface AmazonConnectOptions {
    /**
     * Agent and queue ARNs (or the ids that end them) to the names a person reads. Contact events name agents and
     * queues only by ARN, so whatever the table does not name, the placeholders show as the ARN itself.
     */
    names?: NameTable;
}

const PLATFORM = 'Amazon Connect';
const EVENT_SOURCE = 'aws.connect';
const CONTACT_EVENT = 'Amazon Connect Contact Event';
const NOTHING_USED = 'an Amazon Connect contact event the node does not use';
/** The data model gives contact ids 1-256 characters; EventBridge event ids are UUIDs. */
const MAX_CONTACT_ID_LENGTH = 256;
const MAX_EVENT_ID_LENGTH = 128;
/**
 * Connect writes 1970-01-01T00:00:00.001Z for a timestamp it has not set (the data model's sample event for
 * updated contact properties), so anything before 2000 means "not set".
 */
const EARLIEST_REAL_TIME = Date.UTC(2000, 0, 1);

/** Contacts that are not the customer's call: answered 2xx and dropped, with the reason. */
const NOT_THE_CUSTOMERS_CALL: Readonly<Record<string, string>> = {
    MONITOR: 'a supervisor monitoring a call (initiation method MONITOR): its agent is the supervisor, not the one on the call',
    EXTERNAL_OUTBOUND: "an agent calling an external party into a call (initiation method EXTERNAL_OUTBOUND): not the customer's call",
    DISCONNECT: 'a contact started by a disconnect flow after the call ended (initiation method DISCONNECT)',
};
/**
 * The agent is on these contacts before the customer answers; ConnectedToSystemTimestamp is "when the customer
 * endpoint answers" for them, so CONNECTED_TO_SYSTEM is the call being answered, not CONNECTED_TO_AGENT.
 */
const AGENT_DIALS = new Set(['OUTBOUND', 'CALLBACK']);
const DIRECTIONS: Readonly<Record<string, RawEvent['direction']>> = {
    INBOUND: 'Inbound',
    WEBRTC_API: 'Inbound',
    OUTBOUND: 'Outbound',
    CALLBACK: 'Outbound',
    API: 'Outbound',
};

type ContactTimes = Record<'initiation' | 'connectedToSystem' | 'enqueue' | 'connectedToAgent' | 'disconnect', number | undefined>;

interface ContactEvents {
    events: RawEvent[];
    ignored?: string;
}

export function amazonConnectAdapter(options: AmazonConnectOptions = {}): WebhookAdapter {
    const names = options.names ?? EMPTY_NAME_TABLE;
    return {
        source: 'amazon-connect',
        receive(request: WebhookRequest): AdapterOutcome {
            let ignored: string | undefined;
            const outcome = receiveWith(
                () => {
                    const read = contactEvents(request, names);
                    ignored = read.ignored;
                    return read.events;
                },
                // An event the node skips was still delivered: a 2xx with the reason, so EventBridge neither retries it
                // nor counts it as a failed invocation.
                (events) => jsonAnswer(200, events.length ? { received: events.length } : { received: 0, ignored: ignored ?? NOTHING_USED }),
                NOTHING_USED,
            );
            return outcome.ok && ignored ? { ...outcome, ignored } : outcome;
        },
    };
}

/**
 * The data model spells fields in PascalCase (`EventType`, `AgentInfo.AgentArn`) and most of its samples in
 * camelCase (`eventType`, `agentInfo.agentArn`), some in PascalCase: both spellings are read.
 */
function field(record: Record<string, unknown> | undefined, name: string): unknown {
    if (!record) return undefined;
    const value = record[name];
    return value !== undefined ? value : record[name.charAt(0).toUpperCase() + name.slice(1)];
}

function objectField(record: Record<string, unknown> | undefined, name: string): Record<string, unknown> | undefined {
    const value = field(record, name);
    return isRecord(value) ? value : undefined;
}

function shown(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** A timestamp field in ms, undefined when absent or "not set"; a value that is no date at all is refused. */
function timeField(record: Record<string, unknown> | undefined, name: string, path: string): number | undefined {
    const value = field(record, name);
    if (value === undefined || value === null || value === '' || value === 0) return undefined;
    const ms = typeof value === 'string' || typeof value === 'number' ? epochMs(value) : undefined;
    if (ms === undefined) throw new WebhookRejection(400, `${PLATFORM}: "${path}" is not a timestamp (got ${shown(value)})`);
    return ms >= EARLIEST_REAL_TIME ? ms : undefined;
}

function idField(record: Record<string, unknown> | undefined, name: string, path: string): string | undefined {
    const id = idString(field(record, name));
    if (id !== undefined && id.length > MAX_CONTACT_ID_LENGTH) {
        throw new WebhookRejection(400, `${PLATFORM}: "${path}" is ${id.length} characters, more than the ${MAX_CONTACT_ID_LENGTH} a contact id has`);
    }
    return id;
}

function readEnvelope(request: WebhookRequest): { id: string; time: number; detail: Record<string, unknown> } {
    const type = contentTypeOf(request);
    // API destinations always send application/json; anything else was not sent by EventBridge.
    if (type && type !== 'application/json') throw new WebhookRejection(415, `${PLATFORM}: expected an application/json body, got ${type}`);
    const body = parseJsonBody(request, PLATFORM);
    if (!isRecord(body)) throw new WebhookRejection(400, `${PLATFORM}: the body is not a JSON object (expected the whole EventBridge event)`);
    if (body.source !== EVENT_SOURCE) {
        throw new WebhookRejection(
            400,
            `${PLATFORM}: "source" is ${shown(body.source)}, expected "${EVENT_SOURCE}" (the API destination must get the whole EventBridge event: no input transformer)`,
        );
    }
    if (body['detail-type'] !== CONTACT_EVENT) {
        throw new WebhookRejection(
            400,
            `${PLATFORM}: "detail-type" is ${shown(body['detail-type'])}, expected "${CONTACT_EVENT}" (narrow the rule's event pattern to contact events)`,
        );
    }
    const id = idString(body.id);
    if (!id) throw new WebhookRejection(400, `${PLATFORM}: the event has no "id"`);
    if (id.length > MAX_EVENT_ID_LENGTH) throw new WebhookRejection(400, `${PLATFORM}: "id" is ${id.length} characters, more than ${MAX_EVENT_ID_LENGTH}`);
    const time = typeof body.time === 'string' ? epochMs(body.time) : undefined;
    if (time === undefined) throw new WebhookRejection(400, `${PLATFORM}: "time" is not an ISO 8601 timestamp (got ${shown(body.time)})`);
    if (!isRecord(body.detail)) throw new WebhookRejection(400, `${PLATFORM}: the event has no "detail" object (the contact)`);
    return { id, time, detail: body.detail };
}

function contactEvents(request: WebhookRequest, names: NameTable): ContactEvents {
    const { id, time, detail } = readEnvelope(request);
    const eventType = optionalString(field(detail, 'eventType'));
    if (!eventType) throw new WebhookRejection(400, `${PLATFORM}: the event has no "detail.eventType" (expected e.g. "CONNECTED_TO_AGENT")`);
    const contactId = idField(detail, 'contactId', 'detail.contactId');
    if (!contactId) throw new WebhookRejection(400, `${PLATFORM}: the ${eventType} event has no "detail.contactId"`);
    const channel = optionalString(field(detail, 'channel'))?.toUpperCase();
    if (!channel) throw new WebhookRejection(400, `${PLATFORM}: the ${eventType} event of contact ${contactId} has no "detail.channel"`);

    // CHAT, TASK and EMAIL contacts have no caller, no line and no call to record; only VOICE contacts are calls.
    if (channel !== 'VOICE') return { events: [], ignored: `a ${channel} contact: only voice contacts are calls` };
    const method = optionalString(field(detail, 'initiationMethod'))?.toUpperCase() ?? '';
    const notACall = NOT_THE_CUSTOMERS_CALL[method];
    if (notACall) return { events: [], ignored: notACall };
    const type = rawTypeOf(eventType, method, detail);
    if (!type) return { events: [], ignored: `an Amazon Connect ${eventType} event, which changes nothing the node tracks` };

    // A transfer (or a callback) makes a new contact, and Connect ends the one before with a DISCONNECTED that nothing
    // tells apart from the customer hanging up. So each contact is a call of its own, whose Complete is true of it,
    // and reportCallId, the first contact's id, ties the contacts of one customer call together, as Connect's own
    // contact records are tied.
    const callId = contactId;
    const reportCallId = idField(detail, 'initialContactId', 'detail.initialContactId') ?? contactId;

    const agentInfo = objectField(detail, 'agentInfo');
    const queueInfo = objectField(detail, 'queueInfo');
    const times: ContactTimes = {
        initiation: timeField(detail, 'initiationTimestamp', 'detail.initiationTimestamp'),
        connectedToSystem: timeField(detail, 'connectedToSystemTimestamp', 'detail.connectedToSystemTimestamp'),
        enqueue: timeField(queueInfo, 'enqueueTimestamp', 'detail.queueInfo.enqueueTimestamp'),
        connectedToAgent: timeField(agentInfo, 'connectedToAgentTimestamp', 'detail.agentInfo.connectedToAgentTimestamp'),
        disconnect: timeField(detail, 'disconnectTimestamp', 'detail.disconnectTimestamp'),
    };
    const at = eventTime(eventType, times, time);
    const eventId = `amazon-connect:${id}`;
    const tags = objectField(detail, 'tags');

    // A transfer's contact starts at the transfer and says nothing of how the customer's call began (its direction).
    const systemEndpoint = objectField(detail, 'systemEndpoint');
    const main: RawEvent = {
        type,
        callId,
        eventId,
        timestamp: at,
        reportCallId,
        direction: DIRECTIONS[method],
        startTime: times.initiation,
        dnis: optionalString(field(systemEndpoint, 'address')) ?? optionalString(tags?.['aws:connect:systemEndpoint']),
    };
    main.accountCodes = accountCodesOf(tags, type === 'accountCodes');
    if (type === 'accountCodes' && !main.accountCodes) main.type = 'update';
    if (type === 'complete') main.pendingRecordings = 0;

    // Every event repeats what Connect knows of the contact so far, each part with its own time: the agent as of
    // connectedToAgentTimestamp, the queue as of enqueueTimestamp. Stamped so, a late or older event (EventBridge
    // keeps no order) never puts back an agent or queue a newer one replaced.
    const facts = new Map<number, Partial<RawEvent>>();
    const learn = (when: number, part: Partial<RawEvent>) => facts.set(when, { ...facts.get(when), ...part });
    const agentArn = optionalString(field(agentInfo, 'agentArn'));
    const agentAt = times.connectedToAgent ?? (eventType === 'CONNECTED_TO_AGENT' ? at : undefined);
    if (agentArn && agentAt !== undefined) learn(agentAt, { agent: { name: displayName(names, agentArn) } });
    const queueArn = optionalString(field(queueInfo, 'queueArn'));
    const queueAt = times.enqueue ?? (eventType === 'QUEUED' || eventType === 'CONNECTED_TO_AGENT' ? at : undefined);
    // An agent queue (a transfer straight to an agent) is no group the call belongs to.
    const agentQueue = optionalString(field(queueInfo, 'queueType'))?.toUpperCase() === 'AGENT';
    if (queueArn && !agentQueue && queueAt !== undefined) learn(queueAt, { group: displayName(names, queueArn) });

    const events: RawEvent[] = [];
    for (const when of [...facts.keys()].sort((a, b) => a - b)) {
        if (when === at) Object.assign(main, facts.get(when));
        else events.push(compact<RawEvent>({ type: 'update', callId, eventId: `${eventId}@${when}`, timestamp: when, ...facts.get(when) }));
    }
    // The facts go first, so the trigger of the main event already carries them.
    events.push(compact(main));
    return { events };
}

function rawTypeOf(eventType: string, method: string, detail: Record<string, unknown>): RawEventType | undefined {
    switch (eventType) {
        case 'INITIATED':
        case 'QUEUED':
            return 'update';
        case 'CONNECTED_TO_AGENT':
            return AGENT_DIALS.has(method) ? 'update' : 'connected';
        case 'CONNECTED_TO_SYSTEM': {
            // For outbound campaigns this event comes whatever answered; only a person answering connects the call.
            const machine = optionalString(field(detail, 'answeringMachineDetectionStatus'));
            return AGENT_DIALS.has(method) && (!machine || machine === 'HUMAN_ANSWERED') ? 'connected' : 'update';
        }
        // COMPLETED follows DISCONNECTED (after the agent's after-contact work): it completes the call only when the
        // DISCONNECTED was lost, and carries data otherwise.
        case 'DISCONNECTED':
        case 'COMPLETED':
            return 'complete';
        case 'CONTACT_DATA_UPDATED': {
            const updated = field(detail, 'updatedProperties');
            return Array.isArray(updated) && updated.includes('Tags') ? 'accountCodes' : 'update';
        }
        default:
            // PAUSED and RESUMED (tasks), AMD_DISABLED and event types added later: answered 2xx all the same, as
            // the data model asks of consumers.
            return undefined;
    }
}

/** The time the event stands for: its own timestamp, else the latest the contact has (no earlier than `time`). */
function eventTime(eventType: string, times: ContactTimes, time: number): number {
    const own: Record<string, number | undefined> = {
        INITIATED: times.initiation,
        CONNECTED_TO_SYSTEM: times.connectedToSystem,
        QUEUED: times.enqueue,
        CONNECTED_TO_AGENT: times.connectedToAgent,
        DISCONNECTED: times.disconnect,
        // The call ended at the disconnect; the after-contact work that COMPLETED waited for is not the call.
        COMPLETED: times.disconnect,
    };
    // EventBridge's `time` has whole seconds only, so a detail timestamp of the same second may be later than it.
    return own[eventType] ?? Math.max(time, ...Object.values(times).filter((value): value is number => value !== undefined));
}

/**
 * Contact events carry neither contact attributes nor Contact Lens categories, but they carry the contact's tags;
 * the user-defined ones (a flow's "Set contact tags", TagContact) stand in for account codes as `key=value`. The
 * `aws:` tags are Amazon's own. Without user tags the event says nothing of them, unless it reports a tag change.
 */
function accountCodesOf(tags: Record<string, unknown> | undefined, tagsUpdated: boolean): string[] | undefined {
    if (!tags) return undefined;
    const codes: string[] = [];
    for (const [key, value] of Object.entries(tags)) {
        if (key.startsWith('aws:') || !key.trim()) continue;
        const text = optionalString(value);
        codes.push(text ? `${key}=${text}` : key);
    }
    codes.sort();
    return codes.length || tagsUpdated ? codes : undefined;
}

/** The table's name for the ARN, else for the id that ends it (what the Connect console shows); else the ARN. */
function displayName(names: NameTable, arn: string): string {
    const id = arn.slice(arn.lastIndexOf('/') + 1);
    return (names.has(arn) || !id || !names.has(id) ? nameOrId(names, arn) : nameOrId(names, id)) ?? arn;
}
