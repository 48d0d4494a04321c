import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../../src/store/durable-store';
import { MemoryStore } from '../../src/store/memory-store';
import { openNodeStore } from '../../src/store/node-store';
import { nodeStateDirectory } from '../../src/store/node-state-directory';

describe('openNodeStore: the state policy of every stateful node', () => {
    const userDirs: string[] = [];
    const userDir = (): string => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-node-store-'));
        userDirs.push(dir);
        return dir;
    };
    after(() => {
        for (const dir of userDirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('keeps the state in memory, not durable, without a user directory', async () => {
        for (const missing of [undefined, '', 42]) {
            const opened = await openNodeStore<string>({ userDir: missing, kind: 'calls', nodeId: 'n1', name: 'calls' });
            assert.equal(opened.durable, false);
            assert.equal(opened.directory, undefined);
            assert.ok(opened.store instanceof MemoryStore);
        }
    });

    it("opens the node's own folder below the user directory, durable across a reopen", async () => {
        const dir = userDir();
        const first = await openNodeStore<string>({ userDir: dir, kind: 'outbox', nodeId: 'n1', name: 'outbox' });
        assert.equal(first.durable, true);
        assert.equal(first.directory, nodeStateDirectory(dir, 'outbox', 'n1'));
        await first.store.put('k', 'v');
        await first.store.close();
        const again = await openNodeStore<string>({ userDir: dir, kind: 'outbox', nodeId: 'n1', name: 'outbox' });
        assert.deepEqual([...(await again.store.load())], [['k', 'v']]);
        await again.store.close();
    });

    it('waits for the previous node of a redeploy to release the store, then opens it', async () => {
        const dir = userDir();
        const request = { userDir: dir, kind: 'calls' as const, nodeId: 'n1', name: 'calls' };
        const previous = await openNodeStore<string>(request);
        const next = openNodeStore<string>(request, { retryMs: 20, waitMs: 5000 });
        setTimeout(() => void previous.store.close(), 100);
        const opened = await next;
        assert.equal(opened.durable, true);
        await opened.store.close();
    });

    it('rejects with the store error when the store stays held or cannot be opened', async () => {
        const dir = userDir();
        const request = { userDir: dir, kind: 'calls' as const, nodeId: 'n1', name: 'calls' };
        const held = await openNodeStore<string>(request);
        await assert.rejects(
            openNodeStore<string>(request, { retryMs: 10, waitMs: 50 }),
            (err: unknown) => err instanceof StoreError && err.reason === 'already-open',
        );
        await held.store.close();
        const blocked = userDir();
        fs.writeFileSync(path.join(blocked, 'ccaas-web-service'), 'a file where the folder should be');
        await assert.rejects(openNodeStore<string>({ userDir: blocked, kind: 'calls', nodeId: 'n1', name: 'calls' }));
    });
});
