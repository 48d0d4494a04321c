import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawEvent } from '../../src/call/raw-event';
import { CallTracker, type TrackedCall, type Trigger } from '../../src/lifecycle/call-tracker';
import { DurableCallTracking } from '../../src/lifecycle/durable-call-tracking';
import type { DurableStore, RecoveryReport } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';

const directories: string[] = [];
function freshDirectory(): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-'));
    directories.push(directory);
    return directory;
}
after(() => {
    for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

const ids = (triggers: Trigger[]): string[] => triggers.map((trigger) => `${trigger.call.callId}:${trigger.event}`);

function event(callId: string, type: RawEvent['type'], fields: Partial<RawEvent> = {}): RawEvent {
    return { type, callId, eventId: `${callId}-${type}-${fields.recordingUrl ?? ''}`, ...fields } as RawEvent;
}

/** A node's life: the file store of one directory and a clock the test moves. */
async function openTracking(directory: string, clock: { now: number }, recordingWaitMs = 60_000) {
    const store = await openFileStore<TrackedCall>({ directory, name: 'calls' });
    const tracking = await DurableCallTracking.open(store, { recordingWaitMs, retentionMs: 10 * 60_000, staleMs: 60 * 60_000, now: () => clock.now });
    return { store, tracking };
}

describe('call tracker: changes for the store', () => {
    it('reports each changed call once, nothing for a duplicate, and forgotten calls as deletes', () => {
        const clock = { now: 0 };
        const tracker = new CallTracker({ retentionMs: 1000, staleMs: 5000, maxCalls: 2, now: () => clock.now });
        tracker.ingest(event('a', 'presenting'));
        tracker.ingest(event('a', 'connected'));
        tracker.ingest(event('b', 'complete'));
        const first = tracker.takeChanges();
        assert.deepEqual(
            first.changed.map((call) => call.callId),
            ['a', 'b'],
        );
        assert.deepEqual(first.forgotten, []);
        assert.deepEqual(tracker.takeChanges(), { changed: [], forgotten: [] }, 'taken once');

        tracker.ingest(event('a', 'connected'));
        assert.deepEqual(tracker.takeChanges(), { changed: [], forgotten: [] }, 'a duplicate changes nothing');

        tracker.ingest(event('c', 'presenting'));
        assert.deepEqual(tracker.takeChanges(), { changed: [tracker.get('c')], forgotten: ['b'] }, 'the cap evicts the finished call');

        clock.now = 5000;
        tracker.tick();
        assert.deepEqual(tracker.takeChanges(), { changed: [], forgotten: ['a', 'c'] }, 'stale calls are forgotten');
        tracker.ingest(event('a', 'presenting', { eventId: 'again' }));
        assert.deepEqual(tracker.takeChanges().forgotten, [], 'a call seen again after being forgotten is a put, not a delete');
    });

    it('the processing a deadline fires is a change; the copies given out are not the live state', () => {
        const clock = { now: 0 };
        const tracker = new CallTracker({ recordingWaitMs: 100, now: () => clock.now });
        tracker.ingest(event('a', 'complete', { pendingRecordings: 1 }));
        const [saved] = tracker.takeChanges().changed;
        saved.processed = true;
        assert.equal(tracker.get('a')?.processed, false);
        clock.now = 100;
        assert.deepEqual(ids(tracker.tick()), ['a:processed', 'a:updated']);
        const [after] = tracker.takeChanges().changed;
        assert.equal(after.processed, true);
        assert.equal(after.updateSeq, 1);
        assert.equal(after.recordingDeadline, undefined);
    });

    it('restored under a lower cap, the least recently active calls are forgotten at once (and deleted from the store)', () => {
        const clock = { now: 0 };
        const source = new CallTracker({ now: () => clock.now });
        for (const callId of ['a', 'b', 'c']) {
            clock.now += 1000;
            source.ingest(event(callId, 'presenting'));
        }
        const restored = new CallTracker({ maxCalls: 2, now: () => clock.now }, source.exportState());
        assert.deepEqual([restored.size, restored.get('a')], [2, undefined]);
        assert.deepEqual(restored.takeChanges(), { changed: [], forgotten: ['a'] });
    });

    it('restores calls given in any order into activity order, so retention still forgets the oldest first', () => {
        const clock = { now: 0 };
        const source = new CallTracker({ now: () => clock.now });
        source.ingest(event('old', 'complete'));
        clock.now = 5000;
        source.ingest(event('recent', 'complete'));
        const calls = source.exportState().calls.reverse();
        assert.deepEqual(
            calls.map((call) => call.callId),
            ['recent', 'old'],
        );
        const restored = new CallTracker({ retentionMs: 1000, staleMs: 60_000, now: () => clock.now }, { version: 1, calls });
        clock.now = 5500;
        restored.tick();
        assert.deepEqual([restored.get('old'), restored.get('recent')?.callId], [undefined, 'recent']);
    });
});

describe('durable call tracking: restart between complete and the last recording', () => {
    it('a restart after complete still fires processed and updated when the recordings arrive, once', async () => {
        const directory = freshDirectory();
        const clock = { now: 1_000_000 };
        const before = await openTracking(directory, clock);
        const fired = before.tracking.apply([
            event('call-1', 'presenting', { timestamp: 100 }),
            event('call-1', 'connected', { timestamp: 200 }),
            event('call-1', 'recording', { timestamp: 250, recordingUrl: 'https://rec/1.wav' }),
            event('call-1', 'complete', { timestamp: 300, pendingRecordings: 1 }),
            event('call-2', 'complete', { timestamp: 300, pendingRecordings: 2 }),
            event('done', 'complete', { timestamp: 300 }),
        ]);
        assert.deepEqual(ids(fired), [
            'call-1:presenting',
            'call-1:connected',
            'call-1:complete',
            'call-2:complete',
            'done:complete',
            'done:processed',
            'done:updated',
        ]);
        await before.tracking.save();
        before.tracking.apply([event('call-2', 'recording', { timestamp: 400, recordingUrl: 'https://rec/2a.wav' })]);
        await before.tracking.save();
        await before.tracking.close();

        clock.now += 30_000;
        const after = await openTracking(directory, clock);
        assert.equal(after.tracking.restored, 3);
        assert.deepEqual(after.tracking.unreadable, []);
        assert.equal(after.store.recovery.dropped, undefined);
        assert.deepEqual(after.tracking.tick(), [], 'nothing is due yet');
        assert.deepEqual(
            after.tracking.apply([event('call-1', 'complete', { timestamp: 300, pendingRecordings: 1 })]),
            [],
            'seen before the restart, still a duplicate',
        );

        const late = after.tracking.apply([
            event('call-1', 'recording', { timestamp: 500, recordingUrl: 'https://rec/1b.wav' }),
            event('call-2', 'recording', { timestamp: 500, recordingUrl: 'https://rec/2b.wav' }),
            event('done', 'accountCodes', { timestamp: 600, accountCodes: ['Won'] }),
        ]);
        assert.deepEqual(ids(late), ['call-1:processed', 'call-1:updated', 'call-2:processed', 'call-2:updated', 'done:updated']);
        assert.deepEqual(late[0].call.recordingLink, ['https://rec/1.wav', 'https://rec/1b.wav']);
        assert.equal(late[0].call.answered, true);
        assert.equal(late[0].call.recordingsMissing, undefined);
        assert.deepEqual(late[3].call.recordingLink, ['https://rec/2a.wav', 'https://rec/2b.wav']);
        assert.equal(late[4].call.updateSeq, 2, 'the update count goes on from before the restart');
        await after.tracking.save();
        await after.tracking.close();

        const third = await openTracking(directory, clock);
        assert.deepEqual(
            third.tracking.apply([event('call-2', 'recording', { timestamp: 500, recordingUrl: 'https://rec/2b.wav' })]),
            [],
            'processed stays processed',
        );
        await third.tracking.close();
    });

    it('a recording wait that ran out while Node-RED was down fires at the first tick, marked recordingsMissing', async () => {
        const directory = freshDirectory();
        const clock = { now: 1_000_000 };
        const before = await openTracking(directory, clock, 60_000);
        before.tracking.apply([event('waiting', 'complete', { pendingRecordings: 1 })]);
        await before.tracking.save();
        await before.tracking.close();

        clock.now += 59_999;
        const early = await openTracking(directory, clock, 60_000);
        assert.equal(early.tracking.nextDeadline(), 1_060_000, 'the deadline is wall-clock time, kept as it was');
        assert.deepEqual(early.tracking.tick(), []);
        await early.tracking.close();

        clock.now += 5 * 60_000;
        const after = await openTracking(directory, clock, 60_000);
        const due = after.tracking.tick();
        assert.deepEqual(ids(due), ['waiting:processed', 'waiting:updated']);
        assert.equal(due[0].call.recordingsMissing, true);
        await after.tracking.save();
        await after.tracking.close();

        const again = await openTracking(directory, clock, 60_000);
        assert.equal(again.tracking.tracker.get('waiting')?.processed, true);
        assert.deepEqual(again.tracking.tick(), [], 'fired once: the processing was saved');
        await again.tracking.close();
    });

    it('forgotten calls are deleted from the store', async () => {
        const directory = freshDirectory();
        const clock = { now: 0 };
        const first = await openTracking(directory, clock);
        first.tracking.apply([event('finished', 'complete'), event('ringing', 'presenting')]);
        await first.tracking.save();
        clock.now = 10 * 60_000;
        first.tracking.tick();
        await first.tracking.save();
        await first.tracking.close();
        const second = await openTracking(directory, clock);
        assert.deepEqual([...(await second.store.load()).keys()], ['ringing']);
        assert.equal(second.tracking.restored, 1);
        await second.tracking.close();
    });

    it('a torn last write loses only that write; the store says what it dropped', async () => {
        const directory = freshDirectory();
        const clock = { now: 0 };
        const first = await openTracking(directory, clock);
        first.tracking.apply([event('kept', 'complete', { pendingRecordings: 1 })]);
        await first.tracking.save();
        first.tracking.apply([event('torn', 'complete', { pendingRecordings: 1 })]);
        await first.tracking.save();
        await first.tracking.close();
        const log = path.join(directory, 'calls.log');
        fs.truncateSync(log, fs.statSync(log).size - 20);

        const second = await openTracking(directory, clock);
        assert.equal(second.store.recovery.dropped?.kind, 'torn');
        assert.equal(second.store.recovery.dropped?.records, 1);
        assert.match(second.store.recovery.summary, /^recovered 1 entry, dropped 1 torn record at byte \d+$/);
        assert.deepEqual([second.tracking.restored, second.tracking.tracker.get('kept')?.callId, second.tracking.tracker.get('torn')], [1, 'kept', undefined]);
        await second.tracking.close();
    });

    it('a stored record that is not a call state is skipped and deleted, never half-used', async () => {
        const directory = freshDirectory();
        const raw = await openFileStore<unknown>({ directory, name: 'calls' });
        const good = new CallTracker();
        good.ingest(event('good', 'presenting'));
        await raw.put('good', good.exportState().calls[0]);
        await raw.put('bad', { callId: 'bad', processed: 'yes' });
        await raw.put('elsewhere', good.exportState().calls[0]);
        await raw.close();
        const { store, tracking } = await openTracking(directory, { now: 0 });
        assert.deepEqual([tracking.restored, tracking.unreadable], [1, ['bad', 'elsewhere']]);
        assert.deepEqual([...(await store.load()).keys()], ['good']);
        await tracking.close();
    });
});

describe('durable call tracking: saves', () => {
    /** A store whose writes complete when the test says so. */
    function heldStore() {
        const held: Array<{ key: string; op: 'put' | 'delete'; resolve(): void; reject(error: Error): void }> = [];
        const recovery: RecoveryReport = { entries: 0, records: 0, discardedCompaction: false, summary: 'recovered 0 entries' };
        const store: DurableStore<TrackedCall> = {
            recovery,
            load: async () => new Map(),
            put: (key) => new Promise<void>((resolve, reject) => held.push({ key, op: 'put', resolve, reject })),
            delete: (key) => new Promise<void>((resolve, reject) => held.push({ key, op: 'delete', resolve, reject })),
            close: async () => undefined,
        };
        return { store, held };
    }

    const settled = async (promise: Promise<void>): Promise<string> => {
        let state = 'pending';
        promise.then(
            () => (state = 'resolved'),
            () => (state = 'rejected'),
        );
        await new Promise((resolve) => setImmediate(resolve));
        return state;
    };

    it('a save resolves only after every earlier one, even when it has nothing of its own to write', async () => {
        const { store, held } = heldStore();
        const tracking = await DurableCallTracking.open(store);
        tracking.apply([event('a', 'presenting')]);
        const first = tracking.save();
        assert.deepEqual(tracking.apply([event('a', 'presenting')]), [], 'a retry of the same event');
        const second = tracking.save();
        assert.deepEqual(
            held.map((write) => `${write.op} ${write.key}`),
            ['put a'],
        );
        assert.equal(await settled(second), 'pending', 'the retry is not acknowledged before the original is durable');
        held[0].resolve();
        assert.equal(await settled(first), 'resolved');
        assert.equal(await settled(second), 'resolved');
    });

    it('after a failed write every save fails, even one with nothing of its own to write', async () => {
        const { store, held } = heldStore();
        const tracking = await DurableCallTracking.open(store);
        tracking.apply([event('a', 'presenting')]);
        const failed = tracking.save();
        assert.deepEqual(tracking.apply([event('a', 'presenting')]), [], 'a retry of the same event');
        const retry = tracking.save();
        held[0].reject(new Error('disk full'));
        await assert.rejects(failed, /disk full/);
        await assert.rejects(retry, /disk full/, 'the retry is not acknowledged: its original was never saved');
        tracking.apply([event('b', 'presenting')]);
        await assert.rejects(tracking.save(), /disk full/);
        assert.equal(held.length, 1, 'nothing more is written to a failed store');
        await tracking.close();
    });

    it('without a store the state lives in memory and saves resolve at once', async () => {
        const tracking = await DurableCallTracking.open(undefined, {});
        assert.deepEqual(ids(tracking.apply([event('a', 'complete')])), ['a:complete', 'a:processed', 'a:updated']);
        await tracking.save();
        await tracking.close();
    });
});
