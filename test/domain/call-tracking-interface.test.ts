import assert from 'node:assert/strict';
import type { RawEvent } from '../../src/call/raw-event';
import type { TrackedCall, Trigger } from '../../src/lifecycle/call-tracker';
import type { CallTracking } from '../../src/lifecycle/call-tracking';
import { DurableCallTracking } from '../../src/lifecycle/durable-call-tracking';
import { LimitExceededError } from '../../src/lifecycle/event-limits';
import type { DurableStore } from '../../src/store/durable-store';
import { MemoryStore } from '../../src/store/memory-store';

function event(callId: string, type: RawEvent['type'], fields: Partial<RawEvent> = {}): RawEvent {
    return { type, callId, eventId: `${callId}-${type}`, ...fields };
}

/** A store that records what happened in which order, so a test sees emits come before the saves they wait for. */
function journaled(journal: string[]): DurableStore<TrackedCall> {
    const store = new MemoryStore<TrackedCall>();
    return {
        recovery: store.recovery,
        load: () => store.load(),
        put: async (key, value) => {
            await store.put(key, value);
            journal.push(`put ${key}`);
        },
        delete: (key) => store.delete(key),
        close: () => store.close(),
    };
}

describe('the file-backed call tracking through the CallTracking interface', () => {
    it('take emits the triggers once, then resolves after the save; tick emits what is due, then saves', async () => {
        const journal: string[] = [];
        const clock = { now: 1_000_000 };
        const tracking: CallTracking = await DurableCallTracking.open(journaled(journal), { recordingWaitMs: 1000, now: () => clock.now });
        const emit = (triggers: Trigger[]): void => {
            journal.push(`emit ${triggers.map((trigger) => trigger.event).join(',')}`);
        };
        await tracking.take([event('a', 'connected'), event('a', 'complete', { pendingRecordings: 1 })], emit);
        assert.deepEqual(journal, ['emit connected,complete', 'put a']);
        assert.equal(tracking.size, 1);
        assert.equal(tracking.unfinished, 1);

        await tracking.tick(emit);
        assert.deepEqual(journal.slice(2), ['emit '], 'nothing due yet: one emit of nothing, nothing saved');
        clock.now += 1000;
        await tracking.tick(emit);
        assert.deepEqual(journal.slice(3), ['emit processed,updated', 'put a']);
        assert.equal(tracking.unfinished, 0);
        assert.equal(tracking.failure, undefined);
        await tracking.close();
    });

    it('take refuses a batch over a per-call bound before emitting or saving anything', async () => {
        const journal: string[] = [];
        const tracking = await DurableCallTracking.open(journaled(journal), { limits: { maxCallListMembers: 1 } });
        await assert.rejects(
            tracking.take([event('b', 'update', { tags: ['x', 'y'] })], () => journal.push('emit')),
            LimitExceededError,
        );
        assert.deepEqual(journal, []);
        assert.equal(tracking.size, 0);
        await tracking.close();
    });
});
