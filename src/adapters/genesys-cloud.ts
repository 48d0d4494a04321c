import type { RawEvent, RawEventType } from '../call/raw-event';
import { logText } from '../logging/log-text';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookRequest,
    WebhookRejection,
    compact,
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
 * Genesys Cloud conversation detail events (developer.genesys.cloud "Available topics",
 * v2.detail.events.conversation.{id}.*; the event bodies are the *DetailEventTopic* models of Genesys' platform
 * SDKs) as its Amazon EventBridge integration publishes them to a partner event source and an EventBridge API
 * destination then POSTs them: the whole EventBridge event, `{ version, id, "detail-type", source, account, time,
 * region, resources, detail: { topicName, version, eventBody, metadata, timestamp } }`.
 *
 * Nothing in the event is signed. The API destination's connection adds an API key header or Basic credentials,
 * which the node's own "shared secret in a header" authentication checks before this adapter runs, so it takes no
 * secret itself.
 */
export interface GenesysCloudOptions {
    /**
     * Names for the ids the events carry (users, queues, wrap-up codes). Whatever the table does not name stays the
     * id itself, so a placeholder still says which agent, queue or wrap-up code it was.
     */
    names?: NameTable;
}

const PLATFORM = 'Genesys Cloud';
const SOURCE = 'genesys-cloud';
const DETAIL_TOPIC_PREFIX = 'v2.detail.events.conversation.';
/** Genesys' partner event sources are named aws.partner/genesys.com/cloud/<organization id>/<suffix>. */
const PARTNER_SOURCE_PREFIX = 'aws.partner/genesys.com/';
/** EventBridge event ids are UUIDs; anything much longer is not one, and it becomes part of the event id. */
const MAX_EVENTBRIDGE_ID_LENGTH = 128;
/**
 * Each field keeps the value of the event with the latest timestamp, so one event dated far ahead would pin the
 * call's fields for good. Genesys stamps events when they happen; EventBridge only ever delivers them later.
 */
const MAX_FUTURE_SKEW_MS = 60 * 60 * 1000;

/** The detail-event topics Genesys lists, by the part after the conversation id; those not here are ignored. */
type TopicKind = 'customer.start' | 'customer.end' | 'acd.start' | 'acd.end' | 'user.start' | 'user.end' | 'acw' | 'wrapup' | 'outbound';

/** Why a listed topic the node does not use is answered 2xx all the same. */
const UNUSED_TOPICS: ReadonlyMap<string, string> = new Map([
    ['flow.start', 'an Architect flow (IVR) segment starting carries no call field'],
    ['flow.end', 'an Architect flow (IVR) segment ending carries no call field'],
    ['flow.outcome', 'a flow outcome carries no call field'],
    ['attributes', 'participant data (attributes) has no call field'],
    ['contact', 'an external contact being linked has no call field (only its id)'],
    ['voicemail.start', 'a voicemail is not a call event; the call still completes with customer.end'],
    ['voicemail.end', 'a voicemail is not a call event; the call still completes with customer.end'],
]);

const MAPPED_TOPICS: ReadonlySet<string> = new Set<TopicKind>([
    'customer.start',
    'customer.end',
    'acd.start',
    'acd.end',
    'user.start',
    'user.end',
    'acw',
    'wrapup',
    'outbound',
]);

/** The sessions whose ani/dnis are the customer's number and the number dialled, whatever the direction. */
const CUSTOMER_SIDE_TOPICS: ReadonlySet<TopicKind> = new Set<TopicKind>(['customer.start', 'customer.end', 'acd.start', 'acd.end', 'outbound']);

/**
 * The routing moments: a queue taking the call, an agent being alerted, an agent answering. Ends and wrap-ups are
 * left out on purpose: with a transfer, the first agent's user.end or acw comes after the second agent was
 * alerted, and would otherwise put the first agent and queue back on the call.
 */
const ROUTING_TOPICS: ReadonlySet<TopicKind> = new Set<TopicKind>(['acd.start', 'acd.end', 'user.start']);

interface Parsed {
    events: RawEvent[];
    ignored?: string;
}

export function genesysCloudAdapter(options: GenesysCloudOptions = {}): WebhookAdapter {
    const names = options.names ?? EMPTY_NAME_TABLE;
    return {
        source: SOURCE,
        receive(request: WebhookRequest): AdapterOutcome {
            let ignored: string | undefined;
            const outcome = receiveWith(
                () => {
                    const parsed = genesysEvents(request, names, Date.now());
                    ignored = parsed.ignored;
                    return parsed.events;
                },
                (events) => jsonAnswer(200, ignored ? { received: 0, ignored } : { received: events.length }),
                'a Genesys Cloud detail event with no call change',
            );
            // EventBridge counts any 2xx as delivered; the reason is in the answer for whoever reads the target's logs.
            return outcome.ok && ignored ? { ...outcome, ignored } : outcome;
        },
    };
}

function genesysEvents(request: WebhookRequest, names: NameTable, nowMs: number): Parsed {
    const envelope = parseJsonBody(request, PLATFORM);
    if (!isRecord(envelope)) throw new WebhookRejection(400, 'Genesys Cloud: the body is not a JSON object (expected the EventBridge event)');
    const detailType = envelope['detail-type'];
    if (typeof detailType !== 'string') {
        throw new WebhookRejection(
            400,
            'Genesys Cloud: the body has no "detail-type"; the API destination must send the whole EventBridge event (no input transformer)',
        );
    }
    if (!detailType.startsWith(DETAIL_TOPIC_PREFIX)) {
        throw new WebhookRejection(
            400,
            `Genesys Cloud: "detail-type" ${describe(detailType)} is not a conversation detail event topic (${DETAIL_TOPIC_PREFIX}{id}.*); limit the EventBridge rule to those`,
        );
    }
    const source = envelope.source;
    if (typeof source !== 'string' || !source.startsWith(PARTNER_SOURCE_PREFIX)) {
        throw new WebhookRejection(
            400,
            `Genesys Cloud: "source" must be the Genesys partner event source (${PARTNER_SOURCE_PREFIX}...), got ${describe(source)}`,
        );
    }
    const deliveryId = idString(envelope.id);
    if (!deliveryId || deliveryId.length > MAX_EVENTBRIDGE_ID_LENGTH) {
        throw new WebhookRejection(
            400,
            `Genesys Cloud: "id" must be the EventBridge event id (at most ${MAX_EVENTBRIDGE_ID_LENGTH} characters), got ${describe(envelope.id)}`,
        );
    }
    const detail = envelope.detail;
    if (!isRecord(detail)) throw new WebhookRejection(400, `Genesys Cloud: "detail" must be an object, got ${describe(detail)}`);
    const topicName = detail.topicName;
    const topic = typeof topicName === 'string' ? /^v2\.detail\.events\.conversation\.([^.]+)\.(.+)$/.exec(topicName) : null;
    if (!topic) {
        throw new WebhookRejection(
            400,
            `Genesys Cloud: "detail.topicName" must be ${DETAIL_TOPIC_PREFIX}<conversation id>.<event>, got ${describe(topicName)}`,
        );
    }
    const [, topicConversationId, kind] = topic as unknown as [string, string, string];
    const body = detail.eventBody;
    if (!isRecord(body)) throw new WebhookRejection(400, `Genesys Cloud: "detail.eventBody" must be an object, got ${describe(body)}`);

    const callId = idString(body.conversationId);
    if (!callId) throw new WebhookRejection(400, `Genesys Cloud: ${logText(kind, 60)} has no "detail.eventBody.conversationId"`);
    if (callId !== topicConversationId) {
        throw new WebhookRejection(400, `Genesys Cloud: "detail.eventBody.conversationId" ${describe(callId)} is not the conversation of "detail.topicName"`);
    }

    const unused = UNUSED_TOPICS.get(kind);
    if (unused !== undefined) return { events: [], ignored: `Genesys Cloud ${kind}: ${unused}` };
    if (!isMappedTopic(kind)) return { events: [], ignored: `Genesys Cloud ${logText(kind, 60)}: not a detail event topic this node maps` };

    // Detail events come for every channel; only calls have a call life. A callback's own segments are not the
    // call: the voice session an agent places for it arrives with mediaType VOICE.
    const mediaType = optionalString(body.mediaType);
    if (mediaType !== 'VOICE')
        return { events: [], ignored: `Genesys Cloud ${kind}: mediaType ${mediaType ? logText(mediaType, 40) : '(none)'} is not a voice call` };

    const timestamp = eventTimestamp(envelope, detail, body, nowMs);
    const type = rawTypeOf(kind, body);
    return { events: [compact(rawEvent(kind, type, body, { callId, deliveryId, timestamp }, names))] };
}

function isMappedTopic(kind: string): kind is TopicKind {
    return MAPPED_TOPICS.has(kind);
}

/** When the event happened: Genesys' eventTime (ms), else the detail's or the envelope's time (ISO 8601). */
function eventTimestamp(envelope: Record<string, unknown>, detail: Record<string, unknown>, body: Record<string, unknown>, nowMs: number): number | undefined {
    const candidates: [string, unknown][] = [
        ['detail.eventBody.eventTime', body.eventTime],
        ['detail.timestamp', detail.timestamp],
        ['time', envelope.time],
    ];
    for (const [field, value] of candidates) {
        const ms = epochMs(value);
        if (ms === undefined) continue;
        if (ms > nowMs + MAX_FUTURE_SKEW_MS) throw new WebhookRejection(400, `Genesys Cloud: "${field}" is more than an hour ahead of this server's clock`);
        return ms;
    }
    return undefined;
}

function rawTypeOf(kind: TopicKind, body: Record<string, unknown>): RawEventType {
    switch (kind) {
        case 'user.start':
            // A user's session starts when the call alerts them (or when they dial out): Genesys' UserEndEvent
            // counts alertingDurationMs inside that same session.
            return 'presenting';
        case 'acd.end':
            // The ACD segment ends when an agent answers, or when the caller abandons or the flow takes the call
            // out of queue; only the first is "Connected".
            return body.acdOutcome === 'ANSWERED' ? 'connected' : 'update';
        case 'customer.end':
            return 'complete';
        case 'acw':
        case 'wrapup':
            return optionalString(body.wrapupCode) ? 'accountCodes' : 'update';
        default:
            return 'update';
    }
}

function rawEvent(
    kind: TopicKind,
    type: RawEventType,
    body: Record<string, unknown>,
    ids: { callId: string; deliveryId: string; timestamp: number | undefined },
    names: NameTable,
): RawEvent {
    const direction = body.direction === 'INBOUND' ? 'Inbound' : body.direction === 'OUTBOUND' ? 'Outbound' : undefined;
    // An agent's own session may be addressed to the agent's station; the customer's number and the number
    // dialled are read only from the sessions on the customer's side.
    const numbers = CUSTOMER_SIDE_TOPICS.has(kind) ? callNumbers(direction, body) : {};
    // acd.end names the agent who answered; user.start the user being alerted (or dialling out).
    const agentId = kind === 'acd.end' ? idString(body.answeredUserId) : kind === 'user.start' ? idString(body.userId) : undefined;
    const wrapupCode = optionalString(body.wrapupCode);

    const event: RawEvent = {
        type,
        callId: ids.callId,
        eventId: `${SOURCE}:${ids.deliveryId}`,
        timestamp: ids.timestamp,
        direction,
        ...numbers,
        // The customer's session starts when the call reaches Genesys (inbound) or is placed (outbound).
        startTime: kind === 'customer.start' ? ids.timestamp : undefined,
        agent: agentId ? { name: nameOrId(names, agentId) } : undefined,
        group: ROUTING_TOPICS.has(kind) ? nameOrId(names, idString(body.queueId)) : undefined,
        // Genesys has no account codes; the wrap-up code the agent picks after the call records its outcome, so
        // it stands in for them. Each wrap-up replaces the list: with a transfer, the last agent's code is kept.
        accountCodes: wrapupCode && type === 'accountCodes' ? [nameOrId(names, wrapupCode)!] : undefined,
    };
    // Detail events never carry recordings, so nothing is waited for: "processed" follows "complete" at once.
    if (type === 'complete') event.pendingRecordings = 0;
    return event;
}

/** ani is the calling number and dnis the called one, so which is the customer's depends on the direction. */
function callNumbers(direction: RawEvent['direction'], body: Record<string, unknown>): Pick<RawEvent, 'externalNumber' | 'dnis'> {
    const ani = phoneNumber(body.ani);
    const dnis = phoneNumber(body.dnis);
    if (direction === 'Inbound') return { externalNumber: ani, dnis };
    if (direction === 'Outbound') return { externalNumber: dnis, dnis: ani };
    return {};
}

/** Voice addresses come as tel: URIs ("tel:+13175550123"); the call model keeps the number itself. */
function phoneNumber(value: unknown): string | undefined {
    const text = optionalString(value);
    if (!text) return undefined;
    return text.toLowerCase().startsWith('tel:') ? optionalString(text.slice(4)) : text;
}

function describe(value: unknown): string {
    if (value === undefined) return 'nothing';
    // The text goes back to the sender and into the log: cut, with its control characters escaped.
    if (typeof value === 'string') return `"${logText(value, 80)}"`;
    if (value === null || typeof value !== 'object') return String(value);
    return Array.isArray(value) ? 'an array' : 'an object';
}
