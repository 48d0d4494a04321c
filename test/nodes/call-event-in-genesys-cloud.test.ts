// Genesys Cloud conversation detail events, as an Amazon EventBridge API destination posts them, played through
// "call event in" over real HTTP: the node's header authentication standing in for the API destination's
// connection, the adapter, and the trigger semantics together.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { servedCallEventIn, type TriggerMessage } from '../support/served-call-event-in';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'adapters', 'genesys-cloud', name), 'utf8');
const fixtureJson = (name: string): { id: string; detail: { eventBody: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown> =>
    JSON.parse(fixture(name));

const LIFE = [
    '1-customer.start.json',
    '2-flow.start.json',
    '3-acd.start.json',
    '4-user.start.json',
    '5-acd.end.json',
    '6-user.end.json',
    '7-customer.end.json',
    '8-acw.json',
];
const CONVERSATION = '3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const USER = '5d1e6f70-8a9b-4c0d-9e1f-2a3b4c5d6e7f';
const QUEUE = '9a8b7c6d-5e4f-4a3b-9c1d-0e9f8a7b6c5d';
const WRAPUP = 'c0ffee00-1234-4abc-9def-0123456789ab';
const LATER_WRAPUP = 'c0ffee00-5678-4abc-9def-0123456789ab';
const SECOND_USER = '8b9c0d1e-2f3a-4b5c-9d6e-7f8091a2b3c4';
const TRANSFERRED = 'c0ffee00-9999-4abc-9def-0123456789ab';
const NAMES = JSON.stringify({
    [USER]: 'John Doe (154)',
    [SECOND_USER]: 'Mary Major (155)',
    [QUEUE]: 'Support',
    [WRAPUP]: 'Sale',
    [LATER_WRAPUP]: 'Sale - upgrade',
    [TRANSFERRED]: 'Transferred',
});
/** The API destination's connection: API key authorization with this header name and value. */
const API_KEY_HEADER = 'X-Api-Key';
const API_KEY = 'eventbridge-connection-api-key-0123456789';

interface Answer {
    status: number;
    contentType: string | null;
    body: unknown;
}

describe('call event in with Genesys Cloud (EventBridge API destination)', () => {
    const endpoint = servedCallEventIn();
    let base: string;
    let out: TriggerMessage[];

    async function load(props: Record<string, unknown>, secret: string): Promise<void> {
        ({ base, out } = await endpoint.load(
            { path: '/ccaas/genesys', source: 'genesys-cloud', auth: 'header', authHeader: API_KEY_HEADER, names: NAMES, ...props },
            { secret, platformSecret: '' },
        ));
    }

    /** As the API destination posts: the whole event as JSON, with the connection's authorization header. */
    async function post(body: string, headers: Record<string, string> = { [API_KEY_HEADER]: API_KEY }): Promise<Answer> {
        const response = await fetch(`${base}/ccaas/genesys`, {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
            body,
        });
        return { status: response.status, contentType: response.headers.get('content-type'), body: JSON.parse(await response.text()) };
    }

    const received = (count: number): Answer => ({ status: 200, contentType: 'application/json', body: { received: count } });

    it('a queue call life gives the exact triggers, names from the table, wrap-up codes standing in for account codes', async () => {
        await load({}, API_KEY);
        for (const name of LIFE) {
            const expected =
                name === '2-flow.start.json'
                    ? {
                          status: 200,
                          contentType: 'application/json',
                          body: { received: 0, ignored: 'Genesys Cloud flow.start: an Architect flow (IVR) segment starting carries no call field' },
                      }
                    : received(1);
            assert.deepEqual(await post(fixture(name)), expected, name);
        }
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.updateSeq ?? null, msg.call.accountCodes]),
            [
                ['presenting', null, []],
                ['connected', null, []],
                ['complete', null, []],
                ['processed', null, []],
                ['updated', 1, []],
                ['updated', 2, ['Sale']],
            ],
        );
        const processed = out[3]!.call;
        assert.deepEqual(
            {
                callId: processed.callId,
                direction: processed.direction,
                externalNumber: processed.externalNumber,
                dnis: processed.dnis,
                time: processed.time,
                agent: processed.agent,
                group: processed.group,
                answered: processed.answered,
                recordingLink: processed.recordingLink,
                recordingsMissing: processed.recordingsMissing,
            },
            {
                callId: CONVERSATION,
                direction: 'Inbound',
                externalNumber: '+13175550123',
                dnis: '+18005550100',
                time: 1732482000120,
                agent: 'John Doe (154)',
                group: 'Support',
                answered: true,
                recordingLink: [],
                recordingsMissing: undefined,
            },
        );
        assert.equal(out[0]!.call.agent, 'John Doe (154)', 'the agent alerted is on "Call is Presenting"');

        // EventBridge retries a delivery it did not see answered: the same id, dropped as a duplicate.
        assert.deepEqual(await post(fixture('8-acw.json')), received(1));
        assert.equal(out.length, 6);

        // A later wrap-up (another agent after a transfer, say) replaces the code and fires "Call is Updated".
        const later = fixtureJson('8-acw.json');
        later.id = '0d4f5e6a-7b8c-4d9e-8f01-23456789abc9';
        later.detail.eventBody = { ...later.detail.eventBody, wrapupCode: LATER_WRAPUP, eventTime: 1732482500000 };
        assert.deepEqual(await post(JSON.stringify(later)), received(1));
        assert.deepEqual(
            out.slice(6).map((msg) => [msg.event, msg.call.updateSeq, msg.call.accountCodes]),
            [['updated', 3, ['Sale - upgrade']]],
        );
    });

    it('events out of order: triggers fire as they arrive, each field keeps its latest value by eventTime', async () => {
        await load({}, API_KEY);
        const arrival = [
            '5-acd.end.json',
            '4-user.start.json',
            '7-customer.end.json',
            '6-user.end.json',
            '3-acd.start.json',
            '1-customer.start.json',
            '8-acw.json',
        ];
        for (const name of arrival) assert.deepEqual(await post(fixture(name)), received(1), name);
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['connected', 'presenting', 'complete', 'processed', 'updated', 'updated'],
        );
        const last = out[5]!.call;
        assert.deepEqual(
            [last.time, last.externalNumber, last.dnis, last.direction, last.agent, last.group, last.accountCodes],
            [1732482000120, '+13175550123', '+18005550100', 'Inbound', 'John Doe (154)', 'Support', ['Sale']],
        );
    });

    it("a transfer to another agent: the first agent's end and wrap-up do not put that agent back on the call", async () => {
        await load({}, API_KEY);
        /** Another delivery made from a fixture: its own EventBridge id, with these body fields changed. */
        const delivery = (name: string, id: string, body: Record<string, unknown>): string => {
            const event = fixtureJson(name);
            return JSON.stringify({ ...event, id, detail: { ...event.detail, eventBody: { ...event.detail.eventBody, ...body } } });
        };
        const bodies = [
            fixture('1-customer.start.json'),
            fixture('3-acd.start.json'),
            fixture('4-user.start.json'),
            fixture('5-acd.end.json'),
            // John transfers the caller straight to Mary (no queue, so Genesys reports no answer for her).
            delivery('4-user.start.json', 'e0000000-0000-4000-8000-000000000001', {
                participantId: 'e1000000-0000-4000-8000-000000000001',
                sessionId: 'e2000000-0000-4000-8000-000000000001',
                userId: SECOND_USER,
                queueId: undefined,
                eventTime: 1732482200000,
            }),
            delivery('6-user.end.json', 'e0000000-0000-4000-8000-000000000002', { disconnectType: 'TRANSFER', eventTime: 1732482200500 }),
            delivery('8-acw.json', 'e0000000-0000-4000-8000-000000000003', { wrapupCode: TRANSFERRED, eventTime: 1732482230000 }),
            fixture('7-customer.end.json'),
            delivery('8-acw.json', 'e0000000-0000-4000-8000-000000000004', {
                participantId: 'e1000000-0000-4000-8000-000000000001',
                sessionId: 'e2000000-0000-4000-8000-000000000001',
                userId: SECOND_USER,
                queueId: undefined,
                eventTime: 1732482340000,
            }),
        ];
        for (const body of bodies) assert.deepEqual(await post(body), received(1));
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent, msg.call.group, msg.call.accountCodes]),
            [
                ['presenting', 'John Doe (154)', 'Support', []],
                ['connected', 'John Doe (154)', 'Support', []],
                ['presenting', 'Mary Major (155)', 'Support', []],
                ['complete', 'Mary Major (155)', 'Support', ['Transferred']],
                ['processed', 'Mary Major (155)', 'Support', ['Transferred']],
                ['updated', 'Mary Major (155)', 'Support', ['Transferred']],
                ['updated', 'Mary Major (155)', 'Support', ['Sale']],
            ],
        );
    });

    it('without a name table the agent, group and account codes hold the Genesys ids', async () => {
        await load({ names: '' }, API_KEY);
        for (const name of LIFE) await post(fixture(name));
        const last = out[out.length - 1]!.call;
        assert.deepEqual([last.agent, last.group, last.accountCodes], [USER, QUEUE, [WRAPUP]]);
    });

    it('Basic authorization on the connection: the Authorization header checked as the shared secret', async () => {
        const basic = `Basic ${Buffer.from('eventbridge:connection-password').toString('base64')}`;
        await load({ authHeader: 'Authorization' }, basic);
        assert.deepEqual(await post(fixture('4-user.start.json'), { authorization: basic }), received(1));
        const wrong = `Basic ${Buffer.from('eventbridge:guess').toString('base64')}`;
        assert.deepEqual(await post(fixture('5-acd.end.json'), { authorization: wrong }), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: Authorization header does not match the shared secret' },
        });
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting'],
        );
    });

    it('refusals as EventBridge sees them: a wrong or missing API key, a body that is not a detail event', async () => {
        await load({}, API_KEY);
        assert.deepEqual(await post(fixture('4-user.start.json'), {}), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: missing X-Api-Key header' },
        });
        assert.deepEqual(await post(fixture('4-user.start.json'), { [API_KEY_HEADER]: 'guessed' }), {
            status: 401,
            contentType: 'application/json; charset=utf-8',
            body: { error: 'authentication failed: X-Api-Key header does not match the shared secret' },
        });
        // An input transformer that sends only the detail, and an EventBridge rule that lets other topics through.
        assert.deepEqual(await post(JSON.stringify(fixtureJson('4-user.start.json').detail)), {
            status: 400,
            contentType: 'application/json',
            body: { error: 'Genesys Cloud: the body has no "detail-type"; the API destination must send the whole EventBridge event (no input transformer)' },
        });
        assert.deepEqual(await post(JSON.stringify({ ...fixtureJson('4-user.start.json'), 'detail-type': 'v2.users.{id}.presence' })), {
            status: 400,
            contentType: 'application/json',
            body: {
                error: 'Genesys Cloud: "detail-type" "v2.users.{id}.presence" is not a conversation detail event topic (v2.detail.events.conversation.{id}.*); limit the EventBridge rule to those',
            },
        });
        assert.deepEqual(out, []);
    });

    it('a chat is answered 200 with why it was ignored, and fires nothing', async () => {
        await load({}, API_KEY);
        const chat = fixtureJson('4-user.start.json');
        chat.detail.eventBody = { ...chat.detail.eventBody, mediaType: 'CHAT' };
        assert.deepEqual(await post(JSON.stringify(chat)), {
            status: 200,
            contentType: 'application/json',
            body: { received: 0, ignored: 'Genesys Cloud user.start: mediaType CHAT is not a voice call' },
        });
        assert.deepEqual(out, []);
    });
});
