import type { RawEvent, RawEventType } from '../call/raw-event';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookRequest,
    WebhookRejection,
    bodyDigest,
    compact,
    epochMs,
    idString,
    isRecord,
    jsonAnswer,
    optionalString,
    parseJsonBody,
    receiveWith,
    sameSecret,
} from './adapter';

/**
 * Aircall webhooks (developer.aircall.io, "Webhooks overview" and the Call object of the API reference): a JSON
 * POST `{ resource, event, timestamp, token, data }` where `data` is the Call object. Aircall signs nothing; the
 * webhook's `token` travels inside the body and is compared with the one Aircall showed when the webhook was made.
 */
export interface AircallOptions {
    /** The webhook token from the Aircall dashboard or API; when set, a body whose `token` differs is refused. */
    token?: string;
    /**
     * Aircall has no account codes; its call tags are what agents set after a call to record the outcome, so by
     * default they stand in for account codes (and a later tag change fires "Call is Updated"). `tags` sends them
     * to the call's tags instead.
     */
    tagsAs?: 'accountCodes' | 'tags';
}

const PLATFORM = 'Aircall';

export function aircallAdapter(options: AircallOptions = {}): WebhookAdapter {
    const tagsAs = options.tagsAs ?? 'accountCodes';
    return {
        source: 'aircall',
        receive(request: WebhookRequest): AdapterOutcome {
            return receiveWith(
                () => aircallEvents(request, options.token, tagsAs),
                (events) => jsonAnswer(200, { received: events.length }),
                'an Aircall event that carries no call change (e.g. call.commented) or is not a call event',
            );
        },
    };
}

function aircallEvents(request: WebhookRequest, token: string | undefined, tagsAs: 'accountCodes' | 'tags'): RawEvent[] {
    const body = parseJsonBody(request, PLATFORM);
    if (!isRecord(body)) throw new WebhookRejection(400, 'Aircall: the body is not a JSON object');
    if (token) {
        if (typeof body.token !== 'string') throw new WebhookRejection(401, 'Aircall: the body has no "token" field to check against the configured token');
        if (!sameSecret(body.token, token)) throw new WebhookRejection(401, 'Aircall: the "token" field does not match the configured webhook token');
    }
    if (typeof body.event !== 'string') throw new WebhookRejection(400, 'Aircall: the body has no "event" field (expected e.g. "call.created")');
    if (body.resource !== undefined && body.resource !== 'call') return [];
    if (!body.event.startsWith('call.')) return [];
    const call = body.data;
    if (!isRecord(call)) throw new WebhookRejection(400, `Aircall: ${body.event} has no "data" object (the Call)`);
    const callId = idString(call.id);
    if (!callId) throw new WebhookRejection(400, `Aircall: ${body.event} has no "data.id" (the call's id)`);

    const type = rawTypeOf(body.event, call, tagsAs);
    if (!type) return [];

    const tagNames = Array.isArray(call.tags)
        ? call.tags.map((tag) => (isRecord(tag) ? optionalString(tag.name) : optionalString(tag))).filter((name): name is string => !!name)
        : undefined;
    const user = isRecord(call.user) ? call.user : undefined;
    const number = isRecord(call.number) ? call.number : undefined;
    const contact = isRecord(call.contact) ? call.contact : undefined;
    const recordingUrl = optionalString(call.asset) ?? optionalString(call.recording);

    const event: RawEvent = {
        type,
        callId,
        eventId: `aircall:${body.event}:${bodyDigest(request.rawBody)}`,
        timestamp: epochMs(body.timestamp),
        direction: call.direction === 'inbound' ? 'Inbound' : call.direction === 'outbound' ? 'Outbound' : undefined,
        callerName: contact ? contactName(contact) : undefined,
        dnis: optionalString(number?.digits),
        externalNumber: optionalString(call.raw_digits),
        startTime: epochMs(call.started_at),
        agent: user ? { name: optionalString(user.name) } : undefined,
        group: optionalString(number?.name),
        tags: tagsAs === 'tags' ? tagNames : undefined,
        accountCodes: tagsAs === 'accountCodes' ? tagNames : undefined,
    };
    if (type === 'complete') {
        // The recording only shows up in call.ended, about 30 s after call.hungup; a number with live recording
        // on will deliver one for an answered call, so the lifecycle waits for it before "processed".
        event.pendingRecordings = call.answered_at && number?.live_recording_activated === true ? 1 : 0;
    }
    if (type === 'recording') event.recordingUrl = recordingUrl;
    return [compact(event)];
}

function rawTypeOf(eventName: string, call: Record<string, unknown>, tagsAs: 'accountCodes' | 'tags'): RawEventType | undefined {
    switch (eventName) {
        case 'call.created':
            // An inbound call is created when it reaches the Aircall number, before any agent rings; an outbound
            // one when the agent dials, which is the agent being presented the call.
            return call.direction === 'outbound' ? 'presenting' : 'update';
        case 'call.ringing_on_agent':
            return 'presenting';
        case 'call.answered':
            return 'connected';
        case 'call.hungup':
            return 'complete';
        case 'call.ended':
            return (optionalString(call.asset) ?? optionalString(call.recording)) ? 'recording' : 'update';
        case 'call.tagged':
        case 'call.untagged':
            return tagsAs === 'accountCodes' ? 'accountCodes' : 'update';
        default:
            // call.commented (no call field stands for a comment) and events this adapter does not map: answered
            // 2xx all the same, because Aircall disables a webhook that keeps failing.
            return undefined;
    }
}

function contactName(contact: Record<string, unknown>): string | undefined {
    const parts = [optionalString(contact.first_name), optionalString(contact.last_name)].filter(Boolean);
    return parts.length ? parts.join(' ') : optionalString(contact.company_name);
}
