// Everything a run measures with, started once and stopped at the end: the sink, the Node-RED processes (ours and
// core's, each with the loop-delay probe; a second instance for R2; both again on Node-RED 5), a redis-server of the
// run's own, and the load client's pools to each.
import path from 'node:path';
import { Pool } from 'undici';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../test/support/node-red-process';
import { removeRedisDir, startRedisServer, type RedisServer } from '../test/support/redis-server';
import { BENCH_NODES_SETTINGS, coreFlow, drainFlow, ourFlow, outAloneFlow, redisFlow } from './flows';
import { transportClient } from './load';
import { compiledLoopDelay, LoopDelayProbe } from './loop-delay-probe';
import { nodeRed5, nodeRedVersion } from './node-red-control';
import type { Options } from './options';
import { log } from './progress';
import { Sink } from './sink-control';

export interface Bench {
    options: Options;
    sink: Sink;
    /** The flows our Node-RED process holds, each deployed alone while it is measured. */
    flows: { ours: object[]; outAlone: object[]; drain: object[]; cluster: object[] };
    ours: NodeRedProcess;
    core: NodeRedProcess;
    probes: { ours: LoopDelayProbe; core: LoopDelayProbe };
    toOurs: Pool;
    toCore: Pool;
    toSink: Pool;
    toSinkByTransport: { pool: Pool; close(): void };
    /** Only when R1 or R2 runs. */
    redis?: RedisServer;
    /** The second instance of the cluster, only when R2 runs. */
    second?: { nodeRed: NodeRedProcess; pool: Pool };
    /** A and B on Node-RED 5, only when nr5 runs and the test matrix has installed it. */
    nr5?: { version: string; ours: NodeRedProcess; core: NodeRedProcess; toOurs: Pool; toCore: Pool };
}

export async function startBench(options: Options): Promise<Bench> {
    const sink = await Sink.start();
    const nodeArgs = (name: string): string[] => (options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(options.profileDir, name)] : []);
    // The two processes whose latency is compared carry the loop-delay probe, the same for both.
    const loopDelayJs = compiledLoopDelay();
    const probed = (name: string): { nodeArgs: string[]; env: NodeJS.ProcessEnv } => ({
        nodeArgs: [...nodeArgs(name), '--require', loopDelayJs],
        env: { CCAAS_LOOP_DELAY_FILE: path.join(path.dirname(loopDelayJs), `${name}.json`) },
    });
    const probeOf = (instance: NodeRedProcess, name: string): LoopDelayProbe =>
        new LoopDelayProbe(instance.pid, path.join(path.dirname(loopDelayJs), `${name}.json`));
    log(`sink on ${sink.url}; starting Node-RED ${nodeRedVersion()} twice (ours, core)`);
    // A redis-server of the run's own, persisting as the README's guarantees need (AOF, fsync always).
    const redis: RedisServer | undefined =
        options.only.has('redis1') || options.only.has('redis2') ? await startRedisServer({ persistence: 'always' }) : undefined;
    const clusterFlows = redis ? redisFlow(sink.url, redis.url) : [];
    // Each round deploys only the flow it measures, as B's process runs only B: the Redis flows' lease polling, say,
    // is no part of A's time or its latency.
    const aFlow = ourFlow(sink.url);
    const wFlow = outAloneFlow(sink.url, options.counts.outAlone, options.window);
    const drainFlows = drainFlow(sink.url, options.drainCount);
    const ourFlows = [...aFlow, ...wFlow, ...drainFlows, ...clusterFlows];
    const ours = await startNodeRed({ userDir: userDirWithPackage(), flows: ourFlows, settings: BENCH_NODES_SETTINGS, ...probed('ours') });
    const core = await startNodeRed({ flows: coreFlow(sink.url), ...probed('core') });
    const oursProbe = probeOf(ours, 'ours');
    const coreProbe = probeOf(core, 'core');
    // The second instance of the cluster runs the Redis flow only while R2 is measured, so R1 is one instance.
    const second =
        redis && options.only.has('redis2') ? await startNodeRed({ userDir: userDirWithPackage(), flows: [], nodeArgs: nodeArgs('second') }) : undefined;
    const nr5 = options.only.has('nr5') ? nodeRed5() : undefined;
    if (options.only.has('nr5') && !nr5) log('nr5: .matrix/node-red-5 is not installed (node scripts/test-matrix.js --install): skipped');
    const on5 = nr5 ? { nodeRedPath: nr5.nodeRedPath, nodeBinary: nr5.nodeBinary } : undefined;
    const ours5 = on5 ? await startNodeRed({ userDir: userDirWithPackage(), flows: ourFlow(sink.url), ...on5, nodeArgs: nodeArgs('ours5') }) : undefined;
    const core5 = on5 ? await startNodeRed({ flows: coreFlow(sink.url), ...on5, nodeArgs: nodeArgs('core5') }) : undefined;
    const toOurs = new Pool(ours.url, { connections: options.connections });
    const toCore = new Pool(core.url, { connections: options.connections });
    const toSink = new Pool(sink.url, { connections: options.connections });
    const toSecond = second ? new Pool(second.url, { connections: options.connections }) : undefined;
    const toOurs5 = ours5 ? new Pool(ours5.url, { connections: options.connections }) : undefined;
    const toCore5 = core5 ? new Pool(core5.url, { connections: options.connections }) : undefined;

    const toSinkByTransport = transportClient(sink.url, options.connections);

    return {
        options,
        sink,
        flows: { ours: aFlow, outAlone: wFlow, drain: drainFlows, cluster: clusterFlows },
        ours,
        core,
        probes: { ours: oursProbe, core: coreProbe },
        toOurs,
        toCore,
        toSink,
        toSinkByTransport,
        redis,
        second: second && toSecond ? { nodeRed: second, pool: toSecond } : undefined,
        nr5: nr5 && ours5 && core5 && toOurs5 && toCore5 ? { version: nr5.version, ours: ours5, core: core5, toOurs: toOurs5, toCore: toCore5 } : undefined,
    };
}

export async function stopBench(bench: Bench): Promise<void> {
    const { second, nr5, redis } = bench;
    await Promise.allSettled([bench.toOurs, bench.toCore, bench.toSink, second?.pool, nr5?.toOurs, nr5?.toCore].map((pool) => pool?.close()));
    bench.toSinkByTransport.close();
    await Promise.allSettled([bench.ours, bench.core, second?.nodeRed, nr5?.ours, nr5?.core].map((instance) => instance?.stop('SIGINT')));
    bench.sink.stop();
    if (redis) {
        await redis.stop();
        removeRedisDir(redis);
    }
}
