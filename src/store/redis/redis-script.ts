import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script run by its SHA1, sent whole only when the server does not know it (first use, or a restart emptied
 * the script cache). Either way the server runs it at most once per call: the connection never resends a command.
 */
export class RedisScript {
    private readonly sha: string;

    constructor(private readonly lua: string) {
        this.sha = createHash('sha1').update(lua).digest('hex');
    }

    async run(client: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
        try {
            return await client.evalsha(this.sha, keys.length, ...keys, ...args);
        } catch (err) {
            // NOSCRIPT means the script did not run, so sending it whole cannot run it twice.
            if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
            return await client.eval(this.lua, keys.length, ...keys, ...args);
        }
    }
}
