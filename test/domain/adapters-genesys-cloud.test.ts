import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterOutcome, WebhookRequest } from '../../src/adapters/adapter';
import { genesysCloudAdapter } from '../../src/adapters/genesys-cloud';
import { parseNameTable } from '../../src/adapters/name-table';
import { createWebhookAdapter } from '../../src/adapters/sources';
import { accepted, ignored, refused } from '../support/adapter-outcomes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'genesys-cloud');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
/** A fixture as an object, to make a variant of it. */
type EventBridgeEvent = Record<string, unknown> & { detail: { topicName: string; eventBody: Record<string, unknown> } & Record<string, unknown> };
const fixtureJson = (name: string): EventBridgeEvent => JSON.parse(fixture(name).toString('utf8')) as EventBridgeEvent;

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
const NAMES = parseNameTable(JSON.stringify({ [USER]: 'John Doe (154)', [QUEUE]: 'Support', [WRAPUP]: 'Sale' }));

function request(body: Buffer | string | object): WebhookRequest {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return { headers: { 'content-type': 'application/json; charset=utf-8', 'x-api-key': 'not read by the adapter' }, rawBody: raw };
}

/** The reason nothing came of a request, checked against the answer body too. */
function ignoredWithBody(outcome: AdapterOutcome): string {
    const reason = ignored(outcome);
    assert.deepEqual(JSON.parse(outcome.answer.body), { received: 0, ignored: reason });
    return reason;
}

/** A variant of a fixture's event body, delivered as another EventBridge event. */
function variant(name: string, body: Record<string, unknown>, envelope: Record<string, unknown> = {}): EventBridgeEvent {
    const event = fixtureJson(name);
    return { ...event, ...envelope, detail: { ...event.detail, eventBody: { ...event.detail.eventBody, ...body } } };
}

describe('Genesys Cloud adapter (conversation detail events through Amazon EventBridge)', () => {
    const adapter = genesysCloudAdapter({ names: NAMES });
    const inbound = { callId: CONVERSATION, direction: 'Inbound' } as const;
    const numbers = { externalNumber: '+13175550123', dnis: '+18005550100' } as const;
    const agent = { name: 'John Doe (154)' };

    it('plays an inbound queue call into the exact raw event sequence, names from the table', () => {
        const outcomes = LIFE.map((name) => adapter.receive(request(fixture(name))));
        for (const [index, outcome] of outcomes.entries()) {
            if (index === 1) continue;
            assert.deepEqual(outcome.answer, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":1}' }, LIFE[index]);
        }
        assert.equal(ignoredWithBody(outcomes[1]!), 'Genesys Cloud flow.start: an Architect flow (IVR) segment starting carries no call field');
        assert.deepEqual(outcomes.flatMap(accepted), [
            {
                type: 'update',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc1',
                timestamp: 1732482000120,
                ...numbers,
                startTime: 1732482000120,
            },
            {
                type: 'update',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc3',
                timestamp: 1732482021400,
                ...numbers,
                group: 'Support',
            },
            {
                type: 'presenting',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc4',
                timestamp: 1732482021650,
                agent,
                group: 'Support',
            },
            {
                type: 'connected',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc5',
                timestamp: 1732482029900,
                ...numbers,
                agent,
                group: 'Support',
            },
            { type: 'update', ...inbound, eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc6', timestamp: 1732482312700 },
            {
                type: 'complete',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc7',
                timestamp: 1732482312500,
                ...numbers,
                pendingRecordings: 0,
            },
            {
                type: 'accountCodes',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc8',
                timestamp: 1732482345000,
                accountCodes: ['Sale'],
            },
        ]);
    });

    it('without a name table the agent, group and wrap-up code hold the ids themselves', () => {
        const bare = genesysCloudAdapter();
        const [connected] = accepted(bare.receive(request(fixture('5-acd.end.json'))));
        assert.deepEqual([connected!.agent, connected!.group], [{ name: USER }, QUEUE]);
        assert.deepEqual(accepted(bare.receive(request(fixture('8-acw.json'))))[0]!.accountCodes, [WRAPUP]);
    });

    it('is what the node builds for source genesys-cloud, with the names it was given', () => {
        const built = createWebhookAdapter({ source: 'genesys-cloud', names: NAMES });
        assert.equal(built.source, 'genesys-cloud');
        assert.deepEqual(accepted(built.receive(request(fixture('8-acw.json'))))[0]!.accountCodes, ['Sale']);
    });

    it("gives EventBridge's retry of a delivery the same event id, and every other delivery its own", () => {
        const first = accepted(adapter.receive(request(fixture('4-user.start.json'))))[0]!;
        const retry = accepted(adapter.receive(request(fixture('4-user.start.json'))))[0]!;
        assert.equal(retry.eventId, first.eventId);
        // Another EventBridge event with the same body is another delivery (e.g. a second alert of the agent).
        const another = accepted(adapter.receive(request({ ...fixtureJson('4-user.start.json'), id: '0d4f5e6a-7b8c-4d9e-8f01-23456789abd4' })))[0]!;
        assert.notEqual(another.eventId, first.eventId);
    });

    it('an outbound call: ani is the number the agent called from and dnis the customer', () => {
        const outbound = variant('1-customer.start.json', { direction: 'OUTBOUND', ani: 'tel:+18005550100', dnis: 'tel:+13175550123' });
        assert.deepEqual(accepted(adapter.receive(request(outbound))), [
            {
                type: 'update',
                callId: CONVERSATION,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc1',
                timestamp: 1732482000120,
                direction: 'Outbound',
                externalNumber: '+13175550123',
                dnis: '+18005550100',
                startTime: 1732482000120,
            },
        ]);
    });

    it('an outbound campaign call announced by the outbound topic is an update with its numbers', () => {
        const event = variant('1-customer.start.json', {
            direction: 'OUTBOUND',
            ani: 'tel:+18005550100',
            dnis: 'tel:+13175550123',
            outboundCampaignId: 'ca4a1900-0000-4000-8000-000000000001',
        });
        const outbound = { ...event, 'detail-type': 'v2.detail.events.conversation.{id}.outbound' };
        outbound.detail.topicName = `v2.detail.events.conversation.${CONVERSATION}.outbound`;
        assert.deepEqual(accepted(adapter.receive(request(outbound))), [
            {
                type: 'update',
                callId: CONVERSATION,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc1',
                timestamp: 1732482000120,
                direction: 'Outbound',
                externalNumber: '+13175550123',
                dnis: '+18005550100',
            },
        ]);
    });

    it("never takes numbers from the agent's own session", () => {
        const atStation = variant('4-user.start.json', { dnis: 'sip:john.doe@example.pure.cloud' });
        const [presenting] = accepted(adapter.receive(request(atStation)));
        assert.deepEqual([presenting!.externalNumber, presenting!.dnis], [undefined, undefined]);
    });

    it('a caller who abandons in queue or a flow that takes the call out ends ACD without "connected"', () => {
        for (const acdOutcome of ['ABANDON', 'FLOW_OUT']) {
            const abandoned = variant('5-acd.end.json', { acdOutcome, answeredUserId: undefined, disconnectType: 'PEER' });
            assert.deepEqual(accepted(adapter.receive(request(abandoned))), [
                {
                    type: 'update',
                    ...inbound,
                    eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc5',
                    timestamp: 1732482029900,
                    ...numbers,
                    group: 'Support',
                },
            ]);
        }
    });

    it('the wrapup topic gives account codes too (it has no user); an acw without a wrap-up code is an update', () => {
        const wrapupEvent = {
            ...variant('8-acw.json', { userId: undefined, wrapupCode: 'e5e5e5e5-0000-4000-8000-00000000abcd', eventTime: 1732482400000 }),
            'detail-type': 'v2.detail.events.conversation.{id}.wrapup',
        };
        wrapupEvent.detail.topicName = `v2.detail.events.conversation.${CONVERSATION}.wrapup`;
        assert.deepEqual(accepted(adapter.receive(request(wrapupEvent))), [
            {
                type: 'accountCodes',
                ...inbound,
                eventId: 'genesys-cloud:0d4f5e6a-7b8c-4d9e-8f01-23456789abc8',
                timestamp: 1732482400000,
                accountCodes: ['e5e5e5e5-0000-4000-8000-00000000abcd'],
            },
        ]);
        const [noCode] = accepted(adapter.receive(request(variant('8-acw.json', { wrapupCode: undefined }))));
        assert.deepEqual([noCode!.type, noCode!.accountCodes], ['update', undefined]);
    });

    it('answers 200 with the reason for channels other than voice', () => {
        for (const mediaType of ['CHAT', 'MESSAGE', 'EMAIL', 'CALLBACK']) {
            assert.equal(
                ignoredWithBody(adapter.receive(request(variant('4-user.start.json', { mediaType })))),
                `Genesys Cloud user.start: mediaType ${mediaType} is not a voice call`,
            );
        }
        assert.equal(
            ignoredWithBody(adapter.receive(request(variant('4-user.start.json', { mediaType: undefined })))),
            'Genesys Cloud user.start: mediaType (none) is not a voice call',
        );
    });

    it('answers 200 with the reason for detail topics the node does not use, listed or new', () => {
        const topic = (kind: string): EventBridgeEvent => {
            const event = fixtureJson('2-flow.start.json');
            return {
                ...event,
                'detail-type': `v2.detail.events.conversation.{id}.${kind}`,
                detail: { ...event.detail, topicName: `v2.detail.events.conversation.${CONVERSATION}.${kind}` },
            };
        };
        assert.equal(
            ignoredWithBody(adapter.receive(request(topic('attributes')))),
            'Genesys Cloud attributes: participant data (attributes) has no call field',
        );
        assert.equal(
            ignoredWithBody(adapter.receive(request(topic('voicemail.start')))),
            'Genesys Cloud voicemail.start: a voicemail is not a call event; the call still completes with customer.end',
        );
        assert.equal(ignoredWithBody(adapter.receive(request(topic('flow.outcome')))), 'Genesys Cloud flow.outcome: a flow outcome carries no call field');
        assert.equal(
            ignoredWithBody(adapter.receive(request(topic('queue.overflow')))),
            'Genesys Cloud queue.overflow: not a detail event topic this node maps',
        );
        // A topic named like a property of every object is still just an unknown topic.
        assert.equal(ignoredWithBody(adapter.receive(request(topic('constructor')))), 'Genesys Cloud constructor: not a detail event topic this node maps');
    });

    it('takes the time from eventTime, else from the detail or the envelope', () => {
        const noEventTime = variant('4-user.start.json', { eventTime: undefined });
        assert.equal(accepted(adapter.receive(request(noEventTime)))[0]!.timestamp, Date.UTC(2024, 10, 24, 21, 0, 21, 650));
        const onlyEnvelope = { ...noEventTime, detail: { ...noEventTime.detail, timestamp: undefined } };
        assert.equal(accepted(adapter.receive(request(onlyEnvelope)))[0]!.timestamp, Date.UTC(2024, 10, 24, 21, 0, 21));
    });

    it('refuses an event dated more than an hour ahead, which would otherwise pin the call fields', () => {
        const ahead = variant('4-user.start.json', { eventTime: Date.now() + 2 * 60 * 60 * 1000 });
        assert.deepEqual(refused(adapter.receive(request(ahead))), {
            status: 400,
            message: 'Genesys Cloud: "detail.eventBody.eventTime" is more than an hour ahead of this server\'s clock',
        });
        assert.equal(accepted(adapter.receive(request(variant('4-user.start.json', { eventTime: Date.now() + 60_000 })))).length, 1);
    });

    describe('refuses, naming the field, a body that is not a Genesys conversation detail event', () => {
        const userStart = fixtureJson('4-user.start.json');
        const cases: [string, string | object, string][] = [
            ['an empty body', '', 'Genesys Cloud: the request body is empty'],
            ['JSON that is not an object', '[1, 2]', 'Genesys Cloud: the body is not a JSON object (expected the EventBridge event)'],
            [
                'only the detail (an input transformer)',
                userStart.detail,
                'Genesys Cloud: the body has no "detail-type"; the API destination must send the whole EventBridge event (no input transformer)',
            ],
            [
                'another Genesys topic',
                { ...userStart, 'detail-type': 'v2.users.{id}.presence' },
                'Genesys Cloud: "detail-type" "v2.users.{id}.presence" is not a conversation detail event topic (v2.detail.events.conversation.{id}.*); limit the EventBridge rule to those',
            ],
            [
                'an event from another source',
                { ...userStart, source: 'aws.partner/example.com/123/bus' },
                'Genesys Cloud: "source" must be the Genesys partner event source (aws.partner/genesys.com/...), got "aws.partner/example.com/123/bus"',
            ],
            [
                'no EventBridge id',
                { ...userStart, id: undefined },
                'Genesys Cloud: "id" must be the EventBridge event id (at most 128 characters), got nothing',
            ],
            [
                'an id too long to be one',
                { ...userStart, id: 'x'.repeat(129) },
                `Genesys Cloud: "id" must be the EventBridge event id (at most 128 characters), got "${'x'.repeat(79)}…"`,
            ],
            ['no detail', { ...userStart, detail: 'x' }, 'Genesys Cloud: "detail" must be an object, got "x"'],
            [
                'a topic name of another shape',
                { ...userStart, detail: { ...userStart.detail, topicName: `v2.conversations.${CONVERSATION}.user.start` } },
                `Genesys Cloud: "detail.topicName" must be v2.detail.events.conversation.<conversation id>.<event>, got "v2.conversations.${CONVERSATION}.user.start"`,
            ],
            [
                'no event body',
                { ...userStart, detail: { ...userStart.detail, eventBody: null } },
                'Genesys Cloud: "detail.eventBody" must be an object, got null',
            ],
            [
                'no conversation id',
                variant('4-user.start.json', { conversationId: undefined }),
                'Genesys Cloud: user.start has no "detail.eventBody.conversationId"',
            ],
            [
                'a body of another conversation than its topic',
                variant('4-user.start.json', { conversationId: '00000000-0000-4000-8000-000000000000' }),
                'Genesys Cloud: "detail.eventBody.conversationId" "00000000-0000-4000-8000-000000000000" is not the conversation of "detail.topicName"',
            ],
        ];
        for (const [what, body, message] of cases) {
            it(what, () => assert.deepEqual(refused(adapter.receive(request(body))), { status: 400, message }));
        }

        it('JSON that does not parse, or nests too deep', () => {
            assert.match(refused(adapter.receive(request('{"detail-type": '))).message, /^Genesys Cloud: the request body is not JSON/);
            assert.match(refused(adapter.receive(request(`${'['.repeat(200)}${']'.repeat(200)}`))).message, /^Genesys Cloud: the request body /);
        });

        it('control characters in a refused value are escaped, not echoed', () => {
            const forged = { ...userStart, source: 'aws.partner/x\nWARN forged log line' };
            assert.equal(
                refused(adapter.receive(request(forged))).message,
                'Genesys Cloud: "source" must be the Genesys partner event source (aws.partner/genesys.com/...), got "aws.partner/x\\nWARN forged log line"',
            );
        });
    });
});
