import { createHmac, timingSafeEqual } from 'node:crypto';
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
    parseBoundedJson,
    receiveWith,
} from './adapter';

/**
 * Dialpad call events (developers.dialpad.com "Call Events"; payload fields from protos.call.CallProto in Dialpad's
 * published OpenAPI spec, call states from the call event subscription's `call_states` enum). One POST per state
 * transition of one call leg. With a webhook secret, Dialpad sends the event as a JWT signed HS256 with that
 * secret; without one, as plain JSON.
 */
export interface DialpadOptions {
    /** The webhook's `secret` given to Dialpad when the webhook was created; then only valid JWTs are accepted. */
    secret?: string;
    /**
     * Dialpad has no account codes; call labels are what agents apply to record a call's outcome, so by default
     * they stand in for account codes. `tags` sends them to the call's tags instead.
     */
    labelsAs?: 'accountCodes' | 'tags';
}

/** Clock skew tolerated on a JWT's own `exp`, when Dialpad sets one. */
const EXPIRY_LEEWAY_SECONDS = 300;
const GROUP_TARGET_TYPES = new Set(['callcenter', 'department', 'office']);

export function dialpadAdapter(options: DialpadOptions = {}): WebhookAdapter {
    const labelsAs = options.labelsAs ?? 'accountCodes';
    return {
        source: 'dialpad',
        receive(request: WebhookRequest): AdapterOutcome {
            return receiveWith(
                () => dialpadEvents(request, options.secret, labelsAs),
                (events) => jsonAnswer(200, { received: events.length }),
                'a Dialpad call state with no call-model meaning (e.g. hold, monitor, transcription)',
            );
        },
    };
}

/** Verifies and decodes a Dialpad JWT; exported so the editor can show what a pasted token carries. */
export function decodeDialpadJwt(token: string, secret: string, nowMs = Date.now()): Record<string, unknown> {
    const parts = token.split('.');
    if (parts.length !== 3) throw new WebhookRejection(400, 'Dialpad: the body is not a JWT (expected three dot-separated parts)');
    const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
    const header = decodeJsonPart(encodedHeader, 'header');
    // Only HS256 is accepted whatever the header claims, so a forged "alg": "none" cannot skip the check.
    if (header.alg !== 'HS256') throw new WebhookRejection(401, `Dialpad: the JWT header "alg" is ${JSON.stringify(header.alg)}, expected "HS256"`);
    const expected = createHmac('sha256', secret).update(`${encodedHeader}.${encodedPayload}`).digest();
    const given = Buffer.from(encodedSignature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new WebhookRejection(401, 'Dialpad: the JWT signature does not verify with the configured secret');
    }
    const payload = decodeJsonPart(encodedPayload, 'payload');
    if (typeof payload.exp === 'number' && payload.exp + EXPIRY_LEEWAY_SECONDS < nowMs / 1000) {
        throw new WebhookRejection(401, 'Dialpad: the JWT has expired ("exp")');
    }
    return payload;
}

function decodeJsonPart(part: string, name: string): Record<string, unknown> {
    const value = parseBoundedJson(Buffer.from(part, 'base64url').toString('utf8'), `Dialpad: the JWT ${name}`);
    if (!isRecord(value)) throw new WebhookRejection(400, `Dialpad: the JWT ${name} is not a JSON object`);
    return value;
}

function readBody(request: WebhookRequest, secret: string | undefined): Record<string, unknown> {
    const text = request.rawBody.toString('utf8').trim();
    if (!text) throw new WebhookRejection(400, 'Dialpad: the request body is empty');
    const looksLikeJson = text.startsWith('{');
    if (secret) {
        if (looksLikeJson) throw new WebhookRejection(401, 'Dialpad: the event is plain JSON but a secret is configured, so it must come as a signed JWT');
        return decodeDialpadJwt(text, secret);
    }
    if (!looksLikeJson) {
        throw new WebhookRejection(401, 'Dialpad: the event is a signed JWT but no secret is configured here to verify it; enter the webhook secret');
    }
    const value = parseBoundedJson(text, 'Dialpad: the request body');
    if (!isRecord(value)) throw new WebhookRejection(400, 'Dialpad: the body is not a JSON object');
    return value;
}

function dialpadEvents(request: WebhookRequest, secret: string | undefined, labelsAs: 'accountCodes' | 'tags'): RawEvent[] {
    const call = readBody(request, secret);
    const legId = idString(call.call_id);
    if (!legId) throw new WebhookRejection(400, 'Dialpad: the event has no "call_id"');
    if (typeof call.state !== 'string') throw new WebhookRejection(400, `Dialpad: the event for call ${legId} has no "state"`);

    // A call-center call is one entry-point leg (customer to the line) plus one leg per operator rung; the
    // customer's call is the entry point, so that is the call id, and only its hangup completes the call.
    const entryPointId = idString(call.entry_point_call_id);
    const callId = entryPointId ?? legId;
    const isEntryPoint = !entryPointId || entryPointId === legId;

    const type = rawTypeOf(call.state, isEntryPoint, labelsAs);
    if (!type) return [];

    const target = isRecord(call.target) ? call.target : undefined;
    const entryPointTarget = isRecord(call.entry_point_target) ? call.entry_point_target : undefined;
    const contact = isRecord(call.contact) ? call.contact : undefined;
    const labels = Array.isArray(call.labels) ? call.labels.map(optionalString).filter((label): label is string => !!label) : undefined;
    const recordings = recordingUrls(call);
    const stamp = idString(call.event_timestamp) ?? bodyDigest(request.rawBody);

    const base: Omit<RawEvent, 'type'> = {
        callId,
        timestamp: epochMs(call.event_timestamp),
        direction: call.direction === 'inbound' ? 'Inbound' : call.direction === 'outbound' ? 'Outbound' : undefined,
        callerName: optionalString(contact?.name),
        dnis: optionalString(call.internal_number),
        externalNumber: optionalString(call.external_number),
        startTime: epochMs(call.date_started),
        agent: target?.type === 'user' ? { name: optionalString(target.name) } : undefined,
        group: groupName(entryPointTarget, target),
        tags: labelsAs === 'tags' ? labels : undefined,
        accountCodes: labelsAs === 'accountCodes' ? labels : undefined,
    };

    const events: RawEvent[] = [];
    // Recordings go first, so a hangup carrying its recording already counts it before "complete".
    for (const recording of recordings) {
        events.push(compact({ ...base, type: 'recording', eventId: `dialpad:${legId}:recording:${recording.id}`, recordingUrl: recording.url }));
    }
    if (type === 'recording') return events.length ? events : [compact({ ...base, type: 'update', eventId: `dialpad:${legId}:recording:${stamp}` })];
    const event: RawEvent = { ...base, type, eventId: `dialpad:${legId}:${call.state}:${stamp}` };
    if (type === 'complete') event.pendingRecordings = call.was_recorded === true && recordings.length === 0 ? 1 : 0;
    events.push(compact(event));
    return events;
}

function rawTypeOf(state: string, isEntryPoint: boolean, labelsAs: 'accountCodes' | 'tags'): RawEventType | undefined {
    switch (state) {
        case 'ringing':
            return 'presenting';
        case 'calling':
            // An outbound call the user is placing: the agent is presented with (is making) the call.
            return 'presenting';
        case 'connected':
            return 'connected';
        case 'hangup':
            // An operator leg hanging up (missed, or transferred on) is not the end of the customer's call.
            return isEntryPoint ? 'complete' : 'update';
        case 'recording':
            return 'recording';
        case 'dispositions':
            return labelsAs === 'accountCodes' ? 'accountCodes' : 'update';
        case 'preanswer':
        case 'queued':
        case 'missed':
        case 'voicemail':
        case 'postcall':
            return 'update';
        default:
            // hold, merged, monitor, barge, transcription, csat, ...: the target there may be a supervisor, whose
            // name must not replace the agent's.
            return undefined;
    }
}

function groupName(entryPointTarget: Record<string, unknown> | undefined, target: Record<string, unknown> | undefined): string | undefined {
    if (entryPointTarget && typeof entryPointTarget.type === 'string' && GROUP_TARGET_TYPES.has(entryPointTarget.type))
        return optionalString(entryPointTarget.name);
    if (target && typeof target.type === 'string' && GROUP_TARGET_TYPES.has(target.type)) return optionalString(target.name);
    return undefined;
}

function recordingUrls(call: Record<string, unknown>): { id: string; url: string }[] {
    if (!Array.isArray(call.recording_details)) return [];
    const found: { id: string; url: string }[] = [];
    for (const detail of call.recording_details) {
        if (!isRecord(detail) || detail.recording_type === 'voicemail') continue;
        const url = optionalString(detail.url);
        if (url) found.push({ id: idString(detail.id) ?? url, url });
    }
    return found;
}
