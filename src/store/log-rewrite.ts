import type { StoreFile, StoreFileSystem } from './store-file-system';

/** Where a record's frame lies in the current log (a written record is kept only as this). */
export interface LogSpan {
    offset: number;
    length: number;
}

/** A record of the snapshot: its frame in memory (not written yet), or where the current log holds it. */
export type SnapshotRecord = Buffer | LogSpan;

/**
 * The snapshot is written in pieces of about this size: each piece is one copy and one write, so building it never
 * holds the event loop for more than a fraction of a millisecond, however large the log (a full 64 MiB outbox is
 * 64 of them), and the appends to the current log go on between them.
 */
export const REWRITE_PIECE_BYTES = 1024 * 1024;

/**
 * What the store's writer writes itself when it completes a rewrite, at most (plus what comes meanwhile): the rest is
 * caught up beside, so the appends wait only for this much, a flush and a rename.
 */
const CATCH_UP_BYTES = 64 * 1024;
/** A store appending faster than its disk catches up would never get below CATCH_UP_BYTES: it stops trying after this. */
const CATCH_UP_ROUNDS = 8;

/**
 * A new log written beside the current one: the live records as they were when it began (the snapshot), then every
 * record the store took since (carried), in order. Replaying the carried records on top of the snapshot gives what
 * memory holds: a record that the snapshot already reflects (it was queued, not yet written, when the snapshot was
 * taken) only sets the same value again, and a key keeps its place. Until `complete` renames it over the log the
 * current log stays complete and in charge, so a crash at any step loses nothing acknowledged (recovery deletes the
 * half-written file).
 */
export class LogRewrite {
    private readonly carried: Buffer[] = [];
    private carriedWritten = 0;
    private file: StoreFile | undefined;
    /** Bytes in the new file so far: its length once complete. */
    bytes = 0;
    private abandoned = false;

    constructor(
        private readonly fileSystem: StoreFileSystem,
        readonly path: string,
        /** The log header, then every live record, in load order. */
        private readonly snapshot: SnapshotRecord[],
        /** The frames at these spans of the current log, in their order. */
        private readonly read: (spans: LogSpan[]) => Promise<Buffer[]>,
    ) {}

    /** A record the store took after the snapshot (appended to the current log, or only kept in memory). */
    carry(records: Buffer): void {
        if (!this.abandoned) this.carried.push(records);
    }

    /**
     * Writes the snapshot, then catches up with the records carried meanwhile until little is left for the writer.
     * Rejects when a step fails or the rewrite was abandoned: the caller abandons it, the current log is untouched.
     */
    async writeBeside(): Promise<void> {
        this.file = await this.fileSystem.create(this.path);
        // Abandoned while the file was being created: abandon found no file to close and delete then.
        if (this.abandoned) {
            await this.abandon();
            throw new Error('the rewrite was abandoned');
        }
        let piece: SnapshotRecord[] = [];
        let pieceBytes = 0;
        for (const record of this.snapshot) {
            piece.push(record);
            pieceBytes += record.length;
            if (pieceBytes >= REWRITE_PIECE_BYTES) {
                await this.write(await this.framesOf(piece, pieceBytes));
                piece = [];
                pieceBytes = 0;
            }
        }
        if (pieceBytes > 0) await this.write(await this.framesOf(piece, pieceBytes));
        // The snapshot's buffers are the store's live frames: let them go with the records they stood for.
        this.snapshot.length = 0;
        for (let round = 0; round < CATCH_UP_ROUNDS && this.carriedBytes() > CATCH_UP_BYTES; round++) await this.writeCarried();
    }

    /**
     * The last step, run by the store's writer while no append is under way: the records carried since the catch-up,
     * a flush, and the rename over `logPath`. Resolves with the new file, now the log (its directory entry is not
     * durable until the caller syncs the directory).
     */
    async complete(logPath: string): Promise<StoreFile> {
        await this.writeCarried();
        await this.file!.datasync();
        if (this.abandoned) throw new Error('the rewrite was abandoned');
        await this.fileSystem.rename(this.path, logPath);
        return this.file!;
    }

    /** Stops the rewrite and deletes its file; the current log stays in charge. Never rejects. */
    async abandon(): Promise<void> {
        this.abandoned = true;
        this.carried.length = 0;
        await this.file?.close().catch(() => undefined);
        await this.fileSystem.remove(this.path).catch(() => undefined);
    }

    /** One piece of the snapshot as bytes: the frames held in memory, and those read back from the current log. */
    private async framesOf(piece: SnapshotRecord[], pieceBytes: number): Promise<Buffer> {
        const spans = piece.filter((record): record is LogSpan => !Buffer.isBuffer(record));
        const read = spans.length ? await this.read(spans) : [];
        let next = 0;
        return Buffer.concat(
            piece.map((record) => (Buffer.isBuffer(record) ? record : read[next++]!)),
            pieceBytes,
        );
    }

    private carriedBytes(): number {
        let bytes = 0;
        for (let index = this.carriedWritten; index < this.carried.length; index++) bytes += this.carried[index]!.length;
        return bytes;
    }

    private async writeCarried(): Promise<void> {
        const pending = this.carried.slice(this.carriedWritten);
        if (pending.length === 0) return;
        this.carriedWritten += pending.length;
        await this.write(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
    }

    private async write(data: Buffer): Promise<void> {
        if (this.abandoned) throw new Error('the rewrite was abandoned');
        const position = this.bytes;
        this.bytes += data.length;
        await this.file!.write(data, position);
    }
}
