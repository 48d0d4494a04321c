import { createHash } from 'node:crypto';
import { errorText } from '../../errors/error-text';
import type { ReplayMemory } from '../../ingest/replay-guard';
import { StoreError } from '../durable-store';
import type { RedisConnection } from './redis-connection';

/**
 * The Standard Webhooks replay memory of one call event in node in Redis, shared by every instance that runs it: a
 * signed request taken by one instance is refused as a replay by the others, and by all of them after a redeploy.
 *
 * Each id is one key, `<prefix>:replays:{<node id>}:<SHA-256 of the id, base64url>`, set with SET NX (atomic: of two
 * instances taking the same id at once, one wins) and PX, so Redis forgets it by itself on its own clock. The hash
 * keeps every key 43 characters after the prefix however long or odd the id, and only a request whose signature
 * verified is remembered, so only a holder of the secret adds keys; each lives twice the tolerance.
 */
export class RedisReplayMemory implements ReplayMemory {
    private readonly prefix: string;
    private readonly windowMs: number;

    constructor(
        private readonly connection: RedisConnection,
        nodeId: string,
        toleranceSeconds: number,
    ) {
        if (!Number.isFinite(toleranceSeconds) || toleranceSeconds <= 0)
            throw new RangeError(`toleranceSeconds must be a positive number, not ${toleranceSeconds}`);
        this.prefix = connection.key('replays', `{${nodeId}}`) + ':';
        // A timestamp up to the tolerance ahead of this server's clock is accepted, and stays acceptable until it is the
        // tolerance behind: twice the tolerance after it arrived. The in-process guard keeps ids as long.
        this.windowMs = Math.ceil(2 * toleranceSeconds * 1000);
    }

    /** The key that remembers `id`. */
    keyOf(id: string): string {
        return this.prefix + createHash('sha256').update(id, 'utf8').digest('base64url');
    }

    async seenBefore(id: string): Promise<boolean> {
        // Just deployed, the connection may not be up yet: wait for it as taking the events does (bounded), rather
        // than answer 503 to the first requests; a connection lost later fails at once (no offline queue).
        if (this.connection.state === 'connecting') await this.connection.ready().catch(() => undefined);
        try {
            // null: the key was there, so NX set nothing.
            return (await this.connection.client.set(this.keyOf(id), '1', 'PX', this.windowMs, 'NX')) === null;
        } catch (err) {
            throw new StoreError(`webhook-id not checked for a replay: Redis: ${errorText(err)}`, { cause: err, reason: 'io' });
        }
    }

    forget(id: string): void {
        // Best effort: when Redis cannot be reached now it could not take the events either, and the id then expires
        // with its window; until then a resend with the same id is refused as a replay.
        this.connection.client.del(this.keyOf(id)).catch(() => undefined);
    }
}
