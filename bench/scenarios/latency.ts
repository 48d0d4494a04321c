// Latency: A, B and C at one steady rate (half of B's peak unless --latency-rate says otherwise), each event timed
// from the client sending it to its request arriving at the sink, with the event-loop delay and GC pauses of both
// Node-RED processes during each round.
import type { Pool } from 'undici';
import { benchEvent, PATHS } from '../flows';
import { crmBodyOf, eventBody, paced } from '../load';
import type { LoopDelaySummary } from '../loop-delay';
import { freshDeploy } from '../node-red-control';
import { log } from '../progress';
import { loopDelayText } from '../report';
import { measure, runRounds, summarise, type RoundResult, type ScenarioSummary } from '../rounds';
import type { Bench } from '../setup';
import type { Sink } from '../sink-control';

export interface LatencyResult {
    rate: number;
    seconds: number;
    ours: ScenarioSummary;
    core: ScenarioSummary;
    bare: ScenarioSummary;
    /** Per round: the event-loop delay and GC pauses of each Node-RED process during its latency run. */
    loopDelay: { ours: Array<LoopDelaySummary | undefined>; core: Array<LoopDelaySummary | undefined> };
    /** Per round: ms from the end of the redeploy to the first event arriving at the sink (before the clock). */
    firstEventMs: Array<{ ours: number; core: number }>;
}

/** `corePeak`: B's events per second in the load rounds. */
export async function measureLatency(bench: Bench, corePeak: number): Promise<LatencyResult> {
    const { options, sink, ours, core, toOurs, toCore, toSink } = bench;
    const oursProbe = bench.probes.ours;
    const coreProbe = bench.probes.core;
    // Latency at half of B's peak, a rate both pipelines sustain: the added latency a flow sees under a load it
    // handles comfortably.
    const latencyRate = options.latencyRate ?? (Math.round(corePeak / 2) || 100);
    const latencyOurs: RoundResult[] = [];
    const latencyCore: RoundResult[] = [];
    const latencyBare: RoundResult[] = [];
    const loopOurs: Array<LoopDelaySummary | undefined> = [];
    const loopCore: Array<LoopDelaySummary | undefined> = [];
    const firstEventMs: Array<{ ours: number; core: number }> = [];
    // A warm-up round here too: the first latency round runs on heaps full of the load rounds' garbage (about twice
    // the GC pauses of the rounds after it, in every run looked at) and on new connections.
    if (options.only.has('latency') && options.warmup) log('latency round 0 is a warm-up and is not counted');
    const counted = [latencyOurs, latencyCore, latencyBare, loopOurs, loopCore, firstEventMs];
    if (options.only.has('latency'))
        await runRounds(options.warmup, options.latencyRounds, counted, async (round) => {
            await freshDeploy(ours, bench.flows.ours);
            // The redeploy restores the call state earlier rounds left (thousands of calls): the clock starts once an
            // event has gone through end to end, so the rate is measured on a pipeline that is up, as B's is.
            const readyMs = { ours: await warmUp(sink, toOurs, PATHS.ours, 202), core: await warmUp(sink, toCore, PATHS.core, 200) };
            log(`round ${round} latency: first event through after the deploy in ${readyMs.ours} ms (A), ${readyMs.core} ms (B)`);
            firstEventMs.push(readyMs);
            const count = Math.max(1, Math.round(latencyRate * options.latencySeconds));
            await oursProbe.mark();
            latencyOurs.push(
                await measure({
                    sink,
                    nodeRedPid: ours.pid,
                    count,
                    arriveSeconds: 30,
                    run: () =>
                        paced({
                            pool: toOurs,
                            path: PATHS.ours,
                            rate: latencyRate,
                            seconds: options.latencySeconds,
                            expectStatus: 202,
                            body: eventBody(`lat-${round}`),
                        }),
                }),
            );
            loopOurs.push(await oursProbe.read());
            await coreProbe.mark();
            latencyCore.push(
                await measure({
                    sink,
                    nodeRedPid: core.pid,
                    count,
                    arriveSeconds: 30,
                    run: () =>
                        paced({
                            pool: toCore,
                            path: PATHS.core,
                            rate: latencyRate,
                            seconds: options.latencySeconds,
                            expectStatus: 200,
                            body: eventBody(`latcore-${round}`),
                        }),
                }),
            );
            loopCore.push(await coreProbe.read());
            latencyBare.push(
                await measure({
                    sink,
                    count,
                    arriveSeconds: 30,
                    run: () =>
                        paced({
                            pool: toSink,
                            path: '/crm/calls',
                            rate: latencyRate,
                            seconds: options.latencySeconds,
                            expectStatus: 200,
                            body: crmBodyOf(`latbare-${round}`),
                        }),
                }),
            );
            log(
                `round ${round} latency at ${latencyRate}/s: A p50 ${latencyOurs.at(-1)!.latencyMs?.p50} ms p99 ${latencyOurs.at(-1)!.latencyMs?.p99} ms; ` +
                    `B p50 ${latencyCore.at(-1)!.latencyMs?.p50} ms p99 ${latencyCore.at(-1)!.latencyMs?.p99} ms`,
            );
            log(`  A ${loopDelayText(loopOurs.at(-1))}`);
            log(`  B ${loopDelayText(loopCore.at(-1))}`);
        });
    return {
        rate: latencyRate,
        seconds: options.latencySeconds,
        ours: summarise("A at half of B's peak", latencyOurs),
        core: summarise('B at half of its peak', latencyCore),
        bare: summarise('C at the same rate (one hop, the floor)', latencyBare),
        loopDelay: { ours: loopOurs, core: loopCore },
        firstEventMs,
    };
}

/** Sends one event and waits for it at the sink: ms from sending to its arrival (NaN when it never came). */
async function warmUp(sink: Sink, pool: Pool, pathName: string, expectStatus: number): Promise<number> {
    await sink.reset();
    const started = performance.now();
    const response = await pool.request({
        path: pathName,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(benchEvent(`warm-up-${Date.now()}`, process.hrtime.bigint())),
    });
    await response.body.dump();
    if (response.statusCode !== expectStatus) throw new Error(`warm-up event answered ${response.statusCode}`);
    const arrived = await sink.waitFor(1, 60_000);
    return arrived ? Math.round(performance.now() - started) : NaN;
}
