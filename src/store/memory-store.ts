import type { DurableStore, RecoveryReport } from './durable-store';

/**
 * A store that keeps nothing across a restart: the stand-in when the file store cannot be opened (a read-only user
 * directory), so a node goes on delivering, and says it is not durable, instead of refusing every message.
 */
export class MemoryStore<V> implements DurableStore<V> {
    readonly recovery: RecoveryReport = { entries: 0, records: 0, discardedCompaction: false, summary: 'kept in memory only' };
    private readonly values = new Map<string, string>();

    async load(): Promise<Map<string, V>> {
        return new Map([...this.values].map(([key, json]) => [key, JSON.parse(json) as V]));
    }

    async put(key: string, value: V, json?: string): Promise<void> {
        this.values.set(key, json ?? JSON.stringify(value));
    }

    async delete(key: string): Promise<void> {
        this.values.delete(key);
    }

    async close(): Promise<void> {
        this.values.clear();
    }
}
