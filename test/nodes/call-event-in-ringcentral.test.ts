// RingCentral telephony session notifications played over real HTTP into "call event in": the Validation-Token
// handshake, the Verification-Token of every request, a call life and every refusal, as RingCentral sees them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { servedCallEventIn, type TriggerMessage } from '../support/served-call-event-in';

const FOLDER = join(__dirname, '..', 'fixtures', 'adapters', 'ringcentral');
const fixtureJson = (name: string): Record<string, any> => JSON.parse(readFileSync(join(FOLDER, name), 'utf8'));

const TOKEN = 'rc-verification-token-0123456789abcdef';
const PATH = '/ccaas/ringcentral-events';

const INBOUND_LIFE = [
    '01-caller-setup.json',
    '02-ivr-setup.json',
    '03-caller-answered-by-ivr.json',
    '04-ivr-disconnected.json',
    '05-agent-setup.json',
    '06-agent-proceeding.json',
    '07-agent-answered.json',
    '08-agent-hold.json',
    '09-agent-unhold.json',
    '10-agent-blind-transfer.json',
    '11-second-agent-setup.json',
    '12-second-agent-proceeding.json',
    '13-second-agent-answered.json',
    '14-second-agent-disconnected.json',
    '15-caller-disconnected.json',
];
const OUTBOUND_LIFE = [
    'outbound-01-agent-setup.json',
    'outbound-02-customer-proceeding.json',
    'outbound-03-agent-proceeding.json',
    'outbound-04-customer-answered.json',
    'outbound-05-agent-answered.json',
    'outbound-06-agent-disconnected.json',
    'outbound-07-customer-disconnected.json',
];

/**
 * The fixtures of one call life as JSON text, their dates moved together so that the last happened a second ago:
 * the adapter ignores notifications over an hour old (replays), and the node runs on the real clock.
 */
function lifeNow(names: string[]): Map<string, string> {
    const notifications = names.map((name) => [name, fixtureJson(name)] as const);
    const last = Date.parse(notifications.at(-1)![1].body.eventTime);
    const shift = Date.now() - 1000 - last;
    const moved = (iso: string): string => new Date(Date.parse(iso) + shift).toISOString();
    return new Map(
        notifications.map(([name, notification]) => {
            notification.timestamp = moved(notification.timestamp);
            notification.body.eventTime = moved(notification.body.eventTime);
            return [name, JSON.stringify(notification)];
        }),
    );
}

interface Seen {
    status: number;
    type: string | null;
    validationToken: string | null;
    body: string;
}

describe('call event in with RingCentral telephony session notifications', () => {
    const endpoint = servedCallEventIn();
    let base: string;
    let out: TriggerMessage[];

    async function load(platformSecret: string): Promise<void> {
        ({ base, out } = await endpoint.load({ path: PATH, source: 'ringcentral' }, { platformSecret }));
    }

    /** Posts as RingCentral's webhook client does, and reads the answer the way it sees it. */
    async function post(body: string, headers: Record<string, string> = { 'verification-token': TOKEN }): Promise<Seen> {
        const response = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=UTF-8', 'user-agent': 'RingCentral-Webhook/8.3', ...headers },
            body,
        });
        const text = await response.text();
        return {
            status: response.status,
            type: response.headers.get('content-type'),
            validationToken: response.headers.get('validation-token'),
            body: text,
        };
    }

    describe('the Validation-Token request that creates the subscription', () => {
        const validation = fixtureJson('validation-request.json') as { headers: Record<string, string>; body: string };

        it('is answered 200, the same Validation-Token header, an empty body, no event', async () => {
            await load(TOKEN);
            const seen = await post(validation.body, validation.headers);
            assert.deepEqual(seen, { status: 200, type: 'application/json', validationToken: 'wtdwi2y88489yr34iwegsekshwekfhsdfh', body: '' });
            assert.deepEqual(out, [], 'the handshake is no call event');
        });

        it('is refused 401 without the Verification-Token the subscription was created with', async () => {
            await load(TOKEN);
            const { 'verification-token': _token, ...unverified } = validation.headers;
            const seen = await post(validation.body, unverified);
            assert.deepEqual(seen, {
                status: 401,
                type: 'application/json',
                validationToken: null,
                body: JSON.stringify({
                    error: 'RingCentral: the request has no Verification-Token header; create the subscription with deliveryMode.verificationToken set to the Platform secret',
                }),
            });
        });

        it('is answered without one when no Platform secret is set', async () => {
            await load('');
            const { 'verification-token': _token, ...unverified } = validation.headers;
            const seen = await post(validation.body, unverified);
            assert.equal(seen.status, 200);
            assert.equal(seen.validationToken, 'wtdwi2y88489yr34iwegsekshwekfhsdfh');
        });
    });

    it('an inbound call through an IVR menu and a transfer gives the exact triggers', async () => {
        await load(TOKEN);
        const life = lifeNow(INBOUND_LIFE);
        // RingCentral retries what it thinks failed: the answer's notification comes twice.
        const deliveries = [...INBOUND_LIFE.slice(0, 7), '07-agent-answered.json', ...INBOUND_LIFE.slice(7)];
        for (const name of deliveries) {
            const seen = await post(life.get(name)!);
            assert.deepEqual([seen.status, seen.type, seen.body], [200, 'application/json', '{"received":1}'], name);
        }
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent ?? null]),
            [
                ['presenting', 'John Doe'],
                ['connected', 'John Doe'],
                ['presenting', 'Mary Major'],
                ['connected', 'Mary Major'],
                ['complete', 'Mary Major'],
                ['processed', 'Mary Major'],
                ['updated', 'Mary Major'],
            ],
        );
        const processed = out[5]!.call;
        assert.equal(processed.callId, 's-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21');
        assert.equal(processed.reportCallId, '460123456008');
        assert.equal(processed.direction, 'Inbound');
        assert.equal(processed.callerName, 'JANE ROE');
        assert.equal(processed.externalNumber, '+16505550142');
        assert.equal(processed.dnis, '+18005550100');
        assert.equal(processed.answered, true);
        assert.equal(processed.duration, 457);
        assert.deepEqual(processed.recordingLink, []);
        assert.deepEqual(processed.accountCodes, []);
        assert.equal(out[0]!.topic, 'Call is Presenting');
    });

    it('an outbound call an agent places gives presenting, connected with the agent, and one complete', async () => {
        await load(TOKEN);
        const life = lifeNow(OUTBOUND_LIFE);
        for (const name of OUTBOUND_LIFE) assert.equal((await post(life.get(name)!)).status, 200, name);
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent ?? null, msg.call.direction]),
            [
                ['presenting', null, 'Outbound'],
                ['connected', 'John Doe', 'Outbound'],
                ['complete', 'John Doe', 'Outbound'],
                ['processed', 'John Doe', 'Outbound'],
                ['updated', 'John Doe', 'Outbound'],
            ],
        );
        assert.equal(out[3]!.call.externalNumber, '+14155550199');
    });

    it('refuses what is not from RingCentral, and answers 200 to what carries nothing for the call model', async () => {
        await load(TOKEN);
        const life = lifeNow(INBOUND_LIFE);
        const body = life.get('06-agent-proceeding.json')!;
        const error = (message: string): string => JSON.stringify({ error: message });

        const forged = await post(body, { 'verification-token': 'guessed' });
        assert.deepEqual(
            [forged.status, forged.type, forged.body],
            [401, 'application/json', error('RingCentral: the Verification-Token header does not match the configured verification token')],
        );
        const unverified = await post(body, {});
        assert.equal(unverified.status, 401);
        assert.match(unverified.body, /no Verification-Token header/);

        const broken = await post('{"event": ');
        assert.equal(broken.status, 400);
        assert.match(broken.body, /not JSON/);
        const noSession = JSON.parse(body);
        delete noSession.body.telephonySessionId;
        assert.deepEqual([(await post(JSON.stringify(noSession))).body], [error('RingCentral: the notification has no "body.telephonySessionId" (the call)')]);

        const presence = JSON.stringify({
            uuid: '5810000000999999999',
            event: '/restapi/v1.0/account/~/extension/~/presence',
            timestamp: new Date().toISOString(),
            body: { telephonyStatus: 'Ringing' },
        });
        const stale = JSON.parse(body);
        stale.body.eventTime = new Date(Date.now() - 2 * 60 * 60_000).toISOString();
        for (const ignored of [presence, JSON.stringify(stale)]) {
            const seen = await post(ignored);
            assert.deepEqual([seen.status, seen.body], [200, '{"received":0}']);
        }
        assert.deepEqual(out, [], 'nothing refused or ignored fired a trigger');
    });
});
