// Rounds: measuring one round of a scenario (what arrived, how fast, at what CPU), running the warm-up and the
// counted rounds, and the medians a scenario's line of the table is made of.
import { watchProcess, type ProcessUsage } from './proc-stats';
import type { LoadResult } from './load';
import type { Sink } from './sink-control';

export interface RoundResult {
    count: number;
    sent: number;
    failed: number;
    received: number;
    distinctCalls: number;
    unreadable: number;
    /** Events delivered per second, from the first event sent to the last request arriving at the sink. */
    eventsPerSecond: number;
    latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
    /** CPU milliseconds the sending side (Node-RED, or the bare client for C) used per delivered event. */
    cpuMsPerEvent: number;
    nodeRed?: ProcessUsage;
    sink: ProcessUsage;
    client: ProcessUsage;
}

interface Measured {
    sink: Sink;
    nodeRedPid?: number;
    /** More Node-RED processes doing the work (a cluster): their CPU is added to the first one's. */
    moreNodeRedPids?: number[];
    count: number;
    /** Wait this long at most for what was sent to arrive. */
    arriveSeconds: number;
    run(): Promise<LoadResult>;
}

function clientUsage(): { stop(): ProcessUsage } {
    const cpu = process.cpuUsage();
    const started = performance.now();
    return {
        stop() {
            const used = process.cpuUsage(cpu);
            const seconds = (performance.now() - started) / 1000;
            const cpuSeconds = (used.user + used.system) / 1e6;
            return { cpuPercent: (100 * cpuSeconds) / seconds, peakRssMb: process.memoryUsage().rss / 2 ** 20, cpuSeconds };
        },
    };
}

export async function measure(scenario: Measured): Promise<RoundResult> {
    await scenario.sink.reset();
    const nodeRed = scenario.nodeRedPid ? watchProcesses([scenario.nodeRedPid, ...(scenario.moreNodeRedPids ?? [])]) : undefined;
    const sink = watchProcess(scenario.sink.pid);
    const client = clientUsage();
    const load = await scenario.run();
    await scenario.sink.waitFor(load.sent, scenario.arriveSeconds * 1000);
    const usage = { nodeRed: nodeRed?.stop(), sink: sink.stop(), client: client.stop() };
    const report = await scenario.sink.report();
    const seconds = report.lastAt ? Number(BigInt(report.lastAt) - load.startNs) / 1e9 : NaN;
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
        count: scenario.count,
        sent: load.sent,
        failed: load.failed,
        received: report.received,
        distinctCalls: report.distinctCalls,
        unreadable: report.unreadable,
        eventsPerSecond: report.received > 0 ? Math.round(report.received / seconds) : 0,
        cpuMsPerEvent: report.received > 0 ? Math.round((1e6 * (usage.nodeRed ?? usage.client).cpuSeconds) / report.received) / 1000 : NaN,
        latencyMs: report.latencyPercentilesUs
            ? {
                  p50: ms(report.latencyPercentilesUs.p50),
                  p90: ms(report.latencyPercentilesUs.p90),
                  p99: ms(report.latencyPercentilesUs.p99),
                  max: ms(report.latencyPercentilesUs.max),
              }
            : null,
        ...usage,
    };
}

/** Several processes watched as one: CPU added up, the largest peak RSS. */
function watchProcesses(pids: number[]): { stop(): ProcessUsage } {
    const watches = pids.map((pid) => watchProcess(pid));
    return {
        stop() {
            const usages = watches.map((watch) => watch.stop());
            return {
                cpuPercent: usages.reduce((sum, usage) => sum + usage.cpuPercent, 0),
                cpuSeconds: usages.reduce((sum, usage) => sum + usage.cpuSeconds, 0),
                peakRssMb: Math.max(...usages.map((usage) => usage.peakRssMb)),
            };
        },
    };
}

/**
 * Runs round 0 when `warmup` asks for it, then rounds 1 to `last`. Round 0 is not counted: what it added to the
 * `counted` lists goes when it ends (every part that ran in it added exactly one).
 */
export async function runRounds(warmup: boolean, last: number, counted: unknown[][], run: (round: number) => Promise<void>): Promise<void> {
    for (let round = warmup ? 0 : 1; round <= last; round++) {
        await run(round);
        if (round === 0) for (const list of counted) list.length = 0;
    }
}

function median(values: number[]): number {
    const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export interface ScenarioSummary {
    label: string;
    rounds: RoundResult[];
    eventsPerSecond: number;
    latencyMs: { p50: number; p99: number; max: number } | null;
    /** CPU ms per event of the sending side: Node-RED, or the bare client for C. */
    cpuMsPerEvent: number;
    nodeRedCpuPercent?: number;
    nodeRedPeakRssMb?: number;
    /** Every round delivered exactly its events, each once. */
    exact: boolean;
}

export function summarise(label: string, rounds: RoundResult[]): ScenarioSummary {
    const withLatency = rounds.filter((round) => round.latencyMs);
    return {
        label,
        rounds,
        eventsPerSecond: Math.round(median(rounds.map((round) => round.eventsPerSecond))),
        latencyMs: withLatency.length
            ? {
                  p50: median(withLatency.map((round) => round.latencyMs!.p50)),
                  p99: median(withLatency.map((round) => round.latencyMs!.p99)),
                  max: median(withLatency.map((round) => round.latencyMs!.max)),
              }
            : null,
        cpuMsPerEvent: median(rounds.map((round) => round.cpuMsPerEvent)),
        nodeRedCpuPercent: rounds[0]?.nodeRed ? Math.round(median(rounds.map((round) => round.nodeRed!.cpuPercent))) : undefined,
        nodeRedPeakRssMb: rounds[0]?.nodeRed ? Math.round(Math.max(...rounds.map((round) => round.nodeRed!.peakRssMb))) : undefined,
        exact: rounds.every((round) => round.received === round.sent && round.distinctCalls === round.sent && round.failed === 0),
    };
}
