// The file store latches (acknowledges no later write until it has repaired itself) only when a write or flush
// failed: a record that cannot be encoded is refused for that put alone (issue 15: one bad record must not poison the
// store). Its errors carry a stable reason, so callers never match English text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../../src/store/durable-store';
import { openFileStore } from '../../src/store/file-store';
import { LOG_HEADER, MAX_PAYLOAD_BYTES } from '../../src/store/log-format';
import { failingWrites } from '../support/failing-writes';

const directories: string[] = [];
function freshDirectory(): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-store-latch-'));
    directories.push(directory);
    return directory;
}
after(() => {
    for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

async function keysIn(directory: string): Promise<string[]> {
    const store = await openFileStore<unknown>({ directory });
    try {
        return [...(await store.load()).keys()];
    } finally {
        await store.close();
    }
}

describe('file store: what latches', () => {
    it('an oversized put is refused alone, naming its size and the limit; the next put succeeds and survives a reopen', async () => {
        const directory = freshDirectory();
        const store = await openFileStore<unknown>({ directory });
        await store.put('before', { n: 1 });
        const bytesBefore = fs.statSync(path.join(directory, 'store.log')).size;
        const big = 'x'.repeat(MAX_PAYLOAD_BYTES);
        await assert.rejects(
            store.put('big', { big }),
            (error: unknown) =>
                error instanceof StoreError &&
                error.reason === 'too-large' &&
                new RegExp(`limited to ${MAX_PAYLOAD_BYTES} bytes; this one has ${MAX_PAYLOAD_BYTES + '["p","big",{"big":""}]'.length}`).test(error.message),
        );
        assert.equal(store.stats().entries, 1, 'the refused record was not applied to memory');
        await store.put('after', { n: 2 });
        await store.delete('before');
        await store.close();
        assert.ok(fs.statSync(path.join(directory, 'store.log')).size < bytesBefore + 1000, 'nothing of the big record reached the log');
        assert.deepEqual(await keysIn(directory), ['after']);
    });

    it('values JSON cannot carry (a cycle, a BigInt, undefined) are refused alone, again and again; the store keeps working', async () => {
        const directory = freshDirectory();
        const store = await openFileStore<unknown>({ directory });
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        for (let round = 0; round < 3; round++) {
            await assert.rejects(store.put(`cyclic-${round}`, cyclic), TypeError);
            await assert.rejects(store.put(`bigint-${round}`, { n: 1n }), TypeError);
            await assert.rejects(store.put(`undefined-${round}`, undefined), TypeError);
            await store.put(`good-${round}`, round);
        }
        await store.close();
        assert.deepEqual(await keysIn(directory), ['good-0', 'good-1', 'good-2']);
    });

    it('a failed write latches: that batch and every later put or delete are refused with reason io until a repair', async () => {
        const directory = freshDirectory();
        const { fileSystem, disk: state } = failingWrites();
        // No repair within the test (store-repair.test.ts covers it): what a crash now would find is the old log.
        const store = await openFileStore<unknown>({ directory, fileSystem, repair: { firstMs: 60_000 } });
        await store.put('kept', 1);
        state.failing = true;
        await assert.rejects(store.put('lost', 2), (error: unknown) => error instanceof StoreError && error.reason === 'io' && /ENOSPC/.test(error.message));
        state.failing = false;
        const writes = state.writes;
        await assert.rejects(store.put('later', 3), (error: unknown) => error instanceof StoreError && error.reason === 'io');
        await assert.rejects(store.delete('kept'), (error: unknown) => error instanceof StoreError && error.reason === 'io');
        assert.equal(state.writes, writes, 'a latched store does not touch the file again');
        await store.close();
        assert.deepEqual(await keysIn(directory), ['kept']);
        const reopened = await openFileStore<unknown>({ directory });
        await reopened.put('after-reopen', 4);
        await reopened.close();
        assert.deepEqual(await keysIn(directory), ['kept', 'after-reopen']);
    });

    it('the other refusals say why by reason: already-open, closed, format', async () => {
        const directory = freshDirectory();
        const store = await openFileStore<unknown>({ directory });
        await assert.rejects(
            openFileStore<unknown>({ directory }),
            (error: unknown) => error instanceof StoreError && error.reason === 'already-open' && /already open/.test(error.message),
        );
        await store.close();
        await assert.rejects(store.put('x', 1), (error: unknown) => error instanceof StoreError && error.reason === 'closed');

        const foreign = freshDirectory();
        fs.writeFileSync(path.join(foreign, 'store.log'), Buffer.concat([Buffer.from('NOTALOG!'), LOG_HEADER]));
        await assert.rejects(openFileStore<unknown>({ directory: foreign }), (error: unknown) => error instanceof StoreError && error.reason === 'format');
    });
});
