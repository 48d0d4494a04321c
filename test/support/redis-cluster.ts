// A Redis Cluster started by a test on loopback: `shards` primaries (three by default) and, when asked, replicas of
// each, every one a real redis-server (`--cluster-enabled yes`) in a folder of its own, joined with
// `redis-cli --cluster create`. Each node's cluster bus port is chosen free like its port and given with
// `--cluster-port` (Redis 7): the default, port + 10000, may be taken, or past 65535 for a port of the ephemeral range.
import { spawnSync } from 'node:child_process';
import { freePort } from './node-red-process';
import { cliTlsArguments, removeRedisDir, startRedisServer, type RedisServer, type RedisServerOptions, type RedisTlsFiles } from './redis-server';
import { until } from './wait';

export interface RedisClusterOptions {
    /** Primaries, each serving a third (or so) of the slots. Default 3, the fewest `redis-cli --cluster create` takes. */
    shards?: number;
    /** Replicas of each primary (default 0). */
    replicasPerShard?: number;
    /** Persistence of every node (default: AOF, fsync always). */
    persistence?: RedisServerOptions['persistence'];
    /** How long a node may be unreachable before the others count it as failed (ms). */
    nodeTimeoutMs?: number;
    /** Every node's requirepass (and masterauth, for its replicas). */
    password?: string;
    /** Every node serves TLS only, with these files; the cluster bus and replication go over TLS too. */
    tls?: RedisTlsFiles;
    /** A host name every node announces, and the cluster names its nodes by (CLUSTER SLOTS, MOVED) instead of 127.0.0.1. */
    announceHostname?: string;
}

export interface RedisCluster {
    /** Every node, primaries first in the order `redis-cli --cluster create` made them primaries. */
    servers: RedisServer[];
    /** `127.0.0.1:p1,127.0.0.1:p2,...`: every primary, as the ccaas-redis node's `nodes` takes it. */
    nodes: string;
    /** redis-cli against the first node, following MOVED redirections (`-c`): a command on one key. */
    cli(...args: string[]): string;
    /** The same command on every node, each answer in the order of `servers`. */
    onEveryNode(...args: string[]): string[];
    /** The keys matching `pattern` on every primary: a SCAN visits one node only. */
    scan(pattern: string): string[];
    /** The node serving `key`'s slot now, and its replicas. */
    shardOf(key: string): { primary: RedisServer; replicas: RedisServer[] };
    /** Stops every node (SIGTERM flushes each AOF, SIGKILL does not). */
    stop(signal?: NodeJS.Signals): Promise<void>;
    /** Starts every node again on its port and folder (its nodes.conf holds the cluster), until the cluster is ok. */
    restart(): Promise<void>;
    /** Waits until every node says cluster_state:ok. */
    waitUntilOk(timeoutMs?: number): Promise<void>;
    /** Stops every node and removes their folders. */
    remove(): Promise<void>;
}

function redisCli(args: string[], password?: string, tls?: RedisTlsFiles): string {
    const auth = password ? ['-a', password, '--no-auth-warning'] : [];
    const result = spawnSync('redis-cli', [...cliTlsArguments(tls), ...auth, ...args], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${result.stderr || result.error?.message || `exit ${result.status}`}`);
    return result.stdout.trim();
}

/** `count` ports free now, none the same. */
async function freePorts(count: number): Promise<number[]> {
    const ports = new Set<number>();
    for (let tries = 0; ports.size < count && tries < count * 10; tries++) ports.add(await freePort());
    if (ports.size < count) throw new Error(`could not find ${count} free ports`);
    return [...ports];
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const shards = options.shards ?? 3;
    const replicas = options.replicasPerShard ?? 0;
    const count = shards * (1 + replicas);
    const ports = await freePorts(count * 2);
    const servers: RedisServer[] = [];
    const started = await Promise.allSettled(
        Array.from({ length: count }, (_, index) =>
            startRedisServer({
                port: ports[index]!,
                persistence: options.persistence ?? 'always',
                ...(options.tls ? { tls: options.tls } : {}),
                config: [
                    'cluster-enabled yes',
                    // Relative to the node's --dir, so each node keeps its own.
                    'cluster-config-file nodes.conf',
                    `cluster-port ${ports[count + index]!}`,
                    `cluster-node-timeout ${options.nodeTimeoutMs ?? 2000}`,
                    ...(options.password ? [`requirepass ${options.password}`, `masterauth ${options.password}`] : []),
                    ...(options.announceHostname ? [`cluster-announce-hostname ${options.announceHostname}`, 'cluster-preferred-endpoint-type hostname'] : []),
                ],
            }),
        ),
    );
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failure = started.find((result) => result.status === 'rejected');
    const removeAll = async (): Promise<void> => {
        await Promise.all(servers.map((server) => server.stop('SIGKILL')));
        for (const server of servers) removeRedisDir(server);
    };
    if (failure) {
        await removeAll();
        throw (failure as PromiseRejectedResult).reason;
    }

    const { password, tls } = options;
    const cli = (server: RedisServer, args: string[]): string => redisCli(['-h', '127.0.0.1', '-p', String(server.port), ...args], password, tls);
    const waitUntilOk = (timeoutMs = 30_000): Promise<void> =>
        until(
            () => servers.every((server) => /cluster_state:ok/.test(tryCli(server, ['CLUSTER', 'INFO']))),
            () =>
                `cluster_state:ok on every node (${servers.map((server) => `${server.port}: ${/cluster_state:(\w+)/.exec(tryCli(server, ['CLUSTER', 'INFO']))?.[1] ?? 'no answer'}`).join(', ')})`,
            timeoutMs,
            100,
        );
    const tryCli = (server: RedisServer, args: string[]): string => {
        try {
            return cli(server, args);
        } catch {
            return '';
        }
    };
    try {
        // redis-cli makes the first `shards` nodes primaries and gives each the replicas that follow.
        redisCli(
            ['--cluster', 'create', ...servers.map((server) => `127.0.0.1:${server.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
            password,
            tls,
        );
        await waitUntilOk();
    } catch (err) {
        await removeAll();
        throw err;
    }

    const byPort = (port: number): RedisServer => servers.find((server) => server.port === port)!;
    const primaries = (): RedisServer[] =>
        servers.filter((server) => {
            const info = tryCli(server, ['ROLE']);
            return info.startsWith('master');
        });
    return {
        servers,
        nodes: servers
            .slice(0, shards)
            .map((server) => `127.0.0.1:${server.port}`)
            .join(','),
        cli: (...args) => redisCli(['-c', '-h', '127.0.0.1', '-p', String(servers[0]!.port), ...args], password, tls),
        onEveryNode: (...args) => servers.map((server) => cli(server, args)),
        scan: (pattern) =>
            primaries()
                .flatMap((server) => cli(server, ['--scan', '--pattern', pattern]).split('\n'))
                .filter(Boolean),
        shardOf(key) {
            // Asked of any node that answers: a test may have stopped some.
            const slot = Number(servers.map((server) => tryCli(server, ['CLUSTER', 'KEYSLOT', key])).find((answer) => answer !== ''));
            for (const server of primaries()) {
                // CLUSTER SHARDS is 7.0's; CLUSTER NODES names each node's role, primary and slot ranges on one line.
                const own = cli(server, ['CLUSTER', 'NODES'])
                    .split('\n')
                    .find((line) => line.includes('myself'));
                const ranges = own?.split(' ').slice(8) ?? [];
                const serves = ranges.some((range) => {
                    const [from, to = from] = range.split('-').map(Number);
                    return slot >= from! && slot <= to!;
                });
                if (!serves) continue;
                const id = own!.split(' ')[0]!;
                const followers = cli(server, ['CLUSTER', 'NODES'])
                    .split('\n')
                    .filter((line) => line.split(' ')[3] === id)
                    .map((line) => byPort(Number(/:(\d+)@/.exec(line)![1])));
                return { primary: server, replicas: followers };
            }
            throw new Error(`no primary serves slot ${slot} of ${key}`);
        },
        async stop(signal = 'SIGTERM') {
            await Promise.all(servers.map((server) => server.stop(signal)));
        },
        async restart() {
            await Promise.all(servers.map((server) => server.restart()));
            await waitUntilOk();
        },
        waitUntilOk,
        remove: removeAll,
    };
}
