import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterOutcome, WebhookAdapter, WebhookRequest } from '../../src/adapters/adapter';
import { aircallAdapter } from '../../src/adapters/aircall';
import { customMappingAdapter, previewCustomMapping, type CustomMapping } from '../../src/adapters/custom-mapping';
import { dialpadAdapter } from '../../src/adapters/dialpad';
import { createWebhookAdapter } from '../../src/adapters/sources';
import { twilioAdapter, twilioSignature } from '../../src/adapters/twilio';
import { CodedError } from '../../src/errors/coded-error';
import { platformRequestUrl } from '../../src/ingest/request-url';
import type { IncomingMessage } from 'node:http';
import twilio from 'twilio';
import { accepted, refused, withoutIds } from '../support/adapter-outcomes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters');
const fixture = (platform: string, name: string) => readFileSync(join(FIXTURES, platform, name));

function jsonRequest(body: Buffer | string, headers: Record<string, string> = {}): WebhookRequest {
    return { headers: { 'content-type': 'application/json', ...headers }, rawBody: Buffer.from(body) };
}

describe('webhook adapters', () => {
    describe('Aircall', () => {
        const TOKEN = '45XXYYZZa08';
        const adapter = aircallAdapter({ token: TOKEN });
        const life = [
            '1-call.created.json',
            '2-call.ringing_on_agent.json',
            '3-call.answered.json',
            '4-call.hungup.json',
            '5-call.ended.json',
            '6-call.tagged.json',
            '7-call.commented.json',
            '8-call.untagged.json',
        ];
        const common = {
            callId: '812345678',
            direction: 'Inbound',
            callerName: 'Jane Roe',
            dnis: '+1 801-555-1234',
            externalNumber: '+1 801-555-0000',
            startTime: 1732482000000,
            group: 'Sales',
        } as const;
        const agent = { name: 'John Doe' };

        it('plays a complete call life into the exact raw event sequence', () => {
            const outcomes = life.map((name) => adapter.receive(jsonRequest(fixture('aircall', name))));
            for (const outcome of outcomes)
                assert.deepEqual(outcome.answer, {
                    status: 200,
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify({ received: outcome.ok ? outcome.events.length : -1 }),
                });
            const events = outcomes.flatMap(accepted);
            assert.deepEqual(withoutIds(events), [
                { type: 'update', ...common, timestamp: 1732482000000, accountCodes: [] },
                { type: 'presenting', ...common, timestamp: 1732482002000, agent, accountCodes: [] },
                { type: 'connected', ...common, timestamp: 1732482009000, agent, accountCodes: [] },
                { type: 'complete', ...common, timestamp: 1732482312000, agent, accountCodes: [], pendingRecordings: 1 },
                {
                    type: 'recording',
                    ...common,
                    timestamp: 1732482342000,
                    agent,
                    accountCodes: [],
                    recordingUrl: 'https://assets.aircall.io/calls/812345678/recording',
                },
                { type: 'accountCodes', ...common, timestamp: 1732482400000, agent, accountCodes: ['Opp Won', 'Large Sale'] },
                { type: 'accountCodes', ...common, timestamp: 1732482500000, agent, accountCodes: ['Opp Won'] },
            ]);
            const ids = events.map((event) => event.eventId);
            assert.equal(new Set(ids).size, ids.length, 'every delivery has its own event id');
            assert.ok(ids.every((id) => id?.startsWith('aircall:call.')));
            const ignored = outcomes[6]!;
            assert.ok(
                ignored.ok && ignored.events.length === 0 && /call\.commented/.test(ignored.ignored ?? ''),
                'call.commented is answered 200 with no event',
            );
        });

        it('gives a retried delivery the same event id, so it is dropped as a duplicate', () => {
            const first = accepted(adapter.receive(jsonRequest(fixture('aircall', '3-call.answered.json'))));
            const again = accepted(adapter.receive(jsonRequest(fixture('aircall', '3-call.answered.json'))));
            assert.equal(first[0]!.eventId, again[0]!.eventId);
        });

        it('sends tags to the call tags instead when tagsAs is "tags"', () => {
            const events = accepted(aircallAdapter({ tagsAs: 'tags' }).receive(jsonRequest(fixture('aircall', '6-call.tagged.json'))));
            assert.equal(events[0]!.type, 'update');
            assert.deepEqual(events[0]!.tags, ['Opp Won', 'Large Sale']);
            assert.equal(events[0]!.accountCodes, undefined);
        });

        it('accepts the token the webhook was created with and refuses a wrong or missing one', () => {
            const body = JSON.parse(fixture('aircall', '3-call.answered.json').toString('utf8'));
            assert.equal(accepted(adapter.receive(jsonRequest(JSON.stringify(body)))).length, 1);
            assert.deepEqual(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, token: 'forged' })))), {
                status: 401,
                message: 'Aircall: the "token" field does not match the configured webhook token',
            });
            const { token: _token, ...untokened } = body;
            assert.equal(refused(adapter.receive(jsonRequest(JSON.stringify(untokened)))).status, 401);
            // Without a configured token nothing is checked (the node help recommends setting it).
            assert.equal(accepted(aircallAdapter().receive(jsonRequest(JSON.stringify({ ...body, token: 'forged' })))).length, 1);
        });

        it('names the field when the body is malformed', () => {
            const body = JSON.parse(fixture('aircall', '3-call.answered.json').toString('utf8'));
            assert.equal(refused(adapter.receive(jsonRequest('{"event": '))).status, 400);
            assert.match(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, event: undefined })))).message, /"event"/);
            assert.match(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, data: { ...body.data, id: null } })))).message, /"data\.id"/);
            assert.match(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, data: 'x' })))).message, /"data" object/);
        });

        it('does not wait for a recording when the number does not record or the call was missed', () => {
            const body = JSON.parse(fixture('aircall', '4-call.hungup.json').toString('utf8'));
            const missed = { ...body, data: { ...body.data, answered_at: null, status: 'done', missed_call_reason: 'agents_did_not_answer' } };
            assert.equal(accepted(adapter.receive(jsonRequest(JSON.stringify(missed))))[0]!.pendingRecordings, 0);
            const unrecorded = { ...body, data: { ...body.data, number: { ...body.data.number, live_recording_activated: false } } };
            assert.equal(accepted(adapter.receive(jsonRequest(JSON.stringify(unrecorded))))[0]!.pendingRecordings, 0);
        });
    });

    describe('Dialpad', () => {
        const SECRET = 'dialpad-webhook-secret-0123456789abcdef';
        const life = [
            '1-ringing.json',
            '2-connected.json',
            '7-hold.json',
            '3-hangup-operator-leg.json',
            '4-hangup-entry-point.json',
            '5-recording.json',
            '6-dispositions.json',
        ];
        const common = {
            callId: '7000',
            direction: 'Inbound',
            callerName: 'Jane Roe',
            dnis: '+18015559999',
            externalNumber: '+18015550000',
            startTime: 1732482000000,
            group: 'Support',
        } as const;
        const agent = { name: 'John Doe' };

        function signed(payload: Buffer | string, secret = SECRET, header: object = { alg: 'HS256', typ: 'JWT' }): string {
            const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
            const encodedPayload = Buffer.from(payload.toString()).toString('base64url');
            const signature = createHmac('sha256', secret).update(`${encodedHeader}.${encodedPayload}`).digest('base64url');
            return `${encodedHeader}.${encodedPayload}.${signature}`;
        }

        const expected = [
            { type: 'presenting', ...common, timestamp: 1732482001000, agent, accountCodes: [] },
            { type: 'connected', ...common, timestamp: 1732482009000, agent, accountCodes: [] },
            { type: 'update', ...common, timestamp: 1732482312000, agent, accountCodes: [] },
            { type: 'complete', ...common, timestamp: 1732482312500, accountCodes: [], pendingRecordings: 1 },
            { type: 'recording', ...common, timestamp: 1732482330000, agent, accountCodes: [], recordingUrl: 'https://dialpad.com/r/9001' },
            { type: 'accountCodes', ...common, timestamp: 1732482400000, accountCodes: ['Opp Won', 'Large Sale'] },
        ];

        it('plays a complete call-center call life (unsigned JSON) into the exact raw event sequence', () => {
            const adapter = dialpadAdapter();
            const outcomes = life.map((name) => adapter.receive(jsonRequest(fixture('dialpad', name))));
            assert.ok(outcomes.every((outcome) => outcome.answer.status === 200));
            assert.equal(accepted(outcomes[2]!).length, 0, 'hold is answered 200 with no event');
            const events = outcomes.flatMap(accepted);
            assert.deepEqual(withoutIds(events), expected);
            assert.deepEqual(
                events.map((event) => event.eventId),
                [
                    'dialpad:7001:ringing:1732482001000',
                    'dialpad:7001:connected:1732482009000',
                    'dialpad:7001:hangup:1732482312000',
                    'dialpad:7000:hangup:1732482312500',
                    'dialpad:7001:recording:rec-9001',
                    'dialpad:7000:dispositions:1732482400000',
                ],
            );
        });

        it('plays the same life from HS256-signed JWT bodies when a secret is set', () => {
            const adapter = dialpadAdapter({ secret: SECRET });
            const events = life.flatMap((name) =>
                accepted(adapter.receive({ headers: { 'content-type': 'application/jwt' }, rawBody: Buffer.from(signed(fixture('dialpad', name))) })),
            );
            assert.deepEqual(withoutIds(events), expected);
        });

        it('refuses a tampered payload, a wrong secret, alg "none", and unsigned JSON when a secret is set', () => {
            const adapter = dialpadAdapter({ secret: SECRET });
            const token = signed(fixture('dialpad', '2-connected.json'));
            const [header, , signature] = token.split('.');
            const tamperedPayload = Buffer.from(fixture('dialpad', '2-connected.json').toString().replace('John Doe', 'Mallory')).toString('base64url');
            const send = (body: string) => adapter.receive({ headers: {}, rawBody: Buffer.from(body) });
            assert.deepEqual(refused(send(`${header}.${tamperedPayload}.${signature}`)), {
                status: 401,
                message: 'Dialpad: the JWT signature does not verify with the configured secret',
            });
            assert.equal(refused(send(signed(fixture('dialpad', '2-connected.json'), 'another-secret'))).status, 401);
            const noneHeader = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
            assert.match(refused(send(`${noneHeader}.${token.split('.')[1]}.`)).message, /"alg" is "none", expected "HS256"/);
            assert.match(refused(send(fixture('dialpad', '2-connected.json').toString())).message, /must come as a signed JWT/);
            assert.match(refused(dialpadAdapter().receive({ headers: {}, rawBody: Buffer.from(token) })).message, /no secret is configured/);
        });

        it('refuses an expired JWT when it carries "exp"', () => {
            const payload = { ...JSON.parse(fixture('dialpad', '2-connected.json').toString()), exp: 1_000_000_000 };
            const outcome = dialpadAdapter({ secret: SECRET }).receive({ headers: {}, rawBody: Buffer.from(signed(JSON.stringify(payload))) });
            assert.match(refused(outcome).message, /expired/);
        });

        it('names the field when the payload is malformed', () => {
            const adapter = dialpadAdapter();
            const body = JSON.parse(fixture('dialpad', '2-connected.json').toString());
            assert.match(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, call_id: undefined })))).message, /"call_id"/);
            assert.match(refused(adapter.receive(jsonRequest(JSON.stringify({ ...body, state: 3 })))).message, /call 7001 has no "state"/);
            assert.equal(refused(adapter.receive(jsonRequest('{'))).status, 400);
        });
    });

    describe('Twilio', () => {
        const AUTH_TOKEN = 'twilio-auth-token-for-tests';
        const URL = 'https://example.com/ccaas/call-events?source=twilio';
        const life = [
            '1-child-ringing.txt',
            '2-child-in-progress.txt',
            '3-child-completed.txt',
            '4-parent-completed.txt',
            '6-recording-in-progress.txt',
            '5-recording-completed.txt',
        ];

        function formRequest(body: Buffer | string, url = URL, token = AUTH_TOKEN): WebhookRequest {
            const params = [...new URLSearchParams(body.toString())];
            return {
                headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(token, url, params) },
                rawBody: Buffer.from(body),
                url,
            };
        }

        it("computes Twilio's documented example signature", () => {
            const params = [...new URLSearchParams(fixture('twilio', 'documented-example.txt').toString())];
            assert.equal(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params), 'RSOYDt4T1cUTdK1PDd93/VVr8B8=');
        });

        it('accepts the documented example request and refuses it tampered', () => {
            const adapter = twilioAdapter({ authToken: '12345' });
            const request = (body: string): WebhookRequest => ({
                headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'RSOYDt4T1cUTdK1PDd93/VVr8B8=' },
                rawBody: Buffer.from(body),
                url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
            });
            const body = fixture('twilio', 'documented-example.txt').toString();
            // The example is a <Gather> callback, not a status callback: past the signature it is a 400 naming the field.
            assert.deepEqual(refused(adapter.receive(request(body))), {
                status: 400,
                message: 'Twilio: the callback for CA1234567890ABCDE has neither "CallStatus" nor "RecordingSid"',
            });
            assert.deepEqual(refused(adapter.receive(request(body.replace('Digits=1234', 'Digits=9999')))), {
                status: 401,
                message: 'Twilio: X-Twilio-Signature does not match this URL and body with the configured Auth Token',
            });
            assert.equal(refused(adapter.receive({ ...request(body), url: 'https://mycompany.com/myapp.php?foo=1&bar=3' })).status, 401);
            assert.match(
                refused(adapter.receive({ ...request(body), headers: { 'content-type': 'application/x-www-form-urlencoded' } })).message,
                /no X-Twilio-Signature header/,
            );
        });

        describe("the URL Twilio signed, checked with Twilio's own helper library", () => {
            const body = fixture('twilio', '1-child-ringing.txt').toString();
            const params = Object.fromEntries(new URLSearchParams(body));
            const adapter = twilioAdapter({ authToken: AUTH_TOKEN });
            const arrived = (headers: Record<string, string>, originalUrl: string, encrypted = false): IncomingMessage =>
                ({ headers, url: originalUrl.replace(/^\/hooks/, ''), originalUrl, socket: { encrypted } }) as unknown as IncomingMessage;
            const receiveSignedFor = (signedUrl: string, req: IncomingMessage, publicBaseUrl?: string, httpNodeRoot?: string): AdapterOutcome =>
                adapter.receive({
                    headers: {
                        'content-type': 'application/x-www-form-urlencoded',
                        'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, signedUrl, params),
                    },
                    rawBody: Buffer.from(body),
                    url: platformRequestUrl(req, publicBaseUrl, httpNodeRoot),
                });

            it('posting straight to Node-RED: scheme of the connection, Host header, path and query', () => {
                const signed = 'http://nodered.example.com:1880/ccaas/call-events?source=twilio';
                const req = arrived({ host: 'nodered.example.com:1880' }, '/ccaas/call-events?source=twilio');
                assert.equal(platformRequestUrl(req, undefined), signed);
                assert.ok(
                    twilio.validateRequest(
                        AUTH_TOKEN,
                        twilio.getExpectedTwilioSignature(AUTH_TOKEN, signed, params),
                        platformRequestUrl(req, undefined)!,
                        params,
                    ),
                );
                assert.equal(accepted(receiveSignedFor(signed, req)).length, 1);
                const tls = arrived({ host: 'nodered.example.com' }, '/ccaas/call-events', true);
                assert.equal(accepted(receiveSignedFor('https://nodered.example.com/ccaas/call-events', tls)).length, 1);
            });

            it('with httpNodeRoot /hooks, with and without a Public base URL of just the origin', () => {
                const req = arrived({ host: '127.0.0.1:1880' }, '/hooks/ccaas/call-events');
                assert.equal(accepted(receiveSignedFor('http://127.0.0.1:1880/hooks/ccaas/call-events', req, undefined, '/hooks')).length, 1);
                assert.equal(
                    accepted(receiveSignedFor('https://public.example.com/hooks/ccaas/call-events', req, 'https://public.example.com', '/hooks')).length,
                    1,
                );
                assert.equal(
                    accepted(receiveSignedFor('https://public.example.com/hooks/ccaas/call-events', req, 'https://public.example.com/', '/hooks')).length,
                    1,
                );
                // A base that already ends with httpNodeRoot is not given it twice.
                assert.equal(
                    accepted(receiveSignedFor('https://public.example.com/hooks/ccaas/call-events', req, 'https://public.example.com/hooks', '/hooks')).length,
                    1,
                );
                // A path prefix the proxy adds in front of Node-RED's own.
                assert.equal(
                    accepted(receiveSignedFor('https://public.example.com/nr/hooks/ccaas/call-events', req, 'https://public.example.com/nr', '/hooks')).length,
                    1,
                );
            });

            it('a proxy Node-RED is not told about changes what Twilio signed: refused until the Public base URL says it', () => {
                const req = arrived({ host: 'internal:1880' }, '/ccaas/call-events');
                assert.equal(refused(receiveSignedFor('https://public.example.com/ccaas/call-events', req)).status, 401);
                assert.equal(accepted(receiveSignedFor('https://public.example.com/ccaas/call-events', req, 'https://public.example.com')).length, 1);
            });

            it('without a Host header or a Public base URL the URL is unknown, and the refusal says so', () => {
                assert.equal(platformRequestUrl(arrived({}, '/ccaas/call-events'), undefined), undefined);
                assert.match(refused(receiveSignedFor('http://x/ccaas/call-events', arrived({}, '/ccaas/call-events'))).message, /the request URL is unknown/);
            });
        });

        it('accepts a signature made for the URL with or without the default port', () => {
            const adapter = twilioAdapter({ authToken: AUTH_TOKEN });
            const body = fixture('twilio', '1-child-ringing.txt');
            const signedWithPort = formRequest(body, 'https://example.com:443/ccaas/call-events?source=twilio');
            assert.equal(accepted(adapter.receive({ ...signedWithPort, url: URL })).length, 1);
        });

        it('plays a <Dial>ed inbound call life into the exact raw event sequence, answering empty TwiML', () => {
            const adapter = twilioAdapter({ authToken: AUTH_TOKEN, recordingsPerCall: 1 });
            const outcomes = life.map((name) => adapter.receive(formRequest(fixture('twilio', name))));
            for (const outcome of outcomes) {
                assert.deepEqual(outcome.answer, {
                    status: 200,
                    headers: { 'content-type': 'text/xml' },
                    body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
                });
            }
            const callId = 'CA1111111111aaaaaaaaaaaaaaaaaaaaaa';
            const events = outcomes.flatMap(accepted);
            assert.deepEqual(events, [
                {
                    type: 'presenting',
                    callId,
                    eventId: 'twilio:CA2222222222bbbbbbbbbbbbbbbbbbbbbb:ringing',
                    timestamp: Date.UTC(2024, 10, 24, 21, 0, 1),
                    agent: { name: 'alice' },
                },
                {
                    type: 'connected',
                    callId,
                    eventId: 'twilio:CA2222222222bbbbbbbbbbbbbbbbbbbbbb:in-progress',
                    timestamp: Date.UTC(2024, 10, 24, 21, 0, 9),
                    agent: { name: 'alice' },
                },
                {
                    type: 'update',
                    callId,
                    eventId: 'twilio:CA2222222222bbbbbbbbbbbbbbbbbbbbbb:completed',
                    timestamp: Date.UTC(2024, 10, 24, 21, 5, 12),
                    agent: { name: 'alice' },
                },
                {
                    type: 'complete',
                    callId,
                    eventId: `twilio:${callId}:completed`,
                    timestamp: Date.UTC(2024, 10, 24, 21, 5, 12),
                    direction: 'Inbound',
                    externalNumber: '+18015550000',
                    dnis: '+18015559999',
                    callerName: 'JANE ROE',
                    location: 'SALT LAKE CITY, UT',
                    startTime: Date.UTC(2024, 10, 24, 21, 0, 0),
                    pendingRecordings: 1,
                },
                {
                    type: 'recording',
                    callId,
                    eventId: 'twilio:RE3333333333cccccccccccccccccccccc:completed',
                    recordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/RE3333333333cccccccccccccccccccccc',
                },
            ]);
            assert.ok(outcomes[4]!.ok && outcomes[4]!.events.length === 0, 'a recording still in progress gives no event');
        });

        it('completes busy, no-answer, failed and canceled calls with no recording to wait for', () => {
            const adapter = twilioAdapter({ recordingsPerCall: 1 });
            const body = fixture('twilio', '4-parent-completed.txt').toString();
            for (const status of ['busy', 'no-answer', 'failed', 'canceled']) {
                const [event] = accepted(
                    adapter.receive({
                        headers: { 'content-type': 'application/x-www-form-urlencoded' },
                        rawBody: Buffer.from(body.replace('CallStatus=completed', `CallStatus=${status}`)),
                    }),
                );
                assert.equal(event!.type, 'complete', status);
                assert.equal(event!.pendingRecordings, 0, status);
            }
        });

        it('names the parameter when the callback is malformed, and refuses a JSON body', () => {
            const adapter = twilioAdapter();
            const form = (body: string): WebhookRequest => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, rawBody: Buffer.from(body) });
            assert.deepEqual(refused(adapter.receive(form('CallStatus=ringing'))), { status: 400, message: 'Twilio: the callback has no "CallSid" parameter' });
            assert.match(refused(adapter.receive(form('CallSid=CA1&CallStatus=ringingg'))).message, /"CallStatus" "ringingg" is not a Twilio call status/);
            assert.match(refused(adapter.receive(form('CallSid=CA1&RecordingSid=RE1&RecordingStatus=completed'))).message, /no "RecordingUrl"/);
            assert.equal(refused(adapter.receive(jsonRequest('{"CallSid":"CA1"}'))).status, 415);
        });
    });

    describe('custom mapping', () => {
        const mapping: CustomMapping = {
            callId: 'call.uuid',
            eventType: 'event',
            eventTypes: {
                'call.ringing': 'presenting',
                'call.answered': 'connected',
                'call.ended': 'complete',
                'recording.ready': 'recording',
                'call.disposition': 'accountCodes',
                'call.heartbeat': 'ignore',
            },
            fields: {
                eventId: 'id',
                timestamp: 'occurred_at',
                direction: 'call.direction',
                externalNumber: 'call.from',
                dnis: 'call.to',
                agentName: 'agent.name',
                agentExtension: 'agent.ext',
                group: 'queue',
                tags: 'call.labels',
                accountCodes: 'dispositions',
                recordingUrl: 'recording.url',
                pendingRecordings: 'call.recordings_pending',
            },
            directions: { in: 'Inbound', out: 'Outbound' },
        };
        const sample = JSON.stringify([
            {
                id: 'e1',
                event: 'call.ringing',
                occurred_at: '2024-11-24T21:00:01Z',
                call: { uuid: 'c-1', direction: 'in', from: '+18015550000', to: '+18015559999' },
                agent: { name: 'John Doe', ext: 154 },
                queue: 'Sales',
            },
            { id: 'e2', event: 'call.heartbeat', call: { uuid: 'c-1' } },
            { id: 'e3', event: 'call.ended', occurred_at: 1732482312, call: { uuid: 'c-1', labels: 'VIP, Callback', recordings_pending: 1 } },
            { id: 'e4', event: 'recording.ready', call: { uuid: 'c-1' }, recording: { url: 'https://rec.example.com/1.mp3' } },
            { id: 'e5', event: 'call.disposition', call: { uuid: 'c-1' }, dispositions: [{ name: 'Opp Won' }, 'Large Sale'] },
            { id: 'e6', event: 'call.transferred', call: { uuid: 'c-1' } },
        ]);

        it('maps a JSON batch onto raw events and reports unmapped values and missing paths in the preview', () => {
            const result = previewCustomMapping(mapping, sample);
            assert.ok(result.ok, result.ok ? '' : result.error);
            assert.deepEqual(result.preview.events, [
                {
                    type: 'presenting',
                    callId: 'c-1',
                    eventId: 'e1',
                    timestamp: Date.UTC(2024, 10, 24, 21, 0, 1),
                    direction: 'Inbound',
                    dnis: '+18015559999',
                    externalNumber: '+18015550000',
                    agent: { name: 'John Doe', extension: '154' },
                    group: 'Sales',
                },
                { type: 'complete', callId: 'c-1', eventId: 'e3', timestamp: 1732482312000, tags: ['VIP', 'Callback'], pendingRecordings: 1 },
                { type: 'recording', callId: 'c-1', eventId: 'e4', recordingUrl: 'https://rec.example.com/1.mp3' },
                { type: 'accountCodes', callId: 'c-1', eventId: 'e5', accountCodes: ['Opp Won', 'Large Sale'] },
            ]);
            assert.deepEqual(result.preview.unmapped, ['call.transferred']);
            assert.ok(result.preview.missing.some((entry) => entry.index === 2 && entry.field === 'agentName' && entry.path === 'agent.name'));
        });

        it('gives a clear error naming the missing path', () => {
            const noCallId = JSON.stringify({ event: 'call.answered', call: {} });
            assert.deepEqual(previewCustomMapping(mapping, noCallId), { ok: false, error: 'custom mapping: no call id at "call.uuid"' });
            assert.deepEqual(previewCustomMapping(mapping, JSON.stringify([{ call: { uuid: 'x' } }, {}])), {
                ok: false,
                error: 'custom mapping: no event type at "event" in event 0',
            });
            assert.deepEqual(previewCustomMapping({ ...mapping, callId: '' }, sample), {
                ok: false,
                error: 'custom mapping: "callId" needs the path of the call\'s id in the request',
            });
            assert.match((previewCustomMapping({ ...mapping, eventTypes: { x: 'ringing' } }, sample) as { error: string }).error, /maps "x" to "ringing"/);
            assert.match(
                (previewCustomMapping(mapping, JSON.stringify({ event: 'recording.ready', call: { uuid: 'x' } })) as { error: string }).error,
                /recording event needs a recording URL, but "recording.url" is empty/,
            );
            assert.match((previewCustomMapping(mapping, '{"event":') as { error: string }).error, /not JSON/);
        });

        it('reads form bodies and checks the shared secret header', () => {
            const formMapping: CustomMapping = {
                callId: 'CallId',
                eventType: 'Status',
                eventTypes: { Ringing: 'presenting' },
                fields: { agentName: 'Agent.Name', tags: 'Tag' },
                secretHeader: 'x-webhook-secret',
            };
            const adapter: WebhookAdapter = customMappingAdapter(formMapping, { secret: 's3cret' });
            const rawBody = Buffer.from('CallId=42&Status=Ringing&Agent.Name=John+Doe&Tag=VIP&Tag=Callback');
            const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-webhook-secret': 's3cret' };
            assert.deepEqual(accepted(adapter.receive({ headers, rawBody })), [
                { type: 'presenting', callId: '42', agent: { name: 'John Doe' }, tags: ['VIP', 'Callback'] },
            ]);
            assert.equal(refused(adapter.receive({ headers: { ...headers, 'x-webhook-secret': 'guess' }, rawBody })).status, 401);
        });
    });

    describe('createWebhookAdapter', () => {
        it('builds each source and refuses settings that cannot work as config errors', () => {
            for (const source of ['aircall', 'dialpad', 'twilio'] as const) assert.equal(createWebhookAdapter({ source }).source, source);
            const configCode = (action: () => unknown) => {
                try {
                    action();
                } catch (err) {
                    assert.ok(err instanceof CodedError);
                    return err.code;
                }
                return undefined;
            };
            assert.equal(
                configCode(() => createWebhookAdapter({ source: 'custom', mapping: { eventType: 'e' } })),
                'config',
            );
            assert.equal(
                configCode(() => createWebhookAdapter({ source: 'twilio', recordingsPerCall: -1 })),
                'config',
            );
            assert.equal(
                configCode(() => createWebhookAdapter({ source: 'nope' as 'aircall' })),
                'config',
            );
            assert.equal(
                configCode(() =>
                    createWebhookAdapter({ source: 'custom', secret: 'x', mapping: { callId: 'a', eventType: 'b', eventTypes: { c: 'update' } } }),
                ),
                'config',
            );
        });
    });
});
