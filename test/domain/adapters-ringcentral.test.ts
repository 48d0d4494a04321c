import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterOutcome, WebhookRequest } from '../../src/adapters/adapter';
import { ringcentralAdapter } from '../../src/adapters/ringcentral';
import { createWebhookAdapter } from '../../src/adapters/sources';
import { CallTracker } from '../../src/lifecycle/call-tracker';
import { accepted, ignored, refused, withoutIds } from '../support/adapter-outcomes';

const FOLDER = join(__dirname, '..', 'fixtures', 'adapters', 'ringcentral');
const fixture = (name: string): Buffer => readFileSync(join(FOLDER, name));
const fixtureJson = (name: string): Record<string, any> => JSON.parse(fixture(name).toString('utf8'));

const TOKEN = 'rc-verification-token-0123456789abcdef';
/** Within the hour after every fixture's eventTime: the replay window takes them all. */
const NOW = Date.parse('2025-03-14T15:45:00.000Z');
const now = (): number => NOW;

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
const INTERNAL_LIFE = [
    'internal-01-caller-setup.json',
    'internal-02-callee-setup.json',
    'internal-03-caller-answered.json',
    'internal-04-callee-proceeding.json',
    'internal-05-callee-answered.json',
    'internal-06-caller-disconnected.json',
    'internal-07-callee-disconnected.json',
];

function request(body: Buffer | string, headers: Record<string, string> = {}): WebhookRequest {
    return { headers: { 'content-type': 'application/json; charset=UTF-8', 'verification-token': TOKEN, ...headers }, rawBody: Buffer.from(body) };
}

/** The reason nothing came of a notification; RingCentral's answer to it is always the same. */
function ignoredWithBody(outcome: AdapterOutcome): string {
    const reason = ignored(outcome);
    assert.deepEqual(outcome.answer, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":0}' });
    return reason;
}

/** eventTime as the adapter stamps it: the sequence orders notifications within one millisecond. */
const at = (iso: string, sequence: number): number => Date.parse(iso) + sequence / 1000;

/** A fixture with its body changed by `edit`, as JSON text. */
function edited(name: string, edit: (notification: Record<string, any>) => void): string {
    const notification = fixtureJson(name);
    edit(notification);
    return JSON.stringify(notification);
}

describe('RingCentral adapter (telephony session notifications)', () => {
    const adapter = ringcentralAdapter({ verificationToken: TOKEN, now });
    const play = (names: string[]) => names.map((name) => adapter.receive(request(fixture(name))));

    describe('an inbound call through an IVR menu, answered, held, transferred and answered again', () => {
        const T = 's-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21';
        const customer = { callId: T, reportCallId: '460123456008', direction: 'Inbound', externalNumber: '+16505550142', dnis: '+18005550100' } as const;
        const named = { ...customer, callerName: 'JANE ROE' } as const;
        const john = { name: 'John Doe' };
        const mary = { name: 'Mary Major' };

        it('plays into the exact raw events: only agent legs ring and answer, only the caller hanging up completes', () => {
            const outcomes = play(INBOUND_LIFE);
            for (const outcome of outcomes) {
                assert.deepEqual(outcome.answer, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":1}' });
            }
            assert.deepEqual(withoutIds(outcomes.flatMap(accepted)), [
                { type: 'update', ...customer, timestamp: at('2025-03-14T15:02:10.120Z', 2) },
                // The IVR menu is an extension too: its Setup and Disconnected ring and end nothing.
                { type: 'update', ...customer, timestamp: at('2025-03-14T15:02:10.150Z', 3) },
                { type: 'update', ...customer, timestamp: at('2025-03-14T15:02:10.260Z', 4) },
                { type: 'update', ...customer, timestamp: at('2025-03-14T15:02:21.400Z', 5) },
                { type: 'update', ...named, timestamp: at('2025-03-14T15:02:21.400Z', 6) },
                { type: 'presenting', ...named, timestamp: at('2025-03-14T15:02:21.430Z', 7), agent: john },
                { type: 'connected', ...named, timestamp: at('2025-03-14T15:02:29.010Z', 8), agent: john },
                { type: 'update', ...named, timestamp: at('2025-03-14T15:03:40.500Z', 9) },
                { type: 'connected', ...named, timestamp: at('2025-03-14T15:04:05.900Z', 10), agent: john },
                // A blind transfer ends the agent's leg, not the call.
                { type: 'update', ...named, timestamp: at('2025-03-14T15:05:12.300Z', 11) },
                { type: 'update', ...named, timestamp: at('2025-03-14T15:05:12.340Z', 12) },
                { type: 'presenting', ...named, timestamp: at('2025-03-14T15:05:12.380Z', 13), agent: mary },
                { type: 'connected', ...named, timestamp: at('2025-03-14T15:05:18.700Z', 14), agent: mary },
                { type: 'update', ...named, timestamp: at('2025-03-14T15:09:47.100Z', 15) },
                { type: 'complete', ...named, timestamp: at('2025-03-14T15:09:47.120Z', 16), pendingRecordings: 0 },
            ]);
        });

        it('names presenting and connected by the party, so the Answered of an unhold is the same answer', () => {
            const ids = play(INBOUND_LIFE)
                .flatMap(accepted)
                .map((event) => event.eventId);
            assert.equal(ids[5], `ringcentral:${T}:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-3:presenting`);
            assert.equal(ids[6], `ringcentral:${T}:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-3:connected`);
            assert.equal(ids[8], ids[6], 'Answered after Hold repeats the connected event id');
            assert.equal(ids[0], `ringcentral:${T}:2:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-1`);
            assert.equal(ids[14], `ringcentral:${T}:16:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-1`);
            const others = ids.filter((_, index) => index !== 8);
            assert.equal(new Set(others).size, others.length, 'every other delivery has its own event id');
        });

        it('through the lifecycle: the exact triggers, the agent who took the call last, nothing fired twice', () => {
            const tracker = new CallTracker({ now });
            const triggers = play(INBOUND_LIFE).flatMap((outcome) => tracker.apply(accepted(outcome)));
            assert.deepEqual(
                triggers.map((trigger) => [trigger.event, trigger.call.agent ?? null]),
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
            const processed = triggers[5]!.call;
            assert.equal(processed.direction, 'Inbound');
            assert.equal(processed.callerName, 'JANE ROE');
            assert.equal(processed.answered, true);
            assert.deepEqual(processed.recordingLink, []);
            assert.equal(processed.duration, 457);
        });

        it('gives a retried notification the same event ids, so the lifecycle drops it', () => {
            for (const name of ['05-agent-setup.json', '07-agent-answered.json', '15-caller-disconnected.json']) {
                const first = accepted(adapter.receive(request(fixture(name))));
                const again = accepted(adapter.receive(request(fixture(name))));
                assert.deepEqual(again, first, name);
            }
        });

        it('orders two notifications of one millisecond by their sequence, whichever arrives first', () => {
            // Sequence 5 and 6 share eventTime 15:02:21.400; an older notification of that millisecond arriving late
            // must not overwrite what sequence 6 said.
            const older = edited('05-agent-setup.json', (notification) => {
                notification.body.sequence = 5;
                notification.body.parties[0].from.name = 'OLD CALLER ID';
            });
            const tracker = new CallTracker({ now });
            tracker.apply(accepted(adapter.receive(request(fixture('05-agent-setup.json')))));
            tracker.apply(accepted(adapter.receive(request(older))));
            assert.equal(tracker.get(T)!.values.callerName, 'JANE ROE');
        });

        it('counts no recording: the notifications carry recording ids but no link', () => {
            const [answered] = accepted(adapter.receive(request(fixture('07-agent-answered.json'))));
            assert.equal(answered!.recordingUrl, undefined);
            const [complete] = accepted(adapter.receive(request(fixture('15-caller-disconnected.json'))));
            assert.equal(complete!.pendingRecordings, 0);
        });
    });

    describe('an outbound call an agent places to an outside number', () => {
        const common = {
            callId: 's-b7e2d9a4c3f14e5b9a8d7c6b5a4f3e20',
            reportCallId: '460123999008',
            direction: 'Outbound',
            externalNumber: '+14155550199',
            dnis: '+18005550100',
        } as const;
        const john = { name: 'John Doe' };

        it('rings on the agent placing it, connects when the agent leg is answered, completes when the agent hangs up', () => {
            const events = play(OUTBOUND_LIFE).flatMap(accepted);
            assert.deepEqual(withoutIds(events), [
                // The agent's own leg has no name here; the customer's leg names the agent in `from`.
                { type: 'presenting', ...common, timestamp: at('2025-03-14T15:20:01.627Z', 2) },
                { type: 'update', ...common, timestamp: at('2025-03-14T15:20:01.663Z', 3), agent: john },
                { type: 'update', ...common, timestamp: at('2025-03-14T15:20:05.166Z', 4) },
                { type: 'update', ...common, timestamp: at('2025-03-14T15:20:08.872Z', 5), agent: john },
                { type: 'connected', ...common, timestamp: at('2025-03-14T15:20:08.900Z', 6) },
                { type: 'complete', ...common, timestamp: at('2025-03-14T15:23:45.018Z', 7), pendingRecordings: 0 },
                { type: 'complete', ...common, timestamp: at('2025-03-14T15:23:45.032Z', 8), pendingRecordings: 0 },
            ]);
        });

        it('names the agent from the name table when the leg carries only its extension id', () => {
            const names = new Map([['400123459008', 'John Doe (101)']]);
            const [presenting] = accepted(ringcentralAdapter({ names, now }).receive(request(fixture('outbound-01-agent-setup.json'))));
            assert.deepEqual(presenting!.agent, { name: 'John Doe (101)' });
        });

        it('through the lifecycle: presenting, connected with the agent, complete once', () => {
            const tracker = new CallTracker({ now });
            const triggers = play(OUTBOUND_LIFE).flatMap((outcome) => tracker.apply(accepted(outcome)));
            assert.deepEqual(
                triggers.map((trigger) => [trigger.event, trigger.call.agent ?? null, trigger.call.direction]),
                [
                    ['presenting', null, 'Outbound'],
                    ['connected', 'John Doe', 'Outbound'],
                    ['complete', 'John Doe', 'Outbound'],
                    ['processed', 'John Doe', 'Outbound'],
                    ['updated', 'John Doe', 'Outbound'],
                ],
            );
        });

        it('a transfer by the agent who placed the call ends the agent leg only', () => {
            const transferred = edited('outbound-06-agent-disconnected.json', (notification) => {
                notification.body.parties[0].status.reason = 'BlindTransfer';
            });
            assert.equal(accepted(adapter.receive(request(transferred)))[0]!.type, 'update');
            const dropped = edited('outbound-06-agent-disconnected.json', (notification) => {
                notification.body.parties[0].status.reason = 'CallDropped';
            });
            assert.equal(accepted(adapter.receive(request(dropped)))[0]!.type, 'complete');
        });
    });

    describe('a call between two extensions', () => {
        const common = { callId: 's-c9d8e7f6a5b44c3d9e2f1a0b9c8d7e6f', reportCallId: '460124000008' } as const;
        const fromMary = { ...common, direction: 'Internal', callerName: 'Mary Major', externalNumber: '102', dnis: '101' } as const;

        it('is Internal, its callee leg says who calls, and the caller hanging up completes it', () => {
            const events = play(INTERNAL_LIFE).flatMap(accepted);
            assert.deepEqual(withoutIds(events), [
                // Dialled by its short number, the callee is not known to be an extension yet: no direction.
                { type: 'presenting', ...common, timestamp: at('2025-03-14T15:37:14.330Z', 2) },
                { type: 'update', ...fromMary, timestamp: at('2025-03-14T15:37:14.349Z', 3) },
                // The caller's Answered only means John's extension was reached.
                { type: 'update', ...common, direction: 'Internal', timestamp: at('2025-03-14T15:37:14.388Z', 4) },
                { type: 'presenting', ...fromMary, timestamp: at('2025-03-14T15:37:14.410Z', 5), agent: { name: 'John Doe' } },
                { type: 'connected', ...fromMary, timestamp: at('2025-03-14T15:37:21.084Z', 6), agent: { name: 'John Doe' } },
                { type: 'complete', ...common, direction: 'Internal', timestamp: at('2025-03-14T15:37:35.051Z', 7), pendingRecordings: 0 },
                { type: 'update', ...fromMary, timestamp: at('2025-03-14T15:37:35.061Z', 8) },
            ]);
        });
    });

    describe('the direction of the call from one leg', () => {
        const directionOf = (name: string, edit: (party: Record<string, any>, body: Record<string, any>) => void = () => {}): string | undefined =>
            accepted(adapter.receive(request(edited(name, (notification) => edit(notification.body.parties[0], notification.body)))))[0]!.direction;

        it('reads the leg direction backwards for the outside number and forwards for an extension', () => {
            assert.equal(directionOf('01-caller-setup.json'), 'Inbound', 'the customer calling in is an Outbound leg');
            assert.equal(directionOf('05-agent-setup.json'), 'Inbound', 'the agent it rings is an Inbound leg');
            assert.equal(directionOf('outbound-02-customer-proceeding.json'), 'Outbound', 'the customer called is an Inbound leg');
            assert.equal(directionOf('outbound-01-agent-setup.json'), 'Outbound', 'the agent calling out is an Outbound leg');
            assert.equal(directionOf('internal-02-callee-setup.json'), 'Internal');
        });

        it('a RingOut is the user placing a call, though it first rings the user', () => {
            assert.equal(
                directionOf('05-agent-setup.json', (_party, body) => {
                    body.origin = { type: 'RingOut' };
                }),
                'Outbound',
            );
        });

        it('leaves it unset for a leg with no direction', () => {
            assert.equal(
                directionOf('01-caller-setup.json', (party) => {
                    delete party.direction;
                }),
                undefined,
            );
        });
    });

    describe('the Validation-Token request of a new subscription', () => {
        const validation = fixtureJson('validation-request.json') as { headers: Record<string, string>; body: string };
        const post = (headers: Record<string, string>, options = { verificationToken: TOKEN, now }) =>
            ringcentralAdapter(options).receive({ headers, rawBody: Buffer.from(validation.body) });

        it('is answered 200 with the same Validation-Token header, an empty body and no event', () => {
            const outcome = post(validation.headers);
            assert.ok(outcome.ok);
            assert.deepEqual(outcome.events, []);
            assert.deepEqual(outcome.answer, {
                status: 200,
                headers: { 'content-type': 'application/json', 'Validation-Token': 'wtdwi2y88489yr34iwegsekshwekfhsdfh' },
                body: '',
            });
            assert.match(outcome.ignored ?? '', /Validation-Token/);
        });

        it('must carry the Verification-Token too when one is configured, as RingCentral sends it', () => {
            const { 'verification-token': _token, ...unverified } = validation.headers;
            assert.deepEqual(refused(post(unverified)), {
                status: 401,
                message:
                    'RingCentral: the request has no Verification-Token header; create the subscription with deliveryMode.verificationToken set to the Platform secret',
            });
            assert.deepEqual(refused(post({ ...validation.headers, 'verification-token': 'guessed' })), {
                status: 401,
                message: 'RingCentral: the Verification-Token header does not match the configured verification token',
            });
            assert.equal(post(unverified, { verificationToken: '', now }).answer.headers['Validation-Token'], 'wtdwi2y88489yr34iwegsekshwekfhsdfh');
        });

        it('echoes nothing that is not a short visible token', () => {
            for (const token of ['', 'with space', 'x'.repeat(257), 'caf\u00e9']) {
                assert.deepEqual(refused(post({ ...validation.headers, 'validation-token': token })), {
                    status: 400,
                    message: 'RingCentral: the Validation-Token header must be 1 to 256 visible ASCII characters',
                });
            }
        });

        it('is no handshake when a body comes with the header: that is a notification', () => {
            const events = accepted(adapter.receive(request(fixture('06-agent-proceeding.json'), { 'validation-token': 'hello-world' })));
            assert.equal(events[0]!.type, 'presenting');
        });
    });

    describe('the Verification-Token of every notification', () => {
        const body = fixture('07-agent-answered.json');

        it('is compared with the configured token; a missing or different one is refused 401 naming the header', () => {
            assert.equal(accepted(adapter.receive(request(body))).length, 1);
            assert.match(refused(adapter.receive(request(body, { 'verification-token': `${TOKEN}x` }))).message, /Verification-Token header does not match/);
            const { 'verification-token': _token, ...headers } = request(body).headers;
            assert.deepEqual(refused(adapter.receive({ headers, rawBody: body })).status, 401);
        });

        it('is checked before the body is read, so a forged body is never parsed', () => {
            assert.equal(refused(adapter.receive(request('{"not json', { 'verification-token': 'forged' }))).status, 401);
        });

        it('is not checked when none is configured', () => {
            assert.equal(accepted(ringcentralAdapter({ now }).receive(request(body, { 'verification-token': 'anything' }))).length, 1);
        });

        it('is the Platform secret of the node', () => {
            const built = createWebhookAdapter({ source: 'ringcentral', secret: TOKEN });
            assert.equal(built.source, 'ringcentral');
            // The node's adapter runs on the real clock, where the fixture is long past: ignored, but verified first.
            assert.match(ignoredWithBody(built.receive(request(body))), /more than an hour old/);
            assert.equal(refused(built.receive(request(body, { 'verification-token': 'guessed' }))).status, 401);
        });
    });

    describe('notifications with nothing for the call model are answered 200', () => {
        it('another event filter', () => {
            const presence = JSON.stringify({
                uuid: '5810000000999999999',
                event: '/restapi/v1.0/account/400123456008/extension/400123459008/presence?detailedTelephonyState=true',
                timestamp: '2025-03-14T15:02:21.500Z',
                subscriptionId: '8f2b6a0c-4d1e-4b8a-9c3f-2e7d5a1b0c94',
                ownerId: '400123457008',
                body: { extensionId: 400123459008, telephonyStatus: 'Ringing' },
            });
            assert.match(ignoredWithBody(adapter.receive(request(presence))), /another event filter/);
        });

        it('a session that is no call (a greeting being recorded, a test call)', () => {
            for (const type of ['GreetingsRecording', 'VerificationCall', 'TestCall']) {
                const body = edited('01-caller-setup.json', (notification) => {
                    notification.body.origin = { type };
                });
                assert.equal(ignoredWithBody(adapter.receive(request(body))), `a RingCentral session of origin ${type}, which is no call with anyone`);
            }
        });

        it('a notification more than an hour old or from the future: a replay', () => {
            const late = ringcentralAdapter({ verificationToken: TOKEN, now: () => Date.parse('2025-03-14T16:02:11.000Z') });
            assert.match(ignoredWithBody(late.receive(request(fixture('01-caller-setup.json')))), /more than an hour old/);
            const early = ringcentralAdapter({ verificationToken: TOKEN, now: () => Date.parse('2025-03-14T14:57:00.000Z') });
            assert.match(ignoredWithBody(early.receive(request(fixture('01-caller-setup.json')))), /ahead of this server/);
        });

        it('a notification without parties, or whose parties have no status', () => {
            const bare = edited('01-caller-setup.json', (notification) => {
                delete notification.body.parties;
            });
            assert.match(ignoredWithBody(adapter.receive(request(bare))), /lists no parties/);
            const noStatus = edited('01-caller-setup.json', (notification) => {
                delete notification.body.parties[0].status;
            });
            assert.match(ignoredWithBody(adapter.receive(request(noStatus))), /carry no "status.code"/);
        });
    });

    describe('a malformed request is refused naming the field', () => {
        const cases: [string, string | Buffer, Record<string, string>, number, RegExp][] = [
            ['an empty body without a Validation-Token', '', {}, 400, /body is empty and there is no Validation-Token header/],
            ['not JSON', '{"event": ', {}, 400, /not JSON/],
            ['JSON nested too deep', `${'['.repeat(5000)}${']'.repeat(5000)}`, {}, 400, /nest/],
            ['not an object', '[]', {}, 400, /not a JSON object/],
            ['another content type', 'event=x', { 'content-type': 'application/x-www-form-urlencoded' }, 415, /application\/json/],
            ['no event', edited('01-caller-setup.json', (n) => delete n.event), {}, 400, /"event"/],
            ['no body', edited('01-caller-setup.json', (n) => delete n.body), {}, 400, /"body" object/],
            ['no telephonySessionId', edited('01-caller-setup.json', (n) => delete n.body.telephonySessionId), {}, 400, /"body.telephonySessionId"/],
            ['a telephonySessionId too long', edited('01-caller-setup.json', (n) => (n.body.telephonySessionId = 's'.repeat(257))), {}, 400, /longer than 256/],
            [
                'no date',
                edited('01-caller-setup.json', (n) => {
                    delete n.body.eventTime;
                    delete n.timestamp;
                }),
                {},
                400,
                /"body.eventTime"/,
            ],
            ['a sequence that is no whole number', edited('01-caller-setup.json', (n) => (n.body.sequence = '2')), {}, 400, /"body.sequence"/],
            ['parties not an array', edited('01-caller-setup.json', (n) => (n.body.parties = {})), {}, 400, /"body.parties" is not an array/],
            [
                'too many parties',
                edited('01-caller-setup.json', (n) => (n.body.parties = Array(101).fill(n.body.parties[0]))),
                {},
                400,
                /101 parties, more than the limit of 100/,
            ],
            ['a party not an object', edited('01-caller-setup.json', (n) => (n.body.parties = ['x'])), {}, 400, /"body.parties\[0\]" is not an object/],
            [
                'a status not an object',
                edited('01-caller-setup.json', (n) => (n.body.parties[0].status = 'Setup')),
                {},
                400,
                /"body.parties\[0\].status" is not an object/,
            ],
            [
                'a status code not a string',
                edited('01-caller-setup.json', (n) => (n.body.parties[0].status.code = 7)),
                {},
                400,
                /"body.parties\[0\].status.code" is not a string/,
            ],
        ];
        for (const [what, body, headers, status, message] of cases) {
            it(what, () => {
                const outcome = adapter.receive(request(body, headers));
                const refusal = refused(outcome);
                assert.equal(refusal.status, status);
                assert.match(refusal.message, message);
            });
        }

        it('never throws, whatever the bytes', () => {
            for (const bytes of [
                Buffer.from([0xff, 0xfe, 0x00]),
                Buffer.from('null'),
                Buffer.from('{"event":"/restapi/v1.0/account/1/telephony/sessions","body":{"telephonySessionId":{}}}'),
            ]) {
                assert.equal(adapter.receive(request(bytes)).ok, false);
            }
        });
    });

    describe('ids', () => {
        it('a party id too long for an event id is hashed, keeping the id stable', () => {
            const body = edited('07-agent-answered.json', (notification) => {
                notification.body.parties[0].id = `p-${'9'.repeat(300)}`;
            });
            const [first] = accepted(adapter.receive(request(body)));
            const [again] = accepted(adapter.receive(request(body)));
            assert.match(first!.eventId!, /^ringcentral:[0-9a-f]{40}$/);
            assert.equal(first!.eventId, again!.eventId);
        });

        it('without a sequence, the notification uuid tells deliveries apart', () => {
            const body = edited('08-agent-hold.json', (notification) => {
                delete notification.body.sequence;
            });
            const [event] = accepted(adapter.receive(request(body)));
            assert.equal(event!.eventId, 'ringcentral:s-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21:uuid:5810000000063353048:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-3');
            assert.equal(event!.timestamp, Date.parse('2025-03-14T15:03:40.500Z'));
        });

        it('every party of one notification gives its own event', () => {
            const body = edited('06-agent-proceeding.json', (notification) => {
                const second = structuredClone(notification.body.parties[0]);
                second.id = 'p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-5';
                second.extensionId = '400123460008';
                second.to = { phoneNumber: '+18005550100', name: 'Mary Major', extensionId: '400123460008' };
                notification.body.parties.push(second);
            });
            const events = accepted(adapter.receive(request(body)));
            assert.deepEqual(
                events.map((event) => [event.type, event.agent?.name, event.eventId]),
                [
                    ['presenting', 'John Doe', 'ringcentral:s-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-3:presenting'],
                    ['presenting', 'Mary Major', 'ringcentral:s-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21:p-a0f3c1e2b4d54f6a8e9b7c6d5e4f3a21-5:presenting'],
                ],
            );
        });
    });

    it('VoiceMail is no answer: the agent leg going to voicemail rings nothing, connects nothing, names no agent', () => {
        const voicemail = edited('06-agent-proceeding.json', (notification) => {
            notification.body.sequence = 8;
            notification.body.parties[0].status = { code: 'VoiceMail' };
        });
        const [event] = accepted(adapter.receive(request(voicemail)));
        assert.equal(event!.type, 'update');
        assert.equal(event!.agent, undefined);
    });
});
