import type { Node } from 'node-red';
import type { ConnectionLease } from '../../store/redis/connection-share';
import { ConfigError } from '../../errors/coded-error';
import { checkedRedisSettings, type RedisSettings } from '../../store/redis/redis-connection';

/** The properties of a ccaas-redis node as the flow JSON holds them (public API: these names stay). */
export interface RedisNodeProperties {
    name?: string;
    url?: string;
    prefix?: string;
    /** The id of a tls-config node: the CA (and client certificate) for rediss://. */
    tls?: string;
}

export interface RedisNodeCredentials {
    username?: string;
    password?: string;
}

/** The TLS options of a core tls-config node, as it gives them to the core http request node. */
export type TlsOptionsOf = (tlsNodeId: string) => RedisSettings['tls'];

/** The node's settings, checked: a ConfigError names the field at fault. */
export function redisSettingsOf(config: RedisNodeProperties, credentials: RedisNodeCredentials, tlsOptionsOf?: TlsOptionsOf): RedisSettings {
    const tls = config.tls && tlsOptionsOf ? tlsOptionsOf(config.tls) : undefined;
    return checkedRedisSettings({
        url: String(config.url ?? ''),
        prefix: String(config.prefix ?? ''),
        username: credentials.username || undefined,
        password: credentials.password || undefined,
        ...(tls ? { tls } : {}),
    });
}

/** A tls-config node's options by its id, through Node-RED; a missing node is a ConfigError naming `tls`. */
export function tlsOptionsFrom(getNode: (id: string) => unknown): TlsOptionsOf {
    return (id) => {
        const tlsNode = getNode(id) as { addTLSOptions?: (options: Record<string, unknown>) => void } | null;
        if (!tlsNode?.addTLSOptions) throw new ConfigError(`tls: the TLS configuration ${id} is not deployed`);
        const options: Record<string, unknown> = {};
        tlsNode.addTLSOptions(options);
        return options as RedisSettings['tls'];
    };
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
