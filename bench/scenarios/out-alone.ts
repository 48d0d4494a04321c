// W: web service out alone, fed inside Node-RED by the bench's feeder node (bench/nodes/bench-feeder.js), so the
// load client's HTTP and call event in are no part of it.
import { inject, freshDeploy } from '../node-red-control';
import { measure, type RoundResult } from '../rounds';
import type { Bench } from '../setup';

export async function measureOutAlone(bench: Bench): Promise<RoundResult> {
    const { options, sink, ours } = bench;
    await freshDeploy(ours, bench.flows.outAlone);
    const w = await measure({
        sink,
        nodeRedPid: ours.pid,
        count: options.counts.outAlone,
        arriveSeconds: Math.max(60, options.seconds * 3),
        run: async () => {
            const startNs = process.hrtime.bigint();
            await inject(ours, 'bench-out-alone-start');
            // The feeder sends the whole count: wait for it, bounded like every round.
            await sink.waitFor(options.counts.outAlone, options.seconds * 3 * 1000);
            return { sent: options.counts.outAlone, failed: 0, startNs };
        },
    });
    // The feeder inside Node-RED has no hrtime to stamp events with: no latency for this scenario.
    w.latencyMs = null;
    return w;
}
