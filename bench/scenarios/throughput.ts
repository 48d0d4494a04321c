// The load scenarios of the table (A, W, B, C, X, R1, R2, A5/B5), each at the rate it sustains, round by round in
// the table's order, and their summaries under the labels the table prints.
import { log } from '../progress';
import { runRounds, summarise, type RoundResult, type ScenarioSummary } from '../rounds';
import type { Bench } from '../setup';
import { measureBare, measureTransport } from './clients';
import { measureOutAlone } from './out-alone';
import { measureCore, measureOnNodeRed5, measureOurs } from './pipelines';
import { measureRedisOneInstance, measureRedisTwoInstances } from './redis';

export type ThroughputScenario = 'ours' | 'outAlone' | 'core' | 'bare' | 'transport' | 'redis1' | 'redis2' | 'ours5' | 'core5';

export async function runThroughput(bench: Bench): Promise<Record<ThroughputScenario, RoundResult[]>> {
    const { options, redis, second, nr5 } = bench;
    const results: Record<ThroughputScenario, RoundResult[]> = {
        ours: [],
        outAlone: [],
        core: [],
        bare: [],
        transport: [],
        redis1: [],
        redis2: [],
        ours5: [],
        core5: [],
    };
    if (options.warmup) log('round 0 is a warm-up: it runs every scenario once and is not counted');
    await runRounds(options.warmup, options.rounds, Object.values(results), async (round) => {
        // What keeps and logs a scenario's result.
        const kept = (list: RoundResult[], result: RoundResult, what: string, unit = 'events/s'): void => {
            list.push(result);
            log(`round ${round} ${what}: ${result.eventsPerSecond} ${unit} (${result.received}/${result.sent} arrived)`);
        };
        if (options.only.has('ours')) kept(results.ours, await measureOurs(bench, round), 'A ours');
        if (options.only.has('outAlone')) kept(results.outAlone, await measureOutAlone(bench), 'W web service out alone', 'requests/s');
        if (options.only.has('core')) kept(results.core, await measureCore(bench, round), 'B core nodes');
        if (options.only.has('bare')) kept(results.bare, await measureBare(bench, round), 'C bare undici Pool', 'requests/s');
        if (options.only.has('transport')) kept(results.transport, await measureTransport(bench, round), "X web service out's transport alone", 'requests/s');
        if (redis && options.only.has('redis1')) kept(results.redis1, await measureRedisOneInstance(bench, redis, round), 'R1 A on Redis, one instance');
        if (redis && second) kept(results.redis2, await measureRedisTwoInstances(bench, redis, second, round), 'R2 A on Redis, two instances');
        if (nr5) {
            const { a5, b5 } = await measureOnNodeRed5(bench, nr5, round);
            results.ours5.push(a5);
            results.core5.push(b5);
            log(`round ${round} Node-RED 5: A ${a5.eventsPerSecond} events/s, B ${b5.eventsPerSecond} events/s`);
        }
    });
    return results;
}

export function summariseThroughput(results: Record<ThroughputScenario, RoundResult[]>, nr5Version?: string): Record<ThroughputScenario, ScenarioSummary> {
    return {
        ours: summarise('A  call event in -> criteria filter -> placeholder template -> web service out', results.ours),
        outAlone: summarise('W  web service out alone (fed inside Node-RED)', results.outAlone),
        core: summarise('B  http in -> switch -> template -> http request -> http response', results.core),
        bare: summarise('C  bare undici Pool -> sink', results.bare),
        transport: summarise("X  web service out's transport alone (axios over its undici adapter) -> sink", results.transport),
        redis1: summarise('R1 A with call state and outbox in Redis, one instance', results.redis1),
        redis2: summarise('R2 A with call state and outbox in Redis, two instances (round robin)', results.redis2),
        ours5: summarise(`A5 A on Node-RED ${nr5Version ?? '5'}`, results.ours5),
        core5: summarise(`B5 B on Node-RED ${nr5Version ?? '5'}`, results.core5),
    };
}
