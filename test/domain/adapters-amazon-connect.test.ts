import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterOutcome, WebhookRequest } from '../../src/adapters/adapter';
import { amazonConnectAdapter } from '../../src/adapters/amazon-connect';
import { parseNameTable } from '../../src/adapters/name-table';
import { createWebhookAdapter } from '../../src/adapters/sources';
import type { RawEvent } from '../../src/call/raw-event';
import { CallTracker } from '../../src/lifecycle/call-tracker';
import { accepted, ignored, refused, withoutIds } from '../support/adapter-outcomes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'amazon-connect');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const fixtureJson = (name: string): Record<string, unknown> & { detail: Record<string, unknown> } => JSON.parse(fixture(name).toString('utf8'));

/** As an EventBridge API destination sends it (EventBridge User Guide, "Headers included in requests"). */
function eventBridgeRequest(body: Buffer | string | object): WebhookRequest {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return {
        headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Amazon/EventBridge/ApiDestinations' },
        rawBody: raw,
    };
}

/** The reason an event was answered 2xx and dropped, checked against the answer body too. */
function ignoredBecause(outcome: AdapterOutcome): string {
    const reason = ignored(outcome);
    assert.deepEqual(JSON.parse(outcome.answer.body), { received: 0, ignored: reason });
    return reason;
}

const at = (iso: string): number => Date.parse(iso);

const INSTANCE = 'arn:aws:connect:us-east-1:111122223333:instance/9c1f6b2e-7d3a-4f5b-8e21-3a4b5c6d7e8f';
const AGENT_1 = `${INSTANCE}/agent/5d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a`;
const AGENT_2 = `${INSTANCE}/agent/8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b`;
const SALES = `${INSTANCE}/queue/7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d`;
const BILLING = `${INSTANCE}/queue/2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e`;
const CONTACT = '3f5e1a2b-8c4d-4e6f-9a7b-1c2d3e4f5a6b';
const LIFE = ['1-initiated.json', '2-queued.json', '3-connected-to-agent.json', '4-disconnected.json', '5-contact-data-updated.json', '6-completed.json'];
const TRANSFER = [
    'transfer-1-initiated.json',
    'transfer-2-first-contact-disconnected.json',
    'transfer-3-queued.json',
    'transfer-4-connected-to-agent.json',
    'transfer-5-disconnected.json',
];
const NAMES = parseNameTable(
    JSON.stringify({
        [AGENT_1]: 'John Doe',
        // The id that ends the ARN, as the Connect console shows it, names the agent too.
        '8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1b': 'Mary Major',
        [SALES]: 'Sales',
        [BILLING]: 'Billing',
    }),
);

describe('Amazon Connect adapter', () => {
    const adapter = amazonConnectAdapter({ names: NAMES });
    const firstContact = {
        callId: CONTACT,
        reportCallId: CONTACT,
        direction: 'Inbound',
        startTime: at('2024-11-25T14:00:00.000Z'),
        dnis: '+18005550199',
    } as const;
    const queued = { type: 'update', callId: CONTACT, timestamp: at('2024-11-25T14:00:21.512Z'), group: 'Sales' } as const;
    const connected = { type: 'update', callId: CONTACT, timestamp: at('2024-11-25T14:00:47.250Z'), agent: { name: 'John Doe' } } as const;
    const codes = ['CallReason=Billing', 'Outcome=Resolved'];

    it('plays a complete call life into the exact raw events, each part stamped with its own time', () => {
        const outcomes = LIFE.map((name) => adapter.receive(eventBridgeRequest(fixture(name))));
        for (const outcome of outcomes) {
            assert.deepEqual(outcome.answer, {
                status: 200,
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ received: outcome.ok ? outcome.events.length : -1 }),
            });
        }
        assert.deepEqual(
            outcomes.map((outcome) => withoutIds(accepted(outcome))),
            [
                [{ type: 'update', ...firstContact, timestamp: at('2024-11-25T14:00:00.000Z') }],
                [{ ...queued, ...firstContact }],
                [queued, { type: 'connected', ...firstContact, timestamp: at('2024-11-25T14:00:47.250Z'), agent: { name: 'John Doe' } }],
                [queued, connected, { type: 'complete', ...firstContact, timestamp: at('2024-11-25T14:05:12.004Z'), pendingRecordings: 0 }],
                // CONTACT_DATA_UPDATED has no timestamp of its own: EventBridge's `time`, later than any of the contact's.
                [queued, connected, { type: 'accountCodes', ...firstContact, timestamp: at('2024-11-25T14:06:30Z'), accountCodes: codes }],
                // COMPLETED stands for the disconnect, not the end of the after-contact work.
                [
                    queued,
                    connected,
                    { type: 'complete', ...firstContact, timestamp: at('2024-11-25T14:05:12.004Z'), accountCodes: codes, pendingRecordings: 0 },
                ],
            ],
        );
    });

    it('gives each delivery its own event ids from the EventBridge id, and a retry the same ones', () => {
        const ids = LIFE.flatMap((name) => accepted(adapter.receive(eventBridgeRequest(fixture(name)))).map((event) => event.eventId));
        assert.equal(new Set(ids).size, ids.length);
        assert.deepEqual(
            accepted(adapter.receive(eventBridgeRequest(fixture('3-connected-to-agent.json')))).map((event) => event.eventId),
            [`amazon-connect:0b9d3f0e-6a41-4c1e-9f7e-1a2b3c4d5e03@${at('2024-11-25T14:00:21.512Z')}`, 'amazon-connect:0b9d3f0e-6a41-4c1e-9f7e-1a2b3c4d5e03'],
            'the retry of a delivery gives the ids it gave the first time',
        );
    });

    it('ends with the same call whatever order the events arrive in, and drops a retried delivery', () => {
        const play = (names: string[]) => {
            const tracker = new CallTracker({ now: () => at('2024-11-25T14:10:00Z') });
            const triggers = names.flatMap((name) => tracker.apply(accepted(adapter.receive(eventBridgeRequest(fixture(name))))));
            return { triggers: triggers.map((trigger) => trigger.event), last: triggers.at(-1)!.call };
        };
        const inOrder = play(LIFE);
        assert.deepEqual(inOrder.triggers, ['connected', 'complete', 'processed', 'updated', 'updated']);
        const reversed = play([...LIFE].reverse());
        const retried = play([...LIFE.slice(0, 4), '4-disconnected.json', '3-connected-to-agent.json', ...LIFE.slice(4)]);
        assert.deepEqual(retried.triggers, inOrder.triggers, 'a retried delivery fires nothing again');
        const { event: _event, updateSeq: _seq, eventSeq: _nth, ...lastInOrder } = inOrder.last;
        const { event: _event2, updateSeq: _seq2, eventSeq: _nth2, ...lastReversed } = reversed.last;
        assert.deepEqual(lastReversed, lastInOrder);
        assert.deepEqual(lastInOrder, {
            callId: CONTACT,
            reportCallId: CONTACT,
            direction: 'Inbound',
            dnis: '+18005550199',
            time: at('2024-11-25T14:00:00.000Z'),
            agent: 'John Doe',
            agentName: 'John Doe',
            group: 'Sales',
            tags: [],
            accountCodes: codes,
            recordingLink: [],
            answered: true,
            duration: 390,
        });
    });

    it('makes each contact of a transferred call a call of its own, tied to the first by reportCallId', () => {
        const SECOND = '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d';
        const events = TRANSFER.flatMap((name) => accepted(adapter.receive(eventBridgeRequest(fixture(name)))));
        assert.deepEqual([...new Set(events.map((event) => event.callId))].sort(), [CONTACT, SECOND].sort());
        assert.ok(
            events.filter((event) => event.reportCallId !== undefined).every((event) => event.reportCallId === CONTACT),
            'every contact names the first',
        );
        const tracker = new CallTracker({ now: () => at('2024-11-25T14:10:00Z') });
        const triggers = [...LIFE.slice(0, 3), ...TRANSFER].flatMap((name) => tracker.apply(accepted(adapter.receive(eventBridgeRequest(fixture(name))))));
        // Connect ends the first contact at the transfer: that contact is complete then, with its agent; the second
        // contact is answered by the next agent and completes when the customer hangs up.
        assert.deepEqual(
            triggers.map((trigger) => [trigger.event, trigger.call.callId, trigger.call.reportCallId, trigger.call.agent, trigger.call.group]),
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
        const second = triggers.at(-1)!.call;
        assert.equal(second.direction, undefined, "a transfer's contact does not say how the customer's call began");
        assert.equal(second.time, at('2024-11-25T14:03:00.100Z'), 'the second contact starts at the transfer');
        // The first contact's DISCONNECTED coming last still completes the first contact only.
        const late = new CallTracker({ now: () => at('2024-11-25T14:10:00Z') });
        const order = [
            ...LIFE.slice(0, 3),
            'transfer-1-initiated.json',
            'transfer-3-queued.json',
            'transfer-4-connected-to-agent.json',
            'transfer-5-disconnected.json',
        ];
        for (const name of order) late.apply(accepted(adapter.receive(eventBridgeRequest(fixture(name)))));
        const lastTriggers = late.apply(accepted(adapter.receive(eventBridgeRequest(fixture('transfer-2-first-contact-disconnected.json')))));
        assert.deepEqual(
            lastTriggers.map((trigger) => [trigger.event, trigger.call.callId, trigger.call.agent]),
            [
                ['complete', CONTACT, 'John Doe'],
                ['processed', CONTACT, 'John Doe'],
                ['updated', CONTACT, 'John Doe'],
            ],
        );
    });

    it('holds the ARN where the name table has no name, and reads the PascalCase spelling of the data model', () => {
        const events = accepted(amazonConnectAdapter().receive(eventBridgeRequest(fixture('pascal-case-connected-to-agent.json'))));
        assert.deepEqual(withoutIds(events), [
            { type: 'update', callId: '4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e', timestamp: at('2024-11-25T16:00:12.050Z'), group: BILLING },
            {
                type: 'connected',
                callId: '4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e',
                reportCallId: '4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e',
                timestamp: at('2024-11-25T16:00:31.420Z'),
                direction: 'Inbound',
                dnis: '+18005550199',
                agent: { name: AGENT_2 },
                accountCodes: ['Dept=Finance'],
            },
        ]);
        const named = accepted(adapter.receive(eventBridgeRequest(fixture('pascal-case-connected-to-agent.json'))));
        assert.deepEqual(
            named.map((event) => [event.agent?.name, event.group]),
            [
                [undefined, 'Billing'],
                ['Mary Major', undefined],
            ],
        );
    });

    it("is what createWebhookAdapter builds for source amazon-connect, with the node's name table", () => {
        const built = createWebhookAdapter({ source: 'amazon-connect', names: NAMES });
        assert.equal(built.source, 'amazon-connect');
        assert.deepEqual(
            accepted(built.receive(eventBridgeRequest(fixture('3-connected-to-agent.json')))),
            accepted(adapter.receive(eventBridgeRequest(fixture('3-connected-to-agent.json')))),
        );
    });

    describe("voice only, and only the customer's call", () => {
        it('answers CHAT, TASK and EMAIL contacts 200 and drops them, saying why', () => {
            assert.equal(
                ignoredBecause(adapter.receive(eventBridgeRequest(fixture('chat-contact-data-updated.json')))),
                'a CHAT contact: only voice contacts are calls',
            );
            for (const channel of ['TASK', 'EMAIL', 'Chat']) {
                const body = fixtureJson('3-connected-to-agent.json');
                body.detail.channel = channel;
                assert.equal(ignoredBecause(adapter.receive(eventBridgeRequest(body))), `a ${channel.toUpperCase()} contact: only voice contacts are calls`);
            }
            // The data model's samples spell the channel "Voice" as well as "VOICE".
            const voice = fixtureJson('3-connected-to-agent.json');
            voice.detail.channel = 'Voice';
            assert.equal(accepted(adapter.receive(eventBridgeRequest(voice))).length, 2);
        });

        it("drops a supervisor monitoring the call, an external party dialled in, and a disconnect flow's contact", () => {
            assert.match(
                ignoredBecause(adapter.receive(eventBridgeRequest(fixture('monitor-connected-to-agent.json')))),
                /^a supervisor monitoring a call \(initiation method MONITOR\)/,
            );
            for (const [method, reason] of [
                ['EXTERNAL_OUTBOUND', /external party/],
                ['DISCONNECT', /disconnect flow/],
            ] as const) {
                const body = fixtureJson('3-connected-to-agent.json');
                body.detail.initiationMethod = method;
                assert.match(ignoredBecause(adapter.receive(eventBridgeRequest(body))), reason);
            }
        });

        it('answers event types with no call meaning 200, new ones included', () => {
            for (const eventType of ['PAUSED', 'RESUMED', 'AMD_DISABLED', 'SOME_FUTURE_EVENT']) {
                const body = fixtureJson('3-connected-to-agent.json');
                body.detail.eventType = eventType;
                assert.equal(
                    ignoredBecause(adapter.receive(eventBridgeRequest(body))),
                    `an Amazon Connect ${eventType} event, which changes nothing the node tracks`,
                );
            }
        });
    });

    describe('directions and who answers', () => {
        const as = (name: string, change: Record<string, unknown>): RawEvent[] => {
            const body = fixtureJson(name);
            Object.assign(body.detail, change);
            return accepted(adapter.receive(eventBridgeRequest(body)));
        };
        const main = (events: RawEvent[]): RawEvent => events.at(-1)!;

        it('an agent dialling out is connected when the customer answers (CONNECTED_TO_SYSTEM), not when the agent joins', () => {
            const outbound = { initiationMethod: 'OUTBOUND', queueInfo: undefined, connectedToSystemTimestamp: '2024-11-25T14:00:09.300Z' };
            const joined = main(as('3-connected-to-agent.json', outbound));
            assert.deepEqual([joined.type, joined.direction, joined.agent], ['update', 'Outbound', { name: 'John Doe' }]);
            const answered = main(as('1-initiated.json', { ...outbound, eventType: 'CONNECTED_TO_SYSTEM' }));
            assert.deepEqual([answered.type, answered.direction, answered.timestamp], ['connected', 'Outbound', at('2024-11-25T14:00:09.300Z')]);
            const callback = main(as('1-initiated.json', { ...outbound, initiationMethod: 'CALLBACK', eventType: 'CONNECTED_TO_SYSTEM' }));
            assert.deepEqual([callback.type, callback.direction], ['connected', 'Outbound']);
        });

        it('an answering machine or an unanswered campaign call is no connection', () => {
            for (const status of ['VOICEMAIL_BEEP', 'AMD_UNANSWERED', 'SIT_TONE_BUSY']) {
                const events = as('1-initiated.json', {
                    initiationMethod: 'OUTBOUND',
                    eventType: 'CONNECTED_TO_SYSTEM',
                    answeringMachineDetectionStatus: status,
                });
                assert.equal(main(events).type, 'update', status);
            }
            const human = as('1-initiated.json', {
                initiationMethod: 'OUTBOUND',
                eventType: 'CONNECTED_TO_SYSTEM',
                answeringMachineDetectionStatus: 'HUMAN_ANSWERED',
            });
            assert.equal(main(human).type, 'connected');
        });

        it('an API (campaign) call is connected when an agent joins; inbound ones never on CONNECTED_TO_SYSTEM', () => {
            const api = main(as('3-connected-to-agent.json', { initiationMethod: 'API' }));
            assert.deepEqual([api.type, api.direction], ['connected', 'Outbound']);
            assert.equal(main(as('1-initiated.json', { initiationMethod: 'API', eventType: 'CONNECTED_TO_SYSTEM' })).type, 'update');
            assert.equal(main(as('1-initiated.json', { eventType: 'CONNECTED_TO_SYSTEM' })).type, 'update');
            assert.equal(main(as('1-initiated.json', { initiationMethod: 'WEBRTC_API' })).direction, 'Inbound');
        });

        it('a callback and a queue transfer are calls of their own, tied to the first contact by reportCallId', () => {
            const linked = { initialContactId: 'aaaaaaaa-0000-4000-8000-000000000001', previousContactId: 'aaaaaaaa-0000-4000-8000-000000000002' };
            const callback = main(as('2-queued.json', { ...linked, initiationMethod: 'CALLBACK' }));
            assert.deepEqual([callback.callId, callback.reportCallId, callback.direction], [CONTACT, 'aaaaaaaa-0000-4000-8000-000000000001', 'Outbound']);
            const moved = main(as('2-queued.json', { ...linked, initiationMethod: 'QUEUE_TRANSFER' }));
            assert.deepEqual([moved.callId, moved.reportCallId, moved.direction], [CONTACT, 'aaaaaaaa-0000-4000-8000-000000000001', undefined]);
            // Without an initialContactId the contact is the first of its call.
            const { initialContactId: _initial, ...onlyPrevious } = linked;
            assert.equal(main(as('2-queued.json', { ...onlyPrevious, initiationMethod: 'TRANSFER' })).reportCallId, CONTACT);
        });

        it('a transfer straight to an agent (an agent queue) leaves the group as it was', () => {
            const events = as('transfer-4-connected-to-agent.json', {
                queueInfo: { queueArn: `${INSTANCE}/queue/agent/8e9f0a1b`, queueType: 'AGENT', enqueueTimestamp: '2024-11-25T14:03:01.300Z' },
            });
            assert.deepEqual(withoutIds(events), [
                {
                    type: 'connected',
                    callId: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
                    reportCallId: CONTACT,
                    startTime: at('2024-11-25T14:03:00.100Z'),
                    dnis: '+18005550199',
                    timestamp: at('2024-11-25T14:03:30.000Z'),
                    agent: { name: 'Mary Major' },
                },
            ]);
        });
    });

    describe('timestamps and tags', () => {
        it('takes the 1970 placeholder Connect writes for an unset timestamp as unset', () => {
            const body = fixtureJson('5-contact-data-updated.json');
            body.detail.updatedProperties = ['UserDefinedAttributes'];
            body.detail.agentInfo = { agentArn: AGENT_1, connectedToAgentTimestamp: '1970-01-01T00:00:00.001Z' };
            body.detail.connectedToSystemTimestamp = '1970-01-01T00:00:00.001Z';
            const events = accepted(adapter.receive(eventBridgeRequest(body)));
            assert.deepEqual(withoutIds(events), [queued, { type: 'update', ...firstContact, timestamp: at('2024-11-25T14:06:30Z'), accountCodes: codes }]);
        });

        it('a detail timestamp of the same second as `time` counts, since `time` has whole seconds only', () => {
            const body = fixtureJson('5-contact-data-updated.json');
            body.time = '2024-11-25T14:05:12Z';
            assert.equal(accepted(adapter.receive(eventBridgeRequest(body))).at(-1)!.timestamp, at('2024-11-25T14:05:12.004Z'));
        });

        it('an event without user tags says nothing of account codes; a tag change to none empties them', () => {
            const untagged = fixtureJson('5-contact-data-updated.json');
            untagged.detail.tags = { 'aws:connect:instanceId': '9c1f6b2e-7d3a-4f5b-8e21-3a4b5c6d7e8f' };
            const emptied = accepted(adapter.receive(eventBridgeRequest(untagged))).at(-1)!;
            assert.deepEqual([emptied.type, emptied.accountCodes], ['accountCodes', []]);
            const other = fixtureJson('4-disconnected.json');
            assert.equal(accepted(adapter.receive(eventBridgeRequest(other))).at(-1)!.accountCodes, undefined);
            const { tags: _tags, ...noTags } = fixtureJson('5-contact-data-updated.json').detail;
            const tagless = accepted(adapter.receive(eventBridgeRequest({ ...fixtureJson('5-contact-data-updated.json'), detail: noTags }))).at(-1)!;
            assert.deepEqual([tagless.type, tagless.accountCodes], ['update', undefined]);
            const keyOnly = fixtureJson('4-disconnected.json');
            keyOnly.detail.tags = { VIP: '', Dept: 'Finance', 'aws:connect:systemEndpoint': '+18005550199' };
            assert.deepEqual(accepted(adapter.receive(eventBridgeRequest(keyOnly))).at(-1)!.accountCodes, ['Dept=Finance', 'VIP']);
        });
    });

    describe('refusals name the field', () => {
        const body = () => fixtureJson('3-connected-to-agent.json');

        it('refuses what is not an Amazon Connect contact event', () => {
            assert.deepEqual(refused(adapter.receive(eventBridgeRequest(fixture('contact-lens-rules-matched.json')))), {
                status: 400,
                message:
                    'Amazon Connect: "detail-type" is "Contact Lens Post Call Rules Matched", expected "Amazon Connect Contact Event" (narrow the rule\'s event pattern to contact events)',
            });
            assert.deepEqual(refused(adapter.receive(eventBridgeRequest({ ...body(), source: 'aws.s3' }))), {
                status: 400,
                message:
                    'Amazon Connect: "source" is "aws.s3", expected "aws.connect" (the API destination must get the whole EventBridge event: no input transformer)',
            });
            // An input transformer that sends only the detail.
            assert.match(refused(adapter.receive(eventBridgeRequest(body().detail))).message, /"source" is undefined, expected "aws.connect"/);
            assert.equal(
                refused(adapter.receive(eventBridgeRequest([body()]))).message,
                'Amazon Connect: the body is not a JSON object (expected the whole EventBridge event)',
            );
            assert.equal(refused(adapter.receive(eventBridgeRequest('{"source": '))).status, 400);
            assert.equal(refused(adapter.receive(eventBridgeRequest(''))).message, 'Amazon Connect: the request body is empty');
        });

        it('refuses a body that is not JSON by its content type', () => {
            const request = { ...eventBridgeRequest(body()), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
            assert.deepEqual(refused(adapter.receive(request)), {
                status: 415,
                message: 'Amazon Connect: expected an application/json body, got application/x-www-form-urlencoded',
            });
        });

        it('refuses a missing or malformed envelope or contact field', () => {
            const cases: Array<[(event: ReturnType<typeof body>) => void, string]> = [
                [(event) => delete event.id, 'Amazon Connect: the event has no "id"'],
                [(event) => (event.id = 'x'.repeat(129)), 'Amazon Connect: "id" is 129 characters, more than 128'],
                [(event) => (event.time = 'yesterday'), 'Amazon Connect: "time" is not an ISO 8601 timestamp (got "yesterday")'],
                [(event) => (event.detail = 'x' as never), 'Amazon Connect: the event has no "detail" object (the contact)'],
                [(event) => delete event.detail.eventType, 'Amazon Connect: the event has no "detail.eventType" (expected e.g. "CONNECTED_TO_AGENT")'],
                [(event) => delete event.detail.contactId, 'Amazon Connect: the CONNECTED_TO_AGENT event has no "detail.contactId"'],
                [
                    (event) => (event.detail.contactId = 'c'.repeat(257)),
                    'Amazon Connect: "detail.contactId" is 257 characters, more than the 256 a contact id has',
                ],
                [
                    (event) => (event.detail.initialContactId = 'c'.repeat(257)),
                    'Amazon Connect: "detail.initialContactId" is 257 characters, more than the 256 a contact id has',
                ],
                [(event) => delete event.detail.channel, `Amazon Connect: the CONNECTED_TO_AGENT event of contact ${CONTACT} has no "detail.channel"`],
                [(event) => (event.detail.initiationTimestamp = 'soon'), 'Amazon Connect: "detail.initiationTimestamp" is not a timestamp (got "soon")'],
                [
                    (event) => ((event.detail.agentInfo as Record<string, unknown>).connectedToAgentTimestamp = { at: 1 }),
                    'Amazon Connect: "detail.agentInfo.connectedToAgentTimestamp" is not a timestamp (got {"at":1})',
                ],
            ];
            for (const [spoil, message] of cases) {
                const event = body();
                spoil(event);
                assert.deepEqual(refused(adapter.receive(eventBridgeRequest(event))), { status: 400, message });
            }
        });

        it('refuses a body nested deeper than the bound before building it', () => {
            const deep = `{"source":"aws.connect","detail-type":"Amazon Connect Contact Event","detail":${'['.repeat(100)}${']'.repeat(100)}}`;
            assert.match(refused(adapter.receive(eventBridgeRequest(deep))).message, /^Amazon Connect: the request body /);
        });
    });
});
