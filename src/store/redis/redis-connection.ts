import Redis, { Cluster, Command, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../../errors/coded-error';
import { StoreError } from '../durable-store';
import { explainedTlsProblem, hostAndPort, tlsHandshakeProblem, tlsOptionsFor, type RedisTlsOptions } from './redis-tls';

/**
 * How the nodes find the Redis primary: `standalone` (one server at `url`, the only mode before 0.4.0), `sentinel`
 * (the primary Sentinel names for `masterName`; the client asks again after a failover) or `cluster` (a Redis
 * Cluster found from the `nodes` seeds; each key goes to the primary of its slot).
 */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

/** The client of a connection: one server (standalone, sentinel), or every primary of a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** What a ccaas-redis config node holds: its properties and credentials, as the editor names them. */
export interface RedisSettings {
    /** Empty or missing (flows of 0.3.0): `standalone`. */
    mode?: string;
    /** `redis://` or `rediss://` (TLS), host, port and database: `redis://127.0.0.1:6379/0`. Standalone only. */
    url: string;
    /** Sentinel only: the Sentinels as a comma-separated `host:port` list. */
    sentinels?: string;
    /** Sentinel only: the name of the primary as the Sentinels monitor it (`sentinel monitor <name> ...`). */
    masterName?: string;
    /** Cluster only: some of the cluster's nodes as a comma-separated `host:port` list; the rest are found from them. */
    nodes?: string;
    /** The start of every key the nodes write, so several flows or tenants can share one Redis. */
    prefix: string;
    username?: string;
    password?: string;
    /** Sentinel only: the Sentinels' own `requirepass`, when they have one. */
    sentinelPassword?: string;
    /** Replicas that must have a write before it is acknowledged (`202`, `done()`); 0: the primary's reply. */
    minReplicas?: number | string;
    /** How long a write waits for those replicas before it counts as failed (ms). */
    replicaWait?: number | string;
    /**
     * Sentinel and cluster: TLS to the data servers (the primary and replicas; every node of the cluster). A
     * checkbox, so `true` or `false` (`"true"`, `"false"` and empty are read too); missing (flows before 0.4.0): off.
     * Standalone takes TLS from a `rediss://` URL and ignores it.
     */
    useTls?: boolean | string;
    /** Sentinel only: TLS to the Sentinels, as `useTls` is read. */
    sentinelTls?: boolean | string;
    /**
     * TLS options (a CA, a client certificate, a server name) from a tls-config node or a test: for `rediss://`, and
     * in sentinel and cluster mode for the connections `useTls` and `sentinelTls` put on TLS.
     */
    tls?: RedisTlsOptions;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REDIS_PREFIX = 'ccaas';
export const DEFAULT_SENTINEL_PORT = 26379;
export const DEFAULT_REDIS_PORT = 6379;
export const DEFAULT_REPLICA_WAIT_MS = 1000;
/** A longer wait would hold every command queued behind it on the shared connection (WAIT blocks its client). */
export const MAX_REPLICA_WAIT_MS = 10_000;
export const MAX_MIN_REPLICAS = 10;
/**
 * How long any command may go unanswered before it fails (and the connection is dropped and made again): a Redis
 * that accepts connections and never answers (frozen, or cut off behind a half-open TCP connection) gives 503 and
 * `store` within this, not a hang. Far above what the package's scripts take on a loaded server.
 */
export const REPLY_BOUND_MS = 5000;
const NO_SENTINEL_ANSWER = 'no Sentinel named a primary that could be reached';
const NO_CLUSTER_NODE_ANSWER = 'no node of the cluster said which primary serves which slot';
/** All ioredis says of a connection it made to ask a Sentinel or a cluster node, whose own error it dropped. */
const CLOSED = /Connection is closed/;
/** A prefix is part of every key: plain characters keep keys readable in redis-cli and free of glob characters. */
const PREFIX_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface RedisAddress {
    host: string;
    port: number;
    db: number;
    tls: boolean;
}

/** The URL's parts, or a ConfigError naming `url` and what is wrong with it. */
export function parseRedisUrl(url: string): RedisAddress {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new ConfigError(`url: "${url}" is not a URL; write redis://host:port/db or rediss://host:port/db`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
        throw new ConfigError(`url: the scheme must be redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
    }
    if (parsed.username || parsed.password) {
        throw new ConfigError('url: put the user name and password in the Username and Password fields, not in the URL (the URL is part of the flow)');
    }
    if (parsed.search || parsed.hash) throw new ConfigError('url: options after ? or # are not read; remove them');
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) throw new ConfigError('url: the host is missing');
    const port = parsed.port === '' ? 6379 : Number(parsed.port);
    const path = parsed.pathname.replace(/^\//, '');
    if (path !== '' && !/^\d{1,2}$/.test(path)) throw new ConfigError(`url: the database must be a number from 0 to 99 after the port, not "${path}"`);
    return { host, port, db: path === '' ? 0 : Number(path), tls: parsed.protocol === 'rediss:' };
}

export interface SentinelAddress {
    host: string;
    port: number;
}

/** A node of a Redis Cluster the client starts from. */
export type ClusterNodeAddress = SentinelAddress;

/**
 * `host:port, host:port` (IPv6 as `[::1]:6379`, the port `defaultPort` when left out), or a ConfigError naming
 * `field` with an example of its own.
 */
function hostPortList(field: string, list: string, defaultPort: number, what: string): SentinelAddress[] {
    const items = list
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    if (items.length === 0) throw new ConfigError(`${field}: list at least one ${what} as host:port (comma-separated)`);
    return items.map((item) => {
        const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]@?#]+))(?::(\d{1,5}))?$/.exec(item);
        const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
        if (!match || port < 1 || port > 65535) throw new ConfigError(`${field}: "${item}" is not host:port (write, say, 10.0.0.5:${defaultPort})`);
        return { host: (match[1] ?? match[2])!, port };
    });
}

/** `host:port, host:port` (IPv6 as `[::1]:26379`; the port defaults to Sentinel's 26379), or a ConfigError naming `sentinels`. */
export function parseSentinels(list: string): SentinelAddress[] {
    return hostPortList('sentinels', list, DEFAULT_SENTINEL_PORT, 'Sentinel');
}

/** `host:port, host:port` (the port defaults to 6379), or a ConfigError naming `nodes`. */
export function parseClusterNodes(list: string): ClusterNodeAddress[] {
    return hostPortList('nodes', list, DEFAULT_REDIS_PORT, 'node of the cluster');
}

/** A checkbox: `true` or `false`; empty or missing is false; anything else a ConfigError naming `field`. */
function checkbox(field: string, value: boolean | string | undefined): boolean {
    if (value === undefined || value === false || value === '' || value === 'false') return false;
    if (value === true || value === 'true') return true;
    throw new ConfigError(`${field}: must be true or false (a checkbox), not "${String(value)}"`);
}

/** A whole number from `min` to `max`; empty or missing is `fallback`; otherwise a ConfigError naming `field`. */
function wholeNumber(field: string, value: number | string | undefined, fallback: number, min: number, max: number, unit = ''): number {
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) return fallback;
    const number = typeof value === 'number' ? value : Number(value.trim());
    if (!Number.isInteger(number) || number < min || number > max) {
        throw new ConfigError(`${field}: must be a whole number from ${min} to ${max}${unit}, not "${String(value)}"`);
    }
    return number;
}

interface CheckedCommon extends RedisSettings {
    prefix: string;
    minReplicas: number;
    replicaWaitMs: number;
    /**
     * Where the nodes connect, in one canonical text: `redis://host:port` or `rediss://host:port` (the database left
     * out), `sentinel://host:port,host:port/masterName` or `cluster://host:port,host:port`, the last two followed by
     * `?tls=servers`, `?tls=sentinels` or `?tls=servers,sentinels` when they use TLS. A stored secret is only sent
     * where the deployed node's target is, and not in the clear where the deployed node used TLS.
     */
    target: string;
    /** Which connections go over TLS: to the data servers (standalone: `rediss://`), to the Sentinels. */
    tlsTo: { servers: boolean; sentinels: boolean };
}

export type CheckedRedisSettings =
    | (CheckedCommon & { mode: 'standalone'; url: string; address: RedisAddress })
    | (CheckedCommon & { mode: 'sentinel'; sentinelAddresses: SentinelAddress[]; masterName: string })
    | (CheckedCommon & { mode: 'cluster'; clusterNodes: ClusterNodeAddress[] });

const hostText = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** `host:port` of the server a connection reached. */
function addressOf(client: Redis): string | undefined {
    const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    if (!stream?.remoteAddress || stream.remotePort === undefined) return undefined;
    return `${hostText(stream.remoteAddress)}:${stream.remotePort}`;
}

/** `host:port` of a cluster node as the cluster names it (CLUSTER SLOTS), which is how its slot table names it. */
const nodeKeyOf = (node: Redis): string => `${node.options.host ?? ''}:${node.options.port ?? ''}`;

/** The cluster client's own connection to the primary serving `key`'s slot: the one a command on `key` goes over. */
function primaryOfKey(cluster: Cluster, key: string): Redis {
    // The slot as ioredis computes it for routing (CRC16 of the key's hash tag, modulo 16384).
    const slot = new Command('exists', [key]).getSlot();
    const primary = cluster.slots[slot]?.[0];
    const node = primary === undefined ? undefined : cluster.nodes('master').find((candidate) => nodeKeyOf(candidate) === primary);
    if (!node) throw new Error(`no connection to the primary of slot ${slot} (${primary ?? 'no primary known'})`);
    return node;
}

/** The settings checked: every problem a ConfigError naming its field. */
export function checkedRedisSettings(settings: RedisSettings): CheckedRedisSettings {
    const mode = String(settings.mode ?? '').trim() || 'standalone';
    if (mode !== 'standalone' && mode !== 'sentinel' && mode !== 'cluster') throw new ConfigError(`mode: "${mode}" is not standalone, sentinel or cluster`);
    const prefix = settings.prefix.trim() === '' ? DEFAULT_REDIS_PREFIX : settings.prefix.trim();
    if (!PREFIX_PATTERN.test(prefix)) throw new ConfigError(`prefix: "${prefix}" must be 1 to 64 letters, digits, ".", "_" or "-"`);
    if (settings.password === undefined && settings.username) throw new ConfigError('password: a username needs its password');
    const minReplicas = wholeNumber('minReplicas', settings.minReplicas, 0, 0, MAX_MIN_REPLICAS);
    const replicaWaitMs = wholeNumber('replicaWait', settings.replicaWait, DEFAULT_REPLICA_WAIT_MS, 1, MAX_REPLICA_WAIT_MS, ' ms');
    const common = { ...settings, prefix, minReplicas, replicaWaitMs };
    if (mode === 'standalone') {
        const url = settings.url.trim() === '' ? DEFAULT_REDIS_URL : settings.url.trim();
        const address = parseRedisUrl(url);
        const target = `${address.tls ? 'rediss' : 'redis'}://${hostText(address.host)}:${address.port}`;
        // A TLS configuration with a redis:// URL stays unused, as in 0.3.0: the URL, which the dialog shows, decides.
        return { ...common, mode, url, address, target, tlsTo: { servers: address.tls, sentinels: false } };
    }
    const canonical = (addresses: SentinelAddress[]): string => [...new Set(addresses.map(({ host, port }) => `${hostText(host)}:${port}`))].sort().join(',');
    const tlsTo = { servers: checkbox('useTls', settings.useTls), sentinels: mode === 'sentinel' && checkbox('sentinelTls', settings.sentinelTls) };
    const tlsSuffix =
        tlsTo.servers || tlsTo.sentinels ? `?tls=${[tlsTo.servers ? 'servers' : '', tlsTo.sentinels ? 'sentinels' : ''].filter(Boolean).join(',')}` : '';
    // A CA chosen for connections that all go in the clear is a mistake the user would not see: say so rather
    // than connect without TLS.
    if (settings.tls && !tlsTo.servers && !tlsTo.sentinels) {
        throw new ConfigError(
            mode === 'cluster'
                ? 'useTls: a TLS configuration is chosen but Use TLS is off; tick Use TLS, or choose no TLS configuration'
                : 'useTls: a TLS configuration is chosen but neither Use TLS nor Sentinel TLS is on; tick the one your servers need, or choose no TLS configuration',
        );
    }
    if (mode === 'cluster') {
        const clusterNodes = parseClusterNodes(String(settings.nodes ?? ''));
        return { ...common, mode, clusterNodes, tlsTo, target: `cluster://${canonical(clusterNodes)}${tlsSuffix}` };
    }
    const sentinelAddresses = parseSentinels(String(settings.sentinels ?? ''));
    const masterName = String(settings.masterName ?? '').trim();
    if (masterName === '') throw new ConfigError('masterName: name the primary as the Sentinels monitor it (sentinel monitor <name> ...)');
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(masterName)) throw new ConfigError(`masterName: "${masterName}" must be 1 to 128 letters, digits, ".", "_" or "-"`);
    const target = `sentinel://${canonical(sentinelAddresses)}/${masterName}${tlsSuffix}`;
    return { ...common, mode, sentinelAddresses, masterName, tlsTo, target };
}

/** A replica the primary lists in INFO replication. */
export interface RedisReplicaInfo {
    /** `host:port` as the replica announced itself. */
    address: string;
    /** `online`, or a sync still under way (`wait_bgsave`, `send_bulk`). */
    state: string;
    /** Seconds since its last acknowledgement. */
    lag?: number;
}

/** What the server says about itself: the Test connection answer and the start-up persistence warning. */
export interface RedisServerInfo {
    version: string;
    /** Append-only file on, and its fsync policy (`always`, `everysec`, `no`). */
    aof: false | { fsync: string };
    /** RDB snapshots configured (`save` rules). */
    rdb: boolean;
    /** `master` or `slave`, as INFO replication says. */
    role?: string;
    /** The replicas connected to this server. */
    replicas?: RedisReplicaInfo[];
    /**
     * Cluster mode: each shard's primary on its own (its `host:port` in `primary`). The fields above then hold for
     * the cluster as a whole: the persistence of the least durable shard, every shard's replicas.
     */
    shards?: RedisShardInfo[];
}

/** One shard of a Redis Cluster: its primary's account of itself. */
export interface RedisShardInfo extends Omit<RedisServerInfo, 'shards'> {
    primary: string;
}

export type RedisConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface RedisConnectionOptions {
    /** Wait between reconnection attempts grows to this (ms). */
    maxReconnectWaitMs?: number;
    /** A connection attempt that has not answered in this long fails (ms). */
    connectTimeoutMs?: number;
    /** A name shown by CLIENT LIST, so an operator sees which Node-RED holds which connection. */
    clientName?: string;
    /** The reply bound of every command (ms); default REPLY_BOUND_MS, plus the replica wait when there is one. */
    replyBoundMs?: number;
}

/** Told about one pub/sub channel of the connection (see RedisConnection.subscribe). */
export interface ChannelListener {
    /** A message published on the channel. */
    message(text: string): void;
    /**
     * The channel is subscribed, the first time or again after the subscriber connection was lost: what was
     * published in between is gone, so the listener looks for itself.
     */
    subscribed(): void;
}

/**
 * One Redis connection of a ccaas-redis config node, shared by the nodes that use it. Commands fail at once while it
 * is down (no offline queue, no resend of a command whose reply was lost): a node must never answer "durable" for a
 * write that is sitting in a client buffer, and a script resent after a lost reply could run twice. ioredis
 * reconnects by itself (in sentinel mode asking the Sentinels for the primary each time, in cluster mode asking the
 * nodes which primary serves which slot, so a failover is followed without a redeploy); `state` and `problem` say
 * how it stands, and `onChange` tells the nodes, so their status follows.
 */
export class RedisConnection {
    readonly client: RedisClient;
    readonly prefix: string;
    readonly mode: RedisMode;
    /** Replicas a write must reach before it is acknowledged; 0: the primary's reply is enough. */
    readonly minReplicas: number;
    readonly replicaWaitMs: number;
    /** How long a command may go unanswered before it fails and the connection is made again (ms). */
    readonly replyBoundMs: number;
    private current: RedisConnectionState = 'connecting';
    private lastProblem: string | undefined;
    private readonly listeners = new Set<() => void>();
    /**
     * The pub/sub connection, made on the first subscribe and ended with the last unsubscribe or close(). A
     * connection that has subscribed can run no other command, so it is a second one, with the same options (in
     * sentinel mode it follows the primary too; in cluster mode it is to one node, see clusterSubscriber).
     */
    private subscriber: Redis | undefined;
    private readonly channels = new Map<string, Set<ChannelListener>>();
    /** Cluster mode: the seeds and the options of one node's connection, for the subscriber. */
    private readonly clusterNodes: Array<ClusterNodeAddress & { tls?: RedisTlsOptions }> = [];
    private readonly nodeOptions: RedisOptions = {};
    /** Which connections go over TLS (the data servers, the Sentinels), for Test connection. */
    readonly tlsTo: { servers: boolean; sentinels: boolean };
    /**
     * The first server this connection asks about the others over TLS (a Sentinel, a seed of the cluster), with
     * its TLS options as the client uses them; none in standalone mode, whose client tells its TLS problems itself.
     */
    private readonly firstTlsAsked: { host: string; port: number; tls: RedisTlsOptions } | undefined;
    /** When the TLS handshake with firstTlsAsked was last tried for a closed connection's reason (ms), and what it said. */
    private tlsDiagnosedAt = -Infinity;
    private closedTlsDiagnosis: string | undefined;
    private readonly retryStrategy: (times: number) => number;
    /** Cluster mode: subscribers made since one was last ready, for the wait before the next. */
    private subscriberAttempts = 0;
    /** Cluster mode: subscribers made in all, so that the next one goes to the next node. */
    private subscribersMade = 0;
    private subscriberTimer: NodeJS.Timeout | undefined;
    /** Cluster mode: the last problem a node had (`host:port: ECONNREFUSED ...`), until the client is ready. */
    private nodeProblem: string | undefined;

    constructor(settings: RedisSettings, options: RedisConnectionOptions = {}) {
        const checked = checkedRedisSettings(settings);
        this.prefix = checked.prefix;
        this.mode = checked.mode;
        this.minReplicas = checked.minReplicas;
        this.replicaWaitMs = checked.replicaWaitMs;
        this.tlsTo = checked.tlsTo;
        const tlsOf = (host: string): RedisTlsOptions => tlsOptionsFor(checked.tls, host);
        const firstSentinel = checked.mode === 'sentinel' && checked.tlsTo.sentinels ? checked.sentinelAddresses[0] : undefined;
        const firstSeed = checked.mode === 'cluster' && checked.tlsTo.servers ? checked.clusterNodes[0] : undefined;
        // ioredis gives each Sentinel the TLS configuration as it is (no server name of the Sentinel's own).
        this.firstTlsAsked = firstSentinel
            ? { ...firstSentinel, tls: checked.tls ?? {} }
            : firstSeed
              ? { ...firstSeed, tls: tlsOf(firstSeed.host) }
              : undefined;
        // WAIT blocks the connection it runs on, so a command queued behind one may wait that long before its turn.
        this.replyBoundMs = (options.replyBoundMs ?? REPLY_BOUND_MS) + (checked.minReplicas > 0 ? checked.replicaWaitMs : 0);
        const maxWait = options.maxReconnectWaitMs ?? 2000;
        const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxWait);
        this.retryStrategy = retryStrategy;
        const common: RedisOptions = {
            username: checked.username || undefined,
            password: checked.password || undefined,
            connectionName: options.clientName,
            connectTimeout: options.connectTimeoutMs ?? 5000,
            enableOfflineQueue: false,
            autoResendUnfulfilledCommands: false,
            maxRetriesPerRequest: 0,
            lazyConnect: false,
            retryStrategy,
            // Each command fails after the bound; a connection that sends nothing back for that long while commands
            // wait is dropped and made again, which in sentinel mode also asks the Sentinels where the primary is now.
            commandTimeout: this.replyBoundMs,
            socketTimeout: this.replyBoundMs,
        };
        if (checked.mode === 'cluster') {
            const useTls = checked.tlsTo.servers;
            // Each node's own TLS options, for its own server name: ioredis lays a node's options over redisOptions.
            this.clusterNodes = checked.clusterNodes.map((node) => (useTls ? { ...node, tls: tlsOf(node.host) } : node));
            // What the cluster client gives each node's connection (it sets their reconnection and queue itself).
            const { retryStrategy: _retry, enableOfflineQueue: _queue, lazyConnect: _lazy, ...nodeOptions } = common;
            this.nodeOptions = useTls ? { ...nodeOptions, tls: checked.tls ?? {} } : nodeOptions;
            const clusterOptions: ClusterOptions = {
                redisOptions: this.nodeOptions,
                // The nodes the cluster names (CLUSTER SLOTS, MOVED) are connected with the server name of their own
                // host, as a seed is: mapped to themselves, with their TLS options.
                ...(useTls
                    ? {
                          natMap: (key: string) => {
                              const { host, port } = hostAndPort(key);
                              const node: ClusterNodeAddress & { tls: RedisTlsOptions } = { host, port, tls: tlsOf(host) };
                              return node;
                          },
                      }
                    : {}),
                enableOfflineQueue: false,
                lazyConnect: false,
                clusterRetryStrategy: retryStrategy,
                // A command whose node connection closed before the reply may have run: ioredis would send it again
                // after this wait (to the node the slots name then), so a script could run twice. 0: it fails, as a
                // lost reply does in the other modes. A shard answering CLUSTERDOWN is away: fail at once (503) too.
                retryDelayOnFailover: 0,
                retryDelayOnClusterDown: 0,
                // MOVED, ASK and TRYAGAIN are answered before anything ran, so following them cannot apply a write twice.
                slotsRefreshTimeout: Math.min(this.replyBoundMs, 2000),
            };
            this.client = new Cluster(
                this.clusterNodes.map((node) => ({ ...node })),
                clusterOptions,
            );
            // ioredis connects to a node when a command first goes there, and learns that a node is gone only from a
            // command sent to it: with every node stopped, an idle client would stay 'ready' until the nodes' next
            // writes. Connected at once, each node's connection ends with its node, and the client reconnects
            // ('reconnecting') when the last one has. Only once the client is ready, and after the command that made
            // it add a node: without an offline queue a node's connection still being made refuses commands (the
            // client's own ready check among them), where one not yet made queues them until it is. The connection
            // is ready once the client is and every primary's connection is.
            const cluster = this.client;
            const connectNodes = (): void => {
                setImmediate(() => {
                    if (cluster.status !== 'ready') return;
                    for (const node of cluster.nodes('all')) if (node.status === 'wait') node.connect().catch(() => undefined);
                    this.clusterReady();
                });
            };
            cluster.on('+node', (node: Redis) => {
                node.once('ready', () => this.clusterReady());
                connectNodes();
            });
            cluster.on('ready', connectNodes);
            // A node's own problem (refused, wrong password) says more than "Failed to refresh slots cache".
            this.client.on('node error', (err: Error, key: string) => {
                // Said of every node after its own problem (refused, timed out), which it would hide.
                if (err.message === 'Connection is closed.' && this.nodeProblem) return;
                this.nodeProblem = `${key}: ${explainedTlsProblem(err.message)}`;
                this.lastProblem = this.nodeProblem;
                this.changed();
            });
        } else {
            let redisOptions: RedisOptions;
            if (checked.mode === 'sentinel') {
                redisOptions = {
                    ...common,
                    sentinels: checked.sentinelAddresses,
                    name: checked.masterName,
                    role: 'master',
                    sentinelPassword: checked.sentinelPassword || undefined,
                    sentinelCommandTimeout: Math.min(this.replyBoundMs, 2000),
                    // When every Sentinel is away, ask again with the same backoff as a lost connection, never give up.
                    sentinelRetryStrategy: retryStrategy,
                    // Not ioredis's failoverDetector: measured with ioredis 5.11, a +switch-master arriving while the client
                    // is reconnecting ends the client for good. A demoted primary still answering is left anyway, since
                    // it answers writes with READONLY; one that stopped answering is dropped by socketTimeout.
                    failoverDetector: false,
                    // ioredis lays `tls` over the address a Sentinel names; the address mapped to itself carries
                    // the server name of its own host (a Sentinel may name a host name), as standalone sends the URL's.
                    ...(checked.tlsTo.servers
                        ? {
                              tls: checked.tls ?? {},
                              enableTLSForSentinelMode: true,
                              natMap: (key: string) => {
                                  const { host, port } = hostAndPort(key);
                                  const { servername } = tlsOf(host);
                                  const address: SentinelAddress & { servername?: string } = servername ? { host, port, servername } : { host, port };
                                  return address;
                              },
                          }
                        : {}),
                    // One TLS configuration for every Sentinel: ioredis takes no options per Sentinel, so no SNI
                    // but the TLS configuration's server name; each is still checked against the address listed.
                    ...(checked.tlsTo.sentinels ? { sentinelTLS: checked.tls ?? {} } : {}),
                };
            } else {
                const { address } = checked;
                redisOptions = {
                    ...common,
                    host: address.host,
                    port: address.port,
                    db: address.db,
                    ...(address.tls ? { tls: tlsOf(address.host) } : {}),
                };
            }
            this.client = new Redis(redisOptions);
        }
        this.client.on('ready', () => (this.client instanceof Cluster ? this.clusterReady() : this.become('ready')));
        this.client.on('reconnecting', () => this.become('reconnecting'));
        this.client.on('end', () => this.become('closed'));
        this.client.on('error', (err: Error) => {
            // The cluster's "Failed to refresh slots cache" says less than the nodes' own problems before it.
            const cause = (err as { lastNodeError?: Error }).lastNodeError;
            const problem = cause ? `${NO_CLUSTER_NODE_ANSWER}: ${this.nodeProblem ?? explainedTlsProblem(cause.message)}` : explainedTlsProblem(err.message);
            // Until a handshake says otherwise, a closed connection asked over TLS closed for the reason found last.
            this.lastProblem = this.closedTlsDiagnosis !== undefined && CLOSED.test(problem) ? this.closedTlsDiagnosis : problem;
            this.changed();
            this.diagnoseClosedTls(problem);
        });
    }

    /**
     * Why a connection asked over TLS closed, when ioredis says no more than "Connection is closed": the TLS
     * handshake with the first Sentinel or seed tried on its own, its problem explained
     * (`no Sentinel named ...: TLS to 10.0.0.5:26379: self-signed certificate (TLS: ...)`); undefined when it
     * succeeds, or when the problem is another one.
     */
    async tlsDiagnosis(problem: string, timeoutMs: number): Promise<string | undefined> {
        const asked = this.firstTlsAsked;
        if (!asked || !CLOSED.test(problem)) return undefined;
        const handshake = await tlsHandshakeProblem(asked.host, asked.port, asked.tls, timeoutMs);
        if (handshake === undefined) return undefined;
        return `${this.mode === 'sentinel' ? NO_SENTINEL_ANSWER : NO_CLUSTER_NODE_ANSWER}: TLS to ${hostText(asked.host)}:${asked.port}: ${handshake}`;
    }

    /** The deployed node's status tells the TLS problem too, asked at most every 10 s while the connection is down. */
    private diagnoseClosedTls(problem: string): void {
        if (!this.firstTlsAsked || !CLOSED.test(problem) || Date.now() - this.tlsDiagnosedAt < 10_000) return;
        this.tlsDiagnosedAt = Date.now();
        this.tlsDiagnosis(problem, 2000).then(
            (diagnosis) => {
                if (this.current === 'ready' || this.current === 'closed') return;
                this.closedTlsDiagnosis = diagnosis;
                if (diagnosis === undefined) return;
                this.lastProblem = diagnosis;
                this.changed();
            },
            () => undefined,
        );
    }

    /** `host:port` of the server this connection reached (in sentinel mode, the primary Sentinel named); none in cluster mode. */
    get serverAddress(): string | undefined {
        if (this.client instanceof Cluster) return undefined;
        return addressOf(this.client);
    }

    /** Whether the connection to the server (in cluster mode, to every primary) is encrypted, as its socket says. */
    get encrypted(): boolean {
        const servers = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
        return servers.length > 0 && servers.every((server) => (server.stream as Partial<TLSSocket> | undefined)?.encrypted === true);
    }

    /**
     * Resolves once `minReplicas` replicas have every write this connection sent so far (WAIT counts the writes of
     * the connection it runs on, which is every node's, so concurrent writers only wait for more); at once when
     * minReplicas is 0. Rejects with a StoreError when they do not within replicaWaitMs: the write stays on the
     * primary, but a failover now could lose it, so it must not be acknowledged.
     *
     * `key` is a key the write touched. In cluster mode WAIT has no key, so the cluster client would send it to any
     * node, where it would count another connection's writes; it goes to the primary serving the key's slot, on the
     * connection that carried the write, and waits for that shard's replicas.
     */
    async acknowledged(key: string): Promise<void> {
        if (this.minReplicas === 0) return;
        let confirmed: number;
        try {
            const target = this.client instanceof Cluster ? primaryOfKey(this.client, key) : this.client;
            confirmed = Number(await target.call('WAIT', this.minReplicas, this.replicaWaitMs));
        } catch (err) {
            throw new StoreError(`Redis: waiting for replicas failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        if (confirmed < this.minReplicas) {
            throw new StoreError(
                `Redis: ${confirmed} of the ${this.minReplicas} replicas minReplicas asks for confirmed the write within ${this.replicaWaitMs} ms; it is not acknowledged`,
            );
        }
    }

    get state(): RedisConnectionState {
        return this.current;
    }

    /** The last connection error while not ready (`ECONNREFUSED 127.0.0.1:6379`, `WRONGPASS ...`). */
    get problem(): string | undefined {
        return this.current === 'ready' ? undefined : this.lastProblem;
    }

    /** A key of this connection's prefix: `key('calls', nodeId)` is `<prefix>:calls:<nodeId>`. */
    key(...parts: string[]): string {
        return [this.prefix, ...parts].join(':');
    }

    /** Calls `listener` whenever the state or the problem changes; returns the way to stop. */
    onChange(listener: () => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
    }

    /** Resolves once connected; rejects with a StoreError after `timeoutMs` or when the connection was closed. */
    async ready(timeoutMs = 10_000): Promise<void> {
        if (this.current === 'ready') return;
        if (this.current === 'closed') throw new StoreError('the Redis connection is closed', { reason: 'closed' });
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
                stop();
                reject(new StoreError(`Redis did not answer within ${timeoutMs} ms${this.lastProblem ? `: ${this.lastProblem}` : ''}`));
            }, timeoutMs);
            const stop = this.onChange(() => {
                if (this.current === 'ready') {
                    clearTimeout(timer);
                    stop();
                    resolve();
                } else if (this.current === 'closed') {
                    clearTimeout(timer);
                    stop();
                    reject(new StoreError('the Redis connection is closed', { reason: 'closed' }));
                }
            });
        });
    }

    /** The server's version and persistence settings; in cluster mode, each primary's, and the least durable's. */
    async serverInfo(): Promise<RedisServerInfo> {
        if (!(this.client instanceof Cluster)) return infoOf(this.client);
        const primaries = this.client.nodes('master');
        if (primaries.length === 0) throw new StoreError('the Redis Cluster named no primary');
        const shards = await Promise.all(primaries.map(async (node): Promise<RedisShardInfo> => ({ primary: nodeKeyOf(node), ...(await infoOf(node)) })));
        shards.sort((a, b) => a.primary.localeCompare(b.primary));
        return { ...clusterInfoOf(shards), shards };
    }

    /**
     * Listens on `channel` (a full key, prefix included) until the returned function is called. Best effort, as
     * pub/sub is: a message published while the subscriber connection is down is lost, which `subscribed` tells;
     * a subscriber that cannot connect or subscribe costs nothing but the messages.
     */
    subscribe(channel: string, listener: ChannelListener): () => void {
        if (this.current === 'closed') return () => undefined;
        let listeners = this.channels.get(channel);
        if (!listeners) {
            listeners = new Set();
            this.channels.set(channel, listeners);
        }
        listeners.add(listener);
        const subscriber = this.subscriberClient();
        // Not yet connected: the 'ready' handler subscribes to every channel then.
        if (subscriber.status === 'ready') this.subscribeOn(subscriber, [channel]);
        let stopped = false;
        return () => {
            if (stopped) return;
            stopped = true;
            const current = this.channels.get(channel);
            if (!current?.delete(listener) || current.size > 0) return;
            this.channels.delete(channel);
            if (this.channels.size > 0) {
                this.subscriber?.unsubscribe(channel).catch(() => undefined);
                return;
            }
            this.subscriber?.disconnect();
            this.subscriber = undefined;
        };
    }

    private subscriberClient(): Redis {
        if (this.subscriber) return this.subscriber;
        const name = this.client instanceof Cluster ? this.nodeOptions.connectionName : this.client.options.connectionName;
        const wakeName = name ? { connectionName: `${name}-wake` } : {};
        // Subscribed here on every 'ready', so that each listener learns of every resubscribe (ioredis's own
        // resubscribe tells nobody). A subscriber sends no command while it waits for messages, so there is no
        // reply to bound.
        const subscriber =
            this.client instanceof Cluster
                ? this.clusterSubscriber(wakeName)
                : this.client.duplicate({ ...wakeName, autoResubscribe: false, socketTimeout: undefined });
        subscriber.on('ready', () => {
            this.subscriberAttempts = 0;
            this.subscribeOn(subscriber, [...this.channels.keys()]);
        });
        subscriber.on('message', (channel: string, text: string) => {
            for (const listener of [...(this.channels.get(channel) ?? [])]) listener.message(text);
        });
        // Its problems are the main connection's too and are reported there; without a listener ioredis would
        // print each one.
        subscriber.on('error', () => undefined);
        this.subscriber = subscriber;
        return subscriber;
    }

    /**
     * Cluster mode: a subscriber on one node, any node, since a Redis Cluster forwards every PUBLISH to all its
     * nodes. Not ioredis's cluster subscriber, which resubscribes without telling anyone. A node that goes away may
     * never come back (its replica took over), so the subscriber is not made again to it: when it ends, the next one
     * goes to the next node the cluster knows (or the next seed), after the usual backoff.
     */
    private clusterSubscriber(name: { connectionName?: string }): Redis {
        const cluster = this.client as Cluster;
        // A known node's own TLS options (their server name may be a seed's host name that ioredis resolved to an address).
        const known = cluster.nodes('all').map((node) => ({ host: node.options.host ?? '', port: node.options.port ?? 0, tls: node.options.tls }));
        const candidates: Array<ClusterNodeAddress & { tls?: RedisTlsOptions }> = [...known, ...this.clusterNodes];
        const { host, port, tls } = candidates[this.subscribersMade % candidates.length]!;
        this.subscribersMade += 1;
        this.subscriberAttempts += 1;
        const subscriber = new Redis({
            ...this.nodeOptions,
            ...name,
            host,
            port,
            ...(this.tlsTo.servers && tls ? { tls } : {}),
            enableOfflineQueue: false,
            autoResubscribe: false,
            socketTimeout: undefined,
            retryStrategy: () => null,
        });
        subscriber.once('end', () => {
            if (subscriber !== this.subscriber) return;
            this.subscriber = undefined;
            if (this.channels.size === 0 || this.current === 'closed') return;
            this.subscriberTimer = setTimeout(() => {
                this.subscriberTimer = undefined;
                if (this.channels.size > 0 && this.current !== 'closed' && !this.subscriber) this.subscriberClient();
            }, this.retryStrategy(this.subscriberAttempts));
        });
        return subscriber;
    }

    private subscribeOn(subscriber: Redis, channels: string[]): void {
        if (channels.length === 0) return;
        subscriber.subscribe(...channels).then(
            () => {
                if (subscriber !== this.subscriber) return;
                for (const channel of channels) for (const listener of [...(this.channels.get(channel) ?? [])]) listener.subscribed();
            },
            // Refused (an ACL without pub/sub) or the connection dropped: the next 'ready' tries again, and the
            // listeners' own fallback covers the time between.
            () => undefined,
        );
    }

    /** Closes the connection after the replies already asked for have come. */
    async close(): Promise<void> {
        clearTimeout(this.subscriberTimer);
        const subscriber = this.subscriber;
        this.subscriber = undefined;
        subscriber?.disconnect();
        this.channels.clear();
        if (this.current === 'closed') return;
        await this.client.quit().catch(() => this.client.disconnect());
        this.become('closed');
    }

    /** Cluster mode: ready once the client is and the connection to every primary is made. */
    private clusterReady(): void {
        const cluster = this.client as Cluster;
        if (cluster.status !== 'ready') return;
        const primaries = cluster.nodes('master');
        if (primaries.length > 0 && primaries.every((node) => node.status === 'ready')) this.become('ready');
    }

    private become(state: RedisConnectionState): void {
        if (this.current === state) return;
        this.current = state;
        if (state === 'ready') {
            this.lastProblem = undefined;
            this.nodeProblem = undefined;
            this.closedTlsDiagnosis = undefined;
            this.tlsDiagnosedAt = -Infinity;
        }
        this.changed();
    }

    private changed(): void {
        for (const listener of [...this.listeners]) listener();
    }
}

/** A CONFIG value, or undefined where CONFIG is renamed or denied to this ACL user. */
async function configOf(client: Redis, name: string): Promise<string | undefined> {
    try {
        const reply = (await client.config('GET', name)) as string[];
        return reply[1];
    } catch {
        return undefined;
    }
}

/** What one server says about itself (INFO server, persistence, replication and two CONFIG values). */
async function infoOf(client: Redis): Promise<RedisServerInfo> {
    const [server, persistence, replication, save, appendFsync] = await Promise.all([
        client.info('server'),
        client.info('persistence'),
        client.info('replication'),
        configOf(client, 'save'),
        configOf(client, 'appendfsync'),
    ]);
    return { ...serverInfoOf(server, persistence, save, appendFsync), ...replicationOf(replication) };
}

const FSYNC_STRENGTH = ['no', 'everysec', 'always'];

/**
 * A cluster's shards summed up as one server: a write is as durable as the shard it lands on, so the cluster is
 * as durable as its least durable shard. Its replicas are every shard's.
 */
export function clusterInfoOf(shards: readonly RedisShardInfo[]): Omit<RedisServerInfo, 'shards'> {
    const versions = [...new Set(shards.map((shard) => shard.version))];
    const fsyncs = shards.flatMap((shard) => (shard.aof ? [shard.aof.fsync] : []));
    // An fsync policy this code does not know counts as the weakest.
    fsyncs.sort((a, b) => FSYNC_STRENGTH.indexOf(a) - FSYNC_STRENGTH.indexOf(b));
    return {
        version: versions.join(', '),
        aof: shards.length > 0 && fsyncs.length === shards.length ? { fsync: fsyncs[0]! } : false,
        rdb: shards.length > 0 && shards.every((shard) => shard.rdb),
        role: 'master',
        replicas: shards.flatMap((shard) => shard.replicas ?? []),
    };
}

function infoField(info: string, name: string): string | undefined {
    const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
    return match?.[1]?.trim();
}

/**
 * INFO server and persistence, plus CONFIG GET save and appendfsync when they may be read, as what the user asks: is
 * what the nodes write durable? Without CONFIG, RDB counts as on when the server has saved or has changes to save.
 */
export function serverInfoOf(server: string, persistence: string, saveRules: string | undefined, appendFsync: string | undefined): RedisServerInfo {
    const aofOn = infoField(persistence, 'aof_enabled') === '1';
    return {
        version: infoField(server, 'redis_version') ?? 'unknown',
        aof: aofOn ? { fsync: appendFsync ?? 'unknown' } : false,
        rdb:
            saveRules !== undefined
                ? saveRules.trim() !== ''
                : infoField(persistence, 'rdb_last_bgsave_status') === 'ok' && infoField(persistence, 'rdb_saves') !== '0',
    };
}

/** INFO replication's role and replicas (`slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0`). */
export function replicationOf(replication: string): { role: string; replicas: RedisReplicaInfo[] } {
    const replicas: RedisReplicaInfo[] = [];
    for (const match of replication.matchAll(/^slave\d+:(.*)$/gm)) {
        const fields = new Map(
            match[1]!
                .trim()
                .split(',')
                .map((pair) => pair.split('=') as [string, string]),
        );
        const lag = fields.get('lag');
        replicas.push({
            address: `${hostText(fields.get('ip') ?? '?')}:${fields.get('port') ?? '?'}`,
            state: fields.get('state') ?? 'unknown',
            ...(lag !== undefined ? { lag: Number(lag) } : {}),
        });
    }
    return { role: infoField(replication, 'role') ?? 'unknown', replicas };
}

/** Whether a failure is Redis being away (retry later, answer 503) rather than a fault of the request. */
export function isConnectionProblem(err: unknown): boolean {
    const message = err instanceof Error ? err.message : String(err);
    // `Command timed out` and `Socket timeout` are the reply bound: a Redis that stopped answering is away too; `max
    // retries per request` is a command in flight when the connection dropped; `All sentinels are unreachable` is a
    // failover, or every Sentinel, away; CLUSTERDOWN, TRYAGAIN, a slot table that could not be read and a cluster
    // that stopped are a Redis Cluster's shard, or all of it, away.
    return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|enableOfflineQueue|LOADING|MASTERDOWN|READONLY|Command timed out|Socket timeout|max retries per request|sentinels are unreachable|NOREPLICAS|CLUSTERDOWN|TRYAGAIN|refresh slots cache|startup nodes is available|Cluster is (?:ended|disconnected|disconnecting)|Too many Cluster redirections|primary of slot/i.test(
        message,
    );
}

/**
 * ioredis's text when no Sentinel helped, without its retry plans, which a one-off test does not follow; when no
 * cluster node told the slots, the last node's own problem.
 */
function probeProblem(err: Error, connection: RedisConnection): string {
    // The connection's own listener, registered first, has put the nodes' problem into its text.
    if ((err as { lastNodeError?: Error }).lastNodeError) return connection.problem ?? err.message;
    const message = err.message;
    const sentinels = /^All sentinels are unreachable\..*?(?:Last error: (.*))?$/s.exec(message);
    if (!sentinels) return explainedTlsProblem(message);
    return `${NO_SENTINEL_ANSWER}: ${explainedTlsProblem(sentinels[1] ?? 'none answered')}`;
}

/** The Test connection's answer: the server's own account, and how it was reached. */
export interface RedisProbe extends RedisServerInfo {
    mode: RedisMode;
    /** `host:port` of the primary reached (in sentinel mode, the one the Sentinels named; in cluster mode, see `shards`). */
    primary?: string;
    /**
     * TLS in use: `servers` when the connection to the server (in cluster mode, to every primary) is encrypted;
     * `sentinels` (sentinel mode) when the Sentinels were asked over TLS.
     */
    tls: { servers: boolean; sentinels?: boolean };
}

/**
 * Connects once with `settings`, asks the server about itself and disconnects: the dialog's Test connection. Fails
 * with the connection's own problem (refused, wrong password, TLS, no Sentinel answering) within `timeoutMs`,
 * without retrying.
 */
export async function probeRedis(settings: RedisSettings, timeoutMs = 5000): Promise<RedisProbe> {
    const connection = new RedisConnection(settings, { connectTimeoutMs: timeoutMs, maxReconnectWaitMs: timeoutMs, clientName: 'ccaas-test-connection' });
    // The first error is the answer (refused, wrong password, TLS): a test does not wait for reconnections.
    const failed = new Promise<never>((_, reject) =>
        connection.client.once('error', (err: Error) => reject(new StoreError(probeProblem(err, connection), { cause: err }))),
    );
    failed.catch(() => undefined);
    try {
        await Promise.race([connection.ready(timeoutMs), failed]);
        const info = await Promise.race([connection.serverInfo(), failed]);
        const primary = connection.serverAddress;
        const tls = { servers: connection.encrypted, ...(connection.mode === 'sentinel' ? { sentinels: connection.tlsTo.sentinels } : {}) };
        return { mode: connection.mode, ...(primary ? { primary } : {}), ...info, tls };
    } catch (err) {
        const diagnosis = await connection.tlsDiagnosis(err instanceof Error ? err.message : String(err), timeoutMs);
        if (diagnosis === undefined) throw err;
        throw new StoreError(diagnosis, { cause: err });
    } finally {
        connection.client.disconnect();
    }
}
