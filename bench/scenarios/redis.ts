// R1 and R2: A with its call state and outbox in the run's redis-server, on one instance and then on two behind a
// round robin.
import { PATHS } from '../flows';
import { pipelineLoad, roundRobin } from '../load';
import { deploy, freshDeploy } from '../node-red-control';
import { measure, type RoundResult } from '../rounds';
import type { Bench } from '../setup';
import type { RedisServer } from '../../test/support/redis-server';

/** R1: one instance. */
export async function measureRedisOneInstance(bench: Bench, redis: RedisServer, round: number): Promise<RoundResult> {
    const { options, sink, ours } = bench;
    await freshDeploy(ours, bench.flows.cluster);
    redis.cli('FLUSHALL');
    return measure({
        sink,
        nodeRedPid: ours.pid,
        count: options.counts.redis,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, bench.toOurs, PATHS.redis, 'redis1', options.counts.redis),
    });
}

/** R2: two instances, their CPU added up. */
export async function measureRedisTwoInstances(bench: Bench, redis: RedisServer, second: NonNullable<Bench['second']>, round: number): Promise<RoundResult> {
    const { options, sink, ours } = bench;
    await freshDeploy(ours, bench.flows.cluster);
    await deploy(second.nodeRed, bench.flows.cluster);
    redis.cli('FLUSHALL');
    const r2 = await measure({
        sink,
        nodeRedPid: ours.pid,
        moreNodeRedPids: [second.nodeRed.pid],
        count: options.counts.redis,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, roundRobin([bench.toOurs, second.pool]), PATHS.redis, 'redis2', options.counts.redis),
    });
    await deploy(second.nodeRed, []);
    return r2;
}
