// Zoom Contact Center engagement events (contact_center.*) through the zoom source: each fixture life into its exact
// raw events, the channel filter, the events answered and not used, and the refusals naming the field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebhookRequest } from '../../src/adapters/adapter';
import { parseNameTable } from '../../src/adapters/name-table';
import type { RawEvent } from '../../src/call/raw-event';
import { zoomAdapter, zoomSignature, type ZoomOptions } from '../../src/adapters/zoom';
import { accepted, ignored, refused, withoutIds } from '../support/adapter-outcomes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'zoom');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const fixtureJson = (name: string): Record<string, unknown> => JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;

const SECRET = 'zoom-secret-token-for-tests';
/** 2024-11-25T20:00:00Z, in seconds as x-zm-request-timestamp has it. */
const NOW_SECONDS = 1732564800;
const clock = (): number => NOW_SECONDS * 1000;

const JOHN_ID = 'uJoHn7Q9yK3bT1nS2pLwAA';
const MARY_ID = 'uMaRy0Q9yK3bT1nS2pLwAA';
/** Reservations name their agent only by id: Mary is in the table, John is not. */
const NAMES = parseNameTable(JSON.stringify({ [MARY_ID]: 'Mary Major' }));

function signed(body: Buffer | string, timestamp = String(NOW_SECONDS), secret = SECRET): WebhookRequest {
    const rawBody = Buffer.from(body);
    return {
        headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(secret, timestamp, rawBody) },
        rawBody,
    };
}

/** A fixture with part of its `payload.object` replaced, as compact JSON. */
function varied(name: string, change: (object: Record<string, unknown>) => void): string {
    const body = fixtureJson(name);
    change((body.payload as Record<string, unknown>).object as Record<string, unknown>);
    return JSON.stringify(body);
}

const life = (prefix: string, events: string[]): string[] => events.map((event, index) => `${prefix}-${index + 1}-contact_center.${event}.json`);

const ANSWERED = life('cc', [
    'engagement_started',
    'task_reservation_created',
    'engagement_user_answered',
    'engagement_user_ended',
    'engagement_disposition_added',
    'engagement_ended',
    'recording_completed',
]);
const TIMEOUT = life('cc-timeout', [
    'engagement_started',
    'task_entered_queue',
    'task_reservation_created',
    'task_reservation_timeout',
    'task_reservation_created',
    'engagement_user_answered',
    'engagement_ended',
]);
const TRANSFER = [
    'engagement_started',
    'task_reservation_created',
    'engagement_user_answered',
    'engagement_transfer_initiated',
    'engagement_transfer_queued',
    'engagement_transfer_reserved',
    'engagement_transfer_accepted',
    'engagement_transfer_completed',
    'engagement_user_ended',
    'engagement_disposition_added',
    'engagement_ended',
].map((event, index) => `cc-transfer-${String(index + 1).padStart(2, '0')}-contact_center.${event}.json`);
const ABANDONED = life('cc-abandoned', [
    'engagement_started',
    'task_entered_queue',
    'task_reservation_created',
    'task_reservation_canceled',
    'engagement_ended',
]);
const LATE = life('cc-late', [
    'task_reservation_created',
    'engagement_started',
    'engagement_user_answered',
    'engagement_ended',
    'engagement_user_ended',
    'engagement_disposition_added',
    'engagement_disposition_added',
]);
const CHAT = life('cc-chat', ['engagement_started', 'task_reservation_created', 'engagement_user_answered', 'engagement_ended']);

/** What every event of a voice engagement with an agent says of the customer and the number they called. */
const CUSTOMER = { callerName: 'Jane Roe', externalNumber: '+18015550000', dnis: '+18015551234' } as const;

describe('Zoom adapter: Zoom Contact Center voice engagements', () => {
    const options: ZoomOptions = { secretToken: SECRET, now: clock, names: NAMES };
    const adapter = zoomAdapter(options);
    const play = (names: string[]): RawEvent[] => names.flatMap((name) => accepted(adapter.receive(signed(fixture(name)))));

    it('plays an answered call with a disposition into the exact raw events; the recording has no link and is not used', () => {
        const outcomes = ANSWERED.map((name) => adapter.receive(signed(fixture(name))));
        for (const [index, outcome] of outcomes.entries()) {
            const count = index === 6 ? 0 : 1;
            assert.deepEqual(outcome.answer, { status: 200, headers: { 'content-type': 'application/json' }, body: `{"received":${count}}` }, ANSWERED[index]);
        }
        const call = { callId: 'Ng7kQ2xVr4TfW9bLp3sHcA', direction: 'Inbound' } as const;
        assert.deepEqual(withoutIds(outcomes.slice(0, 6).flatMap(accepted)), [
            // The engagement reached the flow: no agent rings yet, so it is no "presenting".
            { type: 'update', ...call, timestamp: 1732546800000, startTime: Date.parse('2024-11-25T15:00:00.000Z') },
            // The reservation names John only by id, and the names table does not know him.
            { type: 'presenting', ...call, timestamp: 1732546804000, group: 'Support', agent: { name: JOHN_ID } },
            { type: 'connected', ...call, timestamp: 1732546809000, ...CUSTOMER, group: 'Support', agent: { name: 'John Doe' } },
            // The agent leaving names neither the agent nor the queue: a transfer may have given the call to another.
            { type: 'update', ...call, timestamp: 1732547100000, ...CUSTOMER },
            // The disposition's name stands in for the account codes.
            { type: 'accountCodes', callId: call.callId, timestamp: 1732547130000, accountCodes: ['Resolved'] },
            { type: 'complete', ...call, timestamp: 1732547135000, pendingRecordings: 0 },
        ]);
        assert.equal(
            ignored(outcomes[6]!),
            "Zoom Contact Center: contact_center.recording_completed carries the recording's id but no download link (the file is listed by Zoom's Contact Center recordings API), so nothing stands in for the Audio Recording Link",
        );
    });

    it('rings a second agent after the first reservation times out: two presentings, the timeout only an update', () => {
        const call = { callId: 'Tm5RwP8yZc2KdF6nJq1VbE', direction: 'Inbound' } as const;
        assert.deepEqual(withoutIds(play(TIMEOUT)), [
            // transfer_from says the call came over from Zoom Phone; it is the same engagement all the same.
            { type: 'update', ...call, timestamp: 1732550400000, startTime: 1732550400000 },
            { type: 'update', callId: call.callId, timestamp: 1732550402000, group: 'Support' },
            { type: 'presenting', ...call, timestamp: 1732550403000, group: 'Support', agent: { name: 'Mary Major' } },
            // The timed-out reservation leaves the call ringing others: no agent, no end.
            { type: 'update', callId: call.callId, timestamp: 1732550423000 },
            { type: 'presenting', ...call, timestamp: 1732550423500, group: 'Support', agent: { name: JOHN_ID } },
            { type: 'connected', ...call, timestamp: 1732550428000, ...CUSTOMER, group: 'Support', agent: { name: 'John Doe' } },
            { type: 'complete', ...call, timestamp: 1732550700000, pendingRecordings: 0 },
        ]);
    });

    it('gives a transferred call to the target agent: presenting when reserved, connected when accepted', () => {
        const call = { callId: 'Xf3HsL9aQe7MvC2kWt6YrU', direction: 'Inbound' } as const;
        const withCustomer = { ...call, ...CUSTOMER };
        const mary = { group: 'Billing', agent: { name: 'Mary Major' } };
        assert.deepEqual(withoutIds(play(TRANSFER)), [
            { type: 'update', ...call, timestamp: 1732554000000, startTime: 1732554000000 },
            { type: 'presenting', ...call, timestamp: 1732554003000, group: 'Support', agent: { name: JOHN_ID } },
            { type: 'connected', ...withCustomer, timestamp: 1732554007000, group: 'Support', agent: { name: 'John Doe' } },
            // Initiated and queued: the call is still John's.
            { type: 'update', ...withCustomer, timestamp: 1732554120000 },
            { type: 'update', ...withCustomer, timestamp: 1732554121000 },
            // The target is the transfer_to_ user and queue; user_id is John, handing the call on.
            { type: 'presenting', ...withCustomer, timestamp: 1732554125000, ...mary },
            { type: 'connected', ...withCustomer, timestamp: 1732554131000, ...mary },
            { type: 'update', ...withCustomer, timestamp: 1732554150000, ...mary },
            // John leaving after the transfer does not put him back on the call.
            { type: 'update', ...withCustomer, timestamp: 1732554150500 },
            { type: 'accountCodes', callId: call.callId, timestamp: 1732554400000, accountCodes: ['Billing question'] },
            { type: 'complete', ...call, timestamp: 1732554405000, pendingRecordings: 0 },
        ]);
    });

    it('ends an abandoned call as complete; no event says missed, the tracker finds it never answered', () => {
        const call = { callId: 'Ab4DnG8pKs1XwR5zTq9MhL', direction: 'Inbound' } as const;
        const events = play(ABANDONED);
        assert.deepEqual(withoutIds(events), [
            { type: 'update', ...call, timestamp: 1732557600000, startTime: 1732557600000 },
            { type: 'update', callId: call.callId, timestamp: 1732557602000, group: 'Support' },
            { type: 'presenting', ...call, timestamp: 1732557603000, group: 'Support', agent: { name: 'Mary Major' } },
            { type: 'update', callId: call.callId, timestamp: 1732557615000 },
            { type: 'complete', ...call, timestamp: 1732557615500, pendingRecordings: 0 },
        ]);
        assert.ok(!events.some((event) => event.type === 'connected'));
    });

    it('maps each event of a life delivered out of order on its own, stamped with event_ts for the tracker to order', () => {
        const call = { callId: 'Lt2VcB6mNx9QaE3rYh7JsP', direction: 'Inbound' } as const;
        assert.deepEqual(withoutIds(play(LATE)), [
            { type: 'presenting', ...call, timestamp: 1732561203000, group: 'Support', agent: { name: JOHN_ID } },
            { type: 'update', ...call, timestamp: 1732561200000, startTime: 1732561200000 },
            { type: 'connected', ...call, timestamp: 1732561209000, ...CUSTOMER, group: 'Support', agent: { name: 'John Doe' } },
            { type: 'complete', ...call, timestamp: 1732561500000, pendingRecordings: 0 },
            { type: 'update', ...call, timestamp: 1732561499000, ...CUSTOMER },
            { type: 'accountCodes', callId: call.callId, timestamp: 1732561530000, accountCodes: ['Sale'] },
            // Chosen first, delivered last: its earlier timestamp keeps it from replacing "Sale".
            { type: 'accountCodes', callId: call.callId, timestamp: 1732561520000, accountCodes: ['Callback requested'] },
        ]);
    });

    it('names the agent from the payload, else from the names table, else by id', () => {
        const named = zoomAdapter({ ...options, names: parseNameTable(JSON.stringify({ [JOHN_ID]: 'John Doe (Support)' })) });
        const agentOf = (body: Buffer | string, on = named) => accepted(on.receive(signed(body)))[0]!.agent;
        assert.deepEqual(agentOf(fixture(ANSWERED[1]!)), { name: 'John Doe (Support)' });
        assert.deepEqual(agentOf(fixture(ANSWERED[2]!)), { name: 'John Doe' }, "the payload's display name wins over the table");
        const withoutName = varied(ANSWERED[2]!, (object) => delete object.user_display_name);
        assert.deepEqual(agentOf(withoutName), { name: 'John Doe (Support)' });
        assert.deepEqual(agentOf(withoutName, adapter), { name: JOHN_ID });
        const noUser = varied(ANSWERED[1]!, (object) => delete object.assigned_user_id);
        const [presenting] = accepted(named.receive(signed(noUser)));
        assert.equal(presenting!.type, 'presenting');
        assert.equal(presenting!.agent, undefined);
    });

    it('keeps a transfer to a queue with no agent reserved yet from ringing or connecting anyone', () => {
        for (const name of [TRANSFER[5]!, TRANSFER[6]!]) {
            const toQueue = varied(name, (object) => {
                delete object.transfer_to_user_id;
                delete object.transfer_to_user_display_name;
            });
            const [event] = accepted(adapter.receive(signed(toQueue)));
            assert.equal(event!.type, 'update', name);
            assert.equal(event!.group, 'Billing');
            assert.equal(event!.agent, undefined);
        }
        const byId = varied(TRANSFER[6]!, (object) => delete object.transfer_to_user_display_name);
        assert.deepEqual(accepted(adapter.receive(signed(byId)))[0]!.agent, { name: 'Mary Major' });
    });

    it('reads direction and numbers the same way in an outbound engagement', () => {
        const outbound = varied(ANSWERED[2]!, (object) => (object.engagement_direction = 'outbound'));
        const [event] = accepted(adapter.receive(signed(outbound)));
        assert.equal(event!.direction, 'Outbound');
        assert.equal(event!.externalNumber, '+18015550000', 'the consumer is the customer either way');
        assert.equal(event!.dnis, '+18015551234', "and the flow's number the contact center's");
        const unknown = varied(ANSWERED[2]!, (object) => (object.engagement_direction = 'sideways'));
        assert.equal(accepted(adapter.receive(signed(unknown)))[0]!.direction, undefined);
    });

    it("takes the disposition's name, else its id through the names table", () => {
        const idOnly = varied(ANSWERED[4]!, (object) => delete object.disposition_name);
        assert.deepEqual(accepted(adapter.receive(signed(idOnly)))[0]!.accountCodes, ['dReS0lVeD1aB2cD3eF4gHw']);
        const named = zoomAdapter({ ...options, names: parseNameTable('{"dReS0lVeD1aB2cD3eF4gHw": "Solved"}') });
        assert.deepEqual(accepted(named.receive(signed(idOnly)))[0]!.accountCodes, ['Solved']);
    });

    it('waits for no recording, whatever "Recordings per call" says (that is for Zoom Phone)', () => {
        const recording = zoomAdapter({ ...options, recordingsPerCall: 1 });
        assert.equal(accepted(recording.receive(signed(fixture(ANSWERED[5]!))))[0]!.pendingRecordings, 0);
    });

    describe('voice only', () => {
        it('answers every event of a chat engagement 200 with the reason, and maps none', () => {
            for (const name of CHAT) {
                const outcome = adapter.receive(signed(fixture(name)));
                const event = name.replace(/^cc-chat-\d-/, '').replace(/\.json$/, '');
                assert.equal(ignored(outcome), `Zoom Contact Center: ${event} is of a chat engagement, not a voice call`);
                assert.equal(outcome.answer.body, '{"received":0}');
            }
        });

        it('takes channel, else channel_name, and any case of "voice"; an event that names no channel is taken as voice', () => {
            for (const channel of ['video', 'sms', 'in_app_chat', 'email']) {
                const other = varied(ANSWERED[2]!, (object) => (object.channel = channel));
                assert.equal(
                    ignored(adapter.receive(signed(other))),
                    `Zoom Contact Center: contact_center.engagement_user_answered is of a ${channel} engagement, not a voice call`,
                );
            }
            const byName = varied(ANSWERED[2]!, (object) => {
                delete object.channel;
                object.channel_name = 'chat';
            });
            assert.match(ignored(adapter.receive(signed(byName))), /is of a chat engagement/);
            const upper = varied(ANSWERED[2]!, (object) => (object.channel = 'Voice'));
            assert.equal(accepted(adapter.receive(signed(upper)))[0]!.type, 'connected');
            const none = varied(ANSWERED[2]!, (object) => delete object.channel);
            assert.equal(accepted(adapter.receive(signed(none)))[0]!.type, 'connected');
        });
    });

    it('answers the events it does not use 200, with the reason', () => {
        const event = (name: string, object: Record<string, unknown> = { engagement_id: 'Ng7kQ2xVr4TfW9bLp3sHcA', channel: 'voice' }) =>
            JSON.stringify({ event: name, event_ts: 1732546900000, payload: { account_id: 'Qx3aXyP1Q-2R5xJ0d7kWmA', object } });
        assert.equal(
            ignored(adapter.receive(signed(event('contact_center.task_reservation_accepted')))),
            "Zoom Contact Center: contact_center.task_reservation_accepted is not used: the agent's answer comes from contact_center.engagement_user_answered",
        );
        assert.match(
            ignored(adapter.receive(signed(event('contact_center.task_created')))),
            /is not used: the call comes from contact_center\.engagement_started/,
        );
        for (const name of ['contact_center.engagement_user_hold', 'contact_center.engagement_wrap_up_started', 'contact_center.engagement_note_added']) {
            assert.equal(
                ignored(adapter.receive(signed(event(name)))),
                `Zoom Contact Center: ${name} carries no call change this node maps (e.g. hold, mute, notes, wrap-up, messages, routing tasks)`,
            );
        }
        // Not read at all, so not refused for their shape either; a name is not looked up as an object key.
        for (const name of ['contact_center.constructor', 'contact_center.__proto__', 'contact_center.toString']) {
            assert.match(ignored(adapter.receive(signed(JSON.stringify({ event: name })))), /carries no call change this node maps/);
        }
        assert.equal(
            ignored(adapter.receive(signed(JSON.stringify({ event: 'contact_center.x\nforged line' })))),
            'Zoom Contact Center: contact_center.x\\nforged line carries no call change this node maps (e.g. hold, mute, notes, wrap-up, messages, routing tasks)',
        );
    });

    it('gives every delivery its own event id, and a retried delivery the same one', () => {
        const lives = [...ANSWERED, ...TIMEOUT, ...TRANSFER, ...ABANDONED, ...LATE];
        const ids = lives.flatMap((name) => accepted(adapter.receive(signed(fixture(name))))).map((event) => event.eventId!);
        assert.equal(new Set(ids).size, ids.length);
        assert.match(ids[0]!, /^zoom:contact_center\.engagement_started:Ng7kQ2xVr4TfW9bLp3sHcA:[0-9a-f]{32}$/);
        // Zoom retries later: a new signature over the same body.
        const later = zoomAdapter({ ...options, now: () => clock() + 3_600_000 });
        const retried = accepted(later.receive(signed(fixture(ANSWERED[2]!), String(NOW_SECONDS + 3600))));
        assert.equal(retried[0]!.eventId, ids[2]);
    });

    it('names the field when a mapped event is malformed', () => {
        const cases: [string, string][] = [
            ['{"event": "contact_center.engagement_started"}', 'Zoom: contact_center.engagement_started has no "payload" object'],
            ['{"event": "contact_center.engagement_ended", "payload": {"object": []}}', 'Zoom: contact_center.engagement_ended has no "payload.object" object'],
            [
                varied(ANSWERED[2]!, (object) => delete object.engagement_id),
                'Zoom: contact_center.engagement_user_answered has no "payload.object.engagement_id"',
            ],
            [
                varied(ANSWERED[1]!, (object) => (object.engagement_id = '   ')),
                'Zoom: contact_center.task_reservation_created has no "payload.object.engagement_id"',
            ],
            [
                varied(ANSWERED[1]!, (object) => (object.engagement_id = { id: 'x' })),
                'Zoom: "payload.object.engagement_id" of contact_center.task_reservation_created is not a string',
            ],
            [varied(CHAT[0]!, (object) => (object.channel = ['chat'])), 'Zoom: "payload.object.channel" of contact_center.engagement_started is not a string'],
            [
                varied(ANSWERED[2]!, (object) => (object.user_display_name = { first: 'John' })),
                'Zoom: "payload.object.user_display_name" of contact_center.engagement_user_answered is not a string',
            ],
            [
                varied(ANSWERED[2]!, (object) => (object.engagement_direction = true)),
                'Zoom: "payload.object.engagement_direction" of contact_center.engagement_user_answered is not a string',
            ],
            [
                varied(ANSWERED[0]!, (object) => (object.date_time_ms = 'the morning')),
                'Zoom: "payload.object.date_time_ms" of contact_center.engagement_started is not a date and time',
            ],
            [
                varied(ANSWERED[4]!, (object) => {
                    delete object.disposition_name;
                    delete object.disposition_id;
                }),
                'Zoom: contact_center.engagement_disposition_added has no "payload.object.disposition_name" (nor "disposition_id")',
            ],
            [
                varied(TRANSFER[6]!, (object) => (object.transfer_to_user_id = false)),
                'Zoom: "payload.object.transfer_to_user_id" of contact_center.engagement_transfer_accepted is not a string',
            ],
        ];
        for (const [body, message] of cases) {
            assert.deepEqual(refused(adapter.receive(signed(body))), { status: 400, message }, body);
        }
    });

    describe('x-zm-signature, as for Zoom Phone', () => {
        const body = fixture(ANSWERED[2]!);

        it('takes a Contact Center event signed with the secret token, and refuses one forged, tampered or stale', () => {
            assert.equal(accepted(adapter.receive(signed(body))).length, 1);
            assert.deepEqual(refused(adapter.receive(signed(body, String(NOW_SECONDS), 'another-token'))), {
                status: 401,
                message: 'Zoom: x-zm-signature does not match this body and x-zm-request-timestamp with the configured secret token',
            });
            const request = signed(body);
            const tampered = Buffer.from(body.toString('utf8').replace('"inbound"', '"outbound"'));
            assert.equal(refused(adapter.receive({ headers: request.headers, rawBody: tampered })).status, 401);
            assert.equal(refused(adapter.receive(signed(body, String(NOW_SECONDS - 301)))).status, 401);
            const { 'x-zm-signature': _signature, ...unsigned } = request.headers;
            assert.match(refused(adapter.receive({ headers: unsigned, rawBody: body })).message, /no x-zm-signature header/);
        });

        it('is checked before the body is read: a forged chat event is refused, not ignored', () => {
            assert.equal(refused(adapter.receive(signed(fixture(CHAT[0]!), String(NOW_SECONDS), 'another-token'))).status, 401);
        });
    });
});
