import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliveryQueue, type AttemptOutcome, type DeliveryQueueOptions, type Job } from '../../src/delivery/delivery-queue';
import type { AttemptNote, OutboxEntry, OutboxRecord } from '../../src/delivery/outbox';
import { until } from '../support/wait';
import type { Verdict } from '../../src/delivery/retry-policy';
import type { DurableStore, RecoveryReport } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';

/** A store in memory, with the same ordering rules as the file store, that can be made to fail. */
class MemoryStore implements DurableStore<OutboxEntry> {
    readonly recovery: RecoveryReport = { entries: 0, records: 0, discardedCompaction: false, summary: 'recovered 0 entries' };
    readonly values = new Map<string, OutboxEntry>();
    failing = false;
    closed = false;
    async load() {
        return new Map([...this.values].map(([key, value]) => [key, structuredClone(value)]));
    }
    async put(key: string, value: OutboxEntry) {
        if (this.failing) throw new Error('disk full');
        this.values.set(key, structuredClone(value));
    }
    async delete(key: string) {
        this.values.delete(key);
    }
    async close() {
        this.closed = true;
    }
}

/** A store whose puts stay pending until the test lets them through, as a slow disk would; it lists every write. */
class GatedStore extends MemoryStore {
    readonly writes: { key: string; attempts: number; op: 'put' | 'delete' }[] = [];
    private gates: (() => void)[] = [];
    override async put(key: string, value: OutboxEntry) {
        this.writes.push({ key, attempts: value.attempts, op: 'put' });
        await new Promise<void>((open) => this.gates.push(open));
        await super.put(key, value);
    }
    override async delete(key: string) {
        this.writes.push({ key, attempts: -1, op: 'delete' });
        await super.delete(key);
    }
    /** Lets the puts made so far through. */
    release() {
        for (const open of this.gates.splice(0)) open();
    }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A queue whose attempts answer from a script: `answers(job)` gives the verdict of each attempt. */
function harness(store: DurableStore<OutboxRecord>, answers: (job: Job) => Verdict | Promise<Verdict>, options: Partial<DeliveryQueueOptions<number>> = {}) {
    const attempts: { id: string; attempt: number; at: number }[] = [];
    const settled: { id: string; delivered: boolean; attempts: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let finished: () => void = () => undefined;
    let expected = Infinity;
    const allSettled = (count: number) => {
        expected = count;
        return new Promise<void>((resolve) => {
            finished = resolve;
            if (settled.length >= expected) resolve();
        });
    };
    const opened = DeliveryQueue.open<number>(store, {
        schedule: [10, 10, 10],
        concurrency: 4,
        random: () => 0.5,
        async attempt(job): Promise<AttemptOutcome<number>> {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            attempts.push({ id: String(job.entry.call.id), attempt: job.entry.attempts, at: Date.now() });
            const verdict = await answers(job);
            inFlight--;
            return { verdict, result: job.entry.attempts };
        },
        onSettled(job, _outcome, delivered) {
            settled.push({ id: String(job.entry.call.id), delivered, attempts: job.entry.attempts });
            if (settled.length >= expected) finished();
        },
        ...options,
    });
    return { opened, attempts, settled, allSettled, maxInFlight: () => maxInFlight };
}

const request = (callId: string, id: string) => ({ call: { callId, id }, idempotencyKey: `key-${id}` });

describe('delivery queue', () => {
    it('delivers the requests of one call in order even when the first needs retries; other calls do not wait', async () => {
        const store = new MemoryStore();
        const failuresOf: Record<string, number> = { a1: 2 };
        const { opened, attempts, settled, allSettled } = harness(store, async (job) => {
            const id = String(job.entry.call.id);
            await delay(2);
            if ((failuresOf[id] ?? 0) >= job.entry.attempts) return { kind: 'retry' };
            return { kind: 'delivered' };
        });
        const { queue } = await opened;
        for (const [callId, id] of [
            ['A', 'a1'],
            ['B', 'b1'],
            ['A', 'a2'],
            ['B', 'b2'],
            ['A', 'a3'],
        ])
            queue.enqueue(request(callId!, id!));
        await allSettled(5);
        assert.deepEqual(
            settled.map((entry) => entry.id),
            ['b1', 'b2', 'a1', 'a2', 'a3'],
        );
        assert.deepEqual(
            attempts.filter((entry) => entry.id.startsWith('a')).map((entry) => `${entry.id}#${entry.attempt}`),
            ['a1#1', 'a1#2', 'a1#3', 'a2#1', 'a3#1'],
        );
        assert.equal(settled.find((entry) => entry.id === 'a1')!.attempts, 3);
        assert.equal(store.values.size, 0, 'each settled request left the outbox');
        assert.equal(queue.snapshot().queued, 0);
        await queue.close();
    });

    it('gives up after the last scheduled wait, and at once on a final answer', async () => {
        const store = new MemoryStore();
        const { opened, settled, allSettled } = harness(store, (job) => (job.entry.call.id === 'never' ? { kind: 'retry' } : { kind: 'final' }));
        const { queue } = await opened;
        queue.enqueue(request('A', 'never'));
        queue.enqueue(request('B', 'bad'));
        await allSettled(2);
        assert.deepEqual(settled, [
            { id: 'bad', delivered: false, attempts: 1 },
            { id: 'never', delivered: false, attempts: 4 },
        ]);
        assert.equal(store.values.size, 0);
        await queue.close();
    });

    it('waits as long as Retry-After asks instead of the schedule', async () => {
        const store = new MemoryStore();
        const { opened, attempts, allSettled } = harness(store, (job) =>
            job.entry.attempts === 1 ? { kind: 'retry', retryAfterMs: 150 } : { kind: 'delivered' },
        );
        const { queue } = await opened;
        queue.enqueue(request('A', 'x'));
        await allSettled(1);
        assert.equal(attempts.length, 2);
        assert.ok(attempts[1]!.at - attempts[0]!.at >= 145, `waited ${attempts[1]!.at - attempts[0]!.at} ms`);
        await queue.close();
    });

    it('never has more attempts in flight than the concurrency limit', async () => {
        const store = new MemoryStore();
        const { opened, maxInFlight, allSettled } = harness(
            store,
            async () => {
                await delay(5);
                return { kind: 'delivered' };
            },
            { concurrency: 3 },
        );
        const { queue } = await opened;
        for (let index = 0; index < 30; index++) queue.enqueue(request(`call-${index}`, `r${index}`));
        assert.equal(queue.snapshot().queued, 30);
        await allSettled(30);
        assert.equal(maxInFlight(), 3);
        await queue.close();
    });

    it('starts no more attempts per second than the rate limit', async () => {
        const store = new MemoryStore();
        const { opened, attempts, allSettled } = harness(store, () => ({ kind: 'delivered' }), { ratePerSecond: 50 });
        const { queue } = await opened;
        for (let index = 0; index < 6; index++) queue.enqueue(request(`call-${index}`, `r${index}`));
        await allSettled(6);
        const span = attempts.at(-1)!.at - attempts[0]!.at;
        // Six starts at 50/s are five gaps of 20 ms.
        assert.ok(span >= 95, `six attempts within ${span} ms`);
        await queue.close();
    });

    it('sends a request while its record is written, settles it only once the record is durable, and records each retry after it', async () => {
        const store = new GatedStore();
        const { opened, attempts, settled, allSettled } = harness(store, (job) => (job.entry.attempts < 2 ? { kind: 'retry' } : { kind: 'delivered' }));
        const { queue } = await opened;
        const job = queue.enqueue(request('A', 'x'));
        await delay(20);
        // The first attempt went out though the record is not durable yet; its retry waits for the record.
        assert.deepEqual(
            attempts.map((a) => a.attempt),
            [1],
        );
        assert.deepEqual(store.writes, [{ key: job.key, attempts: 0, op: 'put' }]);
        assert.equal(store.values.has(job.key), false);
        store.release();
        await job.recorded;
        assert.equal(store.values.get(job.key)!.idempotencyKey, 'key-x');
        // The retry is recorded with its attempt count (after the first record), then waits its 10 ms: as a note
        // beside the entry, not the whole request again.
        await delay(5);
        assert.deepEqual(store.writes[1], { key: `${job.key}.attempts`, attempts: 1, op: 'put' });
        assert.deepEqual(settled, []);
        store.release();
        await allSettled(1);
        assert.deepEqual(settled, [{ id: 'x', delivered: true, attempts: 2 }]);
        // Delivered: the entry goes, then its note.
        assert.deepEqual(
            store.writes.map((w) => [w.op, w.key]),
            [
                ['put', job.key],
                ['put', `${job.key}.attempts`],
                ['delete', job.key],
                ['delete', `${job.key}.attempts`],
            ],
        );
        assert.equal(store.values.size, 0);
        await queue.close();
    });

    it('a request answered before its record is durable is settled (and done) only once the record is', async () => {
        const store = new GatedStore();
        const { opened, attempts, settled, allSettled } = harness(store, () => ({ kind: 'delivered' }));
        const { queue } = await opened;
        queue.enqueue(request('A', 'x'));
        await delay(20);
        assert.equal(attempts.length, 1);
        assert.deepEqual(settled, [], 'settled before its record was durable');
        store.release();
        await allSettled(1);
        assert.deepEqual(settled, [{ id: 'x', delivered: true, attempts: 1 }]);
        assert.equal(store.values.size, 0);
        await queue.close();
    });

    it('close waits for attempts in flight and leaves retries in the outbox; a new queue resumes them in order', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-queue-'));
        const store = await openFileStore<OutboxRecord>({ directory, name: 'outbox' });
        let release: () => void = () => undefined;
        const first = harness(
            store,
            (job) => {
                if (job.entry.call.id === 'slow') return new Promise<Verdict>((resolve) => (release = () => resolve({ kind: 'delivered' })));
                return { kind: 'retry' };
            },
            { schedule: [60_000] },
        );
        const { queue } = await first.opened;
        queue.enqueue(request('S', 'slow'));
        for (const id of ['a1', 'a2']) queue.enqueue(request('A', id));
        queue.enqueue(request('B', 'b1'));
        await delay(30);
        assert.equal(queue.snapshot().inFlight, 1);
        assert.ok(queue.snapshot().nextRetryAt! > Date.now() + 50_000);
        const closing = queue.close();
        await delay(10);
        assert.equal(first.settled.length, 0, 'still waiting for the attempt in flight');
        release();
        assert.equal(await closing, 3, 'a1, a2 and b1 stay');
        assert.deepEqual(
            first.settled.map((entry) => entry.id),
            ['slow'],
        );

        const reopened = await openFileStore<OutboxRecord>({ directory, name: 'outbox' });
        const records = await reopened.load();
        // Each entry as it was accepted, and the attempts of those retried in a note of their own.
        const stored = [...records].filter(([key]) => !key.endsWith('.attempts')).map(([, entry]) => entry as OutboxEntry);
        assert.deepEqual(
            stored.map((entry) => [entry.call.id, entry.attempts]),
            [
                ['a1', 0],
                ['a2', 0],
                ['b1', 0],
            ],
        );
        assert.deepEqual(
            [...records].filter(([key]) => key.endsWith('.attempts')).map(([key, note]) => [key, (note as AttemptNote).attempts]),
            [
                ['1.attempts', 1],
                ['3.attempts', 1],
            ],
        );
        // The minute a1 and b1 were waiting for is not waited again: the new queue attempts them at once.
        const second = harness(reopened, () => ({ kind: 'delivered' }));
        const resumed = (await second.opened).queue;
        await second.allSettled(3);
        assert.deepEqual(
            second.attempts.map((entry) => `${entry.id}#${entry.attempt}`),
            ['a1#2', 'b1#2', 'a2#1'],
        );
        const next = resumed.enqueue(request('C', 'c1'));
        assert.equal(next.key, String(Math.max(...stored.map((entry) => entry.seq)) + 1), 'numbering goes on after the resumed entries');
        await second.allSettled(4);
        await resumed.close();
        const emptied = await openFileStore<OutboxRecord>({ directory, name: 'outbox' });
        assert.equal((await emptied.load()).size, 0, 'the entries and their notes are gone');
        await emptied.close();
    });

    it('stored values that are no outbox entry are dropped and counted', async () => {
        const store = new MemoryStore();
        store.values.set('0', { call: { callId: 'A', id: 'kept' }, idempotencyKey: 'k', attempts: 3, queuedAt: Date.now() - 1000, seq: 0 });
        store.values.set('1', { junk: true } as unknown as OutboxEntry);
        const { opened, attempts, allSettled } = harness(store, () => ({ kind: 'delivered' }));
        const { queue, unreadable } = await opened;
        assert.equal(unreadable, 1);
        await allSettled(1);
        assert.deepEqual(
            attempts.map((entry) => `${entry.id}#${entry.attempt}`),
            ['kept#4'],
        );
        assert.equal(store.values.size, 0);
        await queue.close();
    });

    it('an attempt note goes with its entry on open; a note without an entry, or unreadable, is dropped', async () => {
        const store = new MemoryStore();
        const tries = [
            { at: Date.now() - 900, code: 'http-5xx', status: 503 },
            { at: Date.now() - 500, code: 'timeout' },
        ];
        // The entry as it was accepted (attempts 0), and the note its second retry wrote.
        store.values.set('0', { call: { callId: 'A', id: 'noted' }, idempotencyKey: 'k0', attempts: 0, queuedAt: Date.now() - 1000, seq: 0 });
        store.values.set('0.attempts', { note: 1, attempts: 2, tries } as unknown as OutboxEntry);
        // An entry of 0.3.0, whose retries wrote the whole entry again: its own count stands.
        store.values.set('1', { call: { callId: 'B', id: 'old' }, idempotencyKey: 'k1', attempts: 3, queuedAt: Date.now() - 1000, seq: 1 });
        store.values.set('5.attempts', { note: 1, attempts: 4 } as unknown as OutboxEntry);
        store.values.set('6.attempts', { note: 'later' } as unknown as OutboxEntry);
        const seen: Array<{ id: unknown; attempts: number; tries: unknown }> = [];
        const { opened, attempts, allSettled } = harness(store, (job) => {
            seen.push({ id: job.entry.call.id, attempts: job.entry.attempts, tries: job.entry.tries });
            return { kind: 'delivered' };
        });
        const { queue, unreadable } = await opened;
        assert.equal(unreadable, 1, 'the unreadable note');
        await allSettled(2);
        assert.deepEqual(attempts.map((entry) => `${entry.id}#${entry.attempt}`).sort(), ['noted#3', 'old#4']);
        assert.deepEqual(seen.find((entry) => entry.id === 'noted')?.tries, tries, 'the attempts itemised survive the restart');
        await until(
            () => store.values.size === 0,
            () => `left: ${[...store.values.keys()].join(', ')}`,
            2000,
        );
        await queue.close();
    });

    it('a failing outbox is reported and the request is still delivered', async () => {
        const store = new MemoryStore();
        store.failing = true;
        const errors: unknown[] = [];
        const { opened, settled, allSettled } = harness(store, () => ({ kind: 'delivered' }), { onStoreError: (error) => errors.push(error) });
        const { queue } = await opened;
        queue.enqueue(request('A', 'x'));
        await allSettled(1);
        assert.deepEqual(
            settled.map((entry) => entry.delivered),
            [true],
        );
        assert.match(String(errors[0]), /disk full/);
        await queue.close();
    });

    it('retries the requests that waited because the receiver was unreachable as soon as it answers one, not the ones it failed itself', async () => {
        const store = new MemoryStore();
        let down = true;
        // a: refused while the receiver is down; b: the receiver answers 500 (its own failure); c: a Retry-After.
        const { opened, attempts, settled, allSettled } = harness(
            store,
            (job) => {
                const id = String(job.entry.call.id);
                if (id === 'b' && job.entry.attempts === 1) return { kind: 'retry' };
                if (id === 'c' && job.entry.attempts === 1) return { kind: 'retry', retryAfterMs: 60_000 };
                if (id === 'probe' || !down) return { kind: 'delivered' };
                return { kind: 'retry', unreachable: true };
            },
            { schedule: [60_000, 60_000], concurrency: 4 },
        );
        const { queue } = await opened;
        queue.enqueue(request('call-a', 'a'));
        queue.enqueue(request('call-b', 'b'));
        queue.enqueue(request('call-c', 'c'));
        await delay(30);
        assert.deepEqual(attempts.map((attempt) => attempt.id).sort(), ['a', 'b', 'c'], 'each tried once, each now waiting a minute');
        down = false;
        // The receiver is back: the next request it answers wakes the one that waited only for it to be reachable.
        queue.enqueue(request('call-probe', 'probe'));
        await allSettled(2);
        assert.deepEqual(
            settled.map((done) => `${done.id}:${done.attempts}`),
            ['probe:1', 'a:2'],
        );
        await delay(30);
        assert.equal(settled.length, 2, 'b (a 500) and c (Retry-After) still wait out their schedule');
        assert.deepEqual(
            attempts.filter((attempt) => attempt.id === 'b' || attempt.id === 'c').map((attempt) => attempt.attempt),
            [1, 1],
        );
        assert.ok(queue.snapshot().nextRetryAt! > Date.now() + 50_000, 'the remaining waits are the scheduled ones');
        await queue.close();
    });
});
