import { constants, promises as fs } from 'node:fs';

/**
 * Where the platform has it, a log is opened with O_DSYNC: each write returns once its data (and the file length)
 * is on disk, so a batch costs one trip to the thread pool instead of a write and then an fdatasync. On these
 * machines a trip costs more CPU than the flush itself when events come one by one (about 0.4 ms a write and flush,
 * 0.3 ms an O_DSYNC write). Elsewhere (Windows) the flush is an explicit fdatasync.
 */
const DSYNC: number | undefined = constants.O_DSYNC;
const DURABLE_WRITES = DSYNC !== undefined;
const WRITE_FLAGS = DSYNC ?? 0;

/**
 * The few file operations the file store needs. It exists so tests can count flushes (the cost group commit
 * saves) and inject failures or pauses at an exact step; production uses `nodeFileSystem`.
 */
export interface StoreFileSystem {
    makeDirectory(path: string): Promise<void>;
    /** The whole file, or undefined when it does not exist. */
    readFile(path: string): Promise<Buffer | undefined>;
    /** Opens an existing file for positioned reads and writes. */
    openExisting(path: string): Promise<StoreFile>;
    /** Creates the file, or empties it when it exists. */
    create(path: string): Promise<StoreFile>;
    /** Replaces `to` with `from` in one step (POSIX rename). */
    rename(from: string, to: string): Promise<void>;
    /** Deletes the file; a missing file is not an error. */
    remove(path: string): Promise<void>;
    writeFile(path: string, data: Buffer): Promise<void>;
    /** Makes a created or renamed name durable: without this a crash can forget the rename itself. */
    syncDirectory(path: string): Promise<void>;
}

export interface StoreFile {
    /** Writes all of `data` at `position`. */
    write(data: Buffer, position: number): Promise<void>;
    /** Reads `length` bytes from `position`; fewer only where the file ends. */
    read(position: number, length: number): Promise<Buffer>;
    /**
     * The data and the file length are on disk when this resolves: an fdatasync, or nothing left to do for a file
     * whose writes are durable by themselves (O_DSYNC) and that was not truncated since.
     */
    datasync(): Promise<void>;
    truncate(length: number): Promise<void>;
    close(): Promise<void>;
}

export const nodeFileSystem: StoreFileSystem = {
    async makeDirectory(path) {
        await fs.mkdir(path, { recursive: true });
    },
    async readFile(path) {
        try {
            return await fs.readFile(path);
        } catch (error) {
            if (errorCode(error) === 'ENOENT') return undefined;
            throw error;
        }
    },
    async openExisting(path) {
        return wrapHandle(await fs.open(path, constants.O_RDWR | WRITE_FLAGS), DURABLE_WRITES);
    },
    async create(path) {
        return wrapHandle(await fs.open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | WRITE_FLAGS), DURABLE_WRITES);
    },
    rename: (from, to) => fs.rename(from, to),
    async remove(path) {
        await fs.rm(path, { force: true });
    },
    writeFile: (path, data) => fs.writeFile(path, data),
    async syncDirectory(path) {
        let directory: fs.FileHandle | undefined;
        try {
            directory = await fs.open(path, 'r');
            await directory.sync();
        } catch (error) {
            // Windows cannot open or flush a directory handle; NTFS journals the rename itself there.
            if (!['EISDIR', 'EPERM', 'EINVAL', 'EACCES'].includes(errorCode(error) ?? '')) throw error;
        } finally {
            await directory?.close();
        }
    },
};

/** `durableWrites`: opened with O_DSYNC, so only a truncation still needs an fdatasync to be on disk. */
function wrapHandle(handle: fs.FileHandle, durableWrites: boolean): StoreFile {
    // A truncation changes the length outside any write, and O_DSYNC covers writes only.
    let truncated = false;
    return {
        async write(data, position) {
            let written = 0;
            while (written < data.length) {
                const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
                written += bytesWritten;
            }
        },
        async read(position, length) {
            const data = Buffer.allocUnsafeSlow(length);
            let read = 0;
            while (read < length) {
                const { bytesRead } = await handle.read(data, read, length - read, position + read);
                if (bytesRead === 0) break;
                read += bytesRead;
            }
            return read === length ? data : data.subarray(0, read);
        },
        async datasync() {
            if (durableWrites && !truncated) return;
            await handle.datasync();
            truncated = false;
        },
        async truncate(length) {
            truncated = true;
            await handle.truncate(length);
        },
        close: () => handle.close(),
    };
}

function errorCode(error: unknown): string | undefined {
    return (error as NodeJS.ErrnoException | undefined)?.code;
}
