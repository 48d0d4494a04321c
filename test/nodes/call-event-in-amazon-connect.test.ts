// Amazon Connect contact events played through "call event in" over real HTTP, as an EventBridge API destination
// posts them: the whole event as the JSON body, authenticated by the connection's API key header or Basic
// credentials, which the node checks with its own shared-secret-header authentication.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { servedCallEventIn, type TriggerMessage } from '../support/served-call-event-in';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'adapters', 'amazon-connect', name), 'utf8');

const INSTANCE = 'arn:aws:connect:us-east-1:111122223333:instance/9c1f6b2e-7d3a-4f5b-8e21-3a4b5c6d7e8f';
const AGENT_1 = `${INSTANCE}/agent/5d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a`;
const SALES = `${INSTANCE}/queue/7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d`;
const CONTACT = '3f5e1a2b-8c4d-4e6f-9a7b-1c2d3e4f5a6b';
const NAMES = JSON.stringify({
    [AGENT_1]: 'John Doe',
    '8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b': 'Mary Major',
    [SALES]: 'Sales',
    [`${INSTANCE}/queue/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e`]: 'Billing',
});
const LIFE = ['1-initiated.json', '2-queued.json', '3-connected-to-agent.json', '4-disconnected.json', '5-contact-data-updated.json', '6-completed.json'];
const API_KEY = 'a-long-random-api-key-value-for-tests';
// What EventBridge sends for a Basic connection of username "eventbridge" and password "s3cret-for-tests".
const BASIC = `Basic ${Buffer.from('eventbridge:s3cret-for-tests').toString('base64')}`;

interface Answer {
    status: number;
    contentType: string | null;
    body: unknown;
}

describe('call event in with Amazon Connect contact events (EventBridge API destination)', () => {
    const endpoint = servedCallEventIn();
    let base: string;
    let out: TriggerMessage[];

    // The call ids repeat between tests: each starts with no tracked state.

    async function load(props: Record<string, unknown>, secret: string): Promise<void> {
        ({ base, out } = await endpoint.load({ path: '/ccaas/connect-events', source: 'amazon-connect', auth: 'header', ...props }, { secret }));
    }

    /** A POST as an API destination makes it (EventBridge User Guide, "Headers included in requests"). */
    async function post(body: string, auth: Record<string, string>): Promise<Answer> {
        const response = await fetch(`${base}/ccaas/connect-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Amazon/EventBridge/ApiDestinations', ...auth },
            body,
        });
        return { status: response.status, contentType: response.headers.get('content-type'), body: JSON.parse(await response.text()) };
    }

    it('API key connection: a call life gives the exact triggers, with names from the table and tags as account codes', async () => {
        await load({ authHeader: 'X-Webhook-Secret', names: NAMES }, API_KEY);
        const received: unknown[] = [];
        for (const name of LIFE) {
            const answer = await post(fixture(name), { 'x-webhook-secret': API_KEY });
            assert.equal(answer.status, 200, name);
            assert.equal(answer.contentType, 'application/json');
            received.push(answer.body);
        }
        assert.deepEqual(received, [{ received: 1 }, { received: 1 }, { received: 2 }, { received: 3 }, { received: 3 }, { received: 3 }]);
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.updateSeq ?? null, msg.call.accountCodes]),
            [
                ['connected', null, []],
                ['complete', null, []],
                ['processed', null, []],
                ['updated', 1, []],
                ['updated', 2, ['CallReason=Billing', 'Outcome=Resolved']],
            ],
        );
        assert.deepEqual(
            out.map((msg) => msg.topic),
            ['Call is Connected', 'Call is Complete', 'Call and Recordings Processed', 'Call is Updated', 'Call is Updated'],
        );
        const processed = out[2]!.call;
        assert.equal(processed.callId, CONTACT);
        assert.equal(processed.direction, 'Inbound');
        assert.equal(processed.dnis, '+18005550199');
        assert.equal(processed.time, Date.parse('2024-11-25T14:00:00.000Z'));
        assert.equal(processed.agent, 'John Doe');
        assert.equal(processed.group, 'Sales');
        assert.equal(processed.answered, true);
        assert.equal(processed.duration, 312);
        assert.deepEqual(processed.recordingLink, [], 'contact events carry no recording link');
        assert.equal(processed.externalNumber, undefined, "contact events do not carry the caller's number");

        // EventBridge retrying a delivery it timed out on: answered the same, and nothing fires again.
        assert.deepEqual(await post(fixture('4-disconnected.json'), { 'x-webhook-secret': API_KEY }), {
            status: 200,
            contentType: 'application/json',
            body: { received: 3 },
        });
        assert.equal(out.length, 5);
    });

    it('refuses a request without the API key, or with another, as the node does for any source', async () => {
        await load({ authHeader: 'X-Webhook-Secret', names: NAMES }, API_KEY);
        assert.deepEqual(await post(fixture('3-connected-to-agent.json'), {}), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: missing X-Webhook-Secret header' },
        });
        assert.deepEqual(await post(fixture('3-connected-to-agent.json'), { 'x-webhook-secret': `${API_KEY}x` }), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: X-Webhook-Secret header does not match the shared secret' },
        });
        assert.deepEqual(out, []);
    });

    it('answers what it does not use 200 with the reason, and refuses what is not a contact event with 400', async () => {
        await load({ authHeader: 'X-Webhook-Secret', names: NAMES }, API_KEY);
        const key = { 'x-webhook-secret': API_KEY };
        assert.deepEqual(await post(fixture('chat-contact-data-updated.json'), key), {
            status: 200,
            contentType: 'application/json',
            body: { received: 0, ignored: 'a CHAT contact: only voice contacts are calls' },
        });
        assert.deepEqual(await post(fixture('monitor-connected-to-agent.json'), key), {
            status: 200,
            contentType: 'application/json',
            body: {
                received: 0,
                ignored: 'a supervisor monitoring a call (initiation method MONITOR): its agent is the supervisor, not the one on the call',
            },
        });
        assert.deepEqual(await post(fixture('contact-lens-rules-matched.json'), key), {
            status: 400,
            contentType: 'application/json',
            body: {
                error: 'Amazon Connect: "detail-type" is "Contact Lens Post Call Rules Matched", expected "Amazon Connect Contact Event" (narrow the rule\'s event pattern to contact events)',
            },
        });
        // An input transformer that passes on only the detail.
        const detailOnly = JSON.stringify((JSON.parse(fixture('3-connected-to-agent.json')) as { detail: unknown }).detail);
        assert.deepEqual(await post(detailOnly, key), {
            status: 400,
            contentType: 'application/json',
            body: {
                error: 'Amazon Connect: "source" is undefined, expected "aws.connect" (the API destination must get the whole EventBridge event: no input transformer)',
            },
        });
        assert.deepEqual(out, []);
    });

    it('Basic connection: the Authorization header checked whole; without a name table the placeholders hold the ARNs', async () => {
        await load({ authHeader: 'Authorization' }, BASIC);
        for (const name of LIFE.slice(0, 4)) assert.equal((await post(fixture(name), { authorization: BASIC })).status, 200, name);
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent, msg.call.group]),
            [
                ['connected', AGENT_1, SALES],
                ['complete', AGENT_1, SALES],
                ['processed', AGENT_1, SALES],
                ['updated', AGENT_1, SALES],
            ],
        );
        const wrongPassword = `Basic ${Buffer.from('eventbridge:guess').toString('base64')}`;
        assert.deepEqual(await post(fixture('5-contact-data-updated.json'), { authorization: wrongPassword }), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: Authorization header does not match the shared secret' },
        });
        assert.equal(out.length, 4);
    });

    it('a transferred call is one call per contact, tied to the first by reportCallId', async () => {
        await load({ authHeader: 'X-Webhook-Secret', names: NAMES }, API_KEY);
        const life = [
            ...LIFE.slice(0, 3),
            'transfer-1-initiated.json',
            'transfer-2-first-contact-disconnected.json',
            'transfer-3-queued.json',
            'transfer-4-connected-to-agent.json',
            'transfer-5-disconnected.json',
        ];
        for (const name of life) assert.equal((await post(fixture(name), { 'x-webhook-secret': API_KEY })).status, 200, name);
        // Connect ends the first contact at the transfer, with a DISCONNECTED nothing tells from a hang-up: that
        // contact completes then; the second one completes when the customer hangs up.
        const SECOND = '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d';
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.callId, msg.call.reportCallId, msg.call.agent, msg.call.group]),
            [
                ['connected', CONTACT, CONTACT, 'John Doe', 'Sales'],
                ['complete', CONTACT, CONTACT, 'John Doe', 'Sales'],
                ['processed', CONTACT, CONTACT, 'John Doe', 'Sales'],
                ['updated', CONTACT, CONTACT, 'John Doe', 'Sales'],
                ['connected', SECOND, CONTACT, 'Mary Major', 'Billing'],
                ['complete', SECOND, CONTACT, 'Mary Major', 'Billing'],
                ['processed', SECOND, CONTACT, 'Mary Major', 'Billing'],
                ['updated', SECOND, CONTACT, 'Mary Major', 'Billing'],
            ],
        );
    });
});
