import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawEvent } from '../../src/call/raw-event';
import { InputError } from '../../src/errors/coded-error';
import { CallTracker, type TrackedCall, type Trigger } from '../../src/lifecycle/call-tracker';
import { DurableCallTracking } from '../../src/lifecycle/durable-call-tracking';
import { DEFAULT_EVENT_LIMITS, LimitExceededError } from '../../src/lifecycle/event-limits';
import { validateRawEvent, validateRawEvents } from '../../src/lifecycle/raw-event-validation';
import { StoreError, type DurableStore, type RecoveryReport } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';
import { failingWrites } from '../support/failing-writes';
import { until } from '../support/wait';

const CALL = 'c0ffee00-0000-4000-8000-0000000000b0';

/** Asserts a 413 (LimitExceededError, code input) with exactly this message. */
function refusedOver(run: () => unknown, message: string | RegExp): void {
    assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof LimitExceededError, `a LimitExceededError, got ${String(err)}`);
        assert.equal(err.code, 'input');
        assert.equal(err.status, 413);
        if (typeof message === 'string') assert.equal(err.message, message);
        else assert.match(err.message, message);
        return true;
    });
}

const storedBytes = (call: TrackedCall | undefined): number => Buffer.byteLength(JSON.stringify(call), 'utf8');

describe('raw event validation: bounds', () => {
    const { maxIdLength, maxTextLength, maxListMembers, maxEvents } = DEFAULT_EVENT_LIMITS;
    const over = (limit: number, by: number): string => 'x'.repeat(limit + by);

    for (const by of [1, 100_000]) {
        const size = by === 1 ? 'just over' : 'well over';
        it(`refuses ids ${size} the bound with a 413 naming the field`, () => {
            refusedOver(
                () => validateRawEvent({ type: 'presenting', callId: over(maxIdLength, by) }, 'event 0'),
                `event 0: callId is ${maxIdLength + by} characters, over the limit of ${maxIdLength}`,
            );
            refusedOver(
                () => validateRawEvent({ type: 'presenting', callId: CALL, eventId: over(maxIdLength, by) }, 'event 2'),
                `event 2: eventId is ${maxIdLength + by} characters, over the limit of ${maxIdLength}`,
            );
        });

        it(`refuses every other text field ${size} the bound`, () => {
            const long = over(maxTextLength, by);
            const cases: Array<[string, Record<string, unknown>]> = [
                ['callerName', { callerName: long }],
                ['reportCallId', { reportCallId: long }],
                ['dnis', { dnis: long }],
                ['externalNumber', { externalNumber: long }],
                ['location', { location: long }],
                ['group', { group: long }],
                ['agent.name', { agent: { name: long } }],
                ['agent.extension', { agent: { extension: long } }],
                ['recordingUrl', { type: 'recording', recordingUrl: long }],
                ['tags[1]', { tags: ['ok', long] }],
                ['accountCodes[0]', { accountCodes: [long] }],
            ];
            for (const [field, fields] of cases) {
                refusedOver(
                    () => validateRawEvent({ type: 'update', callId: CALL, ...fields }, 'event 3'),
                    `event 3: ${field} is ${maxTextLength + by} characters, over the limit of ${maxTextLength}`,
                );
            }
        });

        it(`refuses tags and account codes with members ${size} the bound`, () => {
            const members = Array.from({ length: maxListMembers + by }, (_, index) => `m${index}`);
            refusedOver(
                () => validateRawEvent({ type: 'update', callId: CALL, tags: members }, 'event 1'),
                `event 1: tags has ${maxListMembers + by} members, over the limit of ${maxListMembers}`,
            );
            refusedOver(
                () => validateRawEvent({ type: 'accountCodes', callId: CALL, accountCodes: members }, 'event 1'),
                `event 1: accountCodes has ${maxListMembers + by} members, over the limit of ${maxListMembers}`,
            );
        });
    }

    it('takes a field exactly at its bound', () => {
        const event = validateRawEvent(
            { type: 'update', callId: 'i'.repeat(maxIdLength), callerName: 'n'.repeat(maxTextLength), tags: Array(maxListMembers).fill('t') },
            'event 0',
        );
        assert.equal(event.callerName?.length, maxTextLength);
    });

    it('refuses more events than maxEvents per request, before looking at any', () => {
        const events = Array.from({ length: maxEvents + 1 }, () => ({ type: 'presenting', callId: CALL }));
        refusedOver(() => validateRawEvents(events), `request: has ${maxEvents + 1} events, over the limit of ${maxEvents} per request`);
        assert.equal(validateRawEvents(events.slice(1)).length, maxEvents);
    });

    it('takes the bounds the caller sets, the others keeping their defaults', () => {
        const limits = { maxTextLength: 8, maxListMembers: 2, maxEvents: 3 };
        refusedOver(
            () =>
                validateRawEvents(
                    [
                        { type: 'update', callId: CALL },
                        { type: 'update', callId: CALL, group: 'Much too long' },
                    ],
                    limits,
                ),
            'event 1: group is 13 characters, over the limit of 8',
        );
        refusedOver(
            () => validateRawEvents([{ type: 'update', callId: CALL, tags: ['a', 'b', 'c'] }], limits),
            'event 0: tags has 3 members, over the limit of 2',
        );
        refusedOver(() => validateRawEvents(Array(4).fill({ type: 'update', callId: CALL }), limits), /^request: has 4 events/);
        assert.equal(validateRawEvents([{ type: 'update', callId: 'x'.repeat(maxIdLength) }], { ...limits, maxIdLength: undefined }).length, 1);
    });

    it('a malformed event stays a 400 (InputError, not a limit), and the first bad event of a batch is named', () => {
        assert.throws(
            () =>
                validateRawEvents([
                    { type: 'update', callId: CALL },
                    { type: 'update', callId: CALL, callerName: 5 },
                    { type: 'update', callId: 'y'.repeat(1000) },
                ]),
            (err: unknown) =>
                err instanceof InputError && !(err instanceof LimitExceededError) && err.message === 'event 1: callerName must be a string, got number 5',
        );
        refusedOver(
            () =>
                validateRawEvents([
                    { type: 'update', callId: CALL },
                    { type: 'update', callId: 'y'.repeat(1000) },
                    { type: 'nope', callId: CALL },
                ]),
            /^event 1: callId/,
        );
    });

    it('a value quoted back in an error has its control characters escaped and is cut', () => {
        assert.throws(
            () => validateRawEvent({ type: 'ringing\nFAKE LOG LINE' + 'z'.repeat(100), callId: CALL }, 'event 0'),
            (err: Error) => {
                assert.ok(!err.message.includes('\n'));
                assert.match(err.message, /got "ringing\\nFAKE LOG LINEz+…"$/);
                return true;
            },
        );
    });
});

describe('raw event validation: unknown fields are dropped', () => {
    it('an event with a 10,000-deep nested extra field is accepted and the extra is gone', () => {
        // Built as text: JSON.stringify itself runs out of stack on it, as the duplicate key over the event once did.
        const nested = `${'{"nested":'.repeat(10_000)}{"leaf":true}${'}'.repeat(10_000)}`;
        const body = JSON.parse(
            `{"type":"connected","callId":"${CALL}","eventId":"e1","agent":{"name":"Ann","extension":"1","pin":"0000","deep":${nested}},"extra":${nested},"tags":["VIP"]}`,
        ) as Record<string, unknown>;
        assert.throws(() => JSON.stringify(body), RangeError);
        const [event] = validateRawEvents([body]);
        assert.deepEqual(event, { type: 'connected', callId: CALL, eventId: 'e1', agent: { name: 'Ann', extension: '1' }, tags: ['VIP'] });
        assert.notEqual(event, body, 'a new object');
        assert.notEqual(event.agent, body.agent, 'agent a new object too');
        assert.notEqual(event.tags, body.tags, 'lists are copies');
        (body.tags as string[]).push('added later');
        assert.deepEqual(event.tags, ['VIP']);

        // The tracker keys, stores and clones the event without meeting the nesting.
        const tracker = new CallTracker();
        assert.deepEqual(
            tracker.apply([event]).map((trigger) => trigger.event),
            ['connected'],
        );
        assert.ok(storedBytes(tracker.get(CALL)) < 2000);
    });

    it('two events differing only in extra fields are the same event (one key), whatever their field order', () => {
        const tracker = new CallTracker({ now: () => 1000 });
        const first = validateRawEvents({ type: 'connected', callId: CALL, timestamp: 5, noise: 1 });
        const second = validateRawEvents({ timestamp: 5, noise: { other: [2] }, callId: CALL, type: 'connected' });
        assert.deepEqual(
            tracker.apply(first).map((trigger) => trigger.event),
            ['connected'],
        );
        assert.deepEqual(tracker.apply(second), []);
    });
});

describe('call tracking: per-call bounds refuse a batch before any of it is applied', () => {
    const limits = { maxCallListMembers: 500 };

    function trackerWith(events: RawEvent[]): CallTracker {
        const tracker = new CallTracker({ limits, now: () => 1_000_000 });
        tracker.apply(events);
        tracker.takeChanges();
        return tracker;
    }

    function assertUntouched(tracker: CallTracker, run: () => Trigger[], message: string | RegExp): void {
        const before = JSON.stringify(tracker.exportState());
        const stats = tracker.stats();
        refusedOver(run, message);
        assert.equal(JSON.stringify(tracker.exportState()), before, 'no partial state');
        assert.deepEqual(tracker.takeChanges(), { changed: [], forgotten: [] }, 'nothing to save');
        assert.equal(tracker.stats().bytes, stats.bytes);
    }

    const tagsEvent = (from: number, count: number, fields: Partial<RawEvent> = {}): RawEvent => ({
        type: 'update',
        callId: CALL,
        eventId: `tags-${from}`,
        tags: Array.from({ length: count }, (_, index) => `tag-${from + index}`),
        ...fields,
    });

    it('tags: event 7 would give the call 501 tags (just over)', () => {
        const tracker = trackerWith([{ type: 'presenting', callId: CALL, eventId: 'p' }, tagsEvent(0, 100), tagsEvent(100, 100), tagsEvent(200, 100)]);
        const batch: RawEvent[] = [
            { type: 'connected', callId: CALL, eventId: 'c' },
            { type: 'presenting', callId: 'other-call', eventId: 'o' },
            tagsEvent(0, 100, { eventId: 'repeat' }),
            tagsEvent(300, 50),
            tagsEvent(350, 50),
            tagsEvent(400, 50),
            tagsEvent(450, 49),
            tagsEvent(499, 2),
        ];
        assertUntouched(tracker, () => tracker.apply(batch), `event 7: tags would give call ${CALL} 501 tags, over the limit of 500 per call`);
        assert.equal(tracker.get('other-call'), undefined, 'the good events of the batch are not taken either');
        assert.deepEqual(
            tracker.apply(batch.slice(0, 7)).map((trigger) => trigger.event),
            ['connected', 'presenting'],
            'without the bad event the batch goes through',
        );
        assert.equal(tracker.get(CALL)?.tags.length, 499);
    });

    it('recordings and account codes have the same bound (well over)', () => {
        const tracker = trackerWith([{ type: 'complete', callId: CALL, eventId: 'c' }]);
        const recordings: RawEvent[] = Array.from({ length: 600 }, (_, index) => ({
            type: 'recording',
            callId: CALL,
            eventId: `r${index}`,
            recordingUrl: `https://rec/${index}.wav`,
        }));
        assertUntouched(
            tracker,
            () => tracker.apply(recordings),
            `event 500: recordingUrl would give call ${CALL} 501 recordings, over the limit of 500 per call`,
        );
        const small = new CallTracker({ limits: { maxCallListMembers: 3 } });
        refusedOver(
            () =>
                small.apply([
                    { type: 'accountCodes', callId: CALL, accountCodes: ['a', 'b', 'c', 'a'] },
                    { type: 'accountCodes', callId: CALL, accountCodes: ['a', 'b', 'c', 'd', 'e'] },
                ]),
            `event 1: accountCodes would give call ${CALL} 5 account codes, over the limit of 3 per call`,
        );
        assert.equal(small.size, 0);
    });

    it('the bytes of one call: a batch that would make its record larger than maxCallBytes is refused, naming the field that grew most', () => {
        const maxCallBytes = 4096;
        const tracker = new CallTracker({ limits: { maxCallBytes } });
        tracker.apply([{ type: 'presenting', callId: CALL, eventId: 'p', callerName: 'Jane Roe' }]);
        tracker.takeChanges();
        const grow = (index: number, size: number): RawEvent => ({
            type: 'update',
            callId: CALL,
            eventId: `u${index}`,
            tags: [`${index}:${'é'.repeat(size)}`],
            group: 'Sales',
        });
        assertUntouched(
            tracker,
            () => tracker.apply([grow(0, 500), grow(1, 500), grow(2, 500), grow(3, 500)]),
            /^event 3: tags would give call .* a record of \d+ bytes, over the limit of 4096 per call$/,
        );
        assert.deepEqual(tracker.apply([grow(0, 500), grow(1, 500), grow(2, 500)]), []);
        const bytes = storedBytes(tracker.get(CALL));
        assert.ok(bytes <= maxCallBytes, `${bytes} bytes stored`);
        assert.ok(tracker.bytesOf(CALL)! >= bytes, 'the estimate is an upper bound');
        refusedOver(() => tracker.apply([{ type: 'update', callId: CALL, callerName: '\u0001'.repeat(200) }]), /^event 0: callerName would give call/);
    });

    it('an event id seen before counts too: its call may be evicted by an earlier event of the batch and come back', () => {
        // Found by the property test: the repeat of event 3 carries other tags, and lands on a new call L.
        const tracker = new CallTracker({ maxCalls: 2, limits: { maxCallListMembers: 6 } });
        tracker.apply([
            { type: 'presenting', callId: 'L', eventId: '3' },
            { type: 'presenting', callId: 'A' },
        ]);
        tracker.takeChanges();
        const batch: RawEvent[] = [
            { type: 'presenting', callId: 'D' },
            { type: 'presenting', callId: 'L', eventId: '3', tags: ['t0', 't1', 't2'] },
            { type: 'presenting', callId: 'L', tags: ['t3', 't4', 't5', 't6'] },
        ];
        assertUntouched(tracker, () => tracker.apply(batch), 'event 2: tags would give call L 7 tags, over the limit of 6 per call');
        assert.deepEqual([tracker.get('A')?.callId, tracker.get('D')], ['A', undefined]);
    });

    it('a call id is quoted in the message escaped and cut', () => {
        const callId = `evil\nFAKE ${'x'.repeat(300)}`;
        const tracker = new CallTracker({ limits: { maxCallListMembers: 1 } });
        assert.throws(
            () => tracker.apply([{ type: 'update', callId, tags: ['a', 'b'] }]),
            (err: Error) => {
                assert.ok(!err.message.includes('\n'));
                assert.match(err.message, /^event 0: tags would give call evil\\nFAKE x+… 2 tags, over the limit of 1 per call$/);
                return true;
            },
        );
    });

    it('durable tracking: apply throws it, and nothing reaches the store', async () => {
        const puts: string[] = [];
        const store: DurableStore<TrackedCall> = {
            recovery: { entries: 0, records: 0, discardedCompaction: false, summary: 'recovered 0 entries' },
            load: async () => new Map(),
            put: async (key) => void puts.push(key),
            delete: async (key) => void puts.push(`-${key}`),
            close: async () => undefined,
        };
        const tracking = await DurableCallTracking.open(store, { limits: { maxCallListMembers: 2 } });
        refusedOver(
            () =>
                tracking.apply([
                    { type: 'presenting', callId: 'a' },
                    { type: 'update', callId: CALL, tags: ['1', '2', '3'] },
                ]),
            /^event 1: tags would give call/,
        );
        await tracking.save();
        assert.deepEqual(puts, []);
        assert.equal(tracking.size, 0);
    });
});

describe('call tracking: work bounded by counts', () => {
    it('eviction with 10,000 unfinished calls looks at one call per eviction, finished or not', () => {
        const tracker = new CallTracker({ maxCalls: 1000 });
        for (let index = 0; index < 10_000; index += 1) tracker.apply([{ type: 'presenting', callId: `live-${index}` }]);
        const unfinishedOnly = tracker.stats();
        assert.equal(unfinishedOnly.calls, 1000);
        assert.equal(unfinishedOnly.evictions, 9000);
        assert.equal(unfinishedOnly.evictionExamined, 9000, 'one call examined per eviction');
        for (let index = 0; index < 500; index += 1) tracker.apply([{ type: 'complete', callId: `live-${9999 - index}` }]);
        for (let index = 0; index < 2000; index += 1) tracker.apply([{ type: 'presenting', callId: `more-${index}` }]);
        const mixed = tracker.stats();
        assert.equal(mixed.evictions - unfinishedOnly.evictions, 2000);
        assert.equal(mixed.evictionExamined - unfinishedOnly.evictionExamined, 2000);
        assert.equal(tracker.get('live-9999'), undefined, 'finished calls went first');
        assert.equal(tracker.get('more-1999')?.callId, 'more-1999');
    });

    it('expiry looks only at the calls it forgets, plus the first one it keeps', () => {
        const clock = { now: 0 };
        const tracker = new CallTracker({ retentionMs: 1000, staleMs: 5000, now: () => clock.now });
        for (let index = 0; index < 5000; index += 1) tracker.apply([{ type: 'presenting', callId: `ringing-${index}` }]);
        clock.now = 10;
        for (let index = 0; index < 100; index += 1) tracker.apply([{ type: 'complete', callId: `done-${index}` }]);
        clock.now = 1010;
        const before = tracker.stats().expiryExamined;
        tracker.tick();
        assert.equal(tracker.size, 5000);
        assert.equal(tracker.stats().expiryExamined - before, 100 + 1);
    });

    it('n recordings on a processed call cost O(n) list operations; unchanged lists are shared, not copied, by each trigger', () => {
        const tracker = new CallTracker();
        const tags = Array.from({ length: 100 }, (_, index) => `tag-${index}`);
        tracker.apply([
            { type: 'complete', callId: CALL, eventId: 'c', tags },
            ...Array.from({ length: 3 }, (_, index) => ({ type: 'update' as const, callId: CALL, eventId: `u${index}`, tags })),
        ]);
        const before = tracker.stats();
        const recordings: RawEvent[] = Array.from({ length: 400 }, (_, index) => ({
            type: 'recording',
            callId: CALL,
            eventId: `r${index}`,
            recordingUrl: `https://rec/${index}.wav`,
        }));
        const triggers = tracker.apply(recordings);
        assert.equal(triggers.length, 400);
        const after = tracker.stats();
        assert.ok(after.memberOps - before.memberOps <= 8 * 400, `${after.memberOps - before.memberOps} member operations for 400 events`);
        assert.equal(triggers[0].call.tags, triggers[399].call.tags, 'one frozen tags array for every trigger');
        assert.ok(Object.isFrozen(triggers[0].call.tags));
        assert.deepEqual(triggers[399].call.recordingLink?.length, 400);
        // Only the recording links changed, once per event.
        assert.equal(after.snapshotMembers - before.snapshotMembers, (400 * 401) / 2);
        const presenting = tracker.apply(Array.from({ length: 300 }, (_, index) => ({ type: 'presenting' as const, callId: CALL, eventId: `p${index}` })));
        assert.equal(presenting.length, 300);
        assert.equal(tracker.stats().snapshotMembers, after.snapshotMembers, 'triggers that change no list copy nothing');
    });
});

describe('call tracking: memory bounded in bytes', () => {
    it('the total estimate stays within maxBytes, evicting the oldest calls (finished first) with a warning', () => {
        const warnings: string[] = [];
        const maxBytes = 64 * 1024;
        const tracker = new CallTracker({ maxBytes, onWarning: (message) => warnings.push(message) });
        tracker.apply([{ type: 'complete', callId: 'finished-0', callerName: 'A'.repeat(3000) }]);
        for (let index = 0; index < 200; index += 1) {
            tracker.apply([{ type: 'presenting', callId: `call-${index}`, callerName: 'B'.repeat(1000), tags: ['VIP'] }]);
            assert.ok(tracker.stats().bytes <= maxBytes);
        }
        const { bytes, calls } = tracker.stats();
        let actual = 0;
        for (const call of tracker.exportState().calls) actual += storedBytes(call);
        assert.ok(actual <= bytes, `the stored JSON (${actual}) is within the estimate (${bytes})`);
        assert.ok(bytes - actual < calls * 400, `and the estimate (${bytes}) is not far above it (${actual})`);
        assert.match(warnings[0], /^tracking limit of 65536 bytes of call state reached: forgot finished call finished-0$/);
        assert.match(warnings[1], /forgot unfinished call call-0 before it was processed \(raise "Tracked state \(MiB\)"/);
        assert.equal(tracker.get('call-199')?.callId, 'call-199');
    });

    it('restored with a lower byte bound, the oldest calls are forgotten at once', () => {
        const clock = { now: 0 };
        const source = new CallTracker({ now: () => clock.now });
        for (let index = 0; index < 20; index += 1) {
            clock.now += 1000;
            source.apply([{ type: 'presenting', callId: `call-${index}`, callerName: 'C'.repeat(1000) }]);
        }
        const state = JSON.parse(JSON.stringify(source.exportState()));
        const restored = new CallTracker({ maxBytes: 10_000, now: () => clock.now }, state);
        assert.ok(restored.stats().bytes <= 10_000);
        assert.ok(restored.size < 20 && restored.size > 0);
        assert.equal(restored.get('call-19')?.callId, 'call-19');
        assert.equal(restored.get('call-0'), undefined);
    });
});

describe('durable call tracking: a record the store cannot encode fails that save only', () => {
    const directories: string[] = [];
    after(() => {
        for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
    });

    it('an oversized record (the store refuses it as too large) does not latch the store; the next save works', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-bounds-'));
        directories.push(directory);
        const store = await openFileStore<TrackedCall>({ directory, name: 'calls' });
        // Bounds raised past what the log format takes (16 MiB a record): the per-call bound no longer protects.
        const huge = 17 * 1024 * 1024;
        const tracking = await DurableCallTracking.open(store, { maxBytes: 64 * 1024 * 1024, limits: { maxCallBytes: 2 * huge } });
        tracking.apply([{ type: 'presenting', callId: 'huge', callerName: 'H'.repeat(huge) }]);
        await assert.rejects(tracking.save(), (err: unknown) => err instanceof StoreError && err.reason === 'too-large');
        assert.equal(tracking.failure, undefined, 'not latched');
        tracking.apply([{ type: 'complete', callId: 'normal', eventId: 'n' }]);
        await tracking.save();
        await tracking.close();

        const reopened = await openFileStore<TrackedCall>({ directory, name: 'calls' });
        assert.deepEqual([...(await reopened.load()).keys()], ['normal']);
        await reopened.close();
    });

    it('an I/O failure of a store that does not repair itself latches: every later save fails', async () => {
        const recovery: RecoveryReport = { entries: 0, records: 0, discardedCompaction: false, summary: 'recovered 0 entries' };
        let fail: Error | undefined = new Error('EIO: flush failed');
        const store: DurableStore<TrackedCall> = {
            recovery,
            load: async () => new Map(),
            put: async () => {
                if (fail) throw fail;
            },
            delete: async () => undefined,
            close: async () => undefined,
        };
        const tracking = await DurableCallTracking.open(store);
        tracking.apply([{ type: 'presenting', callId: 'a' }]);
        await assert.rejects(tracking.save(), /EIO/);
        assert.match(String(tracking.failure), /EIO/);
        fail = undefined;
        tracking.apply([{ type: 'presenting', callId: 'b' }]);
        await assert.rejects(tracking.save(), /EIO/);
    });
});

describe('durable call tracking: a file store whose disk fails and comes back', () => {
    it('refuses every save while writes fail, never acknowledges a retried duplicate before its original is durable, and saves again after the repair', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-repair-'));
        const { fileSystem, disk } = failingWrites('EIO');
        try {
            const store = await openFileStore<TrackedCall>({ directory, name: 'calls', fileSystem, repair: { firstMs: 20, maxMs: 20 } });
            const tracking = await DurableCallTracking.open(store);
            await tracking.take([{ type: 'presenting', callId: 'a', eventId: 'a1' }], () => undefined);

            disk.failing = true;
            const original: RawEvent[] = [{ type: 'connected', callId: 'a', eventId: 'a2' }];
            let fired: Trigger[] = [];
            await assert.rejects(
                tracking.take(original, (triggers) => (fired = triggers)),
                (err: unknown) => err instanceof StoreError && err.reason === 'io',
            );
            assert.deepEqual(
                fired.map((trigger) => trigger.event),
                ['connected'],
            );
            assert.ok(tracking.failure instanceof StoreError, 'the store failure is the trouble (503)');
            // The platform sends the unacknowledged event again: a duplicate now, and still refused.
            let again: Trigger[] = [];
            await assert.rejects(
                tracking.take(original, (triggers) => (again = triggers)),
                StoreError,
            );
            assert.deepEqual(again, [], 'no trigger fires twice');
            await assert.rejects(
                tracking.take([{ type: 'presenting', callId: 'b', eventId: 'b1' }], () => undefined),
                StoreError,
            );

            disk.failing = false;
            await until(
                () => tracking.failure === undefined,
                () => 'the store repaired itself',
                5_000,
            );
            // The same duplicate is acknowledged now: its original was written by the repair.
            await tracking.take(original, () => undefined);
            await tracking.take([{ type: 'presenting', callId: 'c', eventId: 'c1' }], () => undefined);
            await tracking.close();

            const reopened = await openFileStore<TrackedCall>({ directory, name: 'calls' });
            const calls = await reopened.load();
            await reopened.close();
            assert.deepEqual([...calls.keys()].sort(), ['a', 'b', 'c'], 'the call taken while the disk failed is kept too');
            assert.ok(calls.get('a')!.seen.length === 2, 'the original of the duplicate is on disk');
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});

describe('call snapshot: time and duration when the platform sends no start time', () => {
    it("time is the first event's timestamp and duration runs from it to the last event", () => {
        const tracker = new CallTracker({ now: () => 9_999_999 });
        const triggers = tracker.apply([
            { type: 'connected', callId: CALL, eventId: 'c', timestamp: 1_700_000_005_000 },
            { type: 'presenting', callId: CALL, eventId: 'p', timestamp: 1_700_000_000_000 },
            { type: 'complete', callId: CALL, eventId: 'x', timestamp: 1_700_000_065_400 },
        ]);
        assert.deepEqual(
            triggers.map((trigger) => [trigger.event, trigger.call.time, trigger.call.duration]),
            [
                ['connected', 1_700_000_005_000, 0],
                ['presenting', 1_700_000_000_000, 5],
                ['complete', 1_700_000_000_000, 65],
                ['processed', 1_700_000_000_000, 65],
                ['updated', 1_700_000_000_000, 65],
            ],
        );
    });

    it("the platform's start time wins when it is sent", () => {
        const tracker = new CallTracker();
        const [trigger] = tracker.apply([{ type: 'complete', callId: CALL, timestamp: 1_700_000_060_000, startTime: 1_700_000_000_000 }]);
        assert.deepEqual([trigger.call.time, trigger.call.duration], [1_700_000_000_000, 60]);
    });

    it('without timestamps, time is when the first event was taken in', () => {
        const clock = { now: 5_000_000 };
        const tracker = new CallTracker({ now: () => clock.now });
        tracker.apply([{ type: 'presenting', callId: CALL }]);
        clock.now += 30_000;
        const [complete] = tracker.apply([{ type: 'complete', callId: CALL }]);
        assert.deepEqual([complete.call.time, complete.call.duration], [5_000_000, 30]);
    });
});
