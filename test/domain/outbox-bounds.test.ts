// Disk bounds of the outbox (issue 15): a node's delivery queue keeps at most maxQueued requests and maxQueuedBytes
// of entries; a new request beyond is refused whole with `queue-full`, nothing accepted is dropped, and the queue
// takes new requests again once it drains. One request too large for a store record is refused as `input`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { DeliveryQueue, QueueFullError, type AttemptOutcome, type DeliveryQueueOptions, type Job } from '../../src/delivery/delivery-queue';
import { entryBytes, OUTBOX_FORMAT, type OutboxEntry } from '../../src/delivery/outbox';
import type { Verdict } from '../../src/delivery/retry-policy';
import { CodedError, InputError } from '../../src/errors/coded-error';
import type { DurableStore, RecoveryReport } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';
import { MAX_VALUE_BYTES } from '../../src/store/log-format';
import { until } from '../support/wait';

class CountingStore implements DurableStore<OutboxEntry> {
    readonly recovery: RecoveryReport = { entries: 0, records: 0, discardedCompaction: false, summary: 'recovered 0 entries' };
    readonly values = new Map<string, OutboxEntry>();
    puts = 0;
    async load() {
        return new Map([...this.values].map(([key, value]) => [key, structuredClone(value)]));
    }
    async put(key: string, value: OutboxEntry) {
        this.puts += 1;
        this.values.set(key, structuredClone(value));
    }
    async delete(key: string) {
        this.values.delete(key);
    }
    async close() {}
}

/** A receiver that is down until `up()`: every attempt waits on it, then is delivered. */
function downReceiver() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    return { gate, up: () => open() };
}

function queueOn(store: DurableStore<OutboxEntry>, answer: (job: Job) => Promise<Verdict>, options: Partial<DeliveryQueueOptions<null>> = {}) {
    const delivered: string[] = [];
    const failed: string[] = [];
    const opened = DeliveryQueue.open<null>(store, {
        schedule: [],
        concurrency: 2,
        async attempt(job): Promise<AttemptOutcome<null>> {
            return { verdict: await answer(job), result: null };
        },
        onSettled(job, _outcome, ok) {
            (ok ? delivered : failed).push(String(job.entry.call.id));
        },
        ...options,
    });
    return { opened, delivered, failed };
}

const request = (id: string, padding = '') => ({ call: { callId: `call-${id}`, id, padding }, idempotencyKey: `key-${id}` });

/** What one request of `request(id, padding)` takes in the outbox, as the queue measures it. */
function sizeOf(id: string, padding = ''): number {
    return entryBytes({ ...request(id, padding), format: OUTBOX_FORMAT, attempts: 0, queuedAt: Date.now(), seq: 0 });
}

describe('outbox bounds: number of queued requests', () => {
    it('refuses the request after maxQueued with queue-full naming the bound and the count; drops nothing; takes new ones after a delivery', async () => {
        const store = new CountingStore();
        const receiver = downReceiver();
        const { opened, delivered } = queueOn(
            store,
            async () => {
                await receiver.gate;
                return { kind: 'delivered' };
            },
            { maxQueued: 5 },
        );
        const { queue } = await opened;
        for (let i = 0; i < 5; i++) queue.enqueue(request(String(i)));
        const putsBefore = store.puts;
        let refusal: unknown;
        try {
            queue.enqueue(request('over'));
        } catch (error) {
            refusal = error;
        }
        assert.ok(refusal instanceof QueueFullError, String(refusal));
        assert.equal(refusal.code, 'queue-full');
        assert.equal(refusal.bound, 'maxQueued');
        assert.equal(refusal.queued, 5);
        assert.match(refusal.message, /5 requests are queued/);
        assert.match(refusal.message, /maxQueued 5/);
        // The refusal wrote nothing and took nothing.
        assert.equal(store.puts, putsBefore);
        const snapshot = queue.snapshot();
        assert.equal(snapshot.queued, 5);
        assert.equal(snapshot.full, true);
        assert.equal(
            snapshot.queuedBytes,
            ['0', '1', '2', '3', '4'].reduce((sum, id) => sum + sizeOf(id), 0),
        );
        await until(() => store.values.size === 5, 'every accepted request is in the outbox');

        receiver.up();
        await until(() => delivered.length === 5, 'every accepted request is delivered');
        assert.deepEqual(delivered.sort(), ['0', '1', '2', '3', '4']);
        assert.deepEqual(queue.snapshot(), { queued: 0, queuedBytes: 0, full: false, inFlight: 0 });
        queue.enqueue(request('after'));
        await until(() => delivered.length === 6, 'a request after the drain is accepted and delivered');
        await queue.close();
    });

    it('accepts again as soon as one request settles, not only when the queue is empty', async () => {
        const store = new CountingStore();
        const releases: (() => void)[] = [];
        const { opened, delivered } = queueOn(
            store,
            () =>
                new Promise<Verdict>((resolve) => {
                    releases.push(() => resolve({ kind: 'delivered' }));
                }),
            { maxQueued: 3, concurrency: 3 },
        );
        const { queue } = await opened;
        for (let i = 0; i < 3; i++) queue.enqueue(request(String(i)));
        assert.throws(() => queue.enqueue(request('x')), QueueFullError);
        await until(() => releases.length === 3, 'three attempts in flight');
        releases[0]!();
        await until(() => delivered.length === 1, 'one delivered');
        assert.equal(queue.snapshot().full, false);
        queue.enqueue(request('3'));
        assert.throws(() => queue.enqueue(request('y')), QueueFullError);
        for (const release of releases.slice(1)) release();
        await until(() => releases.length === 4, 'the late request is attempted');
        releases[3]!();
        await until(() => delivered.length === 4, 'all delivered');
        assert.deepEqual(delivered.sort(), ['0', '1', '2', '3']);
        await queue.close();
    });
});

describe('outbox bounds: bytes of queued requests', () => {
    it('refuses the request that would go beyond maxQueuedBytes; its bytes count is incremental and exact', async () => {
        const store = new CountingStore();
        const receiver = downReceiver();
        const padding = 'x'.repeat(1000);
        const one = sizeOf('0', padding);
        const { opened, delivered } = queueOn(
            store,
            async () => {
                await receiver.gate;
                return { kind: 'delivered' };
            },
            { maxQueuedBytes: 3 * one + 200 },
        );
        const { queue } = await opened;
        for (let i = 0; i < 3; i++) queue.enqueue(request(String(i), padding));
        assert.equal(queue.snapshot().queuedBytes, 3 * one);
        assert.equal(queue.snapshot().full, false, 'under the byte bound');
        assert.throws(
            () => queue.enqueue(request('3', padding)),
            (error: unknown) =>
                error instanceof QueueFullError &&
                error.code === 'queue-full' &&
                error.bound === 'maxQueuedSize' &&
                error.queued === 3 &&
                /3 queued requests take/.test(error.message) &&
                /maxQueuedSize/.test(error.message),
        );
        assert.equal(queue.snapshot().full, true, 'a refusal shows the queue full until something leaves it');
        // A small one still fits in what is left.
        queue.enqueue(request('small'));
        assert.equal(queue.snapshot().queued, 4);
        receiver.up();
        await until(() => delivered.length === 4, 'every accepted request is delivered');
        assert.equal(queue.snapshot().queuedBytes, 0);
        await queue.close();
    });

    it('refuses one request larger than the whole byte bound on its own, even with the queue empty', async () => {
        const store = new CountingStore();
        const { opened } = queueOn(store, async () => ({ kind: 'delivered' }), { maxQueuedBytes: 2048 });
        const { queue } = await opened;
        assert.throws(
            () => queue.enqueue(request('big', 'x'.repeat(4096))),
            (error: unknown) =>
                error instanceof QueueFullError &&
                error.bound === 'maxQueuedSize' &&
                /more than the whole queue may keep/.test(error.message) &&
                /0 requests are queued/.test(error.message),
        );
        assert.equal(store.puts, 0);
        assert.deepEqual(queue.snapshot(), { queued: 0, queuedBytes: 0, full: true, inFlight: 0 });
        queue.enqueue(request('fits'));
        assert.equal(queue.snapshot().full, false, 'an accepted request clears the refusal');
        await queue.close();
    });
});

describe('outbox bounds: one request', () => {
    it('a request larger than one store record is refused as input, naming its size and the limit; nothing is written', async () => {
        const store = new CountingStore();
        const { opened } = queueOn(store, async () => ({ kind: 'delivered' }), { maxQueuedBytes: 64 * 1024 * 1024 });
        const { queue } = await opened;
        const huge = 'x'.repeat(MAX_VALUE_BYTES + 1);
        assert.throws(
            () => queue.enqueue(request('huge', huge)),
            (error: unknown) =>
                error instanceof InputError &&
                error.code === 'input' &&
                new RegExp(`\\(${sizeOf('huge', huge)} bytes\\)`).test(error.message) &&
                new RegExp(`at most .*\\(${MAX_VALUE_BYTES} bytes\\)`).test(error.message),
        );
        assert.equal(store.puts, 0);
        assert.equal(queue.snapshot().queued, 0);
        assert.equal(queue.snapshot().full, false, 'a request too large to keep says nothing about the queue');
        await queue.close();
    });

    it('a call JSON cannot carry is refused as input before anything is kept', async () => {
        const store = new CountingStore();
        const { opened } = queueOn(store, async () => ({ kind: 'delivered' }));
        const { queue } = await opened;
        const cyclic: Record<string, unknown> = { callId: 'c' };
        cyclic.self = cyclic;
        assert.throws(
            () => queue.enqueue({ call: cyclic, idempotencyKey: 'k' }),
            (error: unknown) => error instanceof InputError && /cannot be kept in the outbox/.test(error.message),
        );
        assert.throws(() => queue.enqueue({ call: { callId: 'c', n: 10n }, idempotencyKey: 'k' }), InputError);
        assert.equal(store.puts, 0);
        queue.enqueue(request('fine'));
        assert.equal(queue.snapshot().queued, 1);
        await queue.close();
    });
});

describe('outbox bounds: restart', () => {
    it('every stored request is resumed even beyond lowered bounds; new ones wait until it drains', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-outbox-bounds-'));
        try {
            const first = await openFileStore<OutboxEntry>({ directory, name: 'outbox' });
            for (let i = 0; i < 4; i++) await first.put(String(i), { ...request(String(i)), attempts: 1, queuedAt: Date.now(), seq: i });
            await first.close();

            const store = await openFileStore<OutboxEntry>({ directory, name: 'outbox' });
            const receiver = downReceiver();
            const { opened, delivered } = queueOn(
                store,
                async () => {
                    await receiver.gate;
                    return { kind: 'delivered' };
                },
                { maxQueued: 2 },
            );
            const { queue } = await opened;
            assert.equal(queue.snapshot().queued, 4);
            const stored = [...(await store.load()).values()];
            assert.equal(
                queue.snapshot().queuedBytes,
                stored.reduce((sum, entry) => sum + entryBytes(entry), 0),
            );
            assert.throws(
                () => queue.enqueue(request('new')),
                (error: unknown) => error instanceof QueueFullError && error.queued === 4,
            );
            receiver.up();
            await until(() => delivered.length === 4, 'all resumed requests delivered');
            queue.enqueue(request('new'));
            await until(() => delivered.length === 5, 'a new request after the drain');
            await queue.close();
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});

describe('outbox bounds: property', () => {
    it('whatever the mix of sizes, accepts and deliveries, the bounds hold, the byte count is exact and every accepted request settles once', async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.integer({ min: 1, max: 8 }),
                fc.integer({ min: 300, max: 3000 }),
                fc.array(
                    fc.oneof(
                        fc.integer({ min: 0, max: 1500 }).map((size) => ({ op: 'enqueue' as const, size })),
                        fc.constant({ op: 'deliver' as const }),
                    ),
                    { maxLength: 40 },
                ),
                async (maxQueued, maxQueuedBytes, steps) => {
                    const store = new CountingStore();
                    const pending: (() => void)[] = [];
                    const { opened, delivered } = queueOn(store, () => new Promise<Verdict>((resolve) => pending.push(() => resolve({ kind: 'delivered' }))), {
                        maxQueued,
                        maxQueuedBytes,
                        concurrency: 100,
                    });
                    const { queue } = await opened;
                    const accepted: string[] = [];
                    const bytes = new Map<string, number>();
                    for (const [index, step] of steps.entries()) {
                        if (step.op === 'deliver') {
                            await new Promise((resolve) => setImmediate(resolve));
                            pending.shift()?.();
                            await new Promise((resolve) => setImmediate(resolve));
                            continue;
                        }
                        const id = String(index);
                        const before = queue.snapshot();
                        try {
                            const job = queue.enqueue(request(id, 'p'.repeat(step.size)));
                            accepted.push(id);
                            bytes.set(id, job.bytes);
                        } catch (error) {
                            assert.ok(error instanceof CodedError, String(error));
                            assert.ok(error.code === 'queue-full', error.message);
                            const size = sizeOf(id, 'p'.repeat(step.size));
                            assert.ok(before.queued >= maxQueued || before.queuedBytes + size > maxQueuedBytes, 'refused only beyond a bound');
                            assert.deepEqual(queue.snapshot().queued, before.queued, 'a refusal changes nothing');
                        }
                        const now = queue.snapshot();
                        assert.ok(now.queued <= maxQueued);
                        assert.ok(now.queuedBytes <= maxQueuedBytes);
                        const live = accepted.filter((acceptedId) => !delivered.includes(acceptedId));
                        assert.equal(now.queued, live.length);
                        assert.equal(
                            now.queuedBytes,
                            live.reduce((sum, liveId) => sum + bytes.get(liveId)!, 0),
                        );
                    }
                    for (let turns = 0; delivered.length < accepted.length && turns < 10_000; turns++) {
                        pending.shift()?.();
                        await new Promise((resolve) => setImmediate(resolve));
                    }
                    assert.deepEqual([...delivered].sort(), [...accepted].sort());
                    assert.equal(queue.snapshot().queuedBytes, 0);
                    await queue.close();
                },
            ),
            { numRuns: 150 },
        );
    });
});
