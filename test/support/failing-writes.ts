// The real file system, with every write (to any file) failing while `disk.failing` is set: a full disk or a dying
// one, for the tests of what the stores do when writes fail and come back.
import { nodeFileSystem, type StoreFile, type StoreFileSystem } from '../../src/store/store-file-system';

export type WriteFailure = 'ENOSPC' | 'EIO';

const MESSAGES: Record<WriteFailure, string> = {
    ENOSPC: 'ENOSPC: no space left on device, write',
    EIO: 'EIO: i/o error, write',
};

export function failingWrites(code: WriteFailure = 'ENOSPC') {
    /** `writes`: writes tried, `failedWrites`: those refused. */
    const disk = { failing: false, writes: 0, failedWrites: 0 };
    const wrap = (opened: StoreFile): StoreFile => ({
        ...opened,
        async write(data, position) {
            disk.writes += 1;
            if (disk.failing) {
                disk.failedWrites += 1;
                throw Object.assign(new Error(MESSAGES[code]), { code });
            }
            await opened.write(data, position);
        },
    });
    const fileSystem: StoreFileSystem = {
        ...nodeFileSystem,
        openExisting: async (file) => wrap(await nodeFileSystem.openExisting(file)),
        create: async (file) => wrap(await nodeFileSystem.create(file)),
    };
    return { fileSystem, disk };
}
