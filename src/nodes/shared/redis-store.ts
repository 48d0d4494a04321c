import type { NodeAPI } from 'node-red';
import { ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import type { ConnectionLease } from '../../store/redis/connection-share';
import type { RedisConfigNode } from '../ccaas-redis/config';

/** The ccaas-redis node a flow names as Store, or undefined for the file store (flows before 0.3.0 name none). */
export function storeIdOf(config: { store?: unknown }): string | undefined {
    return typeof config.store === 'string' && config.store.trim() !== '' && config.store !== '_ADD_' ? config.store.trim() : undefined;
}

/**
 * A share of the Redis connection of the ccaas-redis node `storeId`, for a call event in or web service out whose
 * Store names it; a ConfigError naming `store` when that node is not deployed (`missing` says so in the node's own
 * words) or cannot connect as configured.
 */
export function leaseRedisStore(RED: NodeAPI, storeId: string, missing: string): ConnectionLease {
    const redis = RED.nodes.getNode(storeId) as RedisConfigNode | null;
    if (!redis?.acquire) throw new ConfigError(`store: ${missing}`);
    try {
        return redis.acquire();
    } catch (err) {
        throw new ConfigError(`store: ${errorText(err)}`, { cause: err });
    }
}
