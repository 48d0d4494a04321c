import { createHash } from 'node:crypto';
import type { CallDirection } from '../call/call';
import type { RawEvent, RawEventType } from '../call/raw-event';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookAnswer,
    type WebhookRequest,
    WebhookRejection,
    bodyDigest,
    compact,
    contentTypeOf,
    epochMs,
    headerValue,
    idString,
    isRecord,
    jsonAnswer,
    optionalString,
    parseBoundedJson,
    receiveWith,
    sameSecret,
} from './adapter';
import { EMPTY_NAME_TABLE, type NameTable } from './name-table';

/**
 * RingCentral telephony session notifications (developers.ringcentral.com "Account Telephony Sessions Event" and
 * "Extension Telephony Sessions Event", "Telephony Session Notifications", "Creating Webhooks"), delivered by a
 * WebHook subscription as a JSON POST `{ uuid, event, timestamp, subscriptionId, ownerId, body }`. Each
 * notification reports the new state of one or more parties (legs) of one telephony session, which is the call.
 * RingCentral signs nothing: a subscription created with `deliveryMode.verificationToken` sends that token back in
 * the Verification-Token header of every request, and creating a subscription POSTs a Validation-Token header that
 * must be echoed.
 */
export interface RingCentralOptions {
    /**
     * The `deliveryMode.verificationToken` the subscription was created with (the node's Platform secret). When set,
     * every request, the Validation-Token request included, must carry it in the Verification-Token header.
     */
    verificationToken?: string;
    /**
     * Names for extension ids, for the parties a notification does not name: an extension placing a call often
     * carries only its id.
     */
    names?: NameTable;
    /** The clock, ms since 1970; injectable for tests. */
    now?: () => number;
}

/** Both documented event filters, as RingCentral puts them in `event` (the account id spelled out, or `~`). */
const TELEPHONY_SESSIONS_EVENT = /^\/restapi\/v1\.0\/account\/[^/?#]+(?:\/extension\/[^/?#]+)?\/telephony\/sessions(?:\?[^#]*)?$/;
/** Session origins that are no conversation with anyone (a greeting being recorded, a phone number check). */
const NOT_A_CALL = new Set(['GreetingsRecording', 'VerificationCall', 'TestCall']);
/**
 * `status.reason` values of a Disconnected party whose call goes on without it: handed to another party or
 * device, parked, or picked up elsewhere. Any other reason, or none, means the party's leg of the call ended.
 */
const CALL_GOES_ON = new Set([
    'Pickup',
    'Supervising',
    'TakeOver',
    'BlindTransfer',
    'RccTransfer',
    'AttendedTransfer',
    'CallerInputRedirect',
    'CallFlip',
    'ParkLocation',
    'DtmfTransfer',
    'CallPark',
    'CallRedirected',
    'CallSwitch',
]);
/** A notification reports the parties that changed, usually one; a conference may list a few more. */
const MAX_PARTIES = 100;
/** RingCentral gives up on an endpoint after about 10 minutes of failures, so no genuine delivery is older. */
const MAX_AGE_MS = 60 * 60_000;
const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
/** The whole validation answer, headers included, must stay under 1024 bytes. */
const MAX_VALIDATION_TOKEN_LENGTH = 256;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const MAX_ID_LENGTH = 256;

interface Settings {
    verificationToken: string | undefined;
    names: NameTable;
    now: () => number;
}

/** What the parse step found besides events: the handshake to answer, or why a verified request gave none. */
interface Findings {
    validationToken?: string;
    ignored?: string;
}

export function ringcentralAdapter(options: RingCentralOptions = {}): WebhookAdapter {
    const settings: Settings = {
        verificationToken: options.verificationToken || undefined,
        names: options.names ?? EMPTY_NAME_TABLE,
        now: options.now ?? Date.now,
    };
    return {
        source: 'ringcentral',
        receive(request: WebhookRequest): AdapterOutcome {
            const findings: Findings = {};
            const outcome = receiveWith(
                () => ringcentralEvents(request, settings, findings),
                (events) =>
                    findings.validationToken !== undefined ? validationAnswer(findings.validationToken) : jsonAnswer(200, { received: events.length }),
                'a RingCentral notification with no party state this node maps',
            );
            return outcome.ok && findings.ignored ? { ...outcome, ignored: findings.ignored } : outcome;
        },
    };
}

/** RingCentral checks the status and the echoed header; its docs ask for a JSON content type even with no body. */
function validationAnswer(validationToken: string): WebhookAnswer {
    return { status: 200, headers: { 'content-type': 'application/json', 'Validation-Token': validationToken }, body: '' };
}

function verify(request: WebhookRequest, verificationToken: string): void {
    const given = headerValue(request, 'verification-token');
    if (given === undefined) {
        throw new WebhookRejection(
            401,
            'RingCentral: the request has no Verification-Token header; create the subscription with deliveryMode.verificationToken set to the Platform secret',
        );
    }
    if (!sameSecret(given, verificationToken))
        throw new WebhookRejection(401, 'RingCentral: the Verification-Token header does not match the configured verification token');
}

function ringcentralEvents(request: WebhookRequest, settings: Settings, findings: Findings): RawEvent[] {
    // The token is all RingCentral gives to tell its requests apart, so nothing is read before it matches.
    if (settings.verificationToken) verify(request, settings.verificationToken);
    const text = request.rawBody.toString('utf8');
    const validationToken = headerValue(request, 'validation-token');
    // Only the request that creates a subscription comes without a body; a notification is answered as one even if
    // it carries the header too.
    if (validationToken !== undefined && !text.trim()) {
        if (!VISIBLE_ASCII.test(validationToken) || validationToken.length > MAX_VALIDATION_TOKEN_LENGTH) {
            throw new WebhookRejection(400, `RingCentral: the Validation-Token header must be 1 to ${MAX_VALIDATION_TOKEN_LENGTH} visible ASCII characters`);
        }
        findings.validationToken = validationToken;
        findings.ignored = 'the Validation-Token request of a new RingCentral subscription: answered with the same header, no call event';
        return [];
    }
    if (!text.trim()) throw new WebhookRejection(400, 'RingCentral: the request body is empty and there is no Validation-Token header');
    const type = contentTypeOf(request);
    if (type && type !== 'application/json') throw new WebhookRejection(415, `RingCentral: expected an application/json body, got ${type}`);
    const envelope = parseBoundedJson(text, 'RingCentral: the request body');
    if (!isRecord(envelope)) throw new WebhookRejection(400, 'RingCentral: the body is not a JSON object');
    if (typeof envelope.event !== 'string' || !envelope.event) {
        throw new WebhookRejection(
            400,
            'RingCentral: the notification has no "event" field (the event filter, e.g. /restapi/v1.0/account/~/telephony/sessions)',
        );
    }
    if (!TELEPHONY_SESSIONS_EVENT.test(envelope.event)) {
        findings.ignored = 'a RingCentral notification of another event filter than telephony/sessions (e.g. presence or a renewal reminder)';
        return [];
    }
    const body = envelope.body;
    if (!isRecord(body)) throw new WebhookRejection(400, 'RingCentral: the telephony session notification has no "body" object');
    const callId = idString(body.telephonySessionId);
    if (!callId) throw new WebhookRejection(400, 'RingCentral: the notification has no "body.telephonySessionId" (the call)');
    if (callId.length > MAX_ID_LENGTH) throw new WebhookRejection(400, `RingCentral: "body.telephonySessionId" is longer than ${MAX_ID_LENGTH} characters`);

    const origin = isRecord(body.origin) ? optionalString(body.origin.type) : undefined;
    if (origin && NOT_A_CALL.has(origin)) {
        findings.ignored = `a RingCentral session of origin ${origin}, which is no call with anyone`;
        return [];
    }
    const eventTime = epochMs(body.eventTime) ?? epochMs(envelope.timestamp);
    if (eventTime === undefined) throw new WebhookRejection(400, 'RingCentral: the notification has no "body.eventTime" (nor "timestamp") date');
    const now = settings.now();
    // The token never changes, so a captured notification can be played again; one that old is no genuine delivery.
    if (eventTime < now - MAX_AGE_MS || eventTime > now + MAX_CLOCK_AHEAD_MS) {
        findings.ignored = 'a RingCentral notification whose eventTime is more than an hour old or ahead of this server: a replay, or a clock out of sync';
        return [];
    }
    const sequence = sequenceOf(body.sequence);
    const uuid = idString(envelope.uuid);
    if (body.parties === undefined) {
        findings.ignored = 'a RingCentral notification that lists no parties';
        return [];
    }
    if (!Array.isArray(body.parties)) throw new WebhookRejection(400, 'RingCentral: "body.parties" is not an array');
    if (body.parties.length > MAX_PARTIES) {
        throw new WebhookRejection(400, `RingCentral: "body.parties" lists ${body.parties.length} parties, more than the limit of ${MAX_PARTIES}`);
    }

    const session: Session = {
        callId,
        reportCallId: idString(body.sessionId),
        ringOut: origin === 'RingOut',
        // eventTime has milliseconds and two notifications may share one; the sequence, which RingCentral gives as the
        // session's chronology, orders those within the millisecond so the later one's fields win.
        timestamp: sequence === undefined ? eventTime : eventTime + (sequence % 1000) / 1000,
        delivery: sequence !== undefined ? String(sequence) : uuid ? `uuid:${uuid}` : `body:${bodyDigest(request.rawBody)}`,
        names: settings.names,
    };
    const events: RawEvent[] = [];
    body.parties.forEach((party: unknown, index: number) => {
        if (!isRecord(party)) throw new WebhookRejection(400, `RingCentral: "body.parties[${index}]" is not an object`);
        const event = partyEvent(party, index, session);
        if (event) events.push(event);
    });
    if (!events.length) findings.ignored = 'a RingCentral notification whose parties carry no "status.code"';
    return events;
}

function sequenceOf(value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new WebhookRejection(400, 'RingCentral: "body.sequence" is not a whole number 0 or more');
    }
    return value;
}

interface Session {
    callId: string;
    reportCallId: string | undefined;
    ringOut: boolean;
    timestamp: number;
    /** What tells this delivery from every other of the session: its sequence, else the uuid, else the bytes. */
    delivery: string;
    names: NameTable;
}

type PartyDirection = 'Inbound' | 'Outbound' | undefined;

function partyEvent(party: Record<string, unknown>, index: number, session: Session): RawEvent | undefined {
    const where = `"body.parties[${index}]`;
    if (party.status !== undefined && !isRecord(party.status)) throw new WebhookRejection(400, `RingCentral: ${where}.status" is not an object`);
    const status = isRecord(party.status) ? party.status : {};
    if (status.code === undefined) return undefined;
    if (typeof status.code !== 'string' || !status.code) throw new WebhookRejection(400, `RingCentral: ${where}.status.code" is not a string`);
    const code = status.code;
    const reason = optionalString(status.reason);
    const extensionId = idString(party.extensionId);
    const direction: PartyDirection = party.direction === 'Inbound' || party.direction === 'Outbound' ? party.direction : undefined;
    const from = isRecord(party.from) ? party.from : {};
    const to = isRecord(party.to) ? party.to : {};
    const partyId = idString(party.id);

    const type = rawTypeOf(code, reason, extensionId, direction, to);
    const callDirection = callDirectionOf(extensionId, direction, from, to);
    const event: RawEvent = {
        type,
        callId: session.callId,
        eventId: eventIdOf(session, type, partyId, index),
        timestamp: session.timestamp,
        reportCallId: session.reportCallId,
        // Both legs of a RingOut are RingCentral calling out (Inbound parties, by the status table of "Telephony
        // Session Notifications"), the user's own phone first: that leg reads as a call coming in.
        direction: session.ringOut && callDirection === 'Inbound' ? 'Outbound' : callDirection,
        ...customerFields(callDirection, extensionId, direction, from, to),
        agent: agentOf(type, extensionId, direction, from, to, callDirection, session.names),
    };
    // The notifications name a recording (id, active) but give no link: its content is an API resource that needs
    // an access token, so there is nothing to wait for.
    if (type === 'complete') event.pendingRecordings = 0;
    return compact(event);
}

/**
 * A party with an `extensionId` is one of the account's extensions: a user (an agent), but also an IVR menu or a
 * call queue, which look the same. A party without one is the outside number: the customer.
 */
function rawTypeOf(
    code: string,
    reason: string | undefined,
    extensionId: string | undefined,
    direction: PartyDirection,
    to: Record<string, unknown>,
): RawEventType {
    // The customer's leg lasts through the IVR, queues and transfers: the call is over when it is.
    if (!extensionId) return code === 'Disconnected' ? 'complete' : 'update';
    if (direction === 'Inbound') {
        // Setup is the call reaching the extension's handling rules (an IVR menu gets it too); Proceeding is ringing.
        if (code === 'Proceeding') return 'presenting';
        // Answered again after Hold is the same answer: the event id per party makes it a duplicate.
        if (code === 'Answered') return 'connected';
        // A rung extension leaving (an IVR menu passing the call on, a transfer, a missed ring) ends no call.
        return 'update';
    }
    if (direction === 'Outbound') {
        if (code === 'Setup') return 'presenting';
        // Calling another extension, Answered only means its handling rules started; its own leg reports the answer.
        if (code === 'Answered') return idString(to.extensionId) ? 'update' : 'connected';
        // The extension that placed the call hanging up ends it, unless it handed the call on.
        if (code === 'Disconnected') return reason && CALL_GOES_ON.has(reason) ? 'update' : 'complete';
    }
    return 'update';
}

/**
 * `direction` is the leg's own: the customer calling in is an Outbound party, the extension it reaches an Inbound
 * one. `from` is the caller and `to` the callee on every leg of a session.
 */
function callDirectionOf(
    extensionId: string | undefined,
    direction: PartyDirection,
    from: Record<string, unknown>,
    to: Record<string, unknown>,
): CallDirection | undefined {
    if (!extensionId) return direction === 'Outbound' ? 'Inbound' : direction === 'Inbound' ? 'Outbound' : undefined;
    if (direction === 'Inbound') return idString(from.extensionId) ? 'Internal' : 'Inbound';
    if (direction === 'Outbound') {
        if (idString(to.extensionId)) return 'Internal';
        // Before the callee is resolved an extension dialled by its short number looks like any number; outside
        // numbers come in E.164, with the +.
        return optionalString(to.phoneNumber)?.startsWith('+') ? 'Outbound' : undefined;
    }
    return undefined;
}

function customerFields(
    callDirection: CallDirection | undefined,
    extensionId: string | undefined,
    direction: PartyDirection,
    from: Record<string, unknown>,
    to: Record<string, unknown>,
): Pick<RawEvent, 'callerName' | 'externalNumber' | 'dnis'> {
    const caller = { callerName: optionalString(from.name), externalNumber: optionalString(from.phoneNumber), dnis: optionalString(to.phoneNumber) };
    if (callDirection === 'Inbound') return caller;
    if (callDirection === 'Outbound')
        return { callerName: optionalString(to.name), externalNumber: optionalString(to.phoneNumber), dnis: optionalString(from.phoneNumber) };
    // Between extensions each leg spells its own number differently (a direct number, a short extension number):
    // only the callee's leg, the one an agent is rung on, says who calls.
    if (callDirection === 'Internal' && extensionId && direction === 'Inbound') return caller;
    return {};
}

/**
 * The agent is the extension whose own leg rings or answers. An extension placing a call often leaves its own name
 * out, but the customer's leg of that call names it in `from`; not on that leg's last event, which after a transfer
 * would still name the first agent.
 */
function agentOf(
    type: RawEventType,
    extensionId: string | undefined,
    direction: PartyDirection,
    from: Record<string, unknown>,
    to: Record<string, unknown>,
    callDirection: CallDirection | undefined,
    names: NameTable,
): RawEvent['agent'] {
    if (extensionId) {
        if (type !== 'presenting' && type !== 'connected') return undefined;
        const own = direction === 'Outbound' ? from : to;
        const ownId = idString(own.extensionId);
        const ownName = ownId === undefined || ownId === extensionId ? optionalString(own.name) : undefined;
        const name = names.get(extensionId) ?? ownName;
        return name ? { name } : undefined;
    }
    const placedBy = idString(from.extensionId);
    if (type === 'complete' || callDirection !== 'Outbound' || !placedBy) return undefined;
    const name = names.get(placedBy) ?? optionalString(from.name);
    return name ? { name } : undefined;
}

/**
 * A party rings once and is answered once, but RingCentral reports Answered again when it comes off hold: so
 * presenting and connected are identified by the party, and every other event by the delivery (the session's
 * sequence), which a retry repeats.
 */
function eventIdOf(session: Session, type: RawEventType, partyId: string | undefined, index: number): string {
    const id =
        (type === 'presenting' || type === 'connected') && partyId
            ? `ringcentral:${session.callId}:${partyId}:${type}`
            : `ringcentral:${session.callId}:${session.delivery}:${partyId ?? `#${index}`}`;
    return id.length <= MAX_ID_LENGTH ? id : `ringcentral:${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}
