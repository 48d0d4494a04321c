// A Redis replication group under Sentinel, started by a test on loopback ports: a primary, its replicas
// (`--replicaof`) and three `redis-server <conf> --sentinel` processes, each conf in a writable folder of its own
// (Sentinel rewrites it). Short down-after and failover timeouts let a test watch a failover within seconds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, temporaryDirectory } from './node-red-process';
import {
    cliTlsArguments,
    redisServerPath,
    removeRedisDir,
    startRedisServer,
    tlsConfigLines,
    type RedisServer,
    type RedisServerOptions,
    type RedisTlsFiles,
} from './redis-server';
import { until } from './wait';

export interface SentinelGroupOptions {
    /** Replicas of the first primary (default 1). Two keep one replica after a failover, for minReplicas 1. */
    replicas?: number;
    masterName?: string;
    /** Sentinel's down-after-milliseconds and failover-timeout. */
    downAfterMs?: number;
    failoverTimeoutMs?: number;
    /** The Sentinels' own requirepass. */
    sentinelPassword?: string;
    /** Options of every data server (persistence, requirepass). */
    server?: Pick<RedisServerOptions, 'persistence' | 'config'>;
    /**
     * Every data server and every Sentinel serves TLS only, with these files: replication and the Sentinels'
     * connections to the servers go over TLS too.
     */
    tls?: RedisTlsFiles;
}

export interface SentinelProcess {
    port: number;
    log(): string;
    stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface SentinelGroup {
    masterName: string;
    /** Every data server, the first primary first. */
    servers: RedisServer[];
    sentinels: SentinelProcess[];
    /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`, as the ccaas-redis node's `sentinels` takes it. */
    sentinelList: string;
    /** The primary's port as the first Sentinel that answers names it now. */
    primaryPort(): number | undefined;
    /** The server now named primary by the Sentinels. */
    primary(): RedisServer;
    /** redis-cli against a Sentinel. */
    sentinelCli(index: number, ...args: string[]): string;
    /** Waits until every Sentinel names a primary other than `oldPort`, and it has `replicas` replicas online. */
    waitForFailover(oldPort: number, replicas: number, timeoutMs?: number): Promise<number>;
    stop(): Promise<void>;
}

/** INFO replication's replicas in state online, as the server itself lists them. */
export function onlineReplicas(server: RedisServer): number {
    return (server.cli('INFO', 'replication').match(/^slave\d+:.*state=online/gm) ?? []).length;
}

async function startSentinel(confDir: string, lines: string[], password?: string, tls?: RedisTlsFiles): Promise<SentinelProcess> {
    const port = await freePort();
    const conf = path.join(confDir, 'sentinel.conf');
    fs.writeFileSync(
        conf,
        [
            ...(tls ? tlsConfigLines(tls, port) : [`port ${port}`]),
            'bind 127.0.0.1',
            'protected-mode no',
            `dir ${confDir}`,
            ...lines,
            ...(password ? [`requirepass ${password}`] : []),
        ].join('\n') + '\n',
    );
    let output = '';
    const child: ChildProcess = spawn(redisServerPath(), [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sentinel did not start on port ${port} within 10 s:\n${output}`)), 10_000);
        const collect = (chunk: Buffer): void => {
            output += chunk.toString();
            if (/\+monitor master/.test(output)) {
                clearTimeout(timer);
                resolve();
            }
        };
        child.stdout!.on('data', collect);
        child.stderr!.on('data', collect);
        child.once('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`sentinel exited (${code ?? signal}) before it was ready:\n${output}`));
        });
    });
    return {
        port,
        log: () => output,
        async stop(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
        },
    };
}

export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
    const masterName = options.masterName ?? 'ccaas-primary';
    const servers: RedisServer[] = [];
    const sentinels: SentinelProcess[] = [];
    const confDirs: string[] = [];
    const stop = async (): Promise<void> => {
        await Promise.all(sentinels.map((sentinel) => sentinel.stop('SIGKILL')));
        await Promise.all(servers.map((server) => server.stop('SIGKILL')));
        for (const server of servers) removeRedisDir(server);
        for (const dir of confDirs) fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        const auth = (options.server?.config ?? []).find((line) => line.startsWith('requirepass '))?.slice('requirepass '.length);
        // Every server may become a replica after a failover, so each carries the password it would replicate with.
        const config = [...(options.server?.config ?? []), ...(auth ? [`masterauth ${auth}`] : [])];
        const tls = options.tls ? { tls: options.tls } : {};
        const primary = await startRedisServer({ ...options.server, ...tls, config });
        servers.push(primary);
        for (let index = 0; index < (options.replicas ?? 1); index += 1) {
            servers.push(await startRedisServer({ ...options.server, ...tls, config: [...config, `replicaof 127.0.0.1 ${primary.port}`] }));
        }
        await until(() => onlineReplicas(primary) === servers.length - 1, 'the replicas in sync with the primary', 20_000, 50);
        for (let index = 0; index < 3; index += 1) {
            const dir = temporaryDirectory('sentinel');
            confDirs.push(dir);
            sentinels.push(
                await startSentinel(
                    dir,
                    [
                        `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
                        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
                        `sentinel failover-timeout ${masterName} ${options.failoverTimeoutMs ?? 3000}`,
                        `sentinel parallel-syncs ${masterName} 1`,
                        ...(auth ? [`sentinel auth-pass ${masterName} ${auth}`] : []),
                    ],
                    options.sentinelPassword,
                    options.tls,
                ),
            );
        }
        const sentinelCli = (index: number, ...args: string[]): string => {
            const authArgs = options.sentinelPassword ? ['-a', options.sentinelPassword, '--no-auth-warning'] : [];
            const result = spawnSync(
                'redis-cli',
                ['-h', '127.0.0.1', '-p', String(sentinels[index]!.port), ...cliTlsArguments(options.tls), ...authArgs, ...args],
                { encoding: 'utf8' },
            );
            if (result.status !== 0) throw new Error(`redis-cli (sentinel) ${args.join(' ')} failed: ${result.stderr}`);
            return result.stdout.trim();
        };
        const masterField = (index: number, field: string): string | undefined => {
            const lines = sentinelCli(index, 'SENTINEL', 'MASTER', masterName).split('\n');
            const at = lines.indexOf(field);
            return at >= 0 ? lines[at + 1] : undefined;
        };
        // A failover needs the quorum: every Sentinel must know the other two (hello messages, every 2 s) and the replicas.
        await until(
            () =>
                sentinels.every(
                    (_, index) => masterField(index, 'num-other-sentinels') === '2' && masterField(index, 'num-slaves') === String(servers.length - 1),
                ),
            'the Sentinels knowing each other and the replicas',
            30_000,
            100,
        );
        const portNamedBy = (index: number): number | undefined => {
            const reply = sentinelCli(index, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName).split('\n');
            return reply.length === 2 ? Number(reply[1]) : undefined;
        };
        const group: SentinelGroup = {
            masterName,
            servers,
            sentinels,
            sentinelList: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
            primaryPort: () => portNamedBy(0),
            primary() {
                const port = portNamedBy(0);
                const server = servers.find((candidate) => candidate.port === port);
                if (!server) throw new Error(`the Sentinels name port ${port}, not a server of this group`);
                return server;
            },
            sentinelCli,
            async waitForFailover(oldPort, replicas, timeoutMs = 30_000) {
                let port: number | undefined;
                await until(
                    () => {
                        const named = sentinels.map((_, index) => portNamedBy(index));
                        port = named[0];
                        if (port === undefined || port === oldPort || named.some((other) => other !== port)) return false;
                        const server = servers.find((candidate) => candidate.port === port);
                        return server !== undefined && onlineReplicas(server) >= replicas;
                    },
                    () => `a new primary with ${replicas} replicas online (the Sentinels name ${port})`,
                    timeoutMs,
                    100,
                );
                return port!;
            },
            stop,
        };
        return group;
    } catch (err) {
        await stop();
        throw err;
    }
}
