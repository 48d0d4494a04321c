import type { Node } from 'node-red';
import type { ConnectionLease } from '../../store/redis/connection-share';
import { ConfigError } from '../../errors/coded-error';
import { checkedRedisSettings, type CheckedRedisSettings, type RedisSettings } from '../../store/redis/redis-connection';

/** The properties of a ccaas-redis node as the flow JSON holds them (public API: these names stay). */
export interface RedisNodeProperties {
    name?: string;
    /** `standalone` (also when missing: flows of 0.3.0), `sentinel` or `cluster`. */
    mode?: string;
    /** Standalone: the server. */
    url?: string;
    /** Sentinel: `host:port, host:port`. */
    sentinels?: string;
    /** Sentinel: the primary's name as the Sentinels monitor it. */
    masterName?: string;
    /** Cluster: some of its nodes, `host:port, host:port`. */
    nodes?: string;
    /** Replicas a write must reach before 202 / done() (default 0), and how long it waits for them (ms). */
    minReplicas?: number | string;
    replicaWait?: number | string;
    prefix?: string;
    /**
     * The id of a tls-config node: the CA (and client certificate) for rediss://, and in sentinel and cluster mode
     * for the connections Use TLS and Sentinel TLS put on TLS.
     */
    tls?: string;
    /** Sentinel and cluster (label Use TLS): TLS to the primary and replicas, or to every node of the cluster. Missing (before 0.4.0): off. */
    useTls?: boolean | string;
    /** Sentinel (label Sentinel TLS): TLS to the Sentinels. Missing: off. */
    sentinelTls?: boolean | string;
}

export interface RedisNodeCredentials {
    username?: string;
    password?: string;
    /** The Sentinels' own password (sentinel mode), when they have one. */
    sentinelPassword?: string;
}

/** The TLS options of a core tls-config node, as it gives them to the core http request node. */
export type TlsOptionsOf = (tlsNodeId: string) => RedisSettings['tls'];

/** The node's settings, checked: a ConfigError names the field at fault. */
export function redisSettingsOf(config: RedisNodeProperties, credentials: RedisNodeCredentials, tlsOptionsOf?: TlsOptionsOf): CheckedRedisSettings {
    const tls = config.tls && tlsOptionsOf ? tlsOptionsOf(config.tls) : undefined;
    return checkedRedisSettings({
        mode: String(config.mode ?? ''),
        url: String(config.url ?? ''),
        sentinels: String(config.sentinels ?? ''),
        masterName: String(config.masterName ?? ''),
        nodes: String(config.nodes ?? ''),
        prefix: String(config.prefix ?? ''),
        username: credentials.username || undefined,
        password: credentials.password || undefined,
        sentinelPassword: credentials.sentinelPassword || undefined,
        minReplicas: config.minReplicas,
        replicaWait: config.replicaWait,
        useTls: config.useTls,
        sentinelTls: config.sentinelTls,
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
    /** Where it connects as the user wrote it (the URL, the Sentinels and primary name, or the cluster's nodes), for log texts. */
    redisUrl: string;
    /** Where it connects, canonical (CheckedRedisSettings.target): stored secrets go only there from Test connection. */
    redisTarget?: string;
    /** A share of the connection, to give back when the node closes. */
    acquire(): ConnectionLease;
}
