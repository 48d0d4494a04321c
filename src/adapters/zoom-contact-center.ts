import type { RawEvent, RawEventType } from '../call/raw-event';
import { logText } from '../logging/log-text';
import { type WebhookRequest, WebhookRejection, bodyDigest, compact, epochMs, isRecord } from './adapter';
import { type NameTable, nameOrId } from './name-table';

/**
 * Zoom Contact Center (ZCC) webhooks (developers.zoom.us Contact Center "Events": `contact_center.*`), which come
 * through the same Event Subscriptions, envelope and x-zm-signature as the Zoom Phone ones; zoom.ts verifies the
 * request and hands the `contact_center.*` events here.
 *
 * A voice engagement is the call: its `engagement_id` is the call id. ZCC routes an engagement as a task offered to
 * one agent at a time (a task reservation), so a reservation is the call ringing that agent. There is no missed or
 * abandoned event: an engagement that ends with no agent having answered is a complete call that was never
 * answered, which the call tracker already makes of it.
 */

/** What each mapped event is to the call. */
type Kind =
    /** engagement_started: the engagement reached the contact center; no agent yet. */
    | 'started'
    /** task_entered_queue: waiting in a queue, which becomes the call's group. */
    | 'queued'
    /** task_reservation_created: offered to (ringing) one agent. */
    | 'offered'
    /** engagement_user_answered: an agent answered. */
    | 'answered'
    /** engagement_ended: the whole engagement ended. */
    | 'ended'
    /** engagement_disposition_added: the agent chose a disposition. */
    | 'disposition'
    /** engagement_transfer_reserved: the transfer's target is offered the call. */
    | 'transferOffered'
    /** engagement_transfer_accepted: the transfer's target took the call. */
    | 'transferAccepted'
    /** engagement_transfer_completed: the call is now the target's. */
    | 'transferCompleted'
    /**
     * A step that changes who has the call only later, or not at all: a reservation declined, timed out or
     * withdrawn, an agent or the customer leaving, a transfer starting, waiting, refused or given up. It carries the
     * call's own data (direction, numbers) but no agent or queue, so that a late one cannot put back an agent who
     * already handed the call on.
     */
    | 'progress';

/** A Map, so a body naming "constructor" or "__proto__" finds nothing. */
const MAPPED_EVENTS = new Map<string, Kind>([
    ['contact_center.engagement_started', 'started'],
    ['contact_center.task_entered_queue', 'queued'],
    ['contact_center.task_reservation_created', 'offered'],
    ['contact_center.task_reservation_rejected', 'progress'],
    ['contact_center.task_reservation_timeout', 'progress'],
    ['contact_center.task_reservation_canceled', 'progress'],
    ['contact_center.engagement_user_answered', 'answered'],
    ['contact_center.engagement_consumer_answered', 'progress'],
    ['contact_center.engagement_user_ended', 'progress'],
    ['contact_center.engagement_consumer_ended', 'progress'],
    ['contact_center.engagement_ended', 'ended'],
    ['contact_center.engagement_disposition_added', 'disposition'],
    ['contact_center.engagement_transfer_initiated', 'progress'],
    ['contact_center.engagement_transfer_queued', 'progress'],
    ['contact_center.engagement_transfer_reserved', 'transferOffered'],
    ['contact_center.engagement_transfer_accepted', 'transferAccepted'],
    ['contact_center.engagement_transfer_completed', 'transferCompleted'],
    ['contact_center.engagement_transfer_rejected', 'progress'],
    ['contact_center.engagement_transfer_canceled', 'progress'],
    ['contact_center.engagement_transfer_timeout', 'progress'],
]);

const RAW_TYPES: Readonly<Record<Kind, RawEventType>> = {
    started: 'update',
    queued: 'update',
    offered: 'presenting',
    answered: 'connected',
    ended: 'complete',
    disposition: 'accountCodes',
    transferOffered: 'presenting',
    transferAccepted: 'connected',
    transferCompleted: 'update',
    progress: 'update',
};

/** Why an event that concerns calls is answered 200 and not used, where the general reason would not say it. */
const UNUSED_EVENTS = new Map<string, string>([
    [
        'contact_center.recording_completed',
        "carries the recording's id but no download link (the file is listed by Zoom's Contact Center recordings API), so nothing stands in for the Audio Recording Link",
    ],
    ['contact_center.task_reservation_accepted', "is not used: the agent's answer comes from contact_center.engagement_user_answered"],
    ['contact_center.task_created', 'is not used: the call comes from contact_center.engagement_started, its queue from contact_center.task_entered_queue'],
]);

const DIRECTIONS = new Map<string, RawEvent['direction']>([
    ['inbound', 'Inbound'],
    ['outbound', 'Outbound'],
]);

/** The channel that is a call; Zoom's documented channels are voice, sms, chat, video and in_app_chat. */
const VOICE = 'voice';

export interface ContactCenterResult {
    events: RawEvent[];
    /** Why the event gave no call event, when it gave none. */
    ignored?: string;
}

/** The raw events of one verified `contact_center.*` event. `body` is the parsed envelope, `event` its name. */
export function contactCenterEvents(request: WebhookRequest, body: Record<string, unknown>, event: string, names: NameTable): ContactCenterResult {
    const kind = MAPPED_EVENTS.get(event);
    if (kind === undefined) {
        const unused = UNUSED_EVENTS.get(event);
        const why = unused ?? 'carries no call change this node maps (e.g. hold, mute, notes, wrap-up, messages, routing tasks)';
        return { events: [], ignored: `Zoom Contact Center: ${logText(event, 80)} ${why}` };
    }
    const object = objectOf(body, event);
    const field = (name: string): string | undefined => textField(object, name, event);
    const callId = field('engagement_id');
    if (!callId) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object.engagement_id"`);

    // Engagements of every channel come through the same events; only voice ones are calls. The engagement events
    // name their channel in `channel`, the task events in `channel_name`.
    const channel = field('channel') ?? field('channel_name');
    if (channel !== undefined && channel.toLowerCase() !== VOICE) {
        return { events: [], ignored: `Zoom Contact Center: ${event} is of a ${logText(channel, 40)} engagement, not a voice call` };
    }

    const type = rawTypeOf(kind, object, event);
    const raw: RawEvent = {
        type,
        callId,
        eventId: `zoom:${event}:${callId}:${bodyDigest(request.rawBody)}`,
        timestamp: epochMs(body.event_ts),
    };
    if (kind === 'disposition') {
        // A disposition stands in for the account codes, as Genesys Cloud's wrap-up codes do. Each one replaces the
        // list: with a transfer, the last agent's choice is kept. The event carries the agent who chose it, which is
        // not taken: it may come after another agent took the call over.
        const code = field('disposition_name') ?? nameOrId(names, field('disposition_id'));
        if (!code) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object.disposition_name" (nor "disposition_id")`);
        raw.accountCodes = [code];
        return { events: [compact(raw)] };
    }

    // What belongs to the engagement whoever has it: the customer (consumer) and the contact center's number (the
    // flow's), the same way round in both directions, as the Zoom Phone calls have them.
    raw.direction = directionOf(field('engagement_direction'));
    raw.callerName = field('consumer_display_name');
    raw.externalNumber = field('consumer_number');
    raw.dnis = field('flow_number');
    if (kind === 'started') raw.startTime = dateField(object, 'date_time_ms', event);
    raw.group = groupOf(kind, field);
    raw.agent = agentOf(kind, field, names);
    // No Contact Center event carries a link to its recording, so nothing is waited for, whatever "Recordings per
    // call" says (that setting is for Zoom Phone calls).
    if (type === 'complete') raw.pendingRecordings = 0;
    return { events: [compact(raw)] };
}

function rawTypeOf(kind: Kind, object: Record<string, unknown>, event: string): RawEventType {
    // A transfer to a queue, a flow or a number names no agent until one is reserved: until then it rings nobody.
    if ((kind === 'transferOffered' || kind === 'transferAccepted') && !transferTarget(object, event)) return 'update';
    return RAW_TYPES[kind];
}

function transferTarget(object: Record<string, unknown>, event: string): boolean {
    return textField(object, 'transfer_to_user_id', event) !== undefined || textField(object, 'transfer_to_user_display_name', event) !== undefined;
}

/** The queue a routing moment puts the call in: the one it waits in, rings an agent of, or is answered from. */
function groupOf(kind: Kind, field: (name: string) => string | undefined): string | undefined {
    switch (kind) {
        case 'queued':
        case 'offered':
        case 'answered':
            return field('queue_name');
        case 'transferOffered':
        case 'transferAccepted':
        case 'transferCompleted':
            // queue_name is still the queue the call is transferred from.
            return field('transfer_to_queue_name');
        default:
            return undefined;
    }
}

/** The agent a moment gives the call to; none for the other moments. */
function agentOf(kind: Kind, field: (name: string) => string | undefined, names: NameTable): RawEvent['agent'] {
    switch (kind) {
        case 'offered':
            // A reservation names its agent only by id: the Names table gives the name, else the id is kept.
            return { name: nameOrId(names, field('assigned_user_id')) };
        case 'answered':
            return { name: field('user_display_name') ?? nameOrId(names, field('user_id')) };
        case 'transferOffered':
        case 'transferAccepted':
        case 'transferCompleted':
            // user_id is the agent handing the call on; the target is the transfer_to_ user.
            return { name: field('transfer_to_user_display_name') ?? nameOrId(names, field('transfer_to_user_id')) };
        default:
            return undefined;
    }
}

function directionOf(value: string | undefined): RawEvent['direction'] {
    return value === undefined ? undefined : DIRECTIONS.get(value.toLowerCase());
}

function objectOf(body: Record<string, unknown>, event: string): Record<string, unknown> {
    const payload = body.payload;
    if (!isRecord(payload)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload" object`);
    if (!isRecord(payload.object)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object" object`);
    return payload.object;
}

/** A text field of payload.object: absent (or null, or blank) is undefined; a number is taken as its digits. */
function textField(object: Record<string, unknown>, name: string, event: string): string | undefined {
    const value = object[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value.trim() || undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    throw new WebhookRejection(400, `Zoom: "payload.object.${name}" of ${event} is not a string`);
}

/** The ISO 8601 times of payload.object (`date_time_ms`: "2023-05-01T09:27:15.987Z"), as ms since 1970. */
function dateField(object: Record<string, unknown>, name: string, event: string): number | undefined {
    const text = textField(object, name, event);
    if (text === undefined) return undefined;
    const ms = epochMs(text);
    if (ms === undefined) throw new WebhookRejection(400, `Zoom: "payload.object.${name}" of ${event} is not a date and time`);
    return ms;
}
