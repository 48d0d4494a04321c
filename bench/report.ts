// What a run reports: the machine it ran on, the JSON file, and the table and goals it prints (the text the README's
// Performance section quotes).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AxiosAlone } from './axios-alone';
import type { Goal } from './goals';
import type { LoopDelaySummary } from './loop-delay';
import { medianLoopDelay } from './loop-delay-probe';
import { nodeRedVersion } from './node-red-control';
import type { ScenarioSummary } from './rounds';
import type { DrainResult } from './scenarios/drain';
import type { LatencyResult } from './scenarios/latency';
import type { TrackerMemory } from './tracker-memory';

const root = path.resolve(__dirname, '..');

export function describeMachine() {
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
        platform: `${os.type()} ${os.release()}`,
        node: process.version,
        nodeRed: nodeRedVersion(),
        commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || undefined,
    };
}

export function writeResult(file: string, result: object): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

export const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export function loopDelayText(summary: LoopDelaySummary | undefined): string {
    if (!summary) return 'loop delay n/a';
    const { delayMs, gc } = summary;
    return (
        `loop delay p50 ${fixed(delayMs.p50)} p99 ${fixed(delayMs.p99)} max ${fixed(delayMs.max)} ms, ` +
        `GC ${gc.count} pauses ${fixed(gc.totalMs)} ms total max ${fixed(gc.maxMs)} ms, CPU ${Math.round(summary.cpuMs)} ms`
    );
}

export function printTable(result: {
    machine: { cpus: number; cpuModel?: string; node: string; nodeRed: string; loadAverageAtStart: number[] };
    scenarios: Record<string, ScenarioSummary>;
    ratios: Record<string, number>;
    latency: LatencyResult;
    drain: DrainResult[];
    axiosAlone?: AxiosAlone;
    tracker?: TrackerMemory;
    goals: Goal[];
}): void {
    const { machine } = result;
    const lines: string[] = [];
    lines.push(
        `\n${machine.cpus} x ${machine.cpuModel ?? 'CPU'}, Node ${machine.node}, Node-RED ${machine.nodeRed}, load average at start ${machine.loadAverageAtStart.join(' ')}`,
    );
    lines.push('medians of the rounds; CPU ms/event = CPU time of Node-RED (for C: of the client) per delivered event;');
    lines.push('latency = event sent by the client -> request arrived at the sink');
    lines.push('');
    const head = ['scenario', 'events/s', 'rounds', 'CPU ms/event', 'Node-RED CPU %', 'Node-RED peak RSS MB', 'exact'];
    const rows = Object.values(result.scenarios)
        .filter((scenario) => scenario.rounds.length > 0)
        .map((scenario) => [
            scenario.label,
            String(scenario.eventsPerSecond),
            scenario.rounds.map((round) => round.eventsPerSecond).join(' '),
            fixed(scenario.cpuMsPerEvent, 3),
            scenario.nodeRedCpuPercent === undefined ? '-' : String(scenario.nodeRedCpuPercent),
            scenario.nodeRedPeakRssMb === undefined ? '-' : String(scenario.nodeRedPeakRssMb),
            scenario.exact ? 'yes' : 'NO',
        ]);
    const widths = head.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
    const format = (row: string[]): string =>
        row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
    lines.push(format(head));
    for (const row of rows) lines.push(format(row));
    lines.push('');
    const r = result.ratios;
    lines.push(
        `A/B ${fixed(r.oursOverCore)}   A/C ${fixed(r.oursOverBare)}   W/C ${fixed(r.outAloneOverBare)}   X/C ${fixed(r.transportOverBare)}   W/X ${fixed(r.outAloneOverTransport)}   A/B CPU per event ${fixed(r.oursCpuOverCore)}` +
            `   R1/A ${fixed(r.redis1OverOurs)}   R2/R1 ${fixed(r.redis2OverRedis1)}   A5/B5 ${fixed(r.ours5OverCore5)}`,
    );
    const { ours, core, bare } = result.latency;
    const spread = (summary: ScenarioSummary): string =>
        `p50 ${fixed(summary.latencyMs?.p50 ?? NaN)} ms, p99 ${fixed(summary.latencyMs?.p99 ?? NaN)} ms, max ${fixed(summary.latencyMs?.max ?? NaN)} ms`;
    lines.push(`latency at ${result.latency.rate} events/s: A ${spread(ours)}; B ${spread(core)}; C (one hop) ${spread(bare)}`);
    const { loopDelay } = result.latency;
    if (loopDelay.ours.length)
        lines.push(`  during it, A ${loopDelayText(medianLoopDelay(loopDelay.ours))}; B ${loopDelayText(medianLoopDelay(loopDelay.core))}`);
    const firstEvents = result.latency.firstEventMs;
    if (firstEvents.length)
        lines.push(
            `  before it, after each redeploy the first event arrived in ${firstEvents.map((round) => round.ours).join(', ')} ms (A, restoring its call state)`,
        );
    for (const drain of result.drain) {
        lines.push(
            `backlog drain (${drain.mode}: ${drain.description}): ${drain.delivered}/${drain.backlog} delivered, ` +
                `${drain.requestsPerSecond} requests/s over ${fixed(drain.drainSeconds)} s, Node-RED RSS ${drain.nodeRedHeldRssMb} MB holding it, peak ${drain.nodeRedPeakRssMb} MB`,
        );
    }
    if (result.tracker)
        lines.push(
            `call tracker: ${result.tracker.calls} calls in flight = ${fixed(result.tracker.heapMb, 1)} MB heap (${result.tracker.bytesPerCall} bytes a call)`,
        );
    if (result.axiosAlone) {
        const bare = result.scenarios.bare?.cpuMsPerEvent;
        const share = bare ? ` (${Math.round((100 * result.axiosAlone.cpuMicrosPerRequest) / (bare * 1000))} % of C's client CPU per request)` : '';
        lines.push(`axios alone, over an adapter that answers at once: ${result.axiosAlone.cpuMicrosPerRequest} us CPU per request${share}`);
    }
    lines.push('');
    for (const goal of result.goals) lines.push(`${goal.met ? 'met   ' : 'MISSED'}  ${goal.goal}: ${fixed(goal.value)} (goal ${goal.target})`);
    process.stdout.write(`${lines.join('\n')}\n`);
}
