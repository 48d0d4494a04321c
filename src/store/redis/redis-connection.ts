import Redis, { type RedisOptions } from 'ioredis';
import { isIP } from 'node:net';
import { ConfigError } from '../../errors/coded-error';
import { StoreError } from '../durable-store';

/**
 * How the nodes find the Redis primary: `standalone` (one server at `url`, the only mode before 0.4.0) or
 * `sentinel` (the primary Sentinel names for `masterName`; the client asks again after a failover).
 */
export type RedisMode = 'standalone' | 'sentinel';

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
    /** TLS options for `rediss://` (a CA, a client certificate), from a tls-config node or a test. */
    tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REDIS_PREFIX = 'ccaas';
export const DEFAULT_SENTINEL_PORT = 26379;
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

/** `host:port, host:port` (IPv6 as `[::1]:26379`; the port defaults to Sentinel's 26379), or a ConfigError naming `sentinels`. */
export function parseSentinels(list: string): SentinelAddress[] {
    const items = list
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    if (items.length === 0) throw new ConfigError('sentinels: list at least one Sentinel as host:port (comma-separated)');
    return items.map((item) => {
        const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]@?#]+))(?::(\d{1,5}))?$/.exec(item);
        const port = match?.[3] === undefined ? DEFAULT_SENTINEL_PORT : Number(match[3]);
        if (!match || port < 1 || port > 65535) throw new ConfigError(`sentinels: "${item}" is not host:port (write, say, 10.0.0.5:26379)`);
        return { host: (match[1] ?? match[2])!, port };
    });
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
     * Where the nodes connect, in one canonical text: `redis://host:port` (the database left out) or
     * `sentinel://host:port,host:port/masterName`. A stored secret is only sent where the deployed node's target is.
     */
    target: string;
}

export type CheckedRedisSettings =
    | (CheckedCommon & { mode: 'standalone'; url: string; address: RedisAddress })
    | (CheckedCommon & { mode: 'sentinel'; sentinelAddresses: SentinelAddress[]; masterName: string });

const hostText = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** The settings checked: every problem a ConfigError naming its field. */
export function checkedRedisSettings(settings: RedisSettings): CheckedRedisSettings {
    const mode = String(settings.mode ?? '').trim() || 'standalone';
    if (mode === 'cluster') throw new ConfigError('mode: cluster mode is not available yet; use standalone or sentinel');
    if (mode !== 'standalone' && mode !== 'sentinel') throw new ConfigError(`mode: "${mode}" is not standalone or sentinel`);
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
        return { ...common, mode, url, address, target };
    }
    const sentinelAddresses = parseSentinels(String(settings.sentinels ?? ''));
    const masterName = String(settings.masterName ?? '').trim();
    if (masterName === '') throw new ConfigError('masterName: name the primary as the Sentinels monitor it (sentinel monitor <name> ...)');
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(masterName)) throw new ConfigError(`masterName: "${masterName}" must be 1 to 128 letters, digits, ".", "_" or "-"`);
    // A TLS node is only wired to rediss:// URLs so far; quietly connecting to Sentinels in the clear would be worse.
    if (settings.tls) throw new ConfigError('tls: TLS is not available in sentinel mode yet; remove the TLS configuration or use standalone mode');
    const where = sentinelAddresses.map(({ host, port }) => `${hostText(host)}:${port}`);
    const target = `sentinel://${[...new Set(where)].sort().join(',')}/${masterName}`;
    return { ...common, mode, sentinelAddresses, masterName, target };
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
 * reconnects by itself (in sentinel mode asking the Sentinels for the primary each time, so a failover is followed
 * without a redeploy); `state` and `problem` say how it stands, and `onChange` tells the nodes, so their status
 * follows.
 */
export class RedisConnection {
    readonly client: Redis;
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
     * sentinel mode it follows the primary too).
     */
    private subscriber: Redis | undefined;
    private readonly channels = new Map<string, Set<ChannelListener>>();

    constructor(settings: RedisSettings, options: RedisConnectionOptions = {}) {
        const checked = checkedRedisSettings(settings);
        this.prefix = checked.prefix;
        this.mode = checked.mode;
        this.minReplicas = checked.minReplicas;
        this.replicaWaitMs = checked.replicaWaitMs;
        // WAIT blocks the connection it runs on, so a command queued behind one may wait that long before its turn.
        this.replyBoundMs = (options.replyBoundMs ?? REPLY_BOUND_MS) + (checked.minReplicas > 0 ? checked.replicaWaitMs : 0);
        const maxWait = options.maxReconnectWaitMs ?? 2000;
        const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 10), maxWait);
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
            };
        } else {
            const { address } = checked;
            redisOptions = {
                ...common,
                host: address.host,
                port: address.port,
                db: address.db,
                // SNI carries host names only (RFC 6066): an IP address is checked against the certificate without it.
                ...(address.tls
                    ? { tls: { ...(checked.tls ?? {}), servername: checked.tls?.servername ?? (isIP(address.host) ? undefined : address.host) } }
                    : {}),
            };
        }
        this.client = new Redis(redisOptions);
        this.client.on('ready', () => this.become('ready'));
        this.client.on('reconnecting', () => this.become('reconnecting'));
        this.client.on('end', () => this.become('closed'));
        this.client.on('error', (err: Error) => {
            this.lastProblem = err.message;
            this.changed();
        });
    }

    /** `host:port` of the server this connection reached (in sentinel mode, the primary Sentinel named). */
    get serverAddress(): string | undefined {
        const stream = this.client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
        if (!stream?.remoteAddress || stream.remotePort === undefined) return undefined;
        return `${hostText(stream.remoteAddress)}:${stream.remotePort}`;
    }

    /**
     * Resolves once `minReplicas` replicas have every write this connection sent so far (WAIT counts the writes of
     * the connection it runs on, which is every node's, so concurrent writers only wait for more); at once when
     * minReplicas is 0. Rejects with a StoreError when they do not within replicaWaitMs: the write stays on the
     * primary, but a failover now could lose it, so it must not be acknowledged.
     */
    async acknowledged(): Promise<void> {
        if (this.minReplicas === 0) return;
        let confirmed: number;
        try {
            confirmed = Number(await this.client.call('WAIT', this.minReplicas, this.replicaWaitMs));
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

    /** The server's version and persistence settings. */
    async serverInfo(): Promise<RedisServerInfo> {
        const [server, persistence, replication] = await Promise.all([
            this.client.info('server'),
            this.client.info('persistence'),
            this.client.info('replication'),
        ]);
        return { ...serverInfoOf(server, persistence, await this.config('save'), await this.config('appendfsync')), ...replicationOf(replication) };
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
        const name = this.client.options.connectionName;
        const subscriber = this.client.duplicate({
            ...(name ? { connectionName: `${name}-wake` } : {}),
            // Subscribed here on every 'ready', so that each listener learns of every resubscribe (ioredis's own
            // resubscribe tells nobody).
            autoResubscribe: false,
            // A subscriber sends no command while it waits for messages, so there is no reply to bound.
            socketTimeout: undefined,
        });
        subscriber.on('ready', () => this.subscribeOn(subscriber, [...this.channels.keys()]));
        subscriber.on('message', (channel: string, text: string) => {
            for (const listener of [...(this.channels.get(channel) ?? [])]) listener.message(text);
        });
        // Its problems are the main connection's too and are reported there; without a listener ioredis would
        // print each one.
        subscriber.on('error', () => undefined);
        this.subscriber = subscriber;
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
        this.subscriber?.disconnect();
        this.subscriber = undefined;
        this.channels.clear();
        if (this.current === 'closed') return;
        await this.client.quit().catch(() => this.client.disconnect());
        this.become('closed');
    }

    /** A CONFIG value, or undefined where CONFIG is renamed or denied to this ACL user. */
    private async config(name: string): Promise<string | undefined> {
        try {
            const reply = (await this.client.config('GET', name)) as string[];
            return reply[1];
        } catch {
            return undefined;
        }
    }

    private become(state: RedisConnectionState): void {
        if (this.current === state) return;
        this.current = state;
        if (state === 'ready') this.lastProblem = undefined;
        this.changed();
    }

    private changed(): void {
        for (const listener of [...this.listeners]) listener();
    }
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
    // failover, or every Sentinel, away.
    return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|enableOfflineQueue|LOADING|MASTERDOWN|READONLY|Command timed out|Socket timeout|max retries per request|sentinels are unreachable|NOREPLICAS/i.test(
        message,
    );
}

/** ioredis's text when no Sentinel helped, without its retry plans, which a one-off test does not follow. */
function probeProblem(message: string): string {
    const sentinels = /^All sentinels are unreachable\..*?(?:Last error: (.*))?$/s.exec(message);
    if (!sentinels) return message;
    return `no Sentinel named a primary that could be reached: ${sentinels[1] ?? 'none answered'}`;
}

/** The Test connection's answer: the server's own account, and how it was reached. */
export interface RedisProbe extends RedisServerInfo {
    mode: RedisMode;
    /** `host:port` of the primary reached (in sentinel mode, the one the Sentinels named). */
    primary?: string;
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
        connection.client.once('error', (err: Error) => reject(new StoreError(probeProblem(err.message), { cause: err }))),
    );
    failed.catch(() => undefined);
    try {
        await Promise.race([connection.ready(timeoutMs), failed]);
        const info = await Promise.race([connection.serverInfo(), failed]);
        const primary = connection.serverAddress;
        return { mode: connection.mode, ...(primary ? { primary } : {}), ...info };
    } finally {
        connection.client.disconnect();
    }
}
