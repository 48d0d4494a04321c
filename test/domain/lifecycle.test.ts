import assert from 'node:assert/strict';
import type { RawEvent } from '../../src/call/raw-event';
import { CallTracker, type Trigger, type TrackerOptions } from '../../src/lifecycle/call-tracker';
import { validateRawEvent, validateRawEvents } from '../../src/lifecycle/raw-event-validation';

const CALL = 'c0ffee00-0000-4000-8000-000000000001';

function trackerAt(start = 1_000_000, options: Partial<TrackerOptions> = {}): { tracker: CallTracker; clock: { now: number } } {
    const clock = { now: start };
    return { tracker: new CallTracker({ ...options, now: () => clock.now }), clock };
}

function play(tracker: CallTracker, events: Array<Partial<RawEvent> & Pick<RawEvent, 'type'>>): Trigger[] {
    return events.flatMap((event) => tracker.ingest({ callId: CALL, ...event } as RawEvent));
}

const ids = (triggers: Trigger[]): string[] => triggers.map((trigger) => trigger.event);

describe('call lifecycle: the five triggering events', () => {
    it('a plain answered call with no recording: presenting, connected, complete, processed, updated', () => {
        const { tracker } = trackerAt();
        const triggers = play(tracker, [
            {
                type: 'presenting',
                eventId: 'e1',
                timestamp: 100,
                direction: 'Inbound',
                callerName: 'Jane Roe',
                agent: { name: 'John Doe', extension: '154' },
                group: 'Sales',
                startTime: 100,
            },
            { type: 'connected', eventId: 'e2', timestamp: 200 },
            { type: 'complete', eventId: 'e3', timestamp: 60_100 },
        ]);
        assert.deepEqual(ids(triggers), ['presenting', 'connected', 'complete', 'processed', 'updated']);
        const updated = triggers[4].call;
        assert.equal(updated.agent, 'John Doe (154)');
        assert.equal(updated.answered, true);
        assert.equal(triggers[0].call.answered, false, 'not yet answered while presenting');
        assert.equal(updated.group, 'Sales');
        assert.equal(updated.updateSeq, 1);
        assert.equal(updated.duration, 60);
        assert.equal(updated.recordingsMissing, undefined);
        assert.equal(triggers[2].call.updateSeq, undefined, 'only "updated" carries updateSeq');
    });

    it('counts each Presenting and each Connected of a call: a second agent rung is eventSeq 2', () => {
        const { tracker } = trackerAt();
        const triggers = play(tracker, [
            { type: 'presenting', eventId: 'ring-1', timestamp: 100, agent: { name: 'First' } },
            { type: 'presenting', eventId: 'ring-1', timestamp: 100, agent: { name: 'First' } },
            { type: 'presenting', eventId: 'ring-2', timestamp: 200, agent: { name: 'Second' } },
            { type: 'connected', eventId: 'answer-2', timestamp: 300 },
            { type: 'presenting', eventId: 'transfer-ring', timestamp: 400, agent: { name: 'Third' } },
            { type: 'connected', eventId: 'transfer-answer', timestamp: 500 },
            { type: 'complete', eventId: 'end', timestamp: 600 },
        ]);
        assert.deepEqual(
            triggers.map((trigger) => [trigger.event, trigger.call.eventSeq]),
            [
                ['presenting', 1],
                ['presenting', 2],
                ['connected', 1],
                ['presenting', 3],
                ['connected', 2],
                ['complete', undefined],
                ['processed', undefined],
                ['updated', undefined],
            ],
            'a repeated event fires nothing and counts nothing; complete, processed and updated carry no eventSeq',
        );
    });

    it('orders events of one millisecond by a fraction of their timestamps, and gives the call whole milliseconds', () => {
        const { tracker } = trackerAt();
        // Two updates of the same millisecond arriving in reverse order (RingCentral's sequence makes the fraction).
        const triggers = play(tracker, [
            { type: 'presenting', eventId: 'p', timestamp: 1732482000120.002, agent: { name: 'Second' } },
            { type: 'presenting', eventId: 'q', timestamp: 1732482000120.001, agent: { name: 'First' } },
        ]);
        assert.deepEqual(
            triggers.map((trigger) => [trigger.call.agent, trigger.call.time]),
            [
                ['Second', 1732482000120],
                ['Second', 1732482000120],
            ],
            'the later of the two keeps the agent, and Time is a whole number of ms',
        );
    });

    it('a missed call: presenting, complete, processed, updated and no connected', () => {
        const { tracker } = trackerAt();
        const triggers = play(tracker, [
            { type: 'presenting', eventId: 'p' },
            { type: 'complete', eventId: 'c' },
        ]);
        assert.deepEqual(ids(triggers), ['presenting', 'complete', 'processed', 'updated']);
        assert.equal(triggers[1].call.answered, false);
    });

    it('two recordings, one before and one after complete: processed waits for the second, carries both links', () => {
        const { tracker } = trackerAt();
        const before = play(tracker, [
            { type: 'connected', eventId: 'a', timestamp: 100 },
            { type: 'recording', eventId: 'r1', timestamp: 150, recordingUrl: 'https://rec/1.wav' },
            { type: 'complete', eventId: 'c', timestamp: 200, pendingRecordings: 1 },
        ]);
        assert.deepEqual(ids(before), ['connected', 'complete']);
        const after = play(tracker, [{ type: 'recording', eventId: 'r2', timestamp: 300, recordingUrl: 'https://rec/2.wav' }]);
        assert.deepEqual(ids(after), ['processed', 'updated']);
        assert.deepEqual(after[0].call.recordingLink, ['https://rec/1.wav', 'https://rec/2.wav']);
    });

    it('a recording that overtakes its complete still counts as one of the pending', () => {
        const { tracker } = trackerAt();
        const triggers = play(tracker, [
            { type: 'recording', eventId: 'r', timestamp: 300, recordingUrl: 'https://rec/1.wav' },
            { type: 'complete', eventId: 'c', timestamp: 200, pendingRecordings: 1 },
        ]);
        assert.deepEqual(ids(triggers), ['complete', 'processed', 'updated']);
    });

    it('account codes: changed before processing ride on the first update; after, each change fires; an unchanged set fires nothing', () => {
        const { tracker } = trackerAt();
        const first = play(tracker, [
            { type: 'connected', eventId: '1', timestamp: 100 },
            { type: 'accountCodes', eventId: '2', timestamp: 150, accountCodes: ['Opp Won'] },
            { type: 'complete', eventId: '3', timestamp: 200, pendingRecordings: 1 },
            { type: 'recording', eventId: '4', timestamp: 250, recordingUrl: 'https://rec/1.wav' },
        ]);
        assert.deepEqual(ids(first), ['connected', 'complete', 'processed', 'updated']);
        assert.deepEqual(first[3].call.accountCodes, ['Opp Won']);
        const changed = play(tracker, [{ type: 'accountCodes', eventId: '5', timestamp: 300, accountCodes: ['Opp Won', 'Large Sale'] }]);
        assert.deepEqual(ids(changed), ['updated']);
        assert.equal(changed[0].call.updateSeq, 2);
        assert.deepEqual(changed[0].call.accountCodes, ['Opp Won', 'Large Sale']);
        assert.deepEqual(play(tracker, [{ type: 'accountCodes', eventId: '6', timestamp: 400, accountCodes: ['Large Sale', 'Opp Won'] }]), []);
        const removed = play(tracker, [{ type: 'accountCodes', eventId: '7', timestamp: 500, accountCodes: [] }]);
        assert.deepEqual(ids(removed), ['updated']);
        assert.equal(removed[0].call.updateSeq, 3);
    });

    it('a stale account-code event (older than the set in force) changes nothing', () => {
        const { tracker } = trackerAt();
        play(tracker, [
            { type: 'complete', eventId: 'c', timestamp: 100 },
            { type: 'accountCodes', eventId: 'new', timestamp: 300, accountCodes: ['B'] },
        ]);
        assert.deepEqual(play(tracker, [{ type: 'accountCodes', eventId: 'old', timestamp: 200, accountCodes: ['A'] }]), []);
        assert.deepEqual(tracker.get(CALL)?.accountCodes, ['B']);
    });

    it('duplicated and reordered events give the same triggers and data as in order, once', () => {
        const life: Array<Partial<RawEvent> & Pick<RawEvent, 'type'>> = [
            { type: 'presenting', eventId: '1', timestamp: 100, agent: { name: 'Ann', extension: '1' }, group: 'Sales', startTime: 100, tags: ['VIP'] },
            { type: 'presenting', eventId: '2', timestamp: 110, agent: { name: 'Bob', extension: '2' } },
            { type: 'connected', eventId: '3', timestamp: 200, agent: { name: 'Bob', extension: '2' }, group: 'Support' },
            { type: 'update', eventId: '4', timestamp: 250, tags: ['Callback'] },
            { type: 'complete', eventId: '5', timestamp: 300, pendingRecordings: 1 },
            { type: 'recording', eventId: '6', timestamp: 400, recordingUrl: 'https://rec/x.wav' },
            { type: 'accountCodes', eventId: '7', timestamp: 500, accountCodes: ['Won'] },
        ];
        const inOrder = trackerAt().tracker;
        const expected = play(inOrder, life);
        const shuffled = trackerAt().tracker;
        const reordered = [life[2], life[0], life[5], life[4], life[0], life[1], life[3], life[6], life[2], life[5], life[6]];
        const got = play(shuffled, reordered);
        assert.deepEqual(ids(got).sort(), ids(expected).sort());
        const finalOf = (triggers: Trigger[]) => triggers.filter((trigger) => trigger.event === 'updated').at(-1)!.call;
        const { updateSeq: _a, ...expectedCall } = finalOf(expected);
        const { updateSeq: _b, ...gotCall } = finalOf(got);
        assert.deepEqual(gotCall, expectedCall);
        assert.equal(gotCall.agent, 'Bob (2)', 'the latest agent wins, whatever the arrival order');
        assert.equal(gotCall.group, 'Support');
        assert.deepEqual([...gotCall.tags!].sort(), ['Callback', 'VIP']);
    });

    it('an identical event without an eventId is a duplicate too', () => {
        const { tracker } = trackerAt();
        const event = { type: 'connected' as const, timestamp: 5 };
        assert.equal(play(tracker, [event, event]).length, 1);
    });

    it('a recording that never arrives: processed fires after the wait, marked recordingsMissing', () => {
        const { tracker, clock } = trackerAt(1_000_000, { recordingWaitMs: 15 * 60_000 });
        assert.deepEqual(ids(play(tracker, [{ type: 'complete', eventId: 'c', pendingRecordings: 1 }])), ['complete']);
        assert.equal(tracker.nextDeadline(), 1_000_000 + 15 * 60_000);
        clock.now += 15 * 60_000 - 1;
        assert.deepEqual(tracker.tick(), []);
        clock.now += 1;
        const late = tracker.tick();
        assert.deepEqual(ids(late), ['processed', 'updated']);
        assert.equal(late[0].call.recordingsMissing, true);
        assert.equal(late[1].call.recordingsMissing, true);
        assert.deepEqual(tracker.tick(), [], 'fires once');
        const arrived = play(tracker, [{ type: 'recording', eventId: 'r', recordingUrl: 'https://rec/late.wav' }]);
        assert.deepEqual(ids(arrived), ['updated']);
        assert.equal(arrived[0].call.recordingsMissing, undefined);
        assert.equal(arrived[0].call.updateSeq, 2);
    });

    it('state exported as JSON and restored keeps pending waits, updateSeq and seen events', () => {
        const { tracker, clock } = trackerAt(0, { recordingWaitMs: 1000 });
        play(tracker, [{ type: 'complete', eventId: 'c', pendingRecordings: 1 }]);
        const state = JSON.parse(JSON.stringify(tracker.exportState()));
        const restored = new CallTracker({ recordingWaitMs: 1000, now: () => clock.now }, state);
        assert.deepEqual(play(restored, [{ type: 'complete', eventId: 'c', pendingRecordings: 1 }]), [], 'the seen event stays seen');
        clock.now = 1000;
        assert.deepEqual(ids(restored.tick()), ['processed', 'updated']);
    });

    it('finished calls are forgotten after the retention; unfinished ones after the stale limit', () => {
        const { tracker, clock } = trackerAt(0, { retentionMs: 1000, staleMs: 5000 });
        tracker.ingest({ type: 'complete', callId: 'done', eventId: '1' });
        tracker.ingest({ type: 'presenting', callId: 'ringing', eventId: '2' });
        clock.now = 999;
        tracker.tick();
        assert.equal(tracker.size, 2);
        clock.now = 1000;
        tracker.tick();
        assert.deepEqual([tracker.get('done'), tracker.get('ringing')?.callId], [undefined, 'ringing']);
        clock.now = 5000;
        tracker.tick();
        assert.equal(tracker.size, 0);
    });

    it('10,000 calls in flight stay within the cap, finished calls forgotten first, with a warning', () => {
        const warnings: string[] = [];
        const tracker = new CallTracker({ maxCalls: 4000, onWarning: (message) => warnings.push(message) });
        for (let index = 0; index < 1000; index += 1) tracker.ingest({ type: 'complete', callId: `finished-${index}` });
        for (let index = 0; index < 10_000; index += 1) tracker.ingest({ type: 'presenting', callId: `live-${index}` });
        assert.equal(tracker.size, 4000);
        assert.equal(warnings.length, 7000);
        assert.match(warnings[0], /^tracking limit of 4000 calls reached: forgot finished call finished-0$/);
        assert.match(warnings[1000], /forgot unfinished call live-0 before it was processed/);
        assert.equal(tracker.get('live-9999')?.callId, 'live-9999');
        assert.equal(tracker.get('live-5999'), undefined);
    });
});

describe('raw event validation', () => {
    it('accepts a complete event and an array of them', () => {
        const event = { type: 'complete', callId: 'x', pendingRecordings: 2, agent: { name: 'A', extension: '1' }, tags: ['a'], timestamp: 1 };
        assert.deepEqual(validateRawEvent(event, 'event 0'), event);
        assert.equal(validateRawEvents([event, { type: 'presenting', callId: 'y' }]).length, 2);
    });

    const bad: Array<[string, unknown, RegExp]> = [
        ['not an object', 'text', /^event 0: must be an object, got "text"$/],
        [
            'unknown type',
            { type: 'ringing', callId: 'x' },
            /^event 0: type must be one of presenting, connected, complete, recording, accountCodes, update, got "ringing"$/,
        ],
        ['no callId', { type: 'complete' }, /^event 0: callId must be a non-empty string, got nothing$/],
        ['bad direction', { type: 'update', callId: 'x', direction: 'inbound' }, /direction must be one of Internal, Inbound, Outbound, Intersite/],
        ['bad tags', { type: 'update', callId: 'x', tags: 'VIP' }, /tags must be an array of strings/],
        ['bad agent', { type: 'update', callId: 'x', agent: { name: 5 } }, /agent\.name must be a string/],
        ['bad pending', { type: 'complete', callId: 'x', pendingRecordings: -1 }, /pendingRecordings must be a whole number >= 0/],
        ['recording without url', { type: 'recording', callId: 'x' }, /recordingUrl is required on a recording event/],
        ['bad timestamp', { type: 'update', callId: 'x', timestamp: '2024-01-01' }, /timestamp must be ms since 1970/],
    ];
    for (const [name, value, message] of bad) {
        it(`refuses ${name}, naming the field`, () => {
            assert.throws(
                () => validateRawEvent(value, 'event 0'),
                (err: Error & { code?: string }) => {
                    assert.equal(err.code, 'input');
                    assert.match(err.message, message);
                    return true;
                },
            );
        });
    }

    it('names the index of the first bad event of an array', () => {
        assert.throws(
            () =>
                validateRawEvents([
                    { type: 'complete', callId: 'a' },
                    { type: 'complete', callId: 'b' },
                    { type: 'nope', callId: 'c' },
                ]),
            /^event 2: type/,
        );
    });
});
