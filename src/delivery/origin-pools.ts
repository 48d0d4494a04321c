import { Pool } from 'undici';

/**
 * Origins whose pools are kept at once. A node's URL names one origin, or a few when a placeholder picks the host;
 * beyond this many, the pool used least recently is closed (its requests in flight still end) and built again when
 * its origin is asked for.
 */
export const MAX_KEPT_ORIGINS = 64;

/**
 * One undici Pool per origin, kept while the origin is used, whatever its connections do. undici's Agent drops an
 * origin's pool when its last connection fails or closes, and builds a new one for the next request: against a
 * receiver that refuses connections that was a new pool (about 17 KB, most of it a queue of 2,048 slots) for every
 * attempt. Measured with a 50,000-request backlog against a refusing receiver, those pools were most of what the
 * heap allocated and discarded (761 of 1,238 MB in 30 s of retries), and they lived long enough to reach the old
 * generation, which the heap then grew to hold between collections.
 */
export class OriginPools {
    private readonly pools = new Map<string, Pool>();

    constructor(
        private readonly options: Pool.Options,
        private readonly maxOrigins = MAX_KEPT_ORIGINS,
    ) {}

    /** The pool of `origin` (`http://host:port`), built on first use or after it was closed. */
    for(origin: string): Pool {
        const kept = this.pools.get(origin);
        if (kept && !kept.closed && !kept.destroyed) {
            if (this.pools.size > 1) {
                // Most recently used last: the first in the map is the one to close when there are too many.
                this.pools.delete(origin);
                this.pools.set(origin, kept);
            }
            return kept;
        }
        const pool = new Pool(origin, this.options);
        this.pools.delete(origin);
        this.pools.set(origin, pool);
        for (const [leastRecent, idle] of this.pools) {
            if (this.pools.size <= this.maxOrigins) break;
            this.pools.delete(leastRecent);
            void idle.close().catch(() => undefined);
        }
        return pool;
    }

    /** Ends every connection of every pool; requests in flight fail. */
    async destroy(): Promise<void> {
        const pools = [...this.pools.values()];
        this.pools.clear();
        await Promise.allSettled(pools.map((pool) => pool.destroy()));
    }
}
