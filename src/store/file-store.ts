import path from 'node:path';
import { StoreError, type DroppedTail, type DurableStore, type RecoveryReport } from './durable-store';
import { decodePutValue, encodeDelete, encodePut, isIntactFrame, LOG_HEADER, readRecord } from './log-format';
import { LogRewrite, type LogSpan } from './log-rewrite';
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
    /**
     * After a failed write the store repairs itself: it waits `firstMs`, then tries to write everything memory holds
     * to a new log (as a compaction does) and rename it over the old one, doubling the wait after each failed try up
     * to `maxMs`. Defaults: 1 s and 30 s.
     */
    repair?: { firstMs?: number; maxMs?: number };
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
    /**
     * Bytes of records accepted and not written yet (or written while a rewrite was under way): the only record data
     * the store holds in memory. A written record is read back from the log when a rewrite or a later load needs it.
     */
    pendingBytes: number;
    /** A new log is being written beside the current one (a compaction, or the repair after a failed write). */
    rewriting: boolean;
    /** Writes fail (see DurableStore.failure): changes are kept in memory until the repair has written them. */
    failed: boolean;
}

interface PendingWrite {
    framed: Buffer;
    /** The key of a put: once its frame is written, the record is found in the log instead of in this buffer. */
    key?: string;
    resolve(): void;
    reject(error: unknown): void;
}

/**
 * A live record: its frame while it waits to be written, then where the log holds it. Keeping a backlog's records
 * only on disk is what keeps the store's memory small: at 50,000 queued requests the frames took about 2.8 KB a
 * request (call state and outbox together), the largest single part of Node-RED's heap.
 */
type LiveRecord = Buffer | LogSpan;

/** Records read back are read in pieces of at most this size, joining records less than READ_GAP_BYTES apart. */
const READ_PIECE_BYTES = 4 * 1024 * 1024;
const READ_GAP_BYTES = 64 * 1024;

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

/**
 * A log with a bound (maxLogBytes) begins its rewrite once it passes this part of the bound: the rest is room for
 * what is appended while the new log is written beside it, so the appends need not wait for it.
 */
export const REWRITE_AT_BOUND = 0.9;

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
 *
 * Compaction writes the new log beside the current one (LogRewrite) while the appends go on; the writer only
 * completes it (the last records, a flush, a rename), which takes a few milliseconds however large the log.
 *
 * A failed write or flush does not end the store: it stops acknowledging (every change is still applied to memory,
 * and rejected with the failure), and repairs itself on a backoff by writing all that memory holds to a new log
 * the same way. Writing anew, not appending again, is what makes that safe: after a failed flush the kernel may
 * have dropped pages of the old log that a retried append would never bring back.
 */
export class FileStore<V> implements DurableStore<V> {
    private readonly records: Map<string, LiveRecord>;
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
    private writeFailure: StoreError | undefined;
    /** Whether the listeners were last told of a failure: they hear of a change, not of every failed write. */
    private announcedFailure = false;
    private readonly failureListeners = new Set<() => void>();
    private rewrite: RewriteUnderWay | undefined;
    /** A compaction that failed (a full disk, say) is not tried again before this (ms since 1970). */
    private rewriteRetryAt = 0;
    private repairTimer: NodeJS.Timeout | undefined;
    private repairWaitMs: number;
    private closing: Promise<void> | undefined;
    private flushes = 0;
    private compactions = 0;
    private readonly compactMinBytes: number;
    private readonly compactRatio: number;
    private readonly maxLogBytes: number;
    private readonly repairFirstMs: number;
    private readonly repairMaxMs: number;

    private constructor(
        readonly directory: string,
        readonly logPath: string,
        private readonly fileSystem: StoreFileSystem,
        options: FileStoreOptions,
        file: StoreFile,
        logBytes: number,
        records: Map<string, LiveRecord>,
        readonly recovery: RecoveryReport,
        recovered?: Map<string, unknown>,
    ) {
        this.file = file;
        this.logBytes = logBytes;
        this.records = records;
        this.recovered = recovered;
        this.liveBytes = 0;
        for (const record of records.values()) this.liveBytes += record.length;
        this.compactMinBytes = options.compaction?.minBytes ?? 1024 * 1024;
        this.compactRatio = options.compaction?.ratio ?? 4;
        this.maxLogBytes = options.maxLogBytes ?? Number.POSITIVE_INFINITY;
        this.repairFirstMs = options.repair?.firstMs ?? 1000;
        this.repairMaxMs = options.repair?.maxMs ?? 30_000;
        this.repairWaitMs = this.repairFirstMs;
    }

    /** @internal Use openFileStore, which also keeps two stores off one log. */
    static async recover<V>(directory: string, logPath: string, options: FileStoreOptions): Promise<FileStore<V>> {
        const fileSystem = options.fileSystem ?? nodeFileSystem;
        await fileSystem.makeDirectory(directory);

        // A crash before a rewritten log was renamed over the log leaves the old log complete and authoritative.
        const compactingPath = `${logPath}.compacting`;
        const discardedCompaction = (await fileSystem.readFile(compactingPath)) !== undefined;
        if (discardedCompaction) await fileSystem.remove(compactingPath);

        const log = await fileSystem.readFile(logPath);
        const records = new Map<string, LiveRecord>();
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
            return new FileStore<V>(directory, logPath, fileSystem, options, file, LOG_HEADER.length, records, recovery);
        }
        if (!log.subarray(0, LOG_HEADER.length).equals(LOG_HEADER)) {
            throw new StoreError(`${logPath} is not a store log (its header is unknown); it was left untouched.`, { reason: 'format' });
        }

        let offset = LOG_HEADER.length;
        let recordCount = 0;
        const recovered = new Map<string, unknown>();
        let sliceStarted = performance.now();
        for (let read = readRecord(log, offset); read.ok; read = readRecord(log, offset)) {
            if (recordCount % 256 === 0 && performance.now() - sliceStarted > RECOVERY_SLICE_MS) {
                await new Promise((turn) => setImmediate(turn));
                sliceStarted = performance.now();
            }
            // Where each record lies, not a copy of it: the buffer of the whole log is dropped once it is read.
            if (read.record.op === 'put') {
                records.set(read.record.key, { offset, length: read.next - offset });
                recovered.set(read.record.key, read.record.value);
            } else {
                records.delete(read.record.key);
                recovered.delete(read.record.key);
            }
            recordCount += 1;
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
        const recovery = report(records.size, recordCount, dropped, discardedCompaction);
        const store = new FileStore<V>(directory, logPath, fileSystem, options, file, offset, records, recovery, recovered);
        if (store.wantsRewrite() !== 'no') {
            // Nothing waits on the store yet: its first compaction is simply awaited. One that fails leaves the log as
            // it was; only a rename that may not be durable fails the open.
            await store.startRewrite().settled;
            while (store.writer) await store.writer;
            if (store.failure) {
                clearTimeout(store.repairTimer);
                await store.file.close().catch(() => undefined);
                throw store.failure;
            }
        }
        return store;
    }

    /**
     * The write failure in force: set when a write or flush fails, cleared once the store has repaired itself. While
     * it is set every put and delete is applied to memory but rejected with it (not durable yet).
     */
    get failure(): StoreError | undefined {
        return this.writeFailure;
    }

    onFailureChange(listener: () => void): () => void {
        this.failureListeners.add(listener);
        return () => this.failureListeners.delete(listener);
    }

    async load(): Promise<Map<string, V>> {
        const recovered = this.recovered;
        this.recovered = undefined;
        const entries = new Map<string, V>();
        const unread: Array<{ key: string; span: LogSpan }> = [];
        for (const [key, record] of this.records) {
            // Every key takes its place now, so the map keeps first-put order whatever is read from disk below.
            if (recovered?.has(key)) entries.set(key, recovered.get(key) as V);
            else if (Buffer.isBuffer(record)) entries.set(key, decodePutValue(record) as V);
            else {
                entries.set(key, undefined as V);
                unread.push({ key, span: record });
            }
        }
        const frames = await this.readSpans(unread.map((each) => each.span));
        unread.forEach(({ key }, index) => {
            const frame = frames[index];
            if (frame) entries.set(key, decodePutValue(frame) as V);
            else entries.delete(key);
        });
        return entries;
    }

    async put(key: string, value: V, json?: string): Promise<void> {
        this.assertOpen();
        const framed = encodePut(key, value, json);
        this.recovered?.delete(key);
        this.liveBytes += framed.length - (this.records.get(key)?.length ?? 0);
        this.records.set(key, framed);
        if (this.writeFailure) return this.keptUntilRepaired(framed, false, key);
        return this.enqueue(framed, key);
    }

    async delete(key: string, options?: { lazy?: boolean }): Promise<void> {
        this.assertOpen();
        const previous = this.records.get(key);
        if (!previous) return;
        this.recovered?.delete(key);
        this.liveBytes -= previous.length;
        this.records.delete(key);
        // Nobody waits on a lazy delete: the failure is what the next write reports.
        if (this.writeFailure) return this.keptUntilRepaired(encodeDelete(key), options?.lazy);
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
                clearTimeout(this.repairTimer);
                this.repairTimer = undefined;
                this.writeLazy();
                // A rewrite still writing beside is given up (the log is complete without it); one the writer is
                // completing is waited for with the writer.
                const rewrite = this.rewrite;
                if (rewrite && !rewrite.ready) {
                    this.rewrite = undefined;
                    await rewrite.log.abandon();
                }
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
        let pendingBytes = 0;
        for (const record of this.records.values()) if (Buffer.isBuffer(record)) pendingBytes += record.length;
        return {
            entries: this.records.size,
            pendingBytes,
            logBytes: this.logBytes,
            liveBytes: this.liveBytes,
            flushes: this.flushes,
            compactions: this.compactions,
            rewriting: this.rewrite !== undefined,
            failed: this.writeFailure !== undefined,
        };
    }

    private assertOpen(): void {
        if (this.closing) throw new StoreError(`The store ${this.logPath} is closed.`, { reason: 'closed' });
    }

    /**
     * A change taken while writes fail: memory has it already, and a repair writing its new log carries it there;
     * otherwise the next repair's snapshot holds it. Rejected all the same: it is not durable now. Only a repair
     * that the writer is completing takes it as a write (it goes into the repaired log, or fails with the repair).
     */
    private keptUntilRepaired(framed: Buffer, lazy = false, key?: string): Promise<void> {
        const rewrite = this.rewrite;
        if (rewrite?.ready) {
            if (!lazy) return this.enqueue(framed, key);
            this.queue.push({ framed, resolve: ignore, reject: ignore });
            return Promise.resolve();
        }
        if (rewrite) carry(rewrite, [{ framed, ...(key === undefined ? {} : { key }) }]);
        return lazy ? Promise.resolve() : Promise.reject(this.writeFailure);
    }

    private enqueue(framed: Buffer, key?: string): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            this.takeLazy();
            this.queue.push({ framed, ...(key === undefined ? {} : { key }), resolve, reject });
            this.startWriter();
        });
    }

    /** Moves the lazy deletes into the queue, ahead of whatever is queued after them. */
    private takeLazy(): void {
        if (this.lazy.length === 0) return;
        clearTimeout(this.lazyTimer);
        this.lazyTimer = undefined;
        // Nobody waits on a lazy delete: a failure of its flush is what the next write reports.
        for (const framed of this.lazy) this.queue.push({ framed, resolve: ignore, reject: ignore });
        this.lazy = [];
    }

    /** Writes the lazy deletes by themselves (nothing to ride on); a failed store writes nothing more. */
    private writeLazy(): void {
        if (this.writeFailure) return;
        this.takeLazy();
        this.startWriter();
    }

    private startWriter(): void {
        if (this.queue.length === 0 && !this.rewrite?.ready) return;
        // Waiting one turn of the event loop lets every put of the current burst join the first batch.
        this.writer ??= new Promise<void>((turn) => setImmediate(turn)).then(() => this.drain());
    }

    private async drain(): Promise<void> {
        try {
            for (;;) {
                if (this.rewrite?.ready) {
                    await this.completeRewrite(this.rewrite);
                    continue;
                }
                if (this.queue.length === 0) break;
                const batch = this.queue;
                this.queue = [];
                try {
                    if (this.writeFailure) throw this.writeFailure;
                    const data = batch.length === 1 ? batch[0]!.framed : Buffer.concat(batch.map((write) => write.framed));
                    const wanted = this.wantsRewrite(data.length);
                    if (wanted !== 'no') this.startRewrite(batch);
                    if (wanted === 'before-append' && this.rewrite) {
                        // Only at the bound: appending now would take the log past it, so this batch waits for the
                        // rewrite and goes into the new log. The rewrite begins early enough that this is the exception.
                        this.queue = [...batch, ...this.queue];
                        await this.rewrite.settled;
                        continue;
                    }
                    await this.append(batch, data);
                    for (const write of batch) write.resolve();
                } catch (error) {
                    const failure = this.fail(error);
                    for (const write of batch) write.reject(failure);
                }
            }
        } finally {
            this.writer = undefined;
        }
    }

    private async append(batch: PendingWrite[], data: Buffer): Promise<void> {
        const start = this.logBytes;
        await this.file.write(data, start);
        this.logBytes += data.length;
        const rewrite = this.rewrite;
        // What the rewrite's snapshot holds already would only take the new log's room twice.
        if (rewrite)
            carry(
                rewrite,
                batch.filter((write) => !rewrite.covered.has(write)),
            );
        await this.file.datasync();
        this.flushes += 1;
        // While a rewrite is under way a record keeps its frame: the rewrite finds it in the new log by that frame.
        if (rewrite) return;
        let offset = start;
        for (const write of batch) {
            // A put written again since (or deleted) is already something else in memory: only the latest is found.
            if (write.key !== undefined && this.records.get(write.key) === write.framed) this.records.set(write.key, { offset, length: write.framed.length });
            offset += write.framed.length;
        }
    }

    /**
     * The frames at `spans` of the current log, in their order. Records close together are read in one piece (the
     * live records of a log due for compaction lie a few records apart), so a log of 100 MB takes a few dozen reads.
     * Each frame is checked as recovery checks it; one that no longer reads back is undefined (see dropDamaged).
     */
    private async readSpans(spans: readonly LogSpan[]): Promise<Array<Buffer | undefined>> {
        const file = this.file;
        const frames = new Array<Buffer | undefined>(spans.length);
        const damaged: Array<{ span: LogSpan; frame: Buffer }> = [];
        const byOffset = spans.map((_, index) => index).sort((a, b) => spans[a]!.offset - spans[b]!.offset);
        for (let first = 0; first < byOffset.length;) {
            const start = spans[byOffset[first]!]!.offset;
            let end = start + spans[byOffset[first]!]!.length;
            let last = first + 1;
            while (last < byOffset.length) {
                const span = spans[byOffset[last]!]!;
                if (span.offset - end > READ_GAP_BYTES || span.offset + span.length - start > READ_PIECE_BYTES) break;
                end = Math.max(end, span.offset + span.length);
                last += 1;
            }
            const piece = await file.read(start, end - start);
            for (let index = first; index < last; index++) {
                const span = spans[byOffset[index]!]!;
                const frame = piece.subarray(span.offset - start, span.offset - start + span.length);
                if (isIntactFrame(frame)) frames[byOffset[index]!] = frame;
                else damaged.push({ span, frame: Buffer.from(frame) });
            }
            first = last;
        }
        if (damaged.length > 0) await this.dropDamaged(damaged);
        return frames;
    }

    /**
     * Records that no longer read back (the disk, or another process, changed the log under the store): only the
     * log held them, so they are lost whatever is done. Each is dropped from memory and its bytes are kept beside
     * the log; the store latches a failure naming them and repairs itself as after a failed write, by a new log of
     * what memory still holds. Stopping for good instead would refuse every later change, and a restart's recovery
     * would keep only what precedes the first damage.
     */
    private async dropDamaged(damaged: ReadonlyArray<{ span: LogSpan; frame: Buffer }>): Promise<void> {
        const keyAt = new Map<number, string>();
        for (const [key, record] of this.records) if (!Buffer.isBuffer(record)) keyAt.set(record.offset, key);
        const named: string[] = [];
        for (const { span } of damaged) {
            const key = keyAt.get(span.offset);
            const record = key === undefined ? undefined : this.records.get(key);
            // A key put again since holds its new record, and loses nothing.
            if (key === undefined || !record || Buffer.isBuffer(record) || record.offset !== span.offset) continue;
            this.records.delete(key);
            this.recovered?.delete(key);
            this.liveBytes -= record.length;
            named.push(`${JSON.stringify(key)} at byte ${span.offset}`);
        }
        const savedTo = `${this.logPath}.damaged-${Date.now()}`;
        const one = named.length === 1;
        const saved = await this.fileSystem.writeFile(savedTo, Buffer.concat(damaged.map(({ frame }) => frame))).then(
            () => ` (${one ? 'its' : 'their'} bytes kept in ${savedTo})`,
            () => '',
        );
        const message =
            named.length > 0
                ? `The store log ${this.logPath} changed on disk: ${one ? 'the record' : `${named.length} records`} of ${named.join(', ')} no longer ${one ? 'reads back and is' : 'read back and are'} dropped${saved}; the store writes a new log without ${one ? 'it' : 'them'}.`
                : `The store log ${this.logPath} changed on disk: a record at byte ${damaged[0]!.span.offset} no longer reads back${saved}; the store writes a new log.`;
        this.fail(new StoreError(message));
    }

    /**
     * `early`: a new log is worth writing beside (the log outgrew its live records, or nears its bound);
     * `before-append`: appending `appending` bytes would take the log past its bound, so the append waits for it.
     */
    private wantsRewrite(appending = 0): 'no' | 'early' | 'before-append' {
        if (this.writeFailure || this.closing) return 'no';
        // After a rewrite failed (a full disk, say) the writes go on, past the bound if they must, until its retry.
        if (!this.rewrite && Date.now() < this.rewriteRetryAt) return 'no';
        const compacted = LOG_HEADER.length + this.liveBytes;
        const bound = this.maxLogBytes;
        // Worth it only when it frees a good part of the bound: otherwise every append would rewrite the whole log.
        if (this.logBytes + appending > bound && compacted < bound * 0.9) return 'before-append';
        if (this.rewrite) return 'no';
        if (this.logBytes > this.compactMinBytes && this.logBytes > this.compactRatio * compacted) return 'early';
        // The last tenth of the bound is room for what is appended while the new log is written.
        return this.logBytes + appending > bound * REWRITE_AT_BOUND && compacted < bound * (REWRITE_AT_BOUND - 0.1) ? 'early' : 'no';
    }

    /**
     * Begins writing the live records to a new log beside the current one; the snapshot is taken now, so it holds
     * exactly what memory holds, and every record taken from here on is carried into the new log too. The writes
     * not yet written (queued, or `inHand` of the writer) are in memory, so the snapshot covers them.
     */
    private startRewrite(inHand: readonly PendingWrite[] = []): RewriteUnderWay {
        if (this.rewrite) return this.rewrite;
        const snapshot = [...this.records];
        const log = new LogRewrite(this.fileSystem, `${this.logPath}.compacting`, [LOG_HEADER, ...snapshot.map(([, record]) => record)], async (spans) => {
            const frames = await this.readSpans(spans);
            // A damaged record ended this rewrite (dropDamaged latched the failure); the repair takes a new snapshot.
            if (frames.some((frame) => frame === undefined)) throw this.writeFailure ?? new StoreError(`The store log ${this.logPath} changed on disk.`);
            return frames as Buffer[];
        });
        const rewrite: RewriteUnderWay = {
            log,
            ready: false,
            settled: Promise.resolve(),
            snapshot,
            covered: new Set([...inHand, ...this.queue]),
            end: LOG_HEADER.length,
            carriedPuts: [],
        };
        for (const [, record] of snapshot) rewrite.end += record.length;
        rewrite.settled = log.writeBeside().then(
            () => {
                if (this.rewrite !== rewrite) return;
                rewrite.ready = true;
                this.startWriter();
            },
            () => {
                if (this.rewrite !== rewrite) return;
                this.rewrite = undefined;
                void log.abandon();
                if (this.writeFailure) this.scheduleRepair();
                else this.rewriteRetryAt = Date.now() + this.repairFirstMs;
            },
        );
        this.rewrite = rewrite;
        return rewrite;
    }

    /**
     * Run by the writer, so that no append is under way: the new log replaces the current one. What is queued now
     * is acknowledged once the rename is durable: the writes the snapshot covers are in the new log already, and the
     * later ones go into it too, so at its rename the new log holds exactly what memory holds. Unless that would take
     * the new log past its bound: then they wait, and are appended to it (or rewritten into the next one) after.
     */
    private async completeRewrite(rewrite: RewriteUnderWay): Promise<void> {
        this.takeLazy();
        const riding = this.queue;
        this.queue = [];
        const later = riding.filter((write) => !rewrite.covered.has(write));
        let laterBytes = 0;
        for (const write of later) laterBytes += write.framed.length;
        // A repair must hold all that memory does: it carries everything, bound or not.
        const waiting = this.writeFailure === undefined && rewrite.end + laterBytes > this.maxLogBytes ? later : [];
        const acknowledged = waiting.length > 0 ? riding.filter((write) => rewrite.covered.has(write)) : riding;
        if (waiting.length === 0) carry(rewrite, later);
        let next: StoreFile;
        try {
            next = await rewrite.log.complete(this.logPath);
        } catch {
            // Not renamed: the current log is complete and stays in charge; what rode along is appended to it.
            if (this.rewrite === rewrite) this.rewrite = undefined;
            this.queue = [...riding, ...this.queue];
            await rewrite.log.abandon();
            if (this.writeFailure) this.scheduleRepair();
            else this.rewriteRetryAt = Date.now() + this.repairFirstMs;
            return;
        }
        this.flushes += 1;
        this.compactions += 1;
        const previous = this.file;
        this.file = next;
        this.logBytes = rewrite.log.bytes;
        this.rewrite = undefined;
        this.findInNewLog(rewrite);
        // From here the new log holds everything memory does: what is put now queues for it, and is written only
        // once the rename is durable (this writer syncs the directory before it takes the next batch).
        const repaired = this.writeFailure !== undefined;
        this.writeFailure = undefined;
        // The old handle points at the unlinked old log: nothing more to flush there. Not awaited: the last close
        // of an unlinked file frees its blocks, which for a large log took tens of milliseconds the writes waited.
        void previous.close().catch(() => undefined);
        // Ahead of what was queued during the rename: the log keeps the order memory has.
        this.queue = [...waiting, ...this.queue];
        try {
            await this.fileSystem.syncDirectory(this.directory);
        } catch (error) {
            const failure = this.fail(error);
            for (const write of acknowledged) write.reject(failure);
            return;
        }
        for (const write of acknowledged) write.resolve();
        if (repaired) this.repairWaitMs = this.repairFirstMs;
        this.announce();
    }

    /** Records unchanged since the rewrite took them, and those it carried, are found in the new log from now on. */
    private findInNewLog(rewrite: RewriteUnderWay): void {
        let offset = LOG_HEADER.length;
        for (const [key, record] of rewrite.snapshot) {
            if (this.records.get(key) === record) this.records.set(key, { offset, length: record.length });
            offset += record.length;
        }
        for (const { key, framed, offset: at } of rewrite.carriedPuts) {
            if (this.records.get(key) === framed) this.records.set(key, { offset: at, length: framed.length });
        }
    }

    /** Latches a write failure: nothing more is acknowledged until a repair has rewritten the log. */
    private fail(error: unknown): StoreError {
        this.writeFailure ??=
            error instanceof StoreError ? error : new StoreError(`Writing the store log ${this.logPath} failed: ${messageOf(error)}`, { cause: error });
        const rewrite = this.rewrite;
        if (rewrite) {
            // A compaction under way may already miss records of the failed batch: the repair begins anew.
            this.rewrite = undefined;
            void rewrite.log.abandon();
        }
        // In memory already; the repair's snapshot holds their effect.
        clearTimeout(this.lazyTimer);
        this.lazyTimer = undefined;
        this.lazy = [];
        this.announce();
        this.scheduleRepair();
        return this.writeFailure;
    }

    private scheduleRepair(): void {
        if (this.closing || this.repairTimer || this.rewrite) return;
        const waitMs = this.repairWaitMs;
        this.repairWaitMs = Math.min(this.repairWaitMs * 2, this.repairMaxMs);
        this.repairTimer = setTimeout(() => {
            this.repairTimer = undefined;
            void this.repair();
        }, waitMs);
        this.repairTimer.unref();
    }

    private async repair(): Promise<void> {
        // The batches queued before the failure are rejected first; nothing new is queued while it lasts.
        while (this.writer) await this.writer;
        if (!this.writeFailure || this.closing || this.rewrite) return;
        this.startRewrite();
    }

    private announce(): void {
        const failed = this.writeFailure !== undefined;
        if (failed === this.announcedFailure) return;
        this.announcedFailure = failed;
        for (const listener of this.failureListeners) {
            try {
                listener();
            } catch {
                // A listener's bug must not stop the store's writer.
            }
        }
    }
}

/** A rewrite and where it stands: `ready` once its snapshot is written beside, for the writer to complete. */
interface RewriteUnderWay {
    readonly log: LogRewrite;
    ready: boolean;
    /** Settles (never rejects) once the writing beside has ended, either way. */
    settled: Promise<void>;
    /** The live records it took, in the order the new log holds them after its header. */
    readonly snapshot: ReadonlyArray<[string, LiveRecord]>;
    /** The writes not yet written when it took them: their effect is in the snapshot, so none is carried. */
    readonly covered: ReadonlySet<PendingWrite>;
    /** Where the next carried record goes in the new log. */
    end: number;
    /** The puts carried so far and where the new log holds them. */
    readonly carriedPuts: Array<{ key: string; framed: Buffer; offset: number }>;
}

/** Carries `writes` into the rewrite's new log, in order, noting where each put lands there. */
function carry(rewrite: RewriteUnderWay, writes: ReadonlyArray<Pick<PendingWrite, 'framed' | 'key'>>): void {
    for (const write of writes) {
        rewrite.log.carry(write.framed);
        if (write.key !== undefined) rewrite.carriedPuts.push({ key: write.key, framed: write.framed, offset: rewrite.end });
        rewrite.end += write.framed.length;
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
