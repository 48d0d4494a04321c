import type { Node } from 'node-red';
import type { ConnectionLease } from '../../store/redis/connection-share';
import { checkedRedisSettings, type RedisSettings } from '../../store/redis/redis-connection';

/** The properties of a ccaas-redis node as the flow JSON holds them (public API: these names stay). */
export interface RedisNodeProperties {
    name?: string;
    url?: string;
    prefix?: string;
}

export interface RedisNodeCredentials {
    username?: string;
    password?: string;
}

/** The node's settings, checked: a ConfigError names the field at fault. */
export function redisSettingsOf(config: RedisNodeProperties, credentials: RedisNodeCredentials): RedisSettings {
    return checkedRedisSettings({
        url: String(config.url ?? ''),
        prefix: String(config.prefix ?? ''),
        username: credentials.username || undefined,
        password: credentials.password || undefined,
    });
}

/** What a node whose `store` names this configuration reads from it. */
export interface RedisConfigNode extends Node<Record<keyof RedisNodeCredentials, unknown>> {
    /** Why the configuration cannot work (named field and problem); then `acquire` throws it. */
    configError?: Error;
    /** The URL as configured, for status texts and for the Test connection's same-host rule. */
    redisUrl: string;
    /** A share of the connection, to give back when the node closes. */
    acquire(): ConnectionLease;
}
