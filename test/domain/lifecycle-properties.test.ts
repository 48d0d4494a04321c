import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RAW_EVENT_TYPES } from '../../src/call/raw-event';
import { InputError } from '../../src/errors/coded-error';
import { CallTracker, type TrackedCall, type TrackerOptions, type Trigger } from '../../src/lifecycle/call-tracker';
import { LimitExceededError, type EventLimits } from '../../src/lifecycle/event-limits';
import { validateRawEvents } from '../../src/lifecycle/raw-event-validation';

// Small bounds, so that random input meets every one of them often.
const LIMITS: EventLimits = { maxEvents: 12, maxIdLength: 12, maxTextLength: 24, maxListMembers: 4, maxCallListMembers: 6, maxCallBytes: 1200 };

// Characters that break naive code: emoji (surrogate pairs), lone surrogates, NUL, newlines, quotes, U+2028.
const awkward = fc.constantFrom('a', 'B', '7', ' ', 'é', '😀', '\ud800', '\udfff', '\u0000', '\n', '"', '\\', '\u2028', '\u202e');
const unit = fc.oneof(awkward, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
const text = (maxLength: number) => fc.string({ unit, maxLength });

function nestedObject(depth: number): unknown {
    let value: unknown = { leaf: '😀' };
    for (let level = 0; level < depth; level += 1) value = { nested: value, [`k${level % 3}`]: [level] };
    return value;
}

// Events are well-formed and within the bounds, most of them, so that batches reach the tracker (whose per-call
// bounds the small lists and ids are made to meet); one in a dozen or so is malformed or oversized in one field.
// A unit of `text` can be two UTF-16 units long (an emoji), hence lengths of half the bound.
const fieldText = text(11);
const rawEvent: fc.Arbitrary<Record<string, unknown>> = fc
    .record(
        {
            type: fc.constantFrom(...RAW_EVENT_TYPES),
            callId: fc.constantFrom('A', 'B', 'C', 'D', '😀', '\ud800-lone', 'x\ny'),
            eventId: fc.oneof(fc.constantFrom('1', '2', '3', '4', '5', '6', '7', '8'), text(5)),
            timestamp: fc.integer({ min: 0, max: 200_000 }),
            startTime: fc.integer({ min: 0, max: 200_000 }),
            direction: fc.constantFrom('Inbound', 'Outbound'),
            callerName: fieldText,
            group: fieldText,
            agent: fc.record({ name: fieldText, extension: text(3), pin: fc.anything({ maxDepth: 2 }) }, { requiredKeys: [] }),
            tags: fc.array(fc.oneof(fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'), fieldText), { maxLength: 4 }),
            accountCodes: fc.array(fc.constantFrom('x', 'y', 'z', 'w', 'v', 'u', 't'), { maxLength: 4 }),
            recordingUrl: fc.oneof(fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'), text(2)),
            pendingRecordings: fc.integer({ min: 0, max: 3 }),
            // Unknown fields, shallow and very deep: validation drops them.
            extra: fc.anything({ maxDepth: 3, maxKeys: 4 }),
            deep: fc.integer({ min: 1, max: 1000 }).map(nestedObject),
        },
        { requiredKeys: ['type', 'callId'] },
    )
    .map((event): Record<string, unknown> => {
        // Recording and account-code events carry what their type requires.
        if (event.type === 'recording' && !event.recordingUrl) return { ...event, recordingUrl: 'u0' };
        if (event.type === 'accountCodes' && !event.accountCodes) return { ...event, accountCodes: [] };
        return event;
    });

const SPOILERS: Array<[string, unknown]> = [
    ['type', 'ringing'],
    ['callId', ''],
    ['callId', 'i'.repeat(LIMITS.maxIdLength + 1)],
    ['eventId', 7],
    ['timestamp', -1],
    ['startTime', Number.NaN],
    ['direction', 'inbound'],
    ['callerName', '😀'.repeat(LIMITS.maxTextLength)],
    ['agent', { extension: 154 }],
    ['tags', ['t1', 't2', 't3', 't4', 't5']],
    ['accountCodes', 'x'],
    ['pendingRecordings', -1],
];
const spoiledEvent = fc.tuple(rawEvent, fc.constantFrom(...SPOILERS)).map(([event, [field, value]]) => ({ ...event, [field]: value }));
const anyEvent = fc.oneof({ weight: 30, arbitrary: rawEvent }, { weight: 2, arbitrary: spoiledEvent }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });
const body = fc.oneof({ weight: 4, arbitrary: fc.array(anyEvent, { maxLength: 14 }) }, { weight: 1, arbitrary: anyEvent });
const steps = fc.array(fc.record({ body, advanceMs: fc.integer({ min: 0, max: 4000 }), tick: fc.boolean() }), { minLength: 1, maxLength: 12 });

interface Step {
    body: unknown;
    advanceMs: number;
    tick: boolean;
}

/**
 * Runs the steps as the node does (validate, apply, tick), asserting that only the documented errors come out and
 * that a refused batch changes nothing. Calls `afterStep` with the triggers of each step.
 */
function run(options: Partial<TrackerOptions>, input: Step[], afterStep: (tracker: CallTracker, triggers: Trigger[], forgotten: string[]) => void): void {
    const clock = { now: 1_000_000 };
    const tracker = new CallTracker({ ...options, limits: LIMITS, now: () => clock.now });
    for (const step of input) {
        clock.now += step.advanceMs;
        let events;
        try {
            events = validateRawEvents(step.body, LIMITS);
        } catch (err) {
            assert.ok(err instanceof InputError, `validation threw ${String(err)}`);
            continue;
        }
        const before = JSON.stringify(tracker.exportState());
        let triggers: Trigger[] = [];
        try {
            triggers = tracker.apply(events);
        } catch (err) {
            assert.ok(err instanceof LimitExceededError, `apply threw ${String(err)}`);
            assert.equal(JSON.stringify(tracker.exportState()), before, 'a refused batch changes nothing');
        }
        if (step.tick) triggers.push(...tracker.tick());
        afterStep(tracker, triggers, tracker.takeChanges().forgotten);
    }
}

const recordsById = (calls: TrackedCall[]): Map<string, TrackedCall> => new Map(calls.map((call) => [call.callId, call]));

describe('call tracking under random, oversized and unicode-laden input (property)', () => {
    it('complete and processed fire at most once per call; every snapshot has its time', () => {
        fc.assert(
            fc.property(steps, (input) => {
                const fired = new Map<string, Map<string, number>>();
                run({ recordingWaitMs: 3000, retentionMs: 6000, staleMs: 20_000 }, input, (_tracker, triggers, forgotten) => {
                    for (const { event, call } of triggers) {
                        const counts = fired.get(call.callId) ?? new Map<string, number>();
                        fired.set(call.callId, counts);
                        counts.set(event, (counts.get(event) ?? 0) + 1);
                        if (event === 'complete' || event === 'processed') assert.ok(counts.get(event)! <= 1, `${event} fired twice for ${call.callId}`);
                        assert.equal(typeof call.time, 'number');
                        assert.ok(call.duration === undefined || call.duration >= 0);
                        if (event === 'updated') assert.ok(call.updateSeq! >= 1);
                    }
                    // A forgotten call that comes back is a new call to the tracker.
                    for (const callId of forgotten) fired.delete(callId);
                });
            }),
            { numRuns: 150 },
        );
    });

    it('the state always holds the bounds (list members, bytes per call, calls, total bytes) and round-trips through JSON', () => {
        const options = { maxCalls: 3, maxBytes: 3000, recordingWaitMs: 3000, retentionMs: 6000, staleMs: 20_000 };
        fc.assert(
            fc.property(steps, (input) => {
                run(options, input, (tracker) => {
                    const stats = tracker.stats();
                    assert.ok(stats.calls <= options.maxCalls);
                    assert.ok(stats.bytes <= options.maxBytes, `${stats.bytes} bytes tracked`);
                    assert.ok(stats.evictionExamined <= 2 * stats.evictions);
                    const state = tracker.exportState();
                    let total = 0;
                    for (const call of state.calls) {
                        for (const list of [call.tags, call.accountCodes, call.recordings]) assert.ok(list.length <= LIMITS.maxCallListMembers);
                        const estimate = tracker.bytesOf(call.callId)!;
                        const stored = Buffer.byteLength(JSON.stringify(call), 'utf8');
                        assert.ok(stored <= estimate, `stored ${stored} bytes, estimated ${estimate}`);
                        assert.ok(estimate <= LIMITS.maxCallBytes);
                        total += estimate;
                    }
                    assert.equal(total, stats.bytes, 'the running total is the sum of the calls');

                    const restored = new CallTracker({ ...options, limits: LIMITS }, JSON.parse(JSON.stringify(state)));
                    assert.deepEqual(recordsById(restored.exportState().calls), recordsById(state.calls));
                    assert.equal(restored.stats().bytes, stats.bytes, 'the estimate kept event by event equals the one made from scratch');
                });
            }),
            { numRuns: 150 },
        );
    });
});
