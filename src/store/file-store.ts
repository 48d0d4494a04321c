import path from 'node:path';
import { StoreError, type DroppedTail, type DurableStore, type RecoveryReport } from './durable-store';
import { decodePutValue, encodeDelete, encodePut, LOG_HEADER, readRecord } from './log-format';
import { nodeFileSystem, type StoreFile, type StoreFileSystem } from './store-file-system';

export interface FileStoreOptions {
    /** A folder of its own, e.g. under RED.settings.userDir; created when missing. */
    directory: string;
    /** The log is `<name>.log`; several stores can share a folder under different names. Default `store`. */
    name?: string;
    /**
     * The log is rewritten to its live records once it is larger than `minBytes` and more than `ratio` times the
     * live data. Defaults: 1 MiB and 4, so an outbox whose entries come and go is rewritten rarely and the log never
     * grows much beyond a few times what is pending.
     */
    compaction?: { minBytes?: number; ratio?: number };
    /**
     * The log is also rewritten before an append would take it past this many bytes, so a store whose live data is
     * bounded (an outbox within maxQueuedSize) keeps a bounded file however often its records are written again.
     * Skipped while the live data itself is nearly that large: rewriting would free nothing.
     */
    maxLogBytes?: number;
    fileSystem?: StoreFileSystem;
}

export interface FileStoreStats {
    entries: number;
    /** Current log file length. */
    logBytes: number;
    /** What the live records would take in a freshly compacted log (without the header). */
    liveBytes: number;
    /** Durable flushes done since open (appends and compactions). */
    flushes: number;
    compactions: number;
}

interface PendingWrite {
    framed: Buffer;
    resolve(): void;
    reject(error: unknown): void;
}

/**
 * Two stores appending to one log would interleave records and destroy it. A redeploy is where that can happen in
 * one process: the new node may open its store while the old node's close is still flushing, so an opener waits for
 * a closing store and refuses an open one.
 */
interface LogClaim {
    closed?: Promise<void>;
}
const openLogs = new Map<string, LogClaim>();

/**
 * Reading a large log back (a redeploy of a node tracking thousands of calls reads megabytes) gives the event loop a
 * turn after this much work, so the rest of Node-RED goes on answering meanwhile instead of stalling for the whole
 * read: with 14,000 tracked calls that read is about 200 ms here.
 */
const RECOVERY_SLICE_MS = 8;

/**
 * The longest a lazy delete waits for a flush to ride on before it is written by itself. Under load the next put
 * comes within milliseconds and carries it; an idle store writes it after this.
 */
export const LAZY_DELETE_MS = 200;

const ignore = (): void => undefined;

/** Opens (creating when needed) the log in `options.directory`, recovering whatever a crash left behind. */
export async function openFileStore<V>(options: FileStoreOptions): Promise<FileStore<V>> {
    const directory = path.resolve(options.directory);
    const logPath = path.join(directory, `${options.name ?? 'store'}.log`);
    for (let entry = openLogs.get(logPath); entry; entry = openLogs.get(logPath)) {
        if (!entry.closed) throw new StoreError(`The store ${logPath} is already open in this process.`, { reason: 'already-open' });
        await entry.closed.catch(() => undefined);
    }
    const claim: LogClaim = {};
    openLogs.set(logPath, claim);
    try {
        return await FileStore.recover<V>(directory, logPath, options);
    } catch (error) {
        openLogs.delete(logPath);
        throw error;
    }
}

/**
 * The embedded default store: an append-only log with group commit. Every put/delete is encoded and applied to
 * memory at once; the bytes wait in a queue, and one writer drains the queue with a single durable write per batch
 * (O_DSYNC where the platform has it, else a write and an fdatasync), so a burst of requests costs one disk flush,
 * not one each. Calls made while a flush is under way form the next batch.
 */
export class FileStore<V> implements DurableStore<V> {
    private readonly frames: Map<string, Buffer>;
    /**
     * The values recovery parsed while checking the log, kept for the first `load` (which every user makes right
     * after opening), so a restore parses each record once, not twice. Dropped by that load; a key written since
     * leaves it.
     */
    private recovered: Map<string, unknown> | undefined;
    private liveBytes: number;
    private logBytes: number;
    private file: StoreFile;
    private queue: PendingWrite[] = [];
    /** Lazy deletes not queued yet: they go ahead of the next write, so the log keeps the order memory has. */
    private lazy: Buffer[] = [];
    private lazyTimer: NodeJS.Timeout | undefined;
    private writer: Promise<void> | undefined;
    private failure: StoreError | undefined;
    private closing: Promise<void> | undefined;
    private flushes = 0;
    private compactions = 0;
    private readonly compactMinBytes: number;
    private readonly compactRatio: number;
    private readonly maxLogBytes: number;

    private constructor(
        readonly directory: string,
        readonly logPath: string,
        private readonly fileSystem: StoreFileSystem,
        options: FileStoreOptions,
        file: StoreFile,
        logBytes: number,
        frames: Map<string, Buffer>,
        readonly recovery: RecoveryReport,
        recovered?: Map<string, unknown>,
    ) {
        this.file = file;
        this.logBytes = logBytes;
        this.frames = frames;
        this.recovered = recovered;
        this.liveBytes = 0;
        for (const framed of frames.values()) this.liveBytes += framed.length;
        this.compactMinBytes = options.compaction?.minBytes ?? 1024 * 1024;
        this.compactRatio = options.compaction?.ratio ?? 4;
        this.maxLogBytes = options.maxLogBytes ?? Number.POSITIVE_INFINITY;
    }

    /** @internal Use openFileStore, which also keeps two stores off one log. */
    static async recover<V>(directory: string, logPath: string, options: FileStoreOptions): Promise<FileStore<V>> {
        const fileSystem = options.fileSystem ?? nodeFileSystem;
        await fileSystem.makeDirectory(directory);

        // A crash between writing a compacted log and renaming it leaves the old log complete and authoritative.
        const compactingPath = `${logPath}.compacting`;
        const discardedCompaction = (await fileSystem.readFile(compactingPath)) !== undefined;
        if (discardedCompaction) await fileSystem.remove(compactingPath);

        const log = await fileSystem.readFile(logPath);
        const frames = new Map<string, Buffer>();
        if (!log || (log.length < LOG_HEADER.length && LOG_HEADER.subarray(0, log.length).equals(log))) {
            // Missing, or torn while being created: nothing in it was ever acknowledged.
            const file = await fileSystem.create(logPath);
            try {
                await file.write(LOG_HEADER, 0);
                await file.datasync();
                await fileSystem.syncDirectory(directory);
            } catch (error) {
                await file.close().catch(() => undefined);
                throw error;
            }
            const recovery = report(0, 0, undefined, discardedCompaction);
            return new FileStore<V>(directory, logPath, fileSystem, options, file, LOG_HEADER.length, frames, recovery);
        }
        if (!log.subarray(0, LOG_HEADER.length).equals(LOG_HEADER)) {
            throw new StoreError(`${logPath} is not a store log (its header is unknown); it was left untouched.`, { reason: 'format' });
        }

        let offset = LOG_HEADER.length;
        let records = 0;
        const recovered = new Map<string, unknown>();
        let sliceStarted = performance.now();
        for (let read = readRecord(log, offset); read.ok; read = readRecord(log, offset)) {
            if (records % 256 === 0 && performance.now() - sliceStarted > RECOVERY_SLICE_MS) {
                await new Promise((turn) => setImmediate(turn));
                sliceStarted = performance.now();
            }
            // Copies, so the buffer of the whole old log is not kept alive by the live records.
            if (read.record.op === 'put') {
                frames.set(read.record.key, Buffer.from(read.frame));
                recovered.set(read.record.key, read.record.value);
            } else {
                frames.delete(read.record.key);
                recovered.delete(read.record.key);
            }
            records += 1;
            offset = read.next;
        }

        let dropped: DroppedTail | undefined;
        if (offset < log.length) {
            dropped = describeDroppedTail(log, offset);
            if (dropped.kind === 'corrupt') {
                const savedTo = `${logPath}.dropped-${Date.now()}`;
                await fileSystem.writeFile(savedTo, log.subarray(offset));
                dropped = { ...dropped, savedTo };
            }
        }
        const file = await fileSystem.openExisting(logPath);
        try {
            if (dropped) {
                // New appends must follow intact data, or the next recovery would stop at the same damage and drop them.
                await file.truncate(offset);
                await file.datasync();
            }
        } catch (error) {
            await file.close().catch(() => undefined);
            throw error;
        }
        const recovery = report(frames.size, records, dropped, discardedCompaction);
        const store = new FileStore<V>(directory, logPath, fileSystem, options, file, offset, frames, recovery, recovered);
        if (store.shouldCompact()) {
            try {
                await store.compact();
            } catch (error) {
                await store.file.close().catch(() => undefined);
                throw error;
            }
        }
        return store;
    }

    async load(): Promise<Map<string, V>> {
        const recovered = this.recovered;
        this.recovered = undefined;
        const entries = new Map<string, V>();
        for (const [key, framed] of this.frames) entries.set(key, (recovered?.has(key) ? recovered.get(key) : decodePutValue(framed)) as V);
        return entries;
    }

    async put(key: string, value: V, json?: string): Promise<void> {
        this.assertWritable();
        const framed = encodePut(key, value, json);
        this.recovered?.delete(key);
        this.liveBytes += framed.length - (this.frames.get(key)?.length ?? 0);
        this.frames.set(key, framed);
        return this.enqueue(framed);
    }

    async delete(key: string, options?: { lazy?: boolean }): Promise<void> {
        this.assertWritable();
        const previous = this.frames.get(key);
        if (!previous) return;
        this.recovered?.delete(key);
        this.liveBytes -= previous.length;
        this.frames.delete(key);
        if (!options?.lazy) return this.enqueue(encodeDelete(key));
        this.lazy.push(encodeDelete(key));
        if (!this.lazyTimer) {
            this.lazyTimer = setTimeout(() => {
                this.lazyTimer = undefined;
                if (!this.closing) this.writeLazy();
            }, LAZY_DELETE_MS);
            this.lazyTimer.unref();
        }
    }

    close(): Promise<void> {
        if (!this.closing) {
            this.closing = (async () => {
                this.writeLazy();
                while (this.writer) await this.writer;
                await this.file.close();
            })();
            const claim = openLogs.get(this.logPath);
            if (claim) {
                claim.closed = this.closing;
                const release = () => {
                    if (openLogs.get(this.logPath) === claim) openLogs.delete(this.logPath);
                };
                this.closing.then(release, release);
            }
        }
        return this.closing;
    }

    stats(): FileStoreStats {
        return {
            entries: this.frames.size,
            logBytes: this.logBytes,
            liveBytes: this.liveBytes,
            flushes: this.flushes,
            compactions: this.compactions,
        };
    }

    private assertWritable(): void {
        if (this.closing) throw new StoreError(`The store ${this.logPath} is closed.`, { reason: 'closed' });
        if (this.failure) throw this.failure;
    }

    private enqueue(framed: Buffer): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            this.takeLazy();
            this.queue.push({ framed, resolve, reject });
            this.startWriter();
        });
    }

    /** Moves the lazy deletes into the queue, ahead of whatever is queued after them. */
    private takeLazy(): void {
        if (this.lazy.length === 0) return;
        clearTimeout(this.lazyTimer);
        this.lazyTimer = undefined;
        // Nobody waits on a lazy delete: a failure of its flush latches the store, which the next write reports.
        for (const framed of this.lazy) this.queue.push({ framed, resolve: ignore, reject: ignore });
        this.lazy = [];
    }

    /** Writes the lazy deletes by themselves (nothing to ride on); a failed store writes nothing more. */
    private writeLazy(): void {
        if (this.failure) return;
        this.takeLazy();
        this.startWriter();
    }

    private startWriter(): void {
        if (this.queue.length === 0) return;
        // Waiting one turn of the event loop lets every put of the current burst join the first batch.
        this.writer ??= new Promise<void>((turn) => setImmediate(turn)).then(() => this.drain());
    }

    private async drain(): Promise<void> {
        try {
            while (this.queue.length > 0) {
                const batch = this.queue;
                this.queue = [];
                try {
                    if (this.failure) throw this.failure;
                    // A compaction writes memory, which already holds this batch, so it stands in for the append.
                    if (this.shouldCompact(batch.reduce((sum, write) => sum + write.framed.length, 0))) await this.compact();
                    else await this.append(batch);
                    for (const write of batch) write.resolve();
                } catch (error) {
                    this.failure ??= new StoreError(`Writing the store log ${this.logPath} failed: ${messageOf(error)}`, {
                        cause: error,
                    });
                    for (const write of batch) write.reject(this.failure);
                }
            }
        } finally {
            this.writer = undefined;
        }
    }

    private async append(batch: PendingWrite[]): Promise<void> {
        const data = batch.length === 1 ? batch[0]!.framed : Buffer.concat(batch.map((write) => write.framed));
        await this.file.write(data, this.logBytes);
        this.logBytes += data.length;
        await this.file.datasync();
        this.flushes += 1;
    }

    /** `appending`: the bytes about to be appended, which count against maxLogBytes. */
    private shouldCompact(appending = 0): boolean {
        const compacted = LOG_HEADER.length + this.liveBytes;
        if (this.logBytes > this.compactMinBytes && this.logBytes > this.compactRatio * compacted) return true;
        // Worth it only when it frees a good part of the bound: otherwise every append would rewrite the whole log.
        return this.logBytes + appending > this.maxLogBytes && compacted < this.maxLogBytes * 0.9;
    }

    /**
     * Writes the live records to a new file and renames it over the log. The snapshot is taken before the first
     * await, so it holds exactly what was accepted so far; anything put meanwhile queues and is appended to the new
     * log afterwards.
     */
    private async compact(): Promise<void> {
        const data = Buffer.concat([LOG_HEADER, ...this.frames.values()]);
        const compactingPath = `${this.logPath}.compacting`;
        const next = await this.fileSystem.create(compactingPath);
        try {
            await next.write(data, 0);
            await next.datasync();
            this.flushes += 1;
            await this.fileSystem.rename(compactingPath, this.logPath);
        } catch (error) {
            await next.close().catch(() => undefined);
            throw error;
        }
        const previous = this.file;
        this.file = next;
        this.logBytes = data.length;
        this.compactions += 1;
        // The old handle points at the unlinked old log: nothing more to flush there.
        await previous.close().catch(() => undefined);
        await this.fileSystem.syncDirectory(this.directory);
    }
}

function describeDroppedTail(log: Buffer, offset: number): DroppedTail {
    // Count what follows the bad record, when its length field still says where the next one would start.
    let intactAfter = 0;
    let unreadableAfter = false;
    const length = log.length - offset >= 8 ? log.readUInt32LE(offset) : 0;
    let next = offset + 8 + length;
    if (length > 0 && next < log.length) {
        for (let read = readRecord(log, next); read.ok; read = readRecord(log, next)) {
            intactAfter += 1;
            next = read.next;
        }
        unreadableAfter = next < log.length;
    }
    return {
        offset,
        bytes: log.length - offset,
        records: 1 + intactAfter + (unreadableAfter ? 1 : 0),
        kind: intactAfter > 0 ? 'corrupt' : 'torn',
    };
}

function report(entries: number, records: number, dropped: DroppedTail | undefined, discardedCompaction: boolean): RecoveryReport {
    let summary = `recovered ${entries} ${entries === 1 ? 'entry' : 'entries'}`;
    if (dropped) {
        summary += `, dropped ${dropped.records} ${dropped.kind} ${dropped.records === 1 ? 'record' : 'records'} at byte ${dropped.offset}`;
        if (dropped.savedTo) summary += ` (bytes kept in ${dropped.savedTo})`;
    }
    if (discardedCompaction) summary += ', discarded an interrupted compaction';
    return { entries, records, ...(dropped ? { dropped } : {}), discardedCompaction, summary };
}

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
