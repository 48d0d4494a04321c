import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoredDeadLetterBox } from '../../src/delivery/dead-letter-box';
import {
    attemptRecordOf,
    deadLetterOf,
    isDeadLetter,
    MAX_TRIES_KEPT,
    overBounds,
    RESPONSE_PIECE_LENGTH,
    withTry,
    type DeadLetter,
} from '../../src/delivery/dead-letters';
import { DeliveryQueue } from '../../src/delivery/delivery-queue';
import type { OutboxEntry } from '../../src/delivery/outbox';
import { CodedError } from '../../src/errors/coded-error';
import { StoreError } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';
import { MemoryStore } from '../../src/store/memory-store';
import { failingWrites } from '../support/failing-writes';
import { until } from '../support/wait';

const entry = (key: string, queuedAt = 1000): OutboxEntry => ({
    format: 2,
    call: { callId: `call-${key}`, event: 'complete' },
    payload: { n: key },
    topic: 'Call is Complete',
    idempotencyKey: key,
    attempts: 3,
    queuedAt,
    seq: 0,
});

const letter = (key: string, failedAt: number): DeadLetter =>
    deadLetterOf(entry(key), { error: new CodedError('http-4xx', 'HTTP 400') }, 'HTTP 400', [{ at: failedAt, code: 'http-4xx', status: 400 }], failedAt);

describe('dead letters', () => {
    it('keep the request, its attempts and a bounded piece of the last answer, with secrets masked', () => {
        const body = `{"error":"bad token s3cret-token"}${'x'.repeat(RESPONSE_PIECE_LENGTH)}`;
        const result = {
            error: new CodedError('http-4xx', 'POST https://crm.example/calls: HTTP 401 (token s3cret-token refused)'),
            response: { statusCode: 401, headers: {}, body, timeMs: 12 },
            secrets: ['s3cret-token'],
        };
        const tries = [attemptRecordOf({ error: new CodedError('refused', 'refused') }, 10), attemptRecordOf(result, 20)];
        const kept = deadLetterOf({ ...entry('k'), tries: [{ at: 10, code: 'refused' }] }, result, result.error.message, tries, 30);
        assert.equal(isDeadLetter(JSON.parse(JSON.stringify(kept))), true);
        assert.deepEqual(kept.tries, [
            { at: 10, code: 'refused' },
            { at: 20, code: 'http-4xx', status: 401 },
        ]);
        assert.equal('tries' in kept.request, false, 'the attempts are the letter’s, not the request’s');
        assert.equal(kept.code, 'http-4xx');
        assert.doesNotMatch(JSON.stringify(kept), /s3cret-token/);
        assert.equal(kept.response!.statusCode, 401);
        assert.equal(kept.response!.body.length, RESPONSE_PIECE_LENGTH);
        assert.equal(kept.response!.truncated, true);
        assert.match(kept.response!.body, /^\{"error":"bad token \*\*\*"\}/);
    });

    it('itemise the latest attempts only', () => {
        let tries = withTry(undefined, { at: 0, code: 'timeout' });
        for (let at = 1; at < MAX_TRIES_KEPT + 5; at++) tries = withTry(tries, { at, code: 'timeout' });
        assert.equal(tries.length, MAX_TRIES_KEPT);
        assert.equal(tries[0]!.at, 5);
    });

    it('bounds drop past their age first, then the oldest while over the count or the bytes', () => {
        const rows = [
            { key: 'a', failedAt: 100, bytes: 10 },
            { key: 'b', failedAt: 200, bytes: 10 },
            { key: 'c', failedAt: 300, bytes: 10 },
        ];
        assert.deepEqual(overBounds(rows, { maxCount: 3, maxAgeMs: 1000, maxBytes: 30 }, 1000), []);
        assert.deepEqual(overBounds(rows, { maxCount: 3, maxAgeMs: 850, maxBytes: 30 }, 1000), ['a']);
        assert.deepEqual(overBounds(rows, { maxCount: 1, maxAgeMs: 1000, maxBytes: 30 }, 1000), ['a', 'b']);
        assert.deepEqual(overBounds(rows, { maxCount: 3, maxAgeMs: 1000, maxBytes: 15 }, 1000), ['a', 'b']);
    });

    it('a box keeps them in failure order, replaces a key added again, and drops by its bounds on open', async () => {
        const store = new MemoryStore<DeadLetter>();
        const clock = { now: 1000 };
        const { box } = await StoredDeadLetterBox.open(store, { maxCount: 2, maxAgeMs: 10_000, maxBytes: 1 << 20 }, () => clock.now);
        assert.deepEqual(await box.add(letter('a', 100)), { dropped: 0 });
        assert.deepEqual(await box.add(letter('b', 200)), { dropped: 0 });
        assert.deepEqual(await box.add(letter('a', 300)), { dropped: 0 }, 'the same request failed again: one letter');
        assert.deepEqual(
            (await box.list()).map((kept) => kept.request.idempotencyKey),
            ['b', 'a'],
        );
        assert.deepEqual(await box.add(letter('c', 400)), { dropped: 1 });
        assert.deepEqual(
            (await box.list()).map((kept) => kept.request.idempotencyKey),
            ['a', 'c'],
        );
        await store.put('junk', { not: 'a letter' } as unknown as DeadLetter);
        clock.now = 10_350;
        const reopened = await StoredDeadLetterBox.open(store, { maxCount: 2, maxAgeMs: 10_000, maxBytes: 1 << 20 }, () => clock.now);
        assert.deepEqual([reopened.unreadable, reopened.dropped], [1, 1], 'the junk removed, the letter past its age dropped');
        assert.deepEqual(
            (await reopened.box.list()).map((kept) => kept.request.idempotencyKey),
            ['c'],
        );
        assert.equal(await reopened.box.remove(['c', 'missing']), 1);
    });

    it('a letter added while the disk fails is listed at once, and is on disk once the store has repaired itself', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-dead-letters-'));
        const bounds = { maxCount: 10, maxAgeMs: 10_000, maxBytes: 1 << 20 };
        try {
            const { fileSystem, disk } = failingWrites('ENOSPC');
            const store = await openFileStore<DeadLetter>({ directory, fileSystem, repair: { firstMs: 10, maxMs: 40 } });
            const { box } = await StoredDeadLetterBox.open(store, bounds, () => 1000);
            await box.add(letter('before', 100));
            disk.failing = true;
            await assert.rejects(box.add(letter('during', 200)), (error: unknown) => error instanceof StoreError && error.reason === 'io');
            assert.deepEqual(
                (await box.list()).map((kept) => kept.request.idempotencyKey),
                ['before', 'during'],
                'listed as the store holds it',
            );
            assert.equal(await box.count(), 2);
            disk.failing = false;
            await until(() => store.failure === undefined, 'the store repaired');
            await box.close();
            const reopened = await StoredDeadLetterBox.open(await openFileStore<DeadLetter>({ directory }), bounds, () => 1000);
            assert.deepEqual(
                (await reopened.box.list()).map((kept) => kept.request.idempotencyKey),
                ['before', 'during'],
                'written by the repair',
            );
            await reopened.box.close();
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});

describe('delivery queue: a request that failed for good leaves the outbox only once it is kept', () => {
    function queueWith(keep: () => Promise<void>) {
        const store = new MemoryStore<OutboxEntry>();
        const settled: string[] = [];
        const opened = DeliveryQueue.open<null>(store, {
            schedule: [],
            attempt: async () => ({ verdict: { kind: 'final' }, result: null }),
            onSettled: (job) => settled.push(job.entry.idempotencyKey),
            keep,
            onStoreError: () => undefined,
        });
        return { store, settled, opened };
    }

    it('kept: reported after the keep, then removed', async () => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const { store, settled, opened } = queueWith(() => held);
        const { queue } = await opened;
        queue.enqueue({ call: { callId: 'c' }, idempotencyKey: 'k' });
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(settled, [], 'not reported while it is being kept');
        assert.equal((await store.load()).size, 1, 'still in the outbox');
        release();
        await until(() => settled.length === 1, 'the report');
        assert.deepEqual(settled, ['k']);
        // The lazy removal is applied to the store's contents at once, once the keep has resolved.
        for (let turn = 0; turn < 100 && (await store.load()).size > 0; turn++) await new Promise((resolve) => setImmediate(resolve));
        assert.equal((await store.load()).size, 0);
    });

    it('not kept: reported, and left in the outbox for the next start', async () => {
        const { store, settled, opened } = queueWith(() => Promise.reject(new Error('disk full')));
        const { queue } = await opened;
        queue.enqueue({ call: { callId: 'c' }, idempotencyKey: 'k' });
        await until(() => settled.length === 1, 'the report');
        assert.deepEqual(settled, ['k']);
        assert.equal((await store.load()).size, 1);
        assert.equal(queue.queuedCount, 0, 'the queue moved on');
    });
});
