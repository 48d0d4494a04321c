// A and B, the comparison the goals are about: the screen-pop job done by our nodes (call event in -> criteria filter
// -> placeholder template -> web service out) and by Node-RED's core nodes (http in -> switch -> template -> http
// request -> http response); and both again on Node-RED 5 (A5, B5).
import { PATHS } from '../flows';
import { pipelineLoad } from '../load';
import { freshDeploy } from '../node-red-control';
import { measure, type RoundResult } from '../rounds';
import type { Bench } from '../setup';

/** A: our pipeline. */
export async function measureOurs(bench: Bench, round: number): Promise<RoundResult> {
    const { options, sink, ours } = bench;
    // A fresh deploy each round: every round starts with an empty call tracker, as the first did.
    await freshDeploy(ours, bench.flows.ours);
    return measure({
        sink,
        nodeRedPid: ours.pid,
        count: options.counts.ours,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, bench.toOurs, PATHS.ours, 'ours', options.counts.ours),
    });
}

/** B: the same job with core nodes. */
export async function measureCore(bench: Bench, round: number): Promise<RoundResult> {
    const { options, sink, core } = bench;
    return measure({
        sink,
        nodeRedPid: core.pid,
        count: options.counts.core,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, bench.toCore, PATHS.core, 'core', options.counts.core, 200),
    });
}

/** A5 and B5: A and B on Node-RED 5 / Node 22. */
export async function measureOnNodeRed5(bench: Bench, nr5: NonNullable<Bench['nr5']>, round: number): Promise<{ a5: RoundResult; b5: RoundResult }> {
    const { options, sink } = bench;
    await freshDeploy(nr5.ours, bench.flows.ours);
    const a5 = await measure({
        sink,
        nodeRedPid: nr5.ours.pid,
        count: options.counts.ours,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, nr5.toOurs, PATHS.ours, 'ours5', options.counts.ours),
    });
    const b5 = await measure({
        sink,
        nodeRedPid: nr5.core.pid,
        count: options.counts.core,
        arriveSeconds: 60,
        run: pipelineLoad(bench, round, nr5.toCore, PATHS.core, 'core5', options.counts.core, 200),
    });
    return { a5, b5 };
}
