// The ratios a run is judged by and the goals of the README's Performance section, computed from the medians.
import type { ScenarioSummary } from './rounds';
import type { DrainResult } from './scenarios/drain';
import type { LatencyResult } from './scenarios/latency';
import type { ThroughputScenario } from './scenarios/throughput';
import type { TrackerMemory } from './tracker-memory';

export interface Goal {
    goal: string;
    value: number;
    target: number;
    met: boolean;
}

const ratio = (a: number, b: number): number => (b > 0 ? Math.round((100 * a) / b) / 100 : NaN);

export function ratiosOf(scenarios: Record<ThroughputScenario, ScenarioSummary>, latency: LatencyResult, drain: DrainResult[]) {
    return {
        oursOverCore: ratio(scenarios.ours.eventsPerSecond, scenarios.core.eventsPerSecond),
        oursOverBare: ratio(scenarios.ours.eventsPerSecond, scenarios.bare.eventsPerSecond),
        outAloneOverBare: ratio(scenarios.outAlone.eventsPerSecond, scenarios.bare.eventsPerSecond),
        transportOverBare: ratio(scenarios.transport.eventsPerSecond, scenarios.bare.eventsPerSecond),
        outAloneOverTransport: ratio(scenarios.outAlone.eventsPerSecond, scenarios.transport.eventsPerSecond),
        oursCpuOverCore: ratio(scenarios.ours.cpuMsPerEvent, scenarios.core.cpuMsPerEvent),
        p99OursOverCore: ratio(latency.ours.latencyMs?.p99 ?? NaN, latency.core.latencyMs?.p99 ?? NaN),
        drainOverOutAlone: ratio(drain.length ? Math.min(...drain.map((mode) => mode.requestsPerSecond)) : NaN, scenarios.outAlone.eventsPerSecond),
        redis1OverOurs: ratio(scenarios.redis1.eventsPerSecond, scenarios.ours.eventsPerSecond),
        redis2OverRedis1: ratio(scenarios.redis2.eventsPerSecond, scenarios.redis1.eventsPerSecond),
        ours5OverCore5: ratio(scenarios.ours5.eventsPerSecond, scenarios.core5.eventsPerSecond),
    };
}

/** What a backlog of this many requests may take of Node-RED's RSS while it is held (issue 32). */
const BACKLOG_RSS_GOAL_MB = 300;

export function goalsOf(ratios: ReturnType<typeof ratiosOf>, trackerCalls: number, tracker: TrackerMemory | undefined, drain: DrainResult[]): Goal[] {
    const held = drain.length ? Math.max(...drain.map((mode) => mode.nodeRedHeldRssMb)) : NaN;
    return [
        { goal: 'A >= 3x B (events/s)', value: ratios.oursOverCore, target: 3, met: ratios.oursOverCore >= 3 },
        { goal: 'A Node-RED CPU per event <= 1/3 of B (ratio)', value: ratios.oursCpuOverCore, target: 0.33, met: ratios.oursCpuOverCore <= 1 / 3 },
        // Against its own transport (X), not the bare pool: what the node and the outbox add is ours; axios's cost is not.
        {
            goal: 'W web service out alone >= 0.8x X its own transport (ratio)',
            value: ratios.outAloneOverTransport,
            target: 0.8,
            met: ratios.outAloneOverTransport >= 0.8,
        },
        {
            goal: "A p99 latency <= half of B's at half of B's peak (ratio)",
            value: ratios.p99OursOverCore,
            target: 0.5,
            met: ratios.p99OursOverCore <= 0.5,
        },
        {
            goal: "backlog drains >= 0.8x W's steady rate (ratio, slower mode)",
            value: ratios.drainOverOutAlone,
            target: 0.8,
            met: ratios.drainOverOutAlone >= 0.8,
        },
        {
            goal: `${drain[0]?.backlog ?? 0} queued requests held in <= ${BACKLOG_RSS_GOAL_MB} MB of Node-RED RSS (MB, worse mode)`,
            value: held,
            target: BACKLOG_RSS_GOAL_MB,
            met: held <= BACKLOG_RSS_GOAL_MB,
        },
        {
            goal: `${trackerCalls} tracked calls <= 64 MB more heap (MB)`,
            value: tracker ? Math.round(tracker.heapMb * 10) / 10 : NaN,
            target: 64,
            met: !!tracker && tracker.heapMb <= 64,
        },
    ];
}
