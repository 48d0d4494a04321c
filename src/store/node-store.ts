import { StoreError, type DurableStore } from './durable-store';
import { openFileStore } from './file-store';
import { MemoryStore } from './memory-store';
import { nodeStateDirectory } from './node-state-directory';
import type { StoreFileSystem } from './store-file-system';

export interface NodeStoreRequest {
    /** Node-RED's `settings.userDir`: undefined (or not a folder name) in an embedded runtime without one. */
    userDir: unknown;
    kind: 'outbox' | 'calls' | 'dead-letters';
    nodeId: string;
    /** The log's file name without `.log`. */
    name: string;
    /** The most the log file may take on disk (FileStoreOptions.maxLogBytes). */
    maxLogBytes?: number;
    /** The file operations of the store (FileStoreOptions.fileSystem): a test's, to fail a write at will. */
    fileSystem?: StoreFileSystem;
}

export interface OpenedNodeStore<V> {
    store: DurableStore<V>;
    /** Where the store's files are; undefined when it is kept in memory. */
    directory?: string;
    /** False when the state is kept in memory only (no user directory): a restart loses it. */
    durable: boolean;
}

export interface OpenNodeStoreOptions {
    /** How long to wait for the previous node of a redeploy to release the same store. */
    waitMs?: number;
    retryMs?: number;
}

/**
 * The one state policy of every stateful node of the package (call event in's calls, web service out's outbox):
 * - with a user directory, state lives in the node's own folder below it (nodeStateDirectory), so it is backed up
 *   and moved with the flows;
 * - without one (an embedded runtime), it is kept in memory, and the node says once that a restart loses it: the
 *   runtime gave us nowhere durable to write, and refusing all work would help nobody;
 * - a store the previous node of a redeploy still holds (`already-open`) is waited for while that node closes;
 * - a store that cannot be opened otherwise rejects: the node then refuses what it cannot record (call event in
 *   answers 503, web service out fails the msg with a Catch-able `store` error) and tries again later, rather than
 *   acknowledge work that a restart would lose;
 * - a store whose writes fail once open (a full disk, EIO) is refused the same way while they do: the store keeps
 *   what it was given in memory and repairs itself on a backoff (FileStore), and the node accepts work again then.
 */
export async function openNodeStore<V>(request: NodeStoreRequest, options: OpenNodeStoreOptions = {}): Promise<OpenedNodeStore<V>> {
    if (typeof request.userDir !== 'string' || request.userDir === '') return { store: new MemoryStore<V>(), durable: false };
    const directory = nodeStateDirectory(request.userDir, request.kind, request.nodeId);
    const waitMs = options.waitMs ?? 30_000;
    const retryMs = options.retryMs ?? 500;
    const started = Date.now();
    for (;;) {
        try {
            return {
                store: await openFileStore<V>({
                    directory,
                    name: request.name,
                    ...(request.maxLogBytes !== undefined ? { maxLogBytes: request.maxLogBytes } : {}),
                    ...(request.fileSystem ? { fileSystem: request.fileSystem } : {}),
                }),
                directory,
                durable: true,
            };
        } catch (err) {
            if (!(err instanceof StoreError) || err.reason !== 'already-open' || Date.now() - started >= waitMs) throw err;
            await new Promise((resolve) => setTimeout(resolve, retryMs));
        }
    }
}
