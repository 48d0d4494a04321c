// The Redis a shared-state test runs against, of either kind the package supports for one primary per key: one
// redis-server (standalone mode) or a three-shard Redis Cluster (cluster mode). A test body written against this
// runs on both: `for (const kind of REDIS_KINDS) describe(..., () => ...)`.
import { startRedisCluster, type RedisCluster } from './redis-cluster';
import { removeRedisDir, startRedisServer, type RedisServer, type RedisServerOptions } from './redis-server';

export type RedisKind = 'standalone' | 'cluster';
export const REDIS_KINDS: readonly RedisKind[] = ['standalone', 'cluster'];

/** The ccaas-redis properties that reach it (RedisSettings without the prefix). */
export type RedisTarget = { url: string } | { url: string; mode: 'cluster'; nodes: string };

export interface SharedRedis {
    kind: RedisKind;
    target: RedisTarget;
    /** Every primary's URL (standalone: the server's), for what watches them all (MONITOR). */
    primaryUrls: string[];
    /** One command, on the node that serves its key (standalone: the server). */
    cli(...args: string[]): string;
    /** A command on every node, each node's answer (standalone: one). */
    onEveryNode(...args: string[]): string[];
    /** The keys matching `pattern`, wherever they are. */
    scan(pattern: string): string[];
    /** Stops it (SIGTERM flushes the AOF; SIGKILL does not). */
    stop(signal?: NodeJS.Signals): Promise<void>;
    /** Starts it again on the same ports and folders, after a stop (a cluster: until its state is ok again). */
    restart(): Promise<void>;
    /** Stops it and removes its folders. */
    remove(): Promise<void>;
    /** The server, or the cluster, for what only one kind has. */
    server?: RedisServer;
    cluster?: RedisCluster;
}

export interface SharedRedisOptions {
    persistence?: RedisServerOptions['persistence'];
    /** Standalone only: more redis.conf lines. */
    config?: string[];
}

export async function startSharedRedis(kind: RedisKind, options: SharedRedisOptions = {}): Promise<SharedRedis> {
    if (kind === 'cluster') {
        const cluster = await startRedisCluster({ persistence: options.persistence });
        return {
            kind,
            target: { url: '', mode: 'cluster', nodes: cluster.nodes },
            primaryUrls: cluster.nodes.split(',').map((node) => `redis://${node}`),
            cli: cluster.cli,
            onEveryNode: cluster.onEveryNode,
            scan: cluster.scan,
            stop: cluster.stop,
            restart: cluster.restart,
            remove: cluster.remove,
            cluster,
        };
    }
    const server = await startRedisServer({ persistence: options.persistence, config: options.config });
    return {
        kind,
        target: { url: server.url },
        primaryUrls: [server.url],
        cli: server.cli,
        onEveryNode: (...args) => [server.cli(...args)],
        scan: (pattern) => server.cli('--scan', '--pattern', pattern).split('\n').filter(Boolean),
        stop: server.stop,
        restart: server.restart,
        async remove() {
            await server.stop('SIGKILL');
            removeRedisDir(server);
        },
        server,
    };
}

/**
 * `describe(title, body)` once for each kind of Redis, the kind in the title and given to `body`: one test body for
 * standalone and cluster mode.
 */
export function describeOnEachRedis(title: string, body: (this: Mocha.Suite, kind: RedisKind) => void): void {
    for (const kind of REDIS_KINDS) {
        describe(`${title} (${kind})`, function () {
            body.call(this, kind);
        });
    }
}
