// C and X, the clients without Node-RED: the CRM body posted straight to the sink by a bare undici Pool (C, the
// floor) and by web service out's own transport (X), so W/X is what the node, Node-RED and the outbox add.
import { crmBodyOf, roundLoad } from '../load';
import { measure, type RoundResult } from '../rounds';
import type { Bench } from '../setup';

/** C: a bare undici Pool. */
export function measureBare(bench: Bench, round: number): Promise<RoundResult> {
    const { options, sink } = bench;
    return measure({
        sink,
        count: options.counts.bare,
        arriveSeconds: 30,
        run: roundLoad(bench, bench.toSink, '/crm/calls', options.counts.bare, 200, crmBodyOf(`bare-${round}`)),
    });
}

/** X: web service out's transport (axios over its undici adapter). */
export function measureTransport(bench: Bench, round: number): Promise<RoundResult> {
    const { options, sink } = bench;
    return measure({
        sink,
        count: options.counts.transport,
        arriveSeconds: 30,
        run: roundLoad(bench, bench.toSinkByTransport.pool, '/crm/calls', options.counts.transport, 200, crmBodyOf(`transport-${round}`)),
    });
}
