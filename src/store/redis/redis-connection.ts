import Redis, { type RedisOptions } from 'ioredis';
import { isIP } from 'node:net';
import { ConfigError } from '../../errors/coded-error';
import { StoreError } from '../durable-store';

/** What a ccaas-redis config node holds: its properties and credentials, as the editor names them. */
export interface RedisSettings {
    /** `redis://` or `rediss://` (TLS), host, port and database: `redis://127.0.0.1:6379/0`. */
    url: string;
    /** The start of every key the nodes write, so several flows or tenants can share one Redis. */
    prefix: string;
    username?: string;
    password?: string;
    /** TLS options for `rediss://` (a CA, a client certificate), from a tls-config node or a test. */
    tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_REDIS_PREFIX = 'ccaas';
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

/** The settings checked: every problem a ConfigError naming its field. */
export function checkedRedisSettings(settings: RedisSettings): RedisSettings & { address: RedisAddress } {
    const url = settings.url.trim() === '' ? DEFAULT_REDIS_URL : settings.url.trim();
    const prefix = settings.prefix.trim() === '' ? DEFAULT_REDIS_PREFIX : settings.prefix.trim();
    if (!PREFIX_PATTERN.test(prefix)) throw new ConfigError(`prefix: "${prefix}" must be 1 to 64 letters, digits, ".", "_" or "-"`);
    if (settings.password === undefined && settings.username) throw new ConfigError('password: a username needs its password');
    return { ...settings, url, prefix, address: parseRedisUrl(url) };
}

/** What the server says about itself: the Test connection answer and the start-up persistence warning. */
export interface RedisServerInfo {
    version: string;
    /** Append-only file on, and its fsync policy (`always`, `everysec`, `no`). */
    aof: false | { fsync: string };
    /** RDB snapshots configured (`save` rules). */
    rdb: boolean;
}

export type RedisConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface RedisConnectionOptions {
    /** Wait between reconnection attempts grows to this (ms). */
    maxReconnectWaitMs?: number;
    /** A connection attempt that has not answered in this long fails (ms). */
    connectTimeoutMs?: number;
    /** A name shown by CLIENT LIST, so an operator sees which Node-RED holds which connection. */
    clientName?: string;
}

/**
 * One Redis connection of a ccaas-redis config node, shared by the nodes that use it. Commands fail at once while it
 * is down (no offline queue, no resend of a command whose reply was lost): a node must never answer "durable" for a
 * write that is sitting in a client buffer, and a script resent after a lost reply could run twice. ioredis
 * reconnects by itself; `state` and `problem` say how it stands, and `onChange` tells the nodes, so their status
 * follows.
 */
export class RedisConnection {
    readonly client: Redis;
    readonly prefix: string;
    private current: RedisConnectionState = 'connecting';
    private lastProblem: string | undefined;
    private readonly listeners = new Set<() => void>();

    constructor(settings: RedisSettings, options: RedisConnectionOptions = {}) {
        const checked = checkedRedisSettings(settings);
        this.prefix = checked.prefix;
        const { address } = checked;
        const maxWait = options.maxReconnectWaitMs ?? 2000;
        const redisOptions: RedisOptions = {
            host: address.host,
            port: address.port,
            db: address.db,
            username: checked.username || undefined,
            password: checked.password || undefined,
            connectionName: options.clientName,
            connectTimeout: options.connectTimeoutMs ?? 5000,
            enableOfflineQueue: false,
            autoResendUnfulfilledCommands: false,
            maxRetriesPerRequest: 0,
            lazyConnect: false,
            retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxWait),
            // SNI carries host names only (RFC 6066): an IP address is checked against the certificate without it.
            ...(address.tls ? { tls: { ...(checked.tls ?? {}), servername: checked.tls?.servername ?? (isIP(address.host) ? undefined : address.host) } } : {}),
        };
        this.client = new Redis(redisOptions);
        this.client.on('ready', () => this.become('ready'));
        this.client.on('reconnecting', () => this.become('reconnecting'));
        this.client.on('end', () => this.become('closed'));
        this.client.on('error', (err: Error) => {
            this.lastProblem = err.message;
            this.changed();
        });
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
        const [server, persistence] = await Promise.all([this.client.info('server'), this.client.info('persistence')]);
        return serverInfoOf(server, persistence, await this.config('save'), await this.config('appendfsync'));
    }

    /** Closes the connection after the replies already asked for have come. */
    async close(): Promise<void> {
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

/** Whether a failure is Redis being away (retry later, answer 503) rather than a fault of the request. */
export function isConnectionProblem(err: unknown): boolean {
    const message = err instanceof Error ? err.message : String(err);
    return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|enableOfflineQueue|LOADING|MASTERDOWN|READONLY/i.test(message);
}

/**
 * Connects once with `settings`, asks the server about itself and disconnects: the dialog's Test connection. Fails
 * with the connection's own problem (refused, wrong password, TLS) within `timeoutMs`, without retrying.
 */
export async function probeRedis(settings: RedisSettings, timeoutMs = 5000): Promise<RedisServerInfo> {
    const connection = new RedisConnection(settings, { connectTimeoutMs: timeoutMs, maxReconnectWaitMs: timeoutMs, clientName: 'ccaas-test-connection' });
    // The first error is the answer (refused, wrong password, TLS): a test does not wait for reconnections.
    const failed = new Promise<never>((_, reject) => connection.client.once('error', (err: Error) => reject(new StoreError(err.message, { cause: err }))));
    failed.catch(() => undefined);
    try {
        await Promise.race([connection.ready(timeoutMs), failed]);
        return await Promise.race([connection.serverInfo(), failed]);
    } finally {
        connection.client.disconnect();
    }
}
