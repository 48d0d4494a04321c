import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { StoreError } from '../../src/store/durable-store';
import { LAZY_DELETE_MS, openFileStore, type FileStoreOptions } from '../../src/store/file-store';
import { encodePut, LOG_HEADER } from '../../src/store/log-format';
import { nodeFileSystem, type StoreFileSystem } from '../../src/store/store-file-system';
import { until } from '../support/wait';

type Entry = { callId: string; attempt: number; body?: string };

const directories: string[] = [];
function freshDirectory(): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-store-'));
    directories.push(directory);
    return directory;
}
after(() => {
    for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

/** The real file system, counting every step and letting a test hold one at an exact point. */
function instrumentedFileSystem() {
    const counts = { datasync: 0, write: 0, rename: 0 };
    const hooks: {
        beforeDatasync?: (file: string) => Promise<void>;
        beforeRename?: (from: string) => Promise<void>;
    } = {};
    const wrap = (file: string, opened: Awaited<ReturnType<StoreFileSystem['create']>>) => ({
        ...opened,
        async write(data: Buffer, position: number) {
            counts.write += 1;
            await opened.write(data, position);
        },
        async datasync() {
            await hooks.beforeDatasync?.(file);
            counts.datasync += 1;
            await opened.datasync();
        },
    });
    const fileSystem: StoreFileSystem = {
        ...nodeFileSystem,
        openExisting: async (file) => wrap(file, await nodeFileSystem.openExisting(file)),
        create: async (file) => wrap(file, await nodeFileSystem.create(file)),
        async rename(from, to) {
            await hooks.beforeRename?.(from);
            counts.rename += 1;
            await nodeFileSystem.rename(from, to);
        },
    };
    return { fileSystem, counts, hooks };
}

function gate(): { wait: Promise<void>; open(): void } {
    let open!: () => void;
    const wait = new Promise<void>((resolve) => (open = resolve));
    return { wait, open };
}

async function reopen(directory: string, options: Partial<FileStoreOptions> = {}) {
    return openFileStore<Entry>({ directory, ...options });
}

async function contents(directory: string): Promise<Map<string, Entry>> {
    const store = await reopen(directory);
    try {
        return await store.load();
    } finally {
        await store.close();
    }
}

/** What the log of a store that is still open holds on disk, as a crash now would leave it: read from a copy. */
async function contentsOnDisk(directory: string): Promise<Map<string, Entry>> {
    const copy = freshDirectory();
    fs.copyFileSync(path.join(directory, 'store.log'), path.join(copy, 'store.log'));
    return contents(copy);
}

describe('file store: round trip', () => {
    it('what was put reads back after reopening, values included exactly', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        assert.equal(store.recovery.summary, 'recovered 0 entries');
        const hostile = 'O"Brien \\ \u2028 中文 😀 \u0000';
        await Promise.all([store.put('a', { callId: 'a', attempt: 1 }), store.put('b', { callId: 'b', attempt: 2, body: hostile })]);
        await store.close();

        const again = await reopen(directory);
        assert.deepEqual(
            [...(await again.load())],
            [
                ['a', { callId: 'a', attempt: 1 }],
                ['b', { callId: 'b', attempt: 2, body: hostile }],
            ],
        );
        assert.equal(again.recovery.summary, 'recovered 2 entries');
        assert.equal(again.recovery.records, 2);
        assert.equal(again.recovery.dropped, undefined);
        await again.close();
    });

    it('load order is first-put order: an overwrite keeps its place, a delete then put moves to the end', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        for (const key of ['k1', 'k2', 'k3']) await store.put(key, { callId: key, attempt: 1 });
        await store.put('k1', { callId: 'k1', attempt: 2 });
        await store.delete('k2');
        await store.put('k2', { callId: 'k2', attempt: 3 });
        const expected = [
            ['k1', { callId: 'k1', attempt: 2 }],
            ['k3', { callId: 'k3', attempt: 1 }],
            ['k2', { callId: 'k2', attempt: 3 }],
        ];
        assert.deepEqual([...(await store.load())], expected);
        await store.close();
        assert.deepEqual([...(await contents(directory))], expected);
    });

    it('load returns copies: mutating a value after put changes neither memory nor disk', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        const value = { callId: 'c', attempt: 1 };
        await store.put('c', value);
        value.attempt = 99;
        (await store.load()).get('c')!.attempt = 42;
        assert.deepEqual((await store.load()).get('c'), { callId: 'c', attempt: 1 });
        await store.close();
        assert.deepEqual((await contents(directory)).get('c'), { callId: 'c', attempt: 1 });
    });
});

describe('file store: delete', () => {
    it('a deleted key is gone after reopening; the others stay', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await Promise.all(['x', 'y', 'z'].map((key) => store.put(key, { callId: key, attempt: 1 })));
        await store.delete('y');
        await store.close();
        assert.deepEqual([...(await contents(directory)).keys()], ['x', 'z']);
    });

    it('deleting a key that is not there costs no write and no flush', async () => {
        const { fileSystem, counts } = instrumentedFileSystem();
        const store = await reopen(freshDirectory(), { fileSystem });
        const before = { ...counts };
        await store.delete('never-put');
        assert.deepEqual(counts, before);
        await store.close();
    });

    it('a value JSON cannot carry is refused and the store keeps working', async () => {
        const directory = freshDirectory();
        const store = await openFileStore<unknown>({ directory });
        await assert.rejects(store.put('bad', undefined), TypeError);
        await assert.rejects(store.put('bad', 10n), TypeError);
        await store.put('good', 1);
        await store.close();
        assert.deepEqual([...(await contents(directory)).keys()], ['good']);
    });
});

describe('file store: values read back after a restart', () => {
    it('the first load after opening gives what the log holds, with puts and deletes made since opening', async () => {
        const directory = freshDirectory();
        const first = await reopen(directory);
        for (const key of ['a', 'b', 'c', 'd']) await first.put(key, { callId: key, attempt: 1 });
        await first.put('b', { callId: 'b', attempt: 2 });
        await first.delete('d');
        await first.close();

        const store = await reopen(directory);
        await store.put('a', { callId: 'a', attempt: 3 });
        await store.delete('c');
        await store.put('e', { callId: 'e', attempt: 1 });
        const loaded = await store.load();
        assert.deepEqual(Object.fromEntries(loaded), {
            a: { callId: 'a', attempt: 3 },
            b: { callId: 'b', attempt: 2 },
            e: { callId: 'e', attempt: 1 },
        });
        await store.close();
    });

    it('every load gives fresh copies: changing what one load returned changes neither the store nor the next load', async () => {
        const directory = freshDirectory();
        const first = await reopen(directory);
        await first.put('a', { callId: 'a', attempt: 1 });
        await first.close();

        const store = await reopen(directory);
        const once = await store.load();
        once.get('a')!.attempt = 99;
        const twice = await store.load();
        assert.deepEqual(twice.get('a'), { callId: 'a', attempt: 1 });
        assert.notEqual(twice.get('a'), once.get('a'));
        await store.close();
        assert.deepEqual((await contents(directory)).get('a'), { callId: 'a', attempt: 1 });
    });
});

describe('file store: reading a large log back', () => {
    it('gives the event loop turns while it reads the records, so the rest of the process is not stalled', async function () {
        this.timeout(30_000);
        const directory = freshDirectory();
        const writer = await reopen(directory);
        const body = 'x'.repeat(2000);
        for (let batch = 0; batch < 10; batch++) {
            await Promise.all(Array.from({ length: 1000 }, (_, i) => writer.put(`k${batch * 1000 + i}`, { callId: `c${i}`, attempt: batch, body })));
        }
        await writer.close();

        // Turns the loop gives between the log's bytes arriving (readFile) and the log being opened for appends
        // (openExisting), which recovery does right after the last record: only a recovery that yields has any.
        let turns = 0;
        let ticking = true;
        const tick = (): void => {
            turns += 1;
            if (ticking) setImmediate(tick);
        };
        const marks: { read?: number; opened?: number } = {};
        const fileSystem: StoreFileSystem = {
            ...nodeFileSystem,
            async readFile(file) {
                const data = await nodeFileSystem.readFile(file);
                if (file.endsWith('.log')) {
                    marks.read = turns;
                    setImmediate(tick);
                }
                return data;
            },
            async openExisting(file) {
                marks.opened = turns;
                return nodeFileSystem.openExisting(file);
            },
        };
        const store = await reopen(directory, { fileSystem });
        ticking = false;
        assert.equal(store.stats().entries, 10_000);
        assert.ok(marks.opened! - marks.read! > 0, `the loop turned ${marks.opened! - marks.read!} times while 10,000 records were read`);
        assert.deepEqual((await store.load()).get('k9999'), { callId: 'c999', attempt: 9, body });
        await store.close();
    });
});

describe('file store: group commit', () => {
    it('50 puts made together cost one write and one flush', async () => {
        const { fileSystem, counts } = instrumentedFileSystem();
        const store = await reopen(freshDirectory(), { fileSystem });
        const before = { ...counts };
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`k${i}`, { callId: `c${i}`, attempt: 1 })));
        assert.equal(counts.write - before.write, 1);
        assert.equal(counts.datasync - before.datasync, 1);
        assert.equal(store.stats().entries, 50);
        await store.close();
    });

    it('puts made while a flush is under way form exactly one next batch', async () => {
        const { fileSystem, counts, hooks } = instrumentedFileSystem();
        const store = await reopen(freshDirectory(), { fileSystem });
        const before = counts.datasync;
        const held = gate();
        const reached = gate();
        hooks.beforeDatasync = async () => {
            hooks.beforeDatasync = undefined;
            reached.open();
            await held.wait;
        };
        const first = Array.from({ length: 10 }, (_, i) => store.put(`first${i}`, { callId: 'c', attempt: i }));
        await reached.wait;
        let settled = 0;
        const second = Array.from({ length: 40 }, (_, i) => store.put(`second${i}`, { callId: 'c', attempt: i }).then(() => (settled += 1)));
        // Nothing is acknowledged while its flush has not happened.
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(settled, 0);
        held.open();
        await Promise.all([...first, ...second]);
        assert.equal(counts.datasync - before, 2);
        assert.equal(settled, 40);
        await store.close();
    });

    it('10,000 small records written in batches of 100 take 100 flushes, not 10,000', async () => {
        const directory = freshDirectory();
        const { fileSystem, counts } = instrumentedFileSystem();
        const store = await reopen(directory, { fileSystem });
        const before = counts.datasync;
        for (let batch = 0; batch < 100; batch++) {
            await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`r${batch * 100 + i}`, { callId: `c${i}`, attempt: batch })));
        }
        assert.equal(counts.datasync - before, 100);
        await store.close();
        const reloaded = await contents(directory);
        assert.equal(reloaded.size, 10_000);
        assert.deepEqual(reloaded.get('r9999'), { callId: 'c99', attempt: 99 });
    });

    it('10,000 records put at once are flushed in a handful of batches', async () => {
        const { fileSystem, counts } = instrumentedFileSystem();
        const store = await reopen(freshDirectory(), { fileSystem });
        const before = counts.datasync;
        await Promise.all(Array.from({ length: 10_000 }, (_, i) => store.put(`r${i}`, { callId: 'c', attempt: i })));
        assert.ok(counts.datasync - before <= 2, `${counts.datasync - before} flushes`);
        await store.close();
    });
});

describe('file store: recovery', () => {
    /** A log with four entries, and its bytes after a fifth put whose record starts at `lastStart`. */
    async function logWithLastRecord(directory: string) {
        const store = await reopen(directory);
        for (let i = 1; i <= 4; i++) await store.put(`k${i}`, { callId: `call-${i}`, attempt: i });
        const lastStart = store.stats().logBytes;
        await store.put('k5', { callId: 'call-5', attempt: 5, body: 'the record that gets torn' });
        await store.close();
        const logPath = path.join(directory, 'store.log');
        return { logPath, lastStart, bytes: fs.readFileSync(logPath) };
    }

    it('a log cut at every byte of its last record keeps the four earlier entries and accepts new writes', async () => {
        const directory = freshDirectory();
        const { logPath, lastStart, bytes } = await logWithLastRecord(directory);
        const earlier = ['k1', 'k2', 'k3', 'k4'];
        assert.ok(bytes.length - lastStart > 40 && bytes.length - lastStart < 200);
        for (let cut = lastStart; cut < bytes.length; cut++) {
            fs.writeFileSync(logPath, bytes.subarray(0, cut));
            const store = await reopen(directory);
            assert.deepEqual([...(await store.load()).keys()], earlier, `cut at ${cut}`);
            if (cut === lastStart) {
                assert.equal(store.recovery.dropped, undefined);
            } else {
                assert.deepEqual(store.recovery.dropped, { offset: lastStart, bytes: cut - lastStart, records: 1, kind: 'torn' });
                assert.equal(store.recovery.summary, `recovered 4 entries, dropped 1 torn record at byte ${lastStart}`);
            }
            assert.equal(fs.statSync(logPath).size, lastStart, 'the torn tail is truncated');
            await store.put('after', { callId: 'after', attempt: cut });
            await store.close();

            const again = await reopen(directory);
            assert.deepEqual([...(await again.load()).keys()], [...earlier, 'after'], `reopen after cut at ${cut}`);
            assert.equal(again.recovery.dropped, undefined);
            await again.close();
        }
        assert.equal(fs.readdirSync(directory).filter((name) => name.includes('dropped')).length, 0);
    });

    it('a zero-filled tail (what a power cut can leave) is detected as torn', async () => {
        const directory = freshDirectory();
        const { logPath, bytes } = await logWithLastRecord(directory);
        fs.writeFileSync(logPath, Buffer.concat([bytes, Buffer.alloc(4096)]));
        const store = await reopen(directory);
        assert.equal((await store.load()).size, 5);
        assert.deepEqual(store.recovery.dropped, { offset: bytes.length, bytes: 4096, records: 1, kind: 'torn' });
        await store.close();
    });

    it('a flipped byte in a middle record stops replay there, reports what followed and keeps the bytes', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        const starts: number[] = [];
        for (let i = 1; i <= 5; i++) {
            starts.push(store.stats().logBytes);
            await store.put(`k${i}`, { callId: `call-${i}`, attempt: i });
        }
        await store.close();
        const logPath = path.join(directory, 'store.log');
        const original = fs.readFileSync(logPath);
        const damaged = Buffer.from(original);
        const middleOfThird = Math.floor((starts[2]! + starts[3]!) / 2);
        damaged[middleOfThird] = damaged[middleOfThird]! ^ 0x20;
        fs.writeFileSync(logPath, damaged);

        const recovered = await reopen(directory);
        assert.deepEqual([...(await recovered.load()).keys()], ['k1', 'k2']);
        const dropped = recovered.recovery.dropped!;
        assert.equal(dropped.offset, starts[2]);
        assert.equal(dropped.records, 3);
        assert.equal(dropped.kind, 'corrupt');
        assert.equal(dropped.bytes, original.length - starts[2]!);
        assert.deepEqual(fs.readFileSync(dropped.savedTo!), damaged.subarray(starts[2]!));
        assert.match(recovered.recovery.summary, new RegExp(`^recovered 2 entries, dropped 3 corrupt records at byte ${starts[2]} \\(bytes kept in `));
        assert.equal(fs.statSync(logPath).size, starts[2]);
        await recovered.close();
    });

    it('a damaged length field is caught by the checksum, not read as a huge record', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await store.put('k1', { callId: 'a', attempt: 1 });
        const second = store.stats().logBytes;
        await store.put('k2', { callId: 'b', attempt: 2 });
        await store.close();
        const logPath = path.join(directory, 'store.log');
        const damaged = fs.readFileSync(logPath);
        damaged[second] = damaged[second]! ^ 0x01;
        fs.writeFileSync(logPath, damaged);
        const recovered = await reopen(directory);
        assert.deepEqual([...(await recovered.load()).keys()], ['k1']);
        assert.equal(recovered.recovery.dropped?.offset, second);
        await recovered.close();
    });

    it('a log torn while being created (part of the header) starts empty', async () => {
        const directory = freshDirectory();
        fs.writeFileSync(path.join(directory, 'store.log'), LOG_HEADER.subarray(0, 3));
        const store = await reopen(directory);
        assert.equal(store.recovery.summary, 'recovered 0 entries');
        await store.put('k', { callId: 'k', attempt: 1 });
        await store.close();
        assert.equal((await contents(directory)).size, 1);
    });

    it('a file that is not a store log is refused and left untouched', async () => {
        const directory = freshDirectory();
        const logPath = path.join(directory, 'store.log');
        fs.writeFileSync(logPath, '{"flows": []}');
        await assert.rejects(reopen(directory), (error: unknown) => error instanceof StoreError && /not a store log/.test(error.message));
        assert.equal(fs.readFileSync(logPath, 'utf8'), '{"flows": []}');
        // The refused open released its claim on the path.
        fs.rmSync(logPath);
        await (await reopen(directory)).close();
    });
});

describe('file store: compaction', () => {
    const compaction = { minBytes: 4096, ratio: 2 };

    it('rewrites the log to exactly the live records once it outgrows them', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory, { compaction });
        const live = new Map<string, Entry>();
        for (let i = 0; i < 300; i++) {
            const key = `k${i % 40}`;
            const value = { callId: key, attempt: i };
            if (i % 3 === 2) {
                await store.delete(key);
                live.delete(key);
            } else {
                await store.put(key, value);
                live.set(key, value);
            }
        }
        const stats = store.stats();
        assert.ok(stats.compactions >= 1, 'compacted');
        assert.ok(stats.logBytes <= compaction.ratio * (LOG_HEADER.length + stats.liveBytes) || stats.logBytes <= compaction.minBytes);
        assert.deepEqual(await store.load(), live);
        await store.close();

        const again = await reopen(directory, { compaction });
        assert.deepEqual(await again.load(), live);
        assert.ok(again.recovery.records < 300, `${again.recovery.records} records replayed`);
        await again.close();

        // Forcing one more compaction on open leaves one record per live entry, in load order.
        const forced = await openFileStore<Entry>({ directory, compaction: { minBytes: 0, ratio: 1 } });
        assert.equal(forced.stats().logBytes, LOG_HEADER.length + forced.stats().liveBytes);
        await forced.close();
        const compacted = await reopen(directory);
        assert.equal(compacted.recovery.records, live.size);
        assert.deepEqual(await compacted.load(), live);
        await compacted.close();
    });

    it('puts and deletes made during a compaction are kept', async () => {
        const directory = freshDirectory();
        const { fileSystem, hooks } = instrumentedFileSystem();
        const store = await reopen(directory, { compaction, fileSystem });
        for (let i = 0; i < 100; i++) await store.put('churn', { callId: 'churn', attempt: i });
        await store.put('stays', { callId: 'stays', attempt: 0 });
        await store.put('goes', { callId: 'goes', attempt: 0 });

        // Grow the log until the next batch compacts, and hold that compaction before its rename.
        const held = gate();
        const reached = gate();
        hooks.beforeRename = async () => {
            hooks.beforeRename = undefined;
            reached.open();
            await held.wait;
        };
        const compactions = store.stats().compactions;
        let filler = 0;
        const fill = (async () => {
            while (store.stats().compactions === compactions && filler < 1000) {
                await store.put('churn', { callId: 'churn', attempt: 1000 + filler++ });
            }
        })();
        await reached.wait;
        const during = [store.put('during1', { callId: 'during1', attempt: 1 }), store.delete('goes'), store.put('during2', { callId: 'during2', attempt: 2 })];
        held.open();
        await Promise.all([fill, ...during]);
        assert.equal(store.stats().compactions, compactions + 1);
        await store.close();

        const reloaded = await contents(directory);
        assert.deepEqual([...reloaded.keys()].sort(), ['churn', 'during1', 'during2', 'stays']);
        assert.equal(reloaded.get('churn')!.attempt, 1000 + filler - 1);
    });

    it('a crash between writing the compacted file and renaming it leaves the old log in charge', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await store.put('a', { callId: 'a', attempt: 1 });
        await store.put('b', { callId: 'b', attempt: 1 });
        await store.close();
        const compactingPath = path.join(directory, 'store.log.compacting');
        // Half of a compacted log that was never renamed: a different (older) state that must not win.
        fs.writeFileSync(compactingPath, Buffer.concat([LOG_HEADER, encodePut('stale', { callId: 'stale', attempt: 0 })]).subarray(0, 20));

        const recovered = await reopen(directory);
        assert.deepEqual([...(await recovered.load()).keys()], ['a', 'b']);
        assert.equal(recovered.recovery.discardedCompaction, true);
        assert.equal(recovered.recovery.summary, 'recovered 2 entries, discarded an interrupted compaction');
        assert.equal(fs.existsSync(compactingPath), false);
        await recovered.close();
    });

    it('a rename that fails mid-compaction gives that compaction up: no write is refused, the old log stays in charge', async () => {
        const directory = freshDirectory();
        const { fileSystem, hooks } = instrumentedFileSystem();
        const store = await reopen(directory, { compaction, fileSystem });
        const acknowledged = new Map<string, number>();
        let renames = 0;
        hooks.beforeRename = async () => {
            renames += 1;
            throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
        };
        for (let i = 0; i < 500; i++) {
            const key = `k${i % 20}`;
            await store.put(key, { callId: key, attempt: i });
            acknowledged.set(key, i);
        }
        assert.ok(renames >= 1, 'a compaction reached its rename');
        assert.equal(store.stats().compactions, 0);
        assert.equal(store.stats().failed, false);
        assert.equal(fs.existsSync(path.join(directory, 'store.log.compacting')), false, 'the given-up file was deleted');
        await store.close();

        const recovered = await reopen(directory);
        assert.equal(recovered.recovery.discardedCompaction, false);
        const values = await recovered.load();
        for (const [key, attempt] of acknowledged) assert.equal(values.get(key)?.attempt, attempt, key);
        await recovered.close();
    });
});

describe('file store: memory', () => {
    it('keeps a record in memory only until it is written: then it is read back from the log when needed', async () => {
        const directory = freshDirectory();
        const { fileSystem, hooks } = instrumentedFileSystem();
        const store = await reopen(directory, { fileSystem });
        const held = gate();
        const writing = gate();
        hooks.beforeDatasync = async () => {
            writing.open();
            await held.wait;
        };
        const body = 'x'.repeat(1000);
        const puts = Array.from({ length: 20 }, (_, i) => store.put(`k${i}`, { callId: `c${i}`, attempt: 0, body }));
        await writing.wait;
        assert.equal(store.stats().pendingBytes, store.stats().liveBytes, 'accepted, not yet durable: held in memory');
        held.open();
        hooks.beforeDatasync = undefined;
        await Promise.all(puts);
        assert.equal(store.stats().pendingBytes, 0, 'written: nothing of the records is held');
        assert.ok(store.stats().liveBytes > 20 * 1000);
        const loaded = await store.load();
        assert.deepEqual(
            [...loaded.keys()],
            Array.from({ length: 20 }, (_, i) => `k${i}`),
        );
        assert.deepEqual(loaded.get('k7'), { callId: 'c7', attempt: 0, body });
        await store.close();
    });

    it('a compaction copies the written records from the old log, in first-put order, values exact', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory, { compaction: { minBytes: 4096, ratio: 2 } });
        const live = new Map<string, Entry>();
        // Overwrites scatter the latest records over the log: the copy must still follow first-put order.
        for (let round = 0; round < 30; round++) {
            for (let i = 0; i < 20; i++) {
                const key = `k${(i * 7) % 20}`;
                const value = { callId: key, attempt: round, body: 'y'.repeat((i * 37) % 300) };
                await store.put(key, value);
                live.set(key, value);
            }
        }
        assert.ok(store.stats().compactions >= 1, 'compacted');
        assert.equal(store.stats().pendingBytes, 0);
        assert.deepEqual([...(await store.load())], [...live]);
        await store.close();
        assert.deepEqual([...(await contents(directory))], [...live]);
    });

    it('records put while a rewrite goes on are found in the new log afterwards, not kept in memory', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory, { compaction: { minBytes: 8192, ratio: 2 } });
        const live = new Map<string, Entry>();
        let rewritesSeenUnderWay = 0;
        for (let round = 0; round < 60; round++) {
            const puts: Promise<void>[] = [];
            for (let i = 0; i < 20; i++) {
                const key = `k${(i * 7 + round) % 25}`;
                const value = { callId: key, attempt: round, body: 'v'.repeat((i * 53) % 400) };
                puts.push(store.put(key, value));
                live.set(key, value);
            }
            if (store.stats().rewriting) rewritesSeenUnderWay += 1;
            await Promise.all(puts);
        }
        await store.put('last', { callId: 'last', attempt: 0 });
        live.set('last', { callId: 'last', attempt: 0 });
        // A record written while a rewrite is under way keeps its frame until the rewrite has renamed its log.
        while (store.stats().rewriting) await new Promise((resolve) => setTimeout(resolve, 5));
        assert.ok(store.stats().compactions >= 2, `${store.stats().compactions} compactions`);
        assert.ok(rewritesSeenUnderWay >= 1, 'puts were made while a rewrite was under way');
        assert.equal(store.stats().pendingBytes, 0, 'every record is found in the log');
        assert.deepEqual([...(await store.load())], [...live]);
        await store.close();
        assert.deepEqual([...(await contents(directory))], [...live]);
    });

    it('a record changed on disk under the store is dropped, named and kept beside; the store repairs itself without it', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory, { compaction: { minBytes: 2048, ratio: 2 }, repair: { firstMs: 10, maxMs: 40 } });
        await store.put('first', { callId: 'first', attempt: 0, body: 'z'.repeat(200) });
        await store.put('kept', { callId: 'kept', attempt: 0 });
        await store.put('second', { callId: 'second', attempt: 0 });
        const logPath = path.join(directory, 'store.log');
        const damaged = Buffer.from(fs.readFileSync(logPath));
        // A byte inside the first record's payload, as a disk or another process could change it.
        damaged[LOG_HEADER.length + 40]! ^= 0xff;
        fs.writeFileSync(logPath, damaged);
        let failure: unknown;
        let last = 0;
        for (let i = 1; i < 400 && failure === undefined; i++) {
            last = i;
            await store.put('second', { callId: 'second', attempt: i, body: 'w'.repeat(100) }).catch((error: unknown) => (failure = error));
        }
        assert.ok(failure instanceof StoreError, `rejected: ${String(failure)}`);
        assert.equal(failure.reason, 'io', 'latched and repaired as a failed write is');
        assert.match(
            failure.message,
            new RegExp(
                `changed on disk: the record of "first" at byte ${LOG_HEADER.length} no longer reads back and is dropped \\(its bytes kept in .*store\\.log\\.damaged-\\d+\\)`,
            ),
        );
        const saved = fs.readdirSync(directory).filter((name) => name.startsWith('store.log.damaged-'));
        assert.equal(saved.length, 1);
        assert.ok(damaged.includes(fs.readFileSync(path.join(directory, saved[0]!))), 'the damaged bytes as they were read');
        await until(() => store.failure === undefined, 'the store repaired');
        await store.put('after', { callId: 'after', attempt: 0 });
        const expected = [
            ['kept', { callId: 'kept', attempt: 0 }],
            ['second', { callId: 'second', attempt: last, body: 'w'.repeat(100) }],
            ['after', { callId: 'after', attempt: 0 }],
        ];
        assert.deepEqual([...(await store.load())], expected);
        await store.close();
        assert.deepEqual([...(await contents(directory))], expected, 'a restart reads the repaired log, all of it');
    });
});

describe('file store: lazy deletes', () => {
    it('a lazy delete costs no flush of its own: it is written with the next put, before it', async () => {
        const directory = freshDirectory();
        const { fileSystem, counts } = instrumentedFileSystem();
        const store = await reopen(directory, { fileSystem });
        await store.put('delivered', { callId: 'c', attempt: 1 });
        const before = { ...counts };
        await store.delete('delivered', { lazy: true });
        assert.equal(store.stats().entries, 0, 'gone from memory at once');
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(counts.write - before.write, 0, 'nothing written for it alone');
        await store.put('next', { callId: 'c', attempt: 1 });
        assert.equal(counts.write - before.write, 1, 'one write carries both');
        assert.deepEqual([...(await contentsOnDisk(directory)).keys()], ['next']);
        await store.close();
    });

    it('an idle store writes a lazy delete by itself within LAZY_DELETE_MS, and close writes what is left', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await store.put('a', { callId: 'a', attempt: 1 });
        await store.put('b', { callId: 'b', attempt: 1 });
        await store.delete('a', { lazy: true });
        await new Promise((resolve) => setTimeout(resolve, LAZY_DELETE_MS + 100));
        assert.deepEqual([...(await contentsOnDisk(directory)).keys()], ['b']);
        await store.delete('b', { lazy: true });
        await store.close();
        assert.equal((await contents(directory)).size, 0);
    });

    it('a key deleted lazily and put again keeps the new value: the log keeps the order of the calls', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await store.put('k', { callId: 'old', attempt: 1 });
        await store.delete('k', { lazy: true });
        await store.put('k', { callId: 'new', attempt: 2 });
        await store.close();
        assert.deepEqual((await contents(directory)).get('k'), { callId: 'new', attempt: 2 });
    });
});

describe('file store: durable writes', () => {
    // Linux shows an open file's flags in /proc: the log's descriptor must carry O_DSYNC, or a write would be
    // acknowledged before its data is on disk (the explicit fdatasync is skipped for such a file).
    it('the log is opened with O_DSYNC (read from Linux /proc), so each batch is one durable write', async () => {
        const directory = freshDirectory();
        const store = await reopen(directory);
        await store.put('k', { callId: 'c', attempt: 1 });
        const logPath = path.join(directory, 'store.log');
        const descriptor = fs.readdirSync('/proc/self/fd').find((fd) => {
            try {
                return fs.readlinkSync(`/proc/self/fd/${fd}`) === logPath;
            } catch {
                return false;
            }
        });
        assert.ok(descriptor, 'the log is open');
        const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${descriptor}`, 'utf8'))![1]!, 8);
        assert.equal(flags & fs.constants.O_DSYNC, fs.constants.O_DSYNC);
        await store.close();
        assert.deepEqual((await contents(directory)).get('k'), { callId: 'c', attempt: 1 });
    });
});

describe('file store: failures and ownership', () => {
    it('a failed flush rejects its batch and every later write until the store has repaired itself', async () => {
        const directory = freshDirectory();
        const { fileSystem, hooks } = instrumentedFileSystem();
        // No repair within the test: store-repair.test.ts covers it.
        const store = await reopen(directory, { fileSystem, repair: { firstMs: 60_000 } });
        await store.put('before', { callId: 'before', attempt: 1 });
        hooks.beforeDatasync = async () => {
            throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        };
        const failed = store.put('during', { callId: 'during', attempt: 1 });
        await assert.rejects(failed, (error: unknown) => error instanceof StoreError && error.code === 'store' && /fdatasync/.test(error.message));
        hooks.beforeDatasync = undefined;
        await assert.rejects(store.put('after', { callId: 'after', attempt: 1 }), StoreError);
        await assert.rejects(store.delete('before'), StoreError);
        await store.close();
        assert.ok((await contents(directory)).has('before'));
    });

    it('one log cannot be opened twice; an open waits for a closing store to finish', async () => {
        const directory = freshDirectory();
        const first = await reopen(directory);
        await assert.rejects(reopen(directory), /already open/);
        const pending = first.put('last', { callId: 'last', attempt: 1 });
        const closing = first.close();
        const second = await reopen(directory);
        await Promise.all([pending, closing]);
        assert.ok((await second.load()).has('last'));
        await assert.rejects(first.put('x', { callId: 'x', attempt: 1 }), /closed/);
        await second.close();
    });

    it('two stores can share a folder under different names', async () => {
        const directory = freshDirectory();
        const outbox = await openFileStore<Entry>({ directory, name: 'outbox' });
        const calls = await openFileStore<Entry>({ directory, name: 'calls' });
        await Promise.all([outbox.put('o', { callId: 'o', attempt: 1 }), calls.put('c', { callId: 'c', attempt: 1 })]);
        await Promise.all([outbox.close(), calls.close()]);
        assert.deepEqual(fs.readdirSync(directory).sort(), ['calls.log', 'outbox.log']);
    });
});

describe('store log checksum', () => {
    it('frames each record as length, standard CRC-32 of length and payload, payload', () => {
        const record = encodePut('k', { v: 1 });
        const length = record.readUInt32LE(0);
        const payload = record.subarray(8);
        assert.equal(payload.length, length);
        assert.equal(record.readUInt32LE(4), zlib.crc32(payload, zlib.crc32(record.subarray(0, 4))));
        assert.equal(zlib.crc32(Buffer.from('123456789')), 0xcbf43926);
    });

    it("a put given the value's JSON writes the same bytes as one that serialises the value itself", () => {
        const value = { callId: 'c "1"', nested: { list: [1, 'ü中', null] }, skipped: undefined };
        for (const key of ['k', '17', 'quote"key\\']) {
            assert.deepEqual(encodePut(key, value, JSON.stringify(value)), encodePut(key, value));
        }
    });
});
