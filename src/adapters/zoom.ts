import { createHmac } from 'node:crypto';
import type { RawEvent, RawEventType } from '../call/raw-event';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookAnswer,
    type WebhookRequest,
    WebhookRejection,
    bodyDigest,
    compact,
    epochMs,
    headerValue,
    idString,
    isRecord,
    jsonAnswer,
    optionalString,
    parseJsonBody,
    receiveWith,
    sameSecret,
} from './adapter';
import { EMPTY_NAME_TABLE, type NameTable } from './name-table';
import { contactCenterEvents } from './zoom-contact-center';

/**
 * Zoom Phone call status webhooks (developers.zoom.us "Phone" webhook reference: phone.callee_*, phone.caller_*,
 * phone.recording_completed, and the call log events for their client code), delivered as a JSON POST
 * `{ event, event_ts, payload: { account_id, object } }`. Zoom Contact Center's `contact_center.*` events come the
 * same way and are mapped by zoom-contact-center.ts.
 * Zoom signs each request as "Using webhooks" > "Verify webhook events" describes: `x-zm-signature` is `v0=` and the
 * hex HMAC-SHA256, keyed with the app's Secret Token, of `v0:{x-zm-request-timestamp}:{raw body}`; the
 * `endpoint.url_validation` handshake is answered with the plain token and its HMAC.
 */
export interface ZoomOptions {
    /**
     * The Secret Token of the app's event subscription (Zoom App Marketplace). When set, every request, the URL
     * validation included, must carry a valid x-zm-signature; without it nothing is verified and the URL validation
     * cannot be answered.
     */
    secretToken?: string;
    /** How far x-zm-request-timestamp may be from this server's clock, in seconds (default 300). */
    toleranceSeconds?: number;
    /**
     * A call's end never says whether a recording will follow. When answered calls are recorded (automatic
     * recording), set 1 so "Call and Recordings Processed" waits for phone.recording_completed. Zoom Phone only:
     * no Contact Center event carries a recording link, so an engagement waits for none.
     */
    recordingsPerCall?: number;
    /**
     * Names for Zoom user ids, for the events that carry the agent's id but not their name (a missed call, a
     * Contact Center task reservation).
     */
    names?: NameTable;
    /** The clock, ms since 1970; injectable for tests. */
    now?: () => number;
}

export const ZOOM_DEFAULT_TOLERANCE_SECONDS = 300;

const PLATFORM = 'Zoom';
const URL_VALIDATION = 'endpoint.url_validation';
const CONTACT_CENTER_PREFIX = 'contact_center.';
/** Zoom's plain tokens are about 22 characters; a longer one is not Zoom's and is not echoed back. */
const MAX_PLAIN_TOKEN_LENGTH = 1024;
/** Extension types that route a call to people rather than answer it: a callee of these is not an agent. */
const ROUTING_TYPES = new Set(['callQueue', 'sharedLineGroup', 'autoReceptionist']);
/** Extension types whose name is the group an agent took the call for. */
const GROUP_TYPES = new Set(['callQueue', 'sharedLineGroup']);

type Side = 'callee' | 'caller';
type Stage = 'ringing' | 'answered' | 'ended' | 'missed';

/**
 * The call status events, by the side that is in the account: callee events for calls to an account's user
 * (inbound), caller events for calls an account's user places (outbound). A Map, so a body naming
 * "constructor" or "__proto__" finds nothing.
 */
const CALL_STATUS_EVENTS = new Map<string, { side: Side; stage: Stage }>([
    ['phone.callee_ringing', { side: 'callee', stage: 'ringing' }],
    ['phone.callee_answered', { side: 'callee', stage: 'answered' }],
    ['phone.callee_ended', { side: 'callee', stage: 'ended' }],
    ['phone.callee_missed', { side: 'callee', stage: 'missed' }],
    ['phone.callee_rejected', { side: 'callee', stage: 'missed' }],
    ['phone.caller_ringing', { side: 'caller', stage: 'ringing' }],
    ['phone.caller_connected', { side: 'caller', stage: 'answered' }],
    ['phone.caller_ended', { side: 'caller', stage: 'ended' }],
]);

/** Sent once a user's call log is ready; the logs carry the call's client code, Zoom Phone's account code. */
const CALL_LOG_EVENTS = new Set(['phone.callee_call_log_completed', 'phone.caller_call_log_completed']);

export function zoomAdapter(options: ZoomOptions = {}): WebhookAdapter {
    const toleranceSeconds = options.toleranceSeconds ?? ZOOM_DEFAULT_TOLERANCE_SECONDS;
    if (!Number.isFinite(toleranceSeconds) || toleranceSeconds <= 0) throw new RangeError('toleranceSeconds must be a number of seconds above 0');
    const recordingsPerCall = options.recordingsPerCall ?? 0;
    if (!Number.isInteger(recordingsPerCall) || recordingsPerCall < 0) throw new RangeError('recordingsPerCall must be a whole number, 0 or more');
    const settings: Settings = {
        secretToken: options.secretToken || undefined,
        toleranceSeconds,
        recordingsPerCall,
        names: options.names ?? EMPTY_NAME_TABLE,
        now: options.now ?? Date.now,
    };
    return {
        source: 'zoom',
        receive(request: WebhookRequest): AdapterOutcome {
            // Set by the parse step: what answers a handshake, and why a verified request gave no event.
            const result: { answer?: WebhookAnswer; ignored?: string } = {};
            const outcome = receiveWith(
                () => zoomEvents(request, settings, result),
                (events) => result.answer ?? jsonAnswer(200, { received: events.length }),
                'a Zoom event that carries no call change',
            );
            return outcome.ok && result.ignored ? { ...outcome, ignored: result.ignored } : outcome;
        },
    };
}

/** The x-zm-signature Zoom sends for this body at this timestamp (seconds, as the header has it). */
export function zoomSignature(secretToken: string, timestamp: string, rawBody: Buffer | string): string {
    return `v0=${createHmac('sha256', secretToken).update(`v0:${timestamp}:`, 'utf8').update(rawBody).digest('hex')}`;
}

/** The `encryptedToken` that answers an endpoint.url_validation for this plain token. */
export function zoomEncryptedToken(secretToken: string, plainToken: string): string {
    return createHmac('sha256', secretToken).update(plainToken, 'utf8').digest('hex');
}

interface Settings {
    secretToken: string | undefined;
    toleranceSeconds: number;
    recordingsPerCall: number;
    names: NameTable;
    now: () => number;
}

function verifySignature(request: WebhookRequest, secretToken: string, settings: Settings): void {
    const signature = headerValue(request, 'x-zm-signature');
    if (!signature) throw new WebhookRejection(401, 'Zoom: the request has no x-zm-signature header, and a secret token is configured');
    const timestamp = headerValue(request, 'x-zm-request-timestamp')?.trim();
    if (!timestamp) throw new WebhookRejection(401, 'Zoom: the request has no x-zm-request-timestamp header, so x-zm-signature cannot be checked');
    if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookRejection(401, 'Zoom: x-zm-request-timestamp is not a whole number of seconds');
    // The signed timestamp bounds how long a captured request can be played again.
    const skewSeconds = Math.abs(settings.now() / 1000 - Number(timestamp));
    if (skewSeconds > settings.toleranceSeconds) {
        throw new WebhookRejection(
            401,
            `Zoom: x-zm-request-timestamp is ${Math.round(skewSeconds)} s away from this server's clock, more than the tolerance of ${settings.toleranceSeconds} s (a replayed request, or a clock out of sync)`,
        );
    }
    if (!sameSecret(signature.trim(), zoomSignature(secretToken, timestamp, request.rawBody))) {
        throw new WebhookRejection(401, 'Zoom: x-zm-signature does not match this body and x-zm-request-timestamp with the configured secret token');
    }
}

function zoomEvents(request: WebhookRequest, settings: Settings, result: { answer?: WebhookAnswer; ignored?: string }): RawEvent[] {
    // The signature covers the raw bytes and is checked before anything of the body is believed.
    if (settings.secretToken) verifySignature(request, settings.secretToken, settings);
    const body = parseJsonBody(request, PLATFORM);
    if (!isRecord(body)) throw new WebhookRejection(400, 'Zoom: the body is not a JSON object');
    const event = body.event;
    if (typeof event !== 'string' || !event) throw new WebhookRejection(400, 'Zoom: the body has no "event" field (expected e.g. "phone.callee_ringing")');

    if (event === URL_VALIDATION) {
        result.answer = validationAnswer(body, settings.secretToken);
        result.ignored = 'endpoint.url_validation: the URL validation was answered; it carries no call event';
        return [];
    }
    if (event.startsWith(CONTACT_CENTER_PREFIX)) {
        const mapped = contactCenterEvents(request, body, event, settings.names);
        result.ignored = mapped.ignored;
        return mapped.events;
    }
    if (event === 'phone.recording_completed') return recordingEvents(request, body, result);
    if (CALL_LOG_EVENTS.has(event)) return clientCodeEvents(body, event, result);
    const status = CALL_STATUS_EVENTS.get(event);
    if (!status) {
        result.ignored = `Zoom: ${event} carries no call status change this node maps (e.g. hold, mute, voicemail, call history)`;
        return [];
    }
    return [callStatusEvent(request, body, event, status.side, status.stage, settings)];
}

function validationAnswer(body: Record<string, unknown>, secretToken: string | undefined): WebhookAnswer {
    if (!secretToken) {
        throw new WebhookRejection(
            401,
            "Zoom: endpoint.url_validation cannot be answered without the app's Secret Token; enter it as the node's Platform secret",
        );
    }
    const payload = isRecord(body.payload) ? body.payload : undefined;
    const plainToken = payload?.plainToken;
    if (typeof plainToken !== 'string' || !plainToken) throw new WebhookRejection(400, 'Zoom: endpoint.url_validation has no "payload.plainToken" string');
    if (plainToken.length > MAX_PLAIN_TOKEN_LENGTH) {
        throw new WebhookRejection(400, `Zoom: "payload.plainToken" is longer than ${MAX_PLAIN_TOKEN_LENGTH} characters`);
    }
    return jsonAnswer(200, { plainToken, encryptedToken: zoomEncryptedToken(secretToken, plainToken) });
}

function objectOf(body: Record<string, unknown>, event: string): Record<string, unknown> {
    const payload = body.payload;
    if (!isRecord(payload)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload" object`);
    if (!isRecord(payload.object)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object" object`);
    return payload.object;
}

function partyOf(object: Record<string, unknown>, name: Side, event: string): Record<string, unknown> {
    const party = object[name];
    if (party === undefined) return {};
    if (!isRecord(party)) throw new WebhookRejection(400, `Zoom: "payload.object.${name}" of ${event} is not an object`);
    return party;
}

/** A party with a Zoom extension (a user, a common area phone, a room...) rather than an outside number. */
function isInAccount(party: Record<string, unknown>): boolean {
    if (optionalString(party.extension_number) !== undefined) return true;
    const type = optionalString(party.extension_type);
    return type !== undefined && type !== 'pstn';
}

function callStatusEvent(request: WebhookRequest, body: Record<string, unknown>, event: string, side: Side, stage: Stage, settings: Settings): RawEvent {
    const object = objectOf(body, event);
    const callId = idString(object.call_id);
    if (!callId) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object.call_id"`);
    // The side the event is named after is the account's user: the agent on the call.
    const agentParty = partyOf(object, side, event);
    const otherParty = partyOf(object, side === 'callee' ? 'caller' : 'callee', event);
    const agentType = optionalString(agentParty.extension_type);
    const isRoutingPoint = agentType !== undefined && ROUTING_TYPES.has(agentType);
    const forwardedBy = isRecord(object.forwarded_by) ? object.forwarded_by : undefined;
    const forwardedByType = optionalString(forwardedBy?.extension_type);
    const offeredByGroup = forwardedByType !== undefined && GROUP_TYPES.has(forwardedByType);

    const type = rawTypeOf(stage, isRoutingPoint, offeredByGroup);
    const group = groupOf(agentParty, isRoutingPoint, offeredByGroup ? forwardedBy : undefined);
    const internal = isInAccount(otherParty);
    // A queue member's miss is not the call's last word, and its agent must not replace the one who answered.
    const agent = isRoutingPoint || type === 'update' ? undefined : agentOf(agentParty, settings.names);

    const raw: RawEvent = {
        type,
        callId,
        eventId: `zoom:${event}:${callId}:${bodyDigest(request.rawBody)}`,
        timestamp: epochMs(body.event_ts),
        direction: internal ? 'Internal' : side === 'callee' ? 'Inbound' : 'Outbound',
        callerName: optionalString(otherParty.name),
        dnis: optionalString(agentParty.phone_number),
        externalNumber: optionalString(otherParty.phone_number),
        // Each member of a queue starts ringing later than the call started, and the latest value wins: there the
        // call's time is left to its first event.
        startTime: offeredByGroup || isRoutingPoint ? undefined : epochMs(object.ringing_start_time),
        agent,
        group,
    };
    if (type === 'complete') {
        // Neither ended event says whether the call was recorded; answered calls wait for the configured count.
        raw.pendingRecordings = stage === 'ended' && optionalString(object.answer_start_time) !== undefined ? settings.recordingsPerCall : 0;
    }
    return compact(raw);
}

function rawTypeOf(stage: Stage, isRoutingPoint: boolean, offeredByGroup: boolean): RawEventType {
    if (isRoutingPoint) {
        // A queue or auto receptionist rings its members and hands the call on: only its miss (nobody took the
        // call) ends it.
        return stage === 'missed' ? 'complete' : 'update';
    }
    switch (stage) {
        case 'ringing':
            return 'presenting';
        case 'answered':
            return 'connected';
        case 'ended':
            return 'complete';
        case 'missed':
            // A member of a queue or shared line missing the call leaves it ringing others; a direct call ends.
            return offeredByGroup ? 'update' : 'complete';
    }
}

/** The queue or shared line itself when it is the callee, else the one that offered the call to this member. */
function groupOf(agentParty: Record<string, unknown>, isRoutingPoint: boolean, offeringGroup: Record<string, unknown> | undefined): string | undefined {
    if (isRoutingPoint) {
        const type = optionalString(agentParty.extension_type);
        return type !== undefined && GROUP_TYPES.has(type) ? optionalString(agentParty.name) : undefined;
    }
    return optionalString(offeringGroup?.name);
}

function agentOf(party: Record<string, unknown>, names: NameTable): RawEvent['agent'] {
    const userId = idString(party.user_id);
    const name = optionalString(party.name) ?? (userId === undefined ? undefined : names.get(userId));
    return { name, extension: optionalString(party.extension_number) };
}

function recordingEvents(request: WebhookRequest, body: Record<string, unknown>, result: { ignored?: string }): RawEvent[] {
    const event = 'phone.recording_completed';
    const recordings = objectOf(body, event).recordings;
    if (!Array.isArray(recordings)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object.recordings" array`);
    // The file is ready when the event is sent, after the call ended: that is the time that orders it after "complete".
    const timestamp = epochMs(body.event_ts);
    const events: RawEvent[] = [];
    recordings.forEach((recording: unknown, index) => {
        const where = `"payload.object.recordings[${index}]"`;
        if (!isRecord(recording)) throw new WebhookRejection(400, `Zoom: ${where} of ${event} is not an object`);
        const recordingUrl = optionalString(recording.download_url);
        if (!recordingUrl) throw new WebhookRejection(400, `Zoom: ${where} of ${event} has no "download_url"`);
        // call_id is optional in Zoom's schema; a recording without one cannot be put on any call.
        const callId = idString(recording.call_id);
        if (!callId) return;
        const recordingId = idString(recording.id) ?? `${bodyDigest(request.rawBody)}:${index}`;
        events.push(compact<RawEvent>({ type: 'recording', callId, eventId: `zoom:recording:${recordingId}`, timestamp, recordingUrl }));
    });
    if (!events.length) result.ignored = `Zoom: ${event} names no "call_id" for its recordings, so they belong to no tracked call`;
    return events;
}

function clientCodeEvents(body: Record<string, unknown>, event: string, result: { ignored?: string }): RawEvent[] {
    const logs = objectOf(body, event).call_logs;
    if (!Array.isArray(logs)) throw new WebhookRejection(400, `Zoom: ${event} has no "payload.object.call_logs" array`);
    const timestamp = epochMs(body.event_ts);
    const events: RawEvent[] = [];
    logs.forEach((log: unknown, index) => {
        const where = `"payload.object.call_logs[${index}]"`;
        if (!isRecord(log)) throw new WebhookRejection(400, `Zoom: ${where} of ${event} is not an object`);
        const callId = idString(log.call_id);
        if (!callId) throw new WebhookRejection(400, `Zoom: ${where} of ${event} has no "call_id"`);
        // A log without a client code says nothing of the codes: another member's log may carry the one set.
        const clientCode = optionalString(log.client_code);
        if (clientCode === undefined) return;
        const logId = idString(log.id) ?? `${callId}:${index}`;
        events.push(
            compact<RawEvent>({ type: 'accountCodes', callId, eventId: `zoom:call_log:${logId}:${clientCode}`, timestamp, accountCodes: [clientCode] }),
        );
    });
    if (!events.length) result.ignored = `Zoom: ${event} carries no client code for its calls`;
    return events;
}
