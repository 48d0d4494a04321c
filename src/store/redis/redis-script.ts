import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection';

/**
 * A Lua script run by its SHA1 (EVALSHA), loaded with EVAL the first time a server does not know it (after a restart
 * or a SCRIPT FLUSH). The connection never resends a command whose reply was lost, so a script runs at most once per
 * call: a write whose fate is unknown fails instead of being applied twice.
 */
export class RedisScript {
    readonly sha: string;

    constructor(readonly lua: string) {
        this.sha = createHash('sha1').update(lua).digest('hex');
    }

    async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
        try {
            return await client.evalsha(this.sha, keys.length, ...keys, ...args);
        } catch (error) {
            // NOSCRIPT is answered before anything ran, so running the script's text now cannot apply it twice.
            if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
            return client.eval(this.lua, keys.length, ...keys, ...args);
        }
    }
}
