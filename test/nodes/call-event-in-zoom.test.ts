// Zoom Phone webhooks played over real HTTP into "call event in": the URL validation handshake, signed call status
// events and every refusal, as Zoom sees them (Contact Center engagements: call-event-in-zoom-contact-center.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zoomEncryptedToken, zoomSignature } from '../../src/adapters/zoom';
import { servedCallEventIn, type TriggerMessage } from '../support/served-call-event-in';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, '..', 'fixtures', 'adapters', 'zoom', name));

const SECRET = 'zoom-secret-token-for-tests';
const PATH = '/ccaas/zoom-events';

describe('call event in with Zoom webhooks', () => {
    const endpoint = servedCallEventIn();
    let base: string;
    let out: TriggerMessage[];

    async function load(platformSecret: string): Promise<void> {
        ({ base, out } = await endpoint.load({ path: PATH, source: 'zoom' }, { platformSecret }));
    }

    /** Posts as Zoom does: signed now, over the exact bytes sent. */
    function post(body: Buffer, headers: Record<string, string> = {}, secret = SECRET): Promise<Response> {
        const timestamp = String(Math.floor(Date.now() / 1000));
        return fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: {
                'content-type': 'application/json',
                'x-zm-request-timestamp': timestamp,
                'x-zm-signature': zoomSignature(secret, timestamp, body),
                ...headers,
            },
            body: new Uint8Array(body),
        });
    }

    async function answer(response: Response): Promise<{ status: number; type: string | null; body: unknown }> {
        return { status: response.status, type: response.headers.get('content-type'), body: await response.json() };
    }

    it('answers the URL validation with the plain token and its HMAC', async () => {
        await load(SECRET);
        const response = await post(fixture('url-validation.json'));
        assert.deepEqual(await answer(response), {
            status: 200,
            type: 'application/json',
            body: { plainToken: 'Ht4Z9mQ2xLr7Vb1cWp0kSg', encryptedToken: zoomEncryptedToken(SECRET, 'Ht4Z9mQ2xLr7Vb1cWp0kSg') },
        });
        assert.deepEqual(out, [], 'the handshake is no call event');
    });

    it('an inbound queue call gives the exact triggers, the recording coming after processing', async () => {
        await load(SECRET);
        const life = [
            '1-phone.callee_ringing-mary.json',
            '2-phone.callee_missed-mary.json',
            '3-phone.callee_ringing-john.json',
            '4-phone.callee_answered.json',
            '5-phone.callee_hold.json',
            '6-phone.callee_ended.json',
            '7-phone.recording_completed.json',
            '8-phone.callee_call_log_completed.json',
        ];
        const received: unknown[] = [];
        for (const name of life) {
            const { status, type, body } = await answer(await post(fixture(name)));
            assert.equal(status, 200, name);
            assert.equal(type, 'application/json');
            received.push(body);
        }
        assert.deepEqual(
            received,
            [1, 1, 1, 1, 0, 1, 1, 1].map((count) => ({ received: count })),
        );
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent, msg.call.updateSeq ?? null, msg.call.accountCodes]),
            [
                ['presenting', 'Mary Major (155)', null, []],
                ['presenting', 'John Doe (154)', null, []],
                ['connected', 'John Doe (154)', null, []],
                ['complete', 'John Doe (154)', null, []],
                ['processed', 'John Doe (154)', null, []],
                ['updated', 'John Doe (154)', 1, []],
                // The late recording, then the client code of the call log.
                ['updated', 'John Doe (154)', 2, []],
                ['updated', 'John Doe (154)', 3, ['20417']],
            ],
        );
        const last = out.at(-1)!.call;
        assert.equal(last.callId, '7219389221376593041');
        assert.equal(last.direction, 'Inbound');
        assert.equal(last.callerName, 'Jane Roe');
        assert.equal(last.dnis, '+18015551234');
        assert.equal(last.externalNumber, '+18015550000');
        assert.equal(last.group, 'Support');
        assert.equal(last.answered, true);
        assert.equal(last.time, 1732482002000, 'a queue call starts at its first event');
        assert.deepEqual(last.recordingLink, ['https://zoom.us/v2/phone/recording/download/rEc0a1b2c3d4e5f6a7b8c9d0']);
        assert.deepEqual(out[4]!.call.recordingLink, [], 'processed did not wait: the ended event cannot say a recording follows');
        // Zoom's retry of a delivery already taken fires nothing again.
        assert.equal((await post(fixture('6-phone.callee_ended.json'))).status, 200);
        assert.equal(out.length, 8);
    });

    it('an outbound call gives the exact triggers from the caller-side events', async () => {
        await load(SECRET);
        const life = [
            'outbound-1-phone.caller_ringing.json',
            'outbound-2-phone.caller_connected.json',
            'outbound-3-phone.caller_ended.json',
            'outbound-4-phone.caller_call_log_completed.json',
        ];
        for (const name of life) {
            assert.equal((await post(fixture(name))).status, 200, name);
        }
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting', 'connected', 'complete', 'processed', 'updated'],
        );
        const processed = out[3]!.call;
        assert.equal(processed.direction, 'Outbound');
        assert.equal(processed.agent, 'John Doe (154)', 'the name from ringing stays when caller_ended has only the extension');
        assert.equal(processed.externalNumber, '+12125550123');
        assert.equal(processed.callerName, 'Acme Corp');
        assert.equal(processed.duration, 180);
    });

    it('refuses unsigned, forged, tampered and stale requests with 401, naming the header', async () => {
        await load(SECRET);
        const body = fixture('4-phone.callee_answered.json');
        const unsigned = await fetch(`${base}${PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array(body) });
        assert.deepEqual(await answer(unsigned), {
            status: 401,
            type: 'application/json',
            body: { error: 'Zoom: the request has no x-zm-signature header, and a secret token is configured' },
        });
        const forged = await post(body, {}, 'another-token');
        assert.deepEqual(await answer(forged), {
            status: 401,
            type: 'application/json',
            body: { error: 'Zoom: x-zm-signature does not match this body and x-zm-request-timestamp with the configured secret token' },
        });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const tampered = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(SECRET, timestamp, body) },
            body: body.toString('utf8').replace('John Doe', 'Eve Forger'),
        });
        assert.equal(tampered.status, 401);
        const old = String(Math.floor(Date.now() / 1000) - 600);
        const replayed = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': old, 'x-zm-signature': zoomSignature(SECRET, old, body) },
            body: new Uint8Array(body),
        });
        const refusal = await answer(replayed);
        assert.equal(refusal.status, 401);
        assert.match((refusal.body as { error: string }).error, /^Zoom: x-zm-request-timestamp is 60\d s away from this server's clock/);
        const validation = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new Uint8Array(fixture('url-validation.json')),
        });
        assert.equal(validation.status, 401, 'the URL validation is verified too');
        assert.deepEqual(out, [], 'no refused request fired anything');
    });

    it('answers events it does not map with 200, so Zoom keeps sending', async () => {
        await load(SECRET);
        const engagement = Buffer.from(
            JSON.stringify({ event: 'contact_center.engagement_user_hold', event_ts: Date.now(), payload: { object: { engagement_id: 'W_VATTk' } } }),
        );
        assert.deepEqual(await answer(await post(engagement)), { status: 200, type: 'application/json', body: { received: 0 } });
        assert.deepEqual(await answer(await post(fixture('5-phone.callee_hold.json'))), { status: 200, type: 'application/json', body: { received: 0 } });
        const malformed = await answer(await post(Buffer.from('{"event":"phone.callee_ringing","payload":{"object":{}}}')));
        assert.deepEqual(malformed, { status: 400, type: 'application/json', body: { error: 'Zoom: phone.callee_ringing has no "payload.object.call_id"' } });
    });

    it('without a Platform secret: the URL validation is refused with what to do, events are taken unverified', async () => {
        await load('');
        const validation = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new Uint8Array(fixture('url-validation.json')),
        });
        assert.deepEqual(await answer(validation), {
            status: 401,
            type: 'application/json',
            body: { error: "Zoom: endpoint.url_validation cannot be answered without the app's Secret Token; enter it as the node's Platform secret" },
        });
        const unsigned = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new Uint8Array(fixture('outbound-1-phone.caller_ringing.json')),
        });
        assert.equal(unsigned.status, 200);
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting'],
        );
    });
});
