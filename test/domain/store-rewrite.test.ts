// The file store's rewrites (issue 32): a compaction writes the new log beside the old one while the appends go on,
// a crash at any step of it leaves a log that holds everything acknowledged, and a failed write is repaired by a
// rewrite from memory once the disk takes writes again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../../src/store/durable-store';
import { openFileStore, type FileStore, type FileStoreOptions } from '../../src/store/file-store';
import { REWRITE_PIECE_BYTES } from '../../src/store/log-rewrite';
import { nodeFileSystem, type StoreFile, type StoreFileSystem } from '../../src/store/store-file-system';
import { failingWrites } from '../support/failing-writes';
import { until } from '../support/wait';

type Entry = { n: number; body?: string };

const directories: string[] = [];
function freshDirectory(): string {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-store-rewrite-'));
    directories.push(directory);
    return directory;
}
after(() => {
    for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

function gate(): { wait: Promise<void>; open(): void } {
    let open!: () => void;
    const wait = new Promise<void>((resolve) => (open = resolve));
    return { wait, open };
}

/** The real file system, with a compaction's new log held at its first write until `held` opens; `reached` when created. */
function compactionHeldAtFirstWrite(): { fileSystem: StoreFileSystem; held: ReturnType<typeof gate>; reached: ReturnType<typeof gate> } {
    const held = gate();
    const reached = gate();
    const fileSystem: StoreFileSystem = {
        ...nodeFileSystem,
        async create(file) {
            const created = await nodeFileSystem.create(file);
            if (!file.endsWith('.compacting')) return created;
            reached.open();
            return {
                ...created,
                async write(data, position) {
                    await held.wait;
                    await created.write(data, position);
                },
            };
        },
    };
    return { fileSystem, held, reached };
}

async function contents(directory: string): Promise<Map<string, Entry>> {
    const store = await openFileStore<Entry>({ directory });
    try {
        return await store.load();
    } finally {
        await store.close();
    }
}

/** The files of `directory` copied to a new folder: what a crash now would leave (the page cache reaches disk). */
function copyOf(directory: string): string {
    const copy = freshDirectory();
    for (const name of fs.readdirSync(directory)) fs.copyFileSync(path.join(directory, name), path.join(copy, name));
    return copy;
}

describe('file store: compaction beside the log', function () {
    this.timeout(30_000);

    it('appends are acknowledged while a compaction of a large log is held before its first write', async () => {
        const directory = freshDirectory();
        const { fileSystem, held, reached } = compactionHeldAtFirstWrite();
        const store = await openFileStore<Entry>({ directory, fileSystem, compaction: { minBytes: 1024 * 1024, ratio: 2 } });
        // About 6 MiB live, six pieces of a rewrite: then overwrite them until the log is twice that.
        const body = 'b'.repeat(4096);
        for (let round = 0; round < 3 && !store.stats().rewriting; round++) {
            for (let batch = 0; batch < 15 && !store.stats().rewriting; batch++) {
                await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`k${batch * 100 + i}`, { n: round, body })));
            }
        }
        await reached.wait;
        assert.equal(store.stats().rewriting, true, 'the compaction is under way');
        assert.ok(store.stats().liveBytes > 5 * REWRITE_PIECE_BYTES, `${store.stats().liveBytes} live bytes`);

        // While the rewrite cannot write a byte, puts and deletes are acknowledged, in the old log.
        const flushesBefore = store.stats().flushes;
        await store.put('during', { n: 1 });
        await store.delete('k0');
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`k${i + 1}`, { n: 100 })));
        assert.equal(store.stats().rewriting, true, 'acknowledged before the compaction finished');
        assert.equal(store.stats().compactions, 0);
        assert.ok(store.stats().flushes >= flushesBefore + 3);
        const onDiskNow = await contents(copyOf(directory));
        assert.deepEqual(onDiskNow.get('during'), { n: 1 });
        assert.equal(onDiskNow.has('k0'), false);

        held.open();
        await until(
            () => store.stats().compactions === 1,
            () => 'the compaction finished',
            10_000,
        );
        const { logBytes, liveBytes } = store.stats();
        // The live records, plus the records carried in (written after the snapshot was taken).
        assert.ok(logBytes < liveBytes * 1.2, `the new log holds the live records (${logBytes} bytes for ${liveBytes} live)`);
        assert.equal(fs.existsSync(path.join(directory, 'store.log.compacting')), false);
        const expected = await store.load();
        await store.close();
        const reloaded = await contents(directory);
        assert.deepEqual(reloaded, expected);
        assert.deepEqual(reloaded.get('during'), { n: 1 });
        assert.equal(reloaded.has('k0'), false);
        assert.deepEqual(reloaded.get('k20'), { n: 100 });
    });

    it('writes that wait for a compaction at the bound stay within it: the new log takes them only when they fit', async () => {
        const directory = freshDirectory();
        const { fileSystem, held, reached } = compactionHeldAtFirstWrite();
        const bound = 64 * 1024;
        const logPath = path.join(directory, 'store.log');
        const store = await openFileStore<Entry>({ directory, fileSystem, maxLogBytes: bound });
        const body = 'b'.repeat(1000);
        const live = new Map<string, Entry>();
        const put = (key: string, entry: Entry) => {
            live.set(key, entry);
            return store.put(key, entry);
        };
        // About 40 KiB live, overwritten one at a time until the log nears its bound and a compaction begins.
        for (let index = 0; index < 40; index++) await put(`k${index}`, { n: 0, body });
        for (let round = 1; round < 100 && !store.stats().rewriting; round++) await put(`k${round % 40}`, { n: round, body });
        await reached.wait;
        assert.ok(store.stats().logBytes <= bound, `${store.stats().logBytes} bytes`);
        // Held: a burst that cannot be appended within the bound waits for the compaction, and would take the new
        // log past the bound if it rode into it.
        const burst = Array.from({ length: 30 }, (_, index) => put(`k${index}`, { n: 1000 + index, body }));
        held.open();
        await Promise.all(burst);
        const size = fs.statSync(logPath).size;
        assert.ok(size <= bound, `the log takes ${size} bytes, more than its bound of ${bound}`);
        assert.ok(store.stats().compactions >= 1);
        await store.close();
        assert.deepEqual(await contents(directory), live);
    });

    it('a crash at any step of a workload that compacts while it appends leaves a log holding everything acknowledged', async function () {
        this.timeout(120_000);
        const workload = crashWorkload();
        const clean = await runUntilCrash(workload, Number.POSITIVE_INFINITY);
        assert.ok(clean.compactions >= 2, `the workload compacts (${clean.compactions} times)`);
        assert.ok(clean.acknowledgedDuringRewrite > 0, 'some writes were acknowledged while a compaction was under way');
        let lostRenames = 0;
        // The batches (and so the steps) vary a little from run to run: crash at every step until a run ends first.
        let step = 1;
        for (; step <= 4 * clean.steps; step++) {
            const run = await runUntilCrash(workload, step);
            if (!run.crashed) {
                assert.ok(sameState(workload.prefixes[workload.operations.length]!, await contents(run.left[0]!.directory)), 'a run that ended holds it all');
                break;
            }
            for (const left of run.left) {
                const recovered = await contents(left.directory);
                const prefix = workload.prefixes.findIndex((state, index) => index >= run.acknowledged && sameState(state, recovered));
                assert.ok(
                    prefix >= 0,
                    `crash at step ${step} (${run.crashedAt}${left.lostRename ? ', rename not durable' : ''}): the log holds no state after the ${run.acknowledged} acknowledged operations: ${[...recovered].map(([key, value]) => `${key}=${value.n}`).join(' ')}`,
                );
                if (left.lostRename) lostRenames += 1;
            }
        }
        assert.ok(step > clean.steps / 2, `runs crashed at each of ${step - 1} steps`);
        assert.ok(lostRenames > 0, 'a crash between a rename and its directory flush was tried');
    });
});

/** Puts, overwrites and deletes on a few keys, some together: with a small compaction bound it compacts while it appends. */
function crashWorkload() {
    const operations: Array<{ op: 'put'; key: string; value: Entry } | { op: 'delete'; key: string }> = [];
    for (let i = 0; i < 120; i++) {
        const key = `k${i % 7}`;
        operations.push(i % 5 === 4 ? { op: 'delete', key } : { op: 'put', key, value: { n: i, body: 'x'.repeat(200) } });
    }
    // The state after each prefix of the operations: a recovered log must equal one at or after the acknowledged.
    const prefixes: Array<Map<string, Entry>> = [new Map()];
    for (const operation of operations) {
        const next = new Map(prefixes[prefixes.length - 1]);
        if (operation.op === 'put') next.set(operation.key, operation.value);
        else next.delete(operation.key);
        prefixes.push(next);
    }
    return { operations, prefixes };
}

function sameState(expected: Map<string, Entry>, actual: Map<string, Entry>): boolean {
    if (expected.size !== actual.size) return false;
    for (const [key, value] of expected) if (JSON.stringify(actual.get(key)) !== JSON.stringify(value)) return false;
    return true;
}

interface CrashRun {
    crashed: boolean;
    crashedAt?: string;
    /** Steps of the file system taken (the whole run's, for a run that did not crash). */
    steps: number;
    /** How many operations, from the first, were acknowledged before the crash. */
    acknowledged: number;
    acknowledgedDuringRewrite: number;
    compactions: number;
    /** What the crash left, as copies: one, or two when a rename was not yet made durable (either may survive). */
    left: Array<{ directory: string; lostRename: boolean }>;
}

/**
 * Runs the workload on a file system that stops at its `crashAt`-th step: a write there writes only its first half,
 * any other step is not done, and nothing after it happens (every later step hangs, as in a killed process).
 */
async function runUntilCrash(workload: ReturnType<typeof crashWorkload>, crashAt: number): Promise<CrashRun> {
    const directory = freshDirectory();
    let steps = 0;
    let crashed = false;
    let crashedAt: string | undefined;
    const never = new Promise<never>(() => undefined);
    const handles: StoreFile[] = [];
    // The rename not yet followed by a directory flush: a crash may forget it, leaving the old log's bytes.
    let unsyncedRename: { from: string; to: string; oldLog: Buffer } | undefined;
    // Steps of the real file system still running: the files are what a kill leaves once none is.
    let running = 0;
    const step = async (what: string, action: () => Promise<void>, torn?: () => Promise<void>): Promise<void> => {
        if (crashed) return never;
        steps += 1;
        running += 1;
        try {
            if (steps === crashAt) {
                crashed = true;
                crashedAt = what;
                await torn?.();
                return never;
            }
            await action();
        } finally {
            running -= 1;
        }
    };
    const wrap = (file: string, opened: StoreFile): StoreFile => {
        handles.push(opened);
        return {
            write: (data, position) =>
                step(
                    `write ${path.basename(file)}`,
                    () => opened.write(data, position),
                    () => opened.write(data.subarray(0, Math.ceil(data.length / 2)), position),
                ),
            // A read changes nothing on disk: not a step a crash can fall between.
            read: (position, length) => opened.read(position, length),
            datasync: () => step(`datasync ${path.basename(file)}`, () => opened.datasync()),
            truncate: (length) => step(`truncate ${path.basename(file)}`, () => opened.truncate(length)),
            close: () => opened.close(),
        };
    };
    const fileSystem: StoreFileSystem = {
        ...nodeFileSystem,
        openExisting: async (file) => wrap(file, await nodeFileSystem.openExisting(file)),
        async create(file) {
            let created: StoreFile | undefined;
            await step(`create ${path.basename(file)}`, async () => {
                created = await nodeFileSystem.create(file);
            });
            return wrap(file, created!);
        },
        rename: (from, to) =>
            step(`rename ${path.basename(from)}`, async () => {
                unsyncedRename = { from, to, oldLog: fs.readFileSync(to) };
                await nodeFileSystem.rename(from, to);
            }),
        remove: (file) => step(`remove ${path.basename(file)}`, () => nodeFileSystem.remove(file)),
        syncDirectory: (dir) =>
            step('sync directory', async () => {
                await nodeFileSystem.syncDirectory(dir);
                unsyncedRename = undefined;
            }),
    };

    const options: FileStoreOptions = { directory, fileSystem, compaction: { minBytes: 2048, ratio: 2 }, repair: { firstMs: 60_000 } };
    let store: FileStore<Entry> | undefined;
    let acknowledged = 0;
    let acknowledgedDuringRewrite = 0;
    const done = (async () => {
        store = await openFileStore<Entry>(options);
        const { operations } = workload;
        // In groups of three issued together, each group awaited: acknowledgements come in the order of the operations.
        for (let start = 0; start < operations.length; start += 3) {
            const group = operations
                .slice(start, start + 3)
                .map((operation) => (operation.op === 'put' ? store!.put(operation.key, operation.value) : store!.delete(operation.key)));
            for (const [offset, write] of group.entries()) {
                await write;
                acknowledged = start + offset + 1;
                if (store.stats().rewriting) acknowledgedDuringRewrite += 1;
            }
        }
        await store.close();
    })();
    await Promise.race([
        done,
        until(
            () => crashed,
            () => 'the crash',
            10_000,
        ),
    ]);
    await until(
        () => running === 0,
        () => 'the steps under way at the crash',
        5_000,
        1,
    );
    const acknowledgedAtCrash = acknowledged;
    const left = [{ directory: copyOf(directory), lostRename: false }];
    if (crashed && unsyncedRename) {
        const lost = copyOf(directory);
        fs.writeFileSync(path.join(lost, path.basename(unsyncedRename.from)), fs.readFileSync(unsyncedRename.to));
        fs.writeFileSync(path.join(lost, path.basename(unsyncedRename.to)), unsyncedRename.oldLog);
        left.push({ directory: lost, lostRename: true });
    }
    const compactions = store?.stats().compactions ?? 0;
    for (const handle of handles) await handle.close().catch(() => undefined);
    return { crashed, crashedAt, steps, acknowledged: acknowledgedAtCrash, acknowledgedDuringRewrite, compactions, left };
}

describe('file store: repair after a failed write', function () {
    this.timeout(30_000);

    it('keeps the changes made while writes fail in memory, rejects them, and writes them all once the disk is back', async () => {
        const directory = freshDirectory();
        const { fileSystem, disk: state } = failingWrites();
        const store = await openFileStore<Entry>({ directory, fileSystem, repair: { firstMs: 10, maxMs: 40 } });
        const changes: Array<StoreError | undefined> = [];
        store.onFailureChange(() => changes.push(store.failure));
        await store.put('kept', { n: 1 });
        await store.put('goes', { n: 1 });

        state.failing = true;
        await assert.rejects(
            store.put('failed', { n: 2 }),
            (error: unknown) => error instanceof StoreError && error.reason === 'io' && /ENOSPC/.test(error.message),
        );
        assert.equal(store.failure?.reason, 'io');
        await assert.rejects(store.put('meanwhile', { n: 3 }), (error: unknown) => error === store.failure);
        await assert.rejects(store.delete('goes'), (error: unknown) => error === store.failure);
        await store.delete('kept', { lazy: true });
        await assert.rejects(store.put('kept', { n: 4 }), StoreError);
        // The repair keeps trying, on its backoff, while the disk is full.
        const triedBefore = state.failedWrites;
        await until(
            () => state.failedWrites >= triedBefore + 2,
            () => 'a failed repair tried again',
            5_000,
        );
        assert.equal(store.stats().failed, true);
        assert.deepEqual([...(await contents(copyOf(directory))).keys()], ['kept', 'goes'], 'a crash now finds the old log');

        state.failing = false;
        // The repair is announced once its log's rename is durable (the directory synced), a moment after it ends.
        await until(
            () => changes.length >= 2,
            () => `the repair announced (heard ${changes.length})`,
            5_000,
        );
        assert.equal(store.failure, undefined);
        assert.equal(changes.length, 2, 'the listener heard of the failure and of the repair, once each');
        assert.ok(changes[0] instanceof StoreError);
        assert.equal(changes[1], undefined);
        // Repaired from memory: a crash now finds every change, those rejected while the disk was full included.
        const expected = new Map<string, Entry>([
            ['failed', { n: 2 }],
            ['meanwhile', { n: 3 }],
            ['kept', { n: 4 }],
        ]);
        assert.deepEqual(await contents(copyOf(directory)), expected);
        await store.put('after', { n: 5 });
        expected.set('after', { n: 5 });
        await store.close();
        assert.deepEqual(await contents(directory), expected);
    });

    it('changes made while the repair completes its new log go into it, and are acknowledged with it', async () => {
        const directory = freshDirectory();
        const { fileSystem, disk: state } = failingWrites();
        const held = gate();
        const reached = gate();
        const holding: StoreFileSystem = {
            ...fileSystem,
            async rename(from, to) {
                reached.open();
                await held.wait;
                await fileSystem.rename(from, to);
            },
        };
        const store = await openFileStore<Entry>({ directory, fileSystem: holding, repair: { firstMs: 10 } });
        await store.put('a', { n: 1 });
        state.failing = true;
        await assert.rejects(store.put('b', { n: 2 }));
        state.failing = false;
        await reached.wait;
        // The repair's new log is written and waits for its rename: these are not in its snapshot, and are
        // acknowledged once the repaired log is in charge.
        assert.ok(store.failure, 'not repaired yet');
        const during = [store.put('c', { n: 3 }), store.delete('a')];
        let settled = false;
        void Promise.allSettled(during).then(() => (settled = true));
        await Promise.resolve();
        assert.equal(settled, false);
        held.open();
        await Promise.all(during);
        assert.equal(store.failure, undefined);
        assert.deepEqual(
            await contents(copyOf(directory)),
            new Map([
                ['b', { n: 2 }],
                ['c', { n: 3 }],
            ]),
        );
        await store.close();
    });
});
