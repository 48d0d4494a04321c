import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebhookRequest } from '../../src/adapters/adapter';
import { createWebhookAdapter } from '../../src/adapters/sources';
import { zoomAdapter, zoomEncryptedToken, zoomSignature, type ZoomOptions } from '../../src/adapters/zoom';
import { accepted, ignored, refused, withoutIds } from '../support/adapter-outcomes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'zoom');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const fixtureJson = (name: string): Record<string, unknown> => JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;

const SECRET = 'zoom-secret-token-for-tests';
/** 2024-11-24T21:00:00Z, in seconds as x-zm-request-timestamp has it. */
const NOW_SECONDS = 1732482000;
const clock = (): number => NOW_SECONDS * 1000;

function signed(body: Buffer | string, timestamp = String(NOW_SECONDS), secret = SECRET): WebhookRequest {
    const rawBody = Buffer.from(body);
    return {
        headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(secret, timestamp, rawBody) },
        rawBody,
    };
}

function unsigned(body: Buffer | string, headers: Record<string, string> = {}): WebhookRequest {
    return { headers: { 'content-type': 'application/json', ...headers }, rawBody: Buffer.from(body) };
}

/** A fixture with part of its `payload.object` replaced, as compact JSON. */
function varied(name: string, change: (object: Record<string, unknown>) => void): string {
    const body = fixtureJson(name);
    change((body.payload as Record<string, unknown>).object as Record<string, unknown>);
    return JSON.stringify(body);
}

const INBOUND_LIFE = [
    '1-phone.callee_ringing-mary.json',
    '2-phone.callee_missed-mary.json',
    '3-phone.callee_ringing-john.json',
    '4-phone.callee_answered.json',
    '5-phone.callee_hold.json',
    '6-phone.callee_ended.json',
    '7-phone.recording_completed.json',
    '8-phone.callee_call_log_completed.json',
];
const OUTBOUND_LIFE = [
    'outbound-1-phone.caller_ringing.json',
    'outbound-2-phone.caller_connected.json',
    'outbound-3-phone.caller_ended.json',
    'outbound-4-phone.caller_call_log_completed.json',
];

describe('Zoom adapter', () => {
    const options: ZoomOptions = { secretToken: SECRET, now: clock };
    const adapter = zoomAdapter(options);

    describe('Zoom Phone call status events', () => {
        const inbound = {
            callId: '7219389221376593041',
            direction: 'Inbound',
            dnis: '+18015551234',
            externalNumber: '+18015550000',
            group: 'Support',
        } as const;
        const john = { name: 'John Doe', extension: '154' };

        it('plays an inbound queue call into the exact raw event sequence', () => {
            const outcomes = INBOUND_LIFE.map((name) => adapter.receive(signed(fixture(name))));
            for (const outcome of outcomes) {
                assert.deepEqual(outcome.answer, {
                    status: 200,
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify({ received: outcome.ok ? outcome.events.length : -1 }),
                });
            }
            assert.deepEqual(withoutIds(outcomes.flatMap(accepted)), [
                { type: 'presenting', ...inbound, timestamp: 1732482002000, callerName: 'Jane Roe', agent: { name: 'Mary Major', extension: '155' } },
                // Mary's miss leaves the call ringing John: no completion, and no agent to overwrite John's later.
                { type: 'update', ...inbound, timestamp: 1732482022000 },
                { type: 'presenting', ...inbound, timestamp: 1732482022500, callerName: 'Jane Roe', agent: john },
                { type: 'connected', ...inbound, timestamp: 1732482027000, callerName: 'Jane Roe', agent: john },
                { type: 'complete', ...inbound, timestamp: 1732482312000, agent: john, pendingRecordings: 0 },
                {
                    type: 'recording',
                    callId: '7219389221376593041',
                    timestamp: 1732482340000,
                    recordingUrl: 'https://zoom.us/v2/phone/recording/download/rEc0a1b2c3d4e5f6a7b8c9d0',
                },
                // The client code on the call log stands in for the account codes.
                { type: 'accountCodes', callId: '7219389221376593041', timestamp: 1732482400000, accountCodes: ['20417'] },
            ]);
            assert.match(ignored(outcomes[4]!), /^Zoom: phone\.callee_hold carries no call status change/);
        });

        it('plays an outbound call from the caller-side events', () => {
            const events = OUTBOUND_LIFE.flatMap((name) => accepted(adapter.receive(signed(fixture(name)))));
            const outbound = {
                callId: '7219389221376593099',
                direction: 'Outbound',
                dnis: '+18015551234',
                externalNumber: '+12125550123',
                startTime: 1732485600000,
            } as const;
            assert.deepEqual(withoutIds(events), [
                { type: 'presenting', ...outbound, timestamp: 1732485600000, callerName: 'Acme Corp', agent: john },
                { type: 'connected', ...outbound, timestamp: 1732485608000, callerName: 'Acme Corp', agent: john },
                // phone.caller_ended carries the caller's extension but not their name.
                { type: 'complete', ...outbound, timestamp: 1732485780000, agent: { extension: '154' }, pendingRecordings: 0 },
            ]);
            const log = adapter.receive(signed(fixture('outbound-4-phone.caller_call_log_completed.json')));
            assert.equal(ignored(log), 'Zoom: phone.caller_call_log_completed carries no client code for its calls');
        });

        it('gives every delivery its own event id and a retried delivery the same one', () => {
            const events = [...INBOUND_LIFE, ...OUTBOUND_LIFE].flatMap((name) => accepted(adapter.receive(signed(fixture(name)))));
            const ids = events.map((event) => event.eventId!);
            assert.equal(new Set(ids).size, ids.length);
            assert.ok(ids.every((id) => id.startsWith('zoom:')));
            assert.equal(ids[5], 'zoom:recording:rEc0a1b2c3d4e5f6a7b8c9d0');
            assert.equal(ids[6], 'zoom:call_log:cLoG0a1b2c3d4e5f6a7b8c9d:20417');
            // Zoom retries 5, 20 and 60 minutes later: a new signature over the same body.
            const later = zoomAdapter({ ...options, now: () => clock() + 3_600_000 });
            const retried = accepted(later.receive(signed(fixture('4-phone.callee_answered.json'), String(NOW_SECONDS + 3600))));
            assert.equal(retried[0]!.eventId, accepted(adapter.receive(signed(fixture('4-phone.callee_answered.json'))))[0]!.eventId);
        });

        it('waits for the configured recordings on an answered call only', () => {
            const recording = zoomAdapter({ ...options, recordingsPerCall: 1 });
            assert.equal(accepted(recording.receive(signed(fixture('6-phone.callee_ended.json'))))[0]!.pendingRecordings, 1);
            assert.equal(accepted(recording.receive(signed(fixture('outbound-3-phone.caller_ended.json'))))[0]!.pendingRecordings, 1);
            const unanswered = varied('outbound-3-phone.caller_ended.json', (object) => delete object.answer_start_time);
            assert.equal(accepted(recording.receive(signed(unanswered)))[0]!.pendingRecordings, 0);
            const direct = varied('2-phone.callee_missed-mary.json', (object) => delete object.forwarded_by);
            assert.equal(accepted(recording.receive(signed(direct)))[0]!.pendingRecordings, 0);
        });

        it('ends a direct call on its miss or rejection, naming the agent from the names table', () => {
            const direct = varied('2-phone.callee_missed-mary.json', (object) => delete object.forwarded_by);
            const named = zoomAdapter({ ...options, names: new Map([['uMaRy0Q9yK3bT1nS2pLwAA', 'Mary Major']]) });
            assert.deepEqual(withoutIds(accepted(named.receive(signed(direct)))), [
                {
                    type: 'complete',
                    callId: '7219389221376593041',
                    timestamp: 1732482022000,
                    direction: 'Inbound',
                    dnis: '+18015551234',
                    externalNumber: '+18015550000',
                    startTime: Date.parse('2024-11-24T21:00:02Z'),
                    agent: { name: 'Mary Major', extension: '155' },
                    pendingRecordings: 0,
                },
            ]);
            const rejected = JSON.stringify({ ...JSON.parse(direct), event: 'phone.callee_rejected' });
            const [event] = accepted(adapter.receive(signed(rejected)));
            assert.equal(event!.type, 'complete');
            assert.deepEqual(event!.agent, { extension: '155' }, 'without a names entry only the extension is known');
        });

        it('takes a queue that is itself the callee as the group, not an agent, and ends the call on its miss', () => {
            const asQueue = (name: string) =>
                varied(name, (object) => {
                    object.callee = { extension_type: 'callQueue', name: 'Support', phone_number: '+18015551234', extension_number: 800 };
                    delete object.forwarded_by;
                });
            const [ringing] = accepted(adapter.receive(signed(asQueue('1-phone.callee_ringing-mary.json'))));
            assert.deepEqual(withoutIds([ringing!]), [{ type: 'update', ...inbound, timestamp: 1732482002000, callerName: 'Jane Roe' }]);
            const [missed] = accepted(adapter.receive(signed(asQueue('2-phone.callee_missed-mary.json'))));
            assert.deepEqual(withoutIds([missed!]), [{ type: 'complete', ...inbound, timestamp: 1732482022000, pendingRecordings: 0 }]);
        });

        it('calls a call between two extensions of the account Internal', () => {
            const internal = varied('outbound-1-phone.caller_ringing.json', (object) => {
                object.callee = { extension_type: 'user', name: 'Mary Major', extension_number: 155, phone_number: '+18015551235' };
            });
            const [event] = accepted(adapter.receive(signed(internal)));
            assert.equal(event!.direction, 'Internal');
            assert.equal(event!.callerName, 'Mary Major');
        });

        it('answers events it does not map with 200 and the reason, so Zoom keeps the subscription', () => {
            // Zoom Contact Center events come to the same endpoint; those it does not map are answered the same way
            // (the mapped ones: adapters-zoom-contact-center.test.ts).
            const engagement = JSON.stringify({
                event: 'contact_center.engagement_user_hold',
                event_ts: 1732482000000,
                payload: { account_id: 'Qx3aXyP1Q-2R5xJ0d7kWmA', object: { engagement_id: 'W_VATTk_Q5aW6z5rZtBxAQ', channel: 'voice' } },
            });
            const outcome = adapter.receive(signed(engagement));
            assert.match(ignored(outcome), /^Zoom Contact Center: contact_center\.engagement_user_hold carries no call change this node maps/);
            assert.deepEqual(outcome.answer, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":0}' });
            for (const event of ['constructor', '__proto__', 'phone.callee_call_history_completed']) {
                assert.match(ignored(adapter.receive(signed(JSON.stringify({ event, payload: {} })))), /carries no call status change/);
            }
        });

        it('puts each recording on its call and passes over one without a call id', () => {
            const two = varied('7-phone.recording_completed.json', (object) => {
                const first = (object.recordings as Record<string, unknown>[])[0]!;
                object.recordings = [
                    first,
                    { ...first, id: 'rEcSecond', call_id: undefined },
                    { ...first, id: 'rEcThird', download_url: 'https://zoom.us/v2/phone/recording/download/rEcThird' },
                ];
            });
            assert.deepEqual(
                accepted(adapter.receive(signed(two))).map((event) => [event.eventId, event.recordingUrl]),
                [
                    ['zoom:recording:rEc0a1b2c3d4e5f6a7b8c9d0', 'https://zoom.us/v2/phone/recording/download/rEc0a1b2c3d4e5f6a7b8c9d0'],
                    ['zoom:recording:rEcThird', 'https://zoom.us/v2/phone/recording/download/rEcThird'],
                ],
            );
            const orphan = varied('7-phone.recording_completed.json', (object) => {
                for (const recording of object.recordings as Record<string, unknown>[]) delete recording.call_id;
            });
            assert.match(ignored(adapter.receive(signed(orphan))), /names no "call_id"/);
        });

        it('names the field when the body is malformed', () => {
            const cases: [string, RegExp][] = [
                ['{"event": ', /not JSON/],
                ['[]', /not a JSON object/],
                ['{"payload": {}}', /"event"/],
                ['{"event": "phone.callee_ringing"}', /"payload" object/],
                ['{"event": "phone.callee_ringing", "payload": {"object": 5}}', /"payload\.object" object/],
                [varied('4-phone.callee_answered.json', (object) => delete object.call_id), /"payload\.object\.call_id"/],
                [
                    varied('4-phone.callee_answered.json', (object) => (object.callee = 'John')),
                    /"payload\.object\.callee" of phone\.callee_answered is not an object/,
                ],
                [varied('7-phone.recording_completed.json', (object) => (object.recordings = {})), /"payload\.object\.recordings" array/],
                [
                    varied('7-phone.recording_completed.json', (object) => delete (object.recordings as Record<string, unknown>[])[0]!.download_url),
                    /"payload\.object\.recordings\[0\]" of phone\.recording_completed has no "download_url"/,
                ],
                [varied('8-phone.callee_call_log_completed.json', (object) => delete object.call_logs), /"payload\.object\.call_logs" array/],
                [
                    varied('8-phone.callee_call_log_completed.json', (object) => delete (object.call_logs as Record<string, unknown>[])[0]!.call_id),
                    /"payload\.object\.call_logs\[0\]" of phone\.callee_call_log_completed has no "call_id"/,
                ],
            ];
            for (const [body, message] of cases) {
                const refusal = refused(adapter.receive(signed(body)));
                assert.equal(refusal.status, 400, body);
                assert.match(refusal.message, message);
            }
        });
    });

    describe('the URL validation handshake', () => {
        it('answers with the plain token and its HMAC-SHA256, keyed with the secret token', () => {
            const outcome = adapter.receive(signed(fixture('url-validation.json')));
            assert.ok(outcome.ok);
            assert.deepEqual(outcome.events, []);
            assert.match(outcome.ignored ?? '', /URL validation was answered/);
            // Computed apart with `printf 'Ht4Z9mQ2xLr7Vb1cWp0kSg' | openssl dgst -sha256 -hmac 'zoom-secret-token-for-tests'`.
            const encryptedToken = '1f5420188cdf16f47405d8bb17a8382fd448fcb2d776360a3f29924993f55f49';
            assert.equal(zoomEncryptedToken(SECRET, 'Ht4Z9mQ2xLr7Vb1cWp0kSg'), encryptedToken);
            assert.deepEqual(outcome.answer, {
                status: 200,
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ plainToken: 'Ht4Z9mQ2xLr7Vb1cWp0kSg', encryptedToken }),
            });
        });

        it('cannot be answered without a secret token, and says to set the Platform secret', () => {
            assert.deepEqual(refused(zoomAdapter({ now: clock }).receive(unsigned(fixture('url-validation.json')))), {
                status: 401,
                message: "Zoom: endpoint.url_validation cannot be answered without the app's Secret Token; enter it as the node's Platform secret",
            });
        });

        it('is verified like any other request', () => {
            const refusal = refused(adapter.receive(unsigned(fixture('url-validation.json'))));
            assert.equal(refusal.status, 401);
            assert.match(refusal.message, /x-zm-signature/);
            assert.equal(refused(adapter.receive(signed(fixture('url-validation.json'), String(NOW_SECONDS), 'another-token'))).status, 401);
        });

        it('refuses a plain token that is missing or too long', () => {
            assert.match(refused(adapter.receive(signed('{"event":"endpoint.url_validation","payload":{}}'))).message, /"payload\.plainToken"/);
            const long = JSON.stringify({ event: 'endpoint.url_validation', payload: { plainToken: 'x'.repeat(1025) } });
            assert.match(refused(adapter.receive(signed(long))).message, /longer than 1024/);
        });
    });

    describe('x-zm-signature', () => {
        const body = fixture('4-phone.callee_answered.json');

        it('is v0= and the hex HMAC-SHA256 of v0:{timestamp}:{raw body}', () => {
            // Computed apart with `printf 'v0:1732482000:{"event":"phone.callee_hold"}' | openssl dgst -sha256 -hmac ...`.
            assert.equal(
                zoomSignature(SECRET, '1732482000', '{"event":"phone.callee_hold"}'),
                'v0=5013c35ffff31434266d49518d1745aa96f17c796a2dbd480a893d0a9b9efdf2',
            );
        });

        it('refuses a missing, wrong or forged signature, naming the header', () => {
            const { 'x-zm-signature': _signature, ...withoutSignature } = signed(body).headers;
            assert.deepEqual(refused(adapter.receive({ headers: withoutSignature, rawBody: body })), {
                status: 401,
                message: 'Zoom: the request has no x-zm-signature header, and a secret token is configured',
            });
            assert.deepEqual(refused(adapter.receive(signed(body, String(NOW_SECONDS), 'another-token'))), {
                status: 401,
                message: 'Zoom: x-zm-signature does not match this body and x-zm-request-timestamp with the configured secret token',
            });
            const request = signed(body);
            const tampered = Buffer.from(body.toString('utf8').replace('John Doe', 'Eve Forger'));
            assert.equal(refused(adapter.receive({ headers: request.headers, rawBody: tampered })).status, 401);
            const truncated = { ...request.headers, 'x-zm-signature': String(request.headers['x-zm-signature']).slice(0, 40) };
            assert.equal(refused(adapter.receive({ headers: truncated, rawBody: body })).status, 401);
        });

        it('covers the raw bytes, not the JSON they parse to', () => {
            const compactBody = JSON.stringify(JSON.parse(body.toString('utf8')));
            assert.notEqual(compactBody, body.toString('utf8'));
            const request = signed(body);
            assert.equal(refused(adapter.receive({ headers: request.headers, rawBody: Buffer.from(compactBody) })).status, 401);
            // Bytes that are not UTF-8 are signed as they are.
            const latin1 = Buffer.concat([Buffer.from('{"event":"phone.callee_hold","x":"'), Buffer.from([0xe9]), Buffer.from('"}')]);
            assert.equal(ignored(adapter.receive(signed(latin1))).startsWith('Zoom: phone.callee_hold'), true);
        });

        it('refuses a timestamp outside the tolerance, so a captured request cannot be replayed later', () => {
            const at = (seconds: number) => adapter.receive(signed(body, String(seconds)));
            assert.equal(accepted(at(NOW_SECONDS - 299)).length, 1);
            assert.equal(accepted(at(NOW_SECONDS + 299)).length, 1);
            assert.deepEqual(refused(at(NOW_SECONDS - 301)), {
                status: 401,
                message:
                    "Zoom: x-zm-request-timestamp is 301 s away from this server's clock, more than the tolerance of 300 s (a replayed request, or a clock out of sync)",
            });
            assert.equal(refused(at(NOW_SECONDS + 301)).status, 401);
            // Milliseconds are not seconds: far in the future.
            assert.match(refused(at(NOW_SECONDS * 1000)).message, /x-zm-request-timestamp/);
            const narrow = zoomAdapter({ ...options, toleranceSeconds: 10 });
            assert.equal(refused(narrow.receive(signed(body, String(NOW_SECONDS - 11)))).status, 401);
        });

        it('refuses a missing or malformed timestamp, naming the header', () => {
            const request = signed(body);
            const { 'x-zm-request-timestamp': _timestamp, ...withoutTimestamp } = request.headers;
            assert.match(refused(adapter.receive({ headers: withoutTimestamp, rawBody: body })).message, /no x-zm-request-timestamp header/);
            for (const timestamp of ['1732482000.5', '-1', 'now', '1e9']) {
                const headers = { ...request.headers, 'x-zm-request-timestamp': timestamp };
                assert.deepEqual(refused(adapter.receive({ headers, rawBody: body })), {
                    status: 401,
                    message: 'Zoom: x-zm-request-timestamp is not a whole number of seconds',
                });
            }
        });

        it('is not checked without a secret token (the node help says so)', () => {
            const open = zoomAdapter({ now: clock });
            assert.equal(accepted(open.receive(unsigned(body))).length, 1);
            assert.equal(accepted(open.receive(unsigned(body, { 'x-zm-signature': 'v0=forged', 'x-zm-request-timestamp': '1' }))).length, 1);
        });
    });

    it('is built from the node settings with the Platform secret as its secret token', () => {
        const built = createWebhookAdapter({ source: 'zoom', secret: SECRET });
        assert.equal(built.source, 'zoom');
        const fresh = signed(fixture('url-validation.json'), String(Math.floor(Date.now() / 1000)));
        assert.equal(built.receive(fresh).answer.status, 200);
        assert.equal(built.receive(unsigned(fixture('url-validation.json'))).answer.status, 401);
    });

    it('refuses options that cannot work', () => {
        assert.throws(() => zoomAdapter({ toleranceSeconds: 0 }), RangeError);
        assert.throws(() => zoomAdapter({ toleranceSeconds: Number.NaN }), RangeError);
        assert.throws(() => zoomAdapter({ recordingsPerCall: -1 }), RangeError);
        assert.throws(() => zoomAdapter({ recordingsPerCall: 1.5 }), RangeError);
    });
});
