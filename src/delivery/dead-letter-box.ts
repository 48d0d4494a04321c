import { StoreError, type DurableStore } from '../store/durable-store';
import { isDeadLetter, overBounds, type AttemptRecord, type DeadLetter, type DeadLetterBounds } from './dead-letters';

/**
 * Where one web service out node keeps its dead letters, by idempotency key: a store of its own beside the outbox
 * (file, or memory without a user directory), or Redis shared by the instances (RedisDeadLetters). A request
 * failed for good is added before it leaves the outbox, so a crash between the two sends it once more rather
 * than losing it; adding the same key again replaces the letter.
 */
export interface DeadLetterBox {
    /** Keeps the letter, then drops the oldest beyond the bounds; resolves with how many were dropped. */
    add(letter: DeadLetter): Promise<{ dropped: number }>;
    /** Every letter, oldest failure first. */
    list(): Promise<DeadLetter[]>;
    /** How many letters there are: for a count shown on every change, without reading them. */
    count(): Promise<number>;
    get(key: string): Promise<DeadLetter | undefined>;
    /** Removes these keys; resolves with how many were there. */
    remove(keys: readonly string[]): Promise<number>;
    /**
     * The attempts a request made before this one, where the queue itself does not carry them (a shared outbox,
     * whose attempts may be made by any instance); the file queue keeps them in its entries.
     */
    noteTry?(key: string, record: AttemptRecord): Promise<void>;
    triesOf?(key: string): Promise<AttemptRecord[]>;
    triesOfEach?(keys: readonly string[]): Promise<Map<string, AttemptRecord[]>>;
    forgetTries?(key: string): Promise<void>;
    close(): Promise<void>;
}

/** The bytes a letter takes stored: its JSON. */
export function letterBytes(letter: DeadLetter): number {
    return Buffer.byteLength(JSON.stringify(letter), 'utf8');
}

/**
 * Dead letters in a DurableStore of the node's own (its folder `dead-letters`, beside `outbox`). The store keeps
 * every value in memory anyway; the box keeps them in failure order with their sizes, so the bounds cost nothing
 * to check.
 */
export class StoredDeadLetterBox implements DeadLetterBox {
    /** Oldest failure first. */
    private readonly letters = new Map<string, { letter: DeadLetter; bytes: number }>();

    private constructor(
        private readonly store: DurableStore<DeadLetter>,
        private readonly bounds: DeadLetterBounds,
        private readonly now: () => number,
    ) {}

    /**
     * Opens the box on a store: what it holds, oldest failure first; values that are not dead letters (damaged, or
     * of a later version) are removed and counted; letters past their age or beyond the bounds are dropped.
     */
    static async open(
        store: DurableStore<DeadLetter>,
        bounds: DeadLetterBounds,
        now: () => number = Date.now,
    ): Promise<{ box: StoredDeadLetterBox; unreadable: number; dropped: number }> {
        const box = new StoredDeadLetterBox(store, bounds, now);
        const found: Array<{ key: string; letter: DeadLetter; bytes: number }> = [];
        let unreadable = 0;
        for (const [key, value] of await store.load()) {
            if (!isDeadLetter(value)) {
                unreadable += 1;
                await store.delete(key);
                continue;
            }
            found.push({ key, letter: value, bytes: letterBytes(value) });
        }
        found.sort((a, b) => a.letter.failedAt - b.letter.failedAt);
        for (const { key, letter, bytes } of found) box.letters.set(key, { letter, bytes });
        const dropped = await box.trim();
        return { box, unreadable, dropped };
    }

    async add(letter: DeadLetter): Promise<{ dropped: number }> {
        const key = letter.request.idempotencyKey;
        const json = JSON.stringify(letter);
        try {
            await this.store.put(key, letter, json);
        } catch (error) {
            // While its disk fails the store holds the letter in memory and writes it with its repair: the list shows
            // what the store will hold, not only what a restart would read back.
            if (error instanceof StoreError && error.reason === 'io') this.remember(key, letter, json);
            throw error;
        }
        this.remember(key, letter, json);
        return { dropped: await this.trim() };
    }

    private remember(key: string, letter: DeadLetter, json: string): void {
        // A letter added again (a replay that failed again) moves to the end: it is the newest failure.
        this.letters.delete(key);
        this.letters.set(key, { letter, bytes: Buffer.byteLength(json, 'utf8') });
    }

    async list(): Promise<DeadLetter[]> {
        return Array.from(this.letters.values(), ({ letter }) => letter);
    }

    async get(key: string): Promise<DeadLetter | undefined> {
        return this.letters.get(key)?.letter;
    }

    async count(): Promise<number> {
        return this.letters.size;
    }

    async remove(keys: readonly string[]): Promise<number> {
        const present = keys.filter((key) => this.letters.has(key));
        for (const key of present) this.letters.delete(key);
        await Promise.all(present.map((key) => this.store.delete(key)));
        return present.length;
    }

    close(): Promise<void> {
        return this.store.close();
    }

    private async trim(): Promise<number> {
        const rows = Array.from(this.letters, ([key, { letter, bytes }]) => ({ key, failedAt: letter.failedAt, bytes }));
        const drop = overBounds(rows, this.bounds, this.now());
        if (drop.length > 0) await this.remove(drop);
        return drop.length;
    }
}
