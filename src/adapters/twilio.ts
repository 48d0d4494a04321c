import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RawEvent, RawEventType } from '../call/raw-event';
import {
    type AdapterOutcome,
    type WebhookAdapter,
    type WebhookAnswer,
    type WebhookRequest,
    WebhookRejection,
    compact,
    contentTypeOf,
    epochMs,
    headerValue,
    optionalString,
    receiveWith,
} from './adapter';

/**
 * Twilio Voice status callbacks and recording status callbacks (twilio.com/docs/voice/api/call-resource
 * "StatusCallback", twilio.com/docs/voice/twiml/dial "statusCallbackEvent", recordingStatusCallback), signed with
 * X-Twilio-Signature as twilio.com/docs/usage/security describes: base64 HMAC-SHA1, keyed with the account's Auth
 * Token, of the full URL followed by every POST parameter name and value, sorted by name.
 */
export interface TwilioOptions {
    /** The Auth Token of the Twilio account; when set, requests without a valid X-Twilio-Signature are refused. */
    authToken?: string;
    /**
     * Status callbacks never say whether a recording will follow. When the calls are recorded (e.g. `<Dial
     * record="record-from-answer">`), set 1 so "Call and Recordings Processed" waits for the recording callback.
     */
    recordingsPerCall?: number;
}

const TERMINAL_STATUSES = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
/** Twilio reads the body of a status callback only to see it was answered; empty TwiML is always valid. */
const EMPTY_TWIML: WebhookAnswer = {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
};

export function twilioAdapter(options: TwilioOptions = {}): WebhookAdapter {
    const recordingsPerCall = options.recordingsPerCall ?? 0;
    if (!Number.isInteger(recordingsPerCall) || recordingsPerCall < 0) throw new RangeError('recordingsPerCall must be a whole number, 0 or more');
    return {
        source: 'twilio',
        receive(request: WebhookRequest): AdapterOutcome {
            return receiveWith(
                () => twilioEvents(request, options.authToken, recordingsPerCall),
                () => EMPTY_TWIML,
                'a Twilio callback with no call-model meaning (e.g. a recording still in progress)',
            );
        },
    };
}

/**
 * The signature Twilio puts in X-Twilio-Signature for a request to `url` with these POST parameters. Exported as
 * the single place the scheme is written down; the tests check it against Twilio's documented example.
 */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
    const sorted = [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const data = url + sorted.map(([name, value]) => name + value).join('');
    return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Twilio signs the URL as it was configured; a proxy or Node may add or drop the default port on the way, so both
 * spellings are tried (the official helper libraries do the same).
 */
function urlSpellings(url: string): string[] {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return [url];
    }
    const defaultPort = parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : undefined;
    if (!defaultPort) return [url];
    // URL drops an explicit default port, so whether the text has one is read from the text itself.
    const hostWithPort = `${parsed.hostname}:${defaultPort}`;
    return url.includes(hostWithPort) ? [url, url.replace(hostWithPort, parsed.hostname)] : [url, url.replace(parsed.host, hostWithPort)];
}

function verifySignature(request: WebhookRequest, authToken: string, params: [string, string][]): void {
    const given = headerValue(request, 'x-twilio-signature');
    if (!given) throw new WebhookRejection(401, 'Twilio: the request has no X-Twilio-Signature header');
    if (!request.url) throw new WebhookRejection(401, 'Twilio: the request URL is unknown, so X-Twilio-Signature cannot be checked');
    const givenBytes = Buffer.from(given, 'base64');
    const matches = urlSpellings(request.url).some((url) => {
        const expected = Buffer.from(twilioSignature(authToken, url, params), 'base64');
        return expected.length === givenBytes.length && timingSafeEqual(expected, givenBytes);
    });
    if (!matches) throw new WebhookRejection(401, 'Twilio: X-Twilio-Signature does not match this URL and body with the configured Auth Token');
}

function readParams(request: WebhookRequest): { signed: [string, string][]; fields: URLSearchParams } {
    const body = request.rawBody.toString('utf8');
    if (body.trim()) {
        const type = contentTypeOf(request);
        if (type && type !== 'application/x-www-form-urlencoded') {
            throw new WebhookRejection(415, `Twilio: expected an application/x-www-form-urlencoded body, got ${type}`);
        }
        const fields = new URLSearchParams(body);
        return { signed: [...fields.entries()], fields };
    }
    // A callback configured with method GET carries its parameters in the query string, which the URL signs.
    const query = request.url ? new URL(request.url, 'http://placeholder.invalid').searchParams : new URLSearchParams();
    return { signed: [], fields: query };
}

function twilioEvents(request: WebhookRequest, authToken: string | undefined, recordingsPerCall: number): RawEvent[] {
    const { signed, fields } = readParams(request);
    if (authToken) verifySignature(request, authToken, signed);

    const callSid = optionalString(fields.get('CallSid'));
    if (!callSid) throw new WebhookRejection(400, 'Twilio: the callback has no "CallSid" parameter');
    const parentSid = optionalString(fields.get('ParentCallSid'));
    // A <Dial> to an agent is a child leg of the customer's call; the customer's call is the one tracked.
    const callId = parentSid ?? callSid;
    const timestamp = epochMs(fields.get('Timestamp') ?? undefined);

    const recordingSid = optionalString(fields.get('RecordingSid'));
    if (recordingSid) {
        const status = fields.get('RecordingStatus');
        if (status !== 'completed') return [];
        const recordingUrl = optionalString(fields.get('RecordingUrl'));
        if (!recordingUrl) throw new WebhookRejection(400, `Twilio: recording ${recordingSid} is completed but has no "RecordingUrl" parameter`);
        return [compact<RawEvent>({ type: 'recording', callId, eventId: `twilio:${recordingSid}:completed`, timestamp, recordingUrl })];
    }

    const status = optionalString(fields.get('CallStatus'));
    if (!status) throw new WebhookRejection(400, `Twilio: the callback for ${callSid} has neither "CallStatus" nor "RecordingSid"`);
    const type = rawTypeOf(status, parentSid !== undefined);
    if (!type) throw new WebhookRejection(400, `Twilio: "CallStatus" ${JSON.stringify(status)} is not a Twilio call status`);

    const event: RawEvent = { type, callId, eventId: `twilio:${callSid}:${status}`, timestamp };
    const direction = fields.get('Direction');
    if (parentSid === undefined) {
        Object.assign(event, customerLeg(fields, direction));
        const duration = Number(fields.get('CallDuration'));
        if (timestamp !== undefined) {
            // Status callbacks carry no start time: the first callback is the start, the last one minus CallDuration.
            if (!TERMINAL_STATUSES.has(status)) event.startTime = timestamp;
            else if (Number.isFinite(duration) && duration >= 0) event.startTime = timestamp - duration * 1000;
        }
    } else {
        event.agent = agentOf(fields.get('To'));
    }
    if (type === 'complete') event.pendingRecordings = status === 'completed' ? recordingsPerCall : 0;
    return [compact(event)];
}

function rawTypeOf(status: string, isChildLeg: boolean): RawEventType | undefined {
    if (status === 'queued' || status === 'initiated') return 'update';
    if (status === 'ringing') return 'presenting';
    if (status === 'in-progress' || status === 'answered') return 'connected';
    // An agent's leg ending (no answer, hung up) leaves the customer's call going: it may ring someone else.
    if (TERMINAL_STATUSES.has(status)) return isChildLeg ? 'update' : 'complete';
    return undefined;
}

function customerLeg(fields: URLSearchParams, direction: string | null): Partial<RawEvent> {
    const place = (city: string | null, state: string | null) => [optionalString(city), optionalString(state)].filter(Boolean).join(', ') || undefined;
    if (direction === 'inbound') {
        return {
            direction: 'Inbound',
            externalNumber: optionalString(fields.get('From')),
            dnis: optionalString(fields.get('To')),
            callerName: optionalString(fields.get('CallerName')),
            location: place(fields.get('FromCity'), fields.get('FromState')),
        };
    }
    if (direction?.startsWith('outbound')) {
        return {
            direction: 'Outbound',
            externalNumber: optionalString(fields.get('To')),
            dnis: optionalString(fields.get('From')),
            location: place(fields.get('ToCity'), fields.get('ToState')),
        };
    }
    return {};
}

/** The agent of a <Dial> leg: a Twilio Client identity ("client:alice") or a SIP user ("sip:154@pbx.example.com"). */
function agentOf(to: string | null): RawEvent['agent'] {
    if (!to) return undefined;
    if (to.startsWith('client:')) return { name: to.slice('client:'.length) || undefined };
    const sip = /^sips?:([^@;]+)@/.exec(to);
    if (sip) return { extension: sip[1] };
    return undefined;
}
