/**
 * Where the `webhook-id`s of the Standard Webhooks requests taken are remembered: this process (ReplayGuard) for one
 * instance, the shared store when several take the same endpoint, so a replay to another one is refused too.
 */
export interface ReplayMemory {
    /**
     * True when `id` was already taken within the window; otherwise remembers it and answers false. Rejects with a
     * StoreError (a 503) when the memory cannot be asked: an unchecked request is never taken.
     */
    seenBefore(id: string): boolean | Promise<boolean>;
    /** Forgets an id taken by seenBefore() whose request was not accepted after all, so the sender's retry works. */
    forget(id: string): void;
}

/**
 * The `webhook-id`s of Standard Webhooks requests already taken, in this process, so a captured request replayed within the
 * timestamp tolerance is refused, as the specification recommends. An id needs remembering only while its
 * timestamp is inside the tolerance (later the timestamp check refuses it anyway), so ids expire by timestamp;
 * the count is capped too, oldest first, so a flood of distinct ids costs bounded memory. Insertion order is
 * arrival order, which makes both the expiry and the cap O(1) per request (amortised) on a Map.
 */
export class ReplayGuard implements ReplayMemory {
    private readonly seen = new Map<string, number>();

    constructor(
        private readonly toleranceSeconds: number,
        /** Ids remembered at most; past it the oldest is forgotten (a replay of it is then caught only by its age). */
        readonly maxIds: number = DEFAULT_MAX_REMEMBERED_IDS,
    ) {}

    get size(): number {
        return this.seen.size;
    }

    /** True when `id` was already taken within the window; otherwise remembers it and returns false. */
    seenBefore(id: string, nowSeconds: number = Date.now() / 1000): boolean {
        this.forgetOlderThan(nowSeconds - 2 * this.toleranceSeconds);
        const at = this.seen.get(id);
        if (at !== undefined) return true;
        this.seen.set(id, nowSeconds);
        if (this.seen.size > this.maxIds) this.seen.delete(this.seen.keys().next().value as string);
        return false;
    }

    /** Forgets an id taken by seenBefore() whose request was not accepted after all, so the sender's retry works. */
    forget(id: string): void {
        this.seen.delete(id);
    }

    private forgetOlderThan(limitSeconds: number): void {
        for (const [id, at] of this.seen) {
            if (at >= limitSeconds) return;
            this.seen.delete(id);
        }
    }
}

/**
 * Enough for 100 requests a second over the default 300 s tolerance; each entry is an id of a few dozen bytes, so
 * the guard stays within a few MiB.
 */
export const DEFAULT_MAX_REMEMBERED_IDS = 30_000;
