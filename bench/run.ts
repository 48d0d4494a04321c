#!/usr/bin/env node
// `npm run bench`: our pipeline against the same job done with Node-RED's core nodes and against a bare HTTP client,
// in one run on 127.0.0.1. The README's Performance section says what each number means.
//
//   node -r tsx/cjs bench/run.ts [--smoke] [--rounds N] [--latency-rounds N] [--no-warmup] [--out FILE] [--profile DIR]
//       [--latency-rate N]
//       [--only ours,outAlone,core,bare,transport,redis1,redis2,nr5,latency,drain,tracker,axios]
//   (--only also takes the scenario letters of the table: --only W,X,C is outAlone,transport,bare; R1, R2)
//
// --profile DIR runs both Node-RED processes with --cpu-prof (summarise with bench/profile-summary.ts); --only runs
// some of the parts, e.g. to profile one scenario alone. redis1/redis2 run A with its state in a redis-server of the
// run's own (one instance, then two behind a round robin); nr5 runs A and B again on Node-RED 5 / Node 22 from
// .matrix/node-red-5 (installed by `node scripts/test-matrix.js --install`).
//
// A full run starts with a warm-up round (round 0) of the load scenarios and one of the latency part, neither
// counted; --no-warmup leaves both out.
// The load client is this process; Node-RED and the sink each run in a process of their own.
import { fork, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { HttpTransport } from '../src/delivery/http-transport';
import type { OutgoingRequest } from '../src/request/build-request';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../test/support/node-red-process';
import { removeRedisDir, startRedisServer, type RedisServer } from '../test/support/redis-server';
import { BENCH_CONNECTIONS, BENCH_NODES_SETTINGS, benchEvent, coreFlow, crmBody, drainFlow, ourFlow, outAloneFlow, PATHS, redisFlow } from './flows';
import { watchProcess, type ProcessUsage } from './proc-stats';
import type { LoopDelaySummary } from './loop-delay';
import type { SinkCommand, SinkMessage, SinkReport } from './sink';
import type { AxiosAlone } from './axios-alone';
import type { TrackerMemory } from './tracker-memory';

const root = path.resolve(__dirname, '..');

interface Options {
    smoke: boolean;
    rounds: number;
    /**
     * A round 0 before the measured ones, not counted: the first round after a start runs code the JIT has not
     * optimised yet and a heap still growing to its working size, and measured up to 1.5x the CPU per event of
     * later rounds, which made a median of three depend on how much of that warm-up it held.
     */
    warmup: boolean;
    /** Events per round and scenario; a round also stops after `seconds`. */
    counts: { ours: number; outAlone: number; core: number; bare: number; transport: number; redis: number };
    seconds: number;
    /** Connections of the load client (and of the bare client). */
    connections: number;
    /** Events in flight end to end at most: sent but not yet arrived at the sink. */
    window: number;
    latencySeconds: number;
    /**
     * Rounds of the latency part (after its warm-up). More than the load parts' three: a round's p99 is its 15 slowest
     * events of 1,500, and one stall (a GC pause, another tenant of the VM) can double it; in a median of three one
     * such round of either pipeline decides the goal, in a median of five it takes three.
     */
    latencyRounds: number;
    /** A fixed rate for the latency run instead of half of A's measured peak (the smoke run uses it). */
    latencyRate?: number;
    drainCount: number;
    drainWaitSeconds: number;
    trackerCalls: number;
    out: string;
    profileDir?: string;
    only: Set<Part>;
}

const PARTS = ['ours', 'outAlone', 'core', 'bare', 'transport', 'redis1', 'redis2', 'nr5', 'latency', 'drain', 'tracker', 'axios'] as const;
type Part = (typeof PARTS)[number];
/** The letters the table prints, accepted by --only as well: `--only W,C`. */
const SCENARIO_LETTERS: Record<string, Part> = { A: 'ours', W: 'outAlone', B: 'core', C: 'bare', X: 'transport', R1: 'redis1', R2: 'redis2' };

function parseOptions(argv: string[]): Options {
    const flag = (name: string): boolean => argv.includes(name);
    const value = (name: string): string | undefined => {
        const index = argv.indexOf(name);
        return index >= 0 ? argv[index + 1] : undefined;
    };
    const smoke = flag('--smoke');
    const only = new Set((value('--only') ?? PARTS.join(',')).split(',').map((name) => SCENARIO_LETTERS[name] ?? name) as Part[]);
    for (const part of only) if (!PARTS.includes(part)) throw new Error(`--only: "${part}" is not one of ${PARTS.join(', ')}`);
    const options: Options = smoke
        ? {
              smoke,
              rounds: 1,
              warmup: false,
              counts: { ours: 40, outAlone: 40, core: 40, bare: 40, transport: 40, redis: 40 },
              seconds: 30,
              connections: 4,
              window: 16,
              latencySeconds: 0.5,
              latencyRounds: 1,
              latencyRate: 80,
              drainCount: 300,
              drainWaitSeconds: 3,
              trackerCalls: 2000,
              out: path.join(root, 'bench', 'results', 'smoke.json'),
              only,
          }
        : {
              smoke,
              rounds: 3,
              warmup: true,
              counts: { ours: 20_000, outAlone: 30_000, core: 6_000, bare: 40_000, transport: 30_000, redis: 10_000 },
              seconds: 10,
              connections: BENCH_CONNECTIONS,
              window: 1024,
              latencySeconds: 5,
              latencyRounds: 5,
              drainCount: 50_000,
              drainWaitSeconds: 30,
              trackerCalls: 100_000,
              out: path.join(root, 'bench', 'results', 'latest.json'),
              only,
          };
    if (flag('--no-warmup')) options.warmup = false;
    if (value('--rounds')) options.rounds = options.latencyRounds = Math.max(1, Number(value('--rounds')));
    if (value('--latency-rounds')) options.latencyRounds = Math.max(1, Number(value('--latency-rounds')));
    if (value('--out')) options.out = path.resolve(value('--out')!);
    if (value('--latency-rate')) options.latencyRate = Number(value('--latency-rate'));
    if (value('--profile')) options.profileDir = path.resolve(value('--profile')!);
    return options;
}

const log = (text: string): void => {
    process.stderr.write(`${text}\n`);
};

// ---------------------------------------------------------------------------------------------------------------
// The sink, driven over IPC

class Sink {
    received = 0;
    private progressWaiters: Array<() => void> = [];
    private replies: Array<(message: SinkMessage) => void> = [];

    private constructor(
        readonly child: ReturnType<typeof fork>,
        readonly port: number,
    ) {
        child.on('message', (message: SinkMessage) => {
            if (message.type === 'progress') {
                this.received = message.received;
                const waiters = this.progressWaiters;
                this.progressWaiters = [];
                for (const wake of waiters) wake();
            } else if (message.type === 'report' || message.type === 'ack') {
                this.replies.shift()?.(message);
            }
        });
    }

    static async start(): Promise<Sink> {
        const child = fork(path.join(__dirname, 'sink.ts'), [], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const port = await new Promise<number>((resolve, reject) => {
            child.once('error', reject);
            child.on('message', function listening(message: SinkMessage) {
                if (message.type === 'listening') {
                    child.off('message', listening);
                    resolve(message.port);
                }
            });
        });
        return new Sink(child, port);
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get pid(): number {
        return this.child.pid!;
    }

    private ask(command: SinkCommand): Promise<SinkMessage> {
        return new Promise((resolve) => {
            this.replies.push(resolve);
            this.child.send(command);
        });
    }

    async reset(): Promise<void> {
        await this.ask({ cmd: 'reset' });
        this.received = 0;
    }

    async report(): Promise<SinkReport> {
        const message = await this.ask({ cmd: 'report' });
        if (message.type !== 'report') throw new Error(`sink answered ${message.type} to report`);
        return message.report;
    }

    async down(): Promise<void> {
        await this.ask({ cmd: 'down' });
    }

    async up(): Promise<void> {
        await this.ask({ cmd: 'up' });
    }

    /** Resolves at the next progress message (or after 50 ms, so a stalled sink cannot hang a caller). */
    nextProgress(): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(resolve, 50);
            this.progressWaiters.push(() => {
                clearTimeout(timer);
                resolve();
            });
        });
    }

    /** Waits until `count` requests arrived this round, or `timeoutMs` passed; true if they did. */
    async waitFor(count: number, timeoutMs: number): Promise<boolean> {
        const deadline = performance.now() + timeoutMs;
        while (this.received < count) {
            if (performance.now() > deadline) return false;
            await this.nextProgress();
        }
        return true;
    }

    stop(): void {
        if (this.child.connected) this.child.send({ cmd: 'exit' } satisfies SinkCommand);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Load

interface LoadResult {
    /** Events sent and accepted by the receiving end (202 from call event in, 200 elsewhere). */
    sent: number;
    /** Answers other than the expected status, and errors. */
    failed: number;
    startNs: bigint;
}

interface ClosedLoop {
    pool: Pool;
    path: string;
    count: number;
    seconds: number;
    concurrency: number;
    window: number;
    sink: Sink;
    expectStatus: number;
    body(index: number, sentNs: bigint): string;
}

/**
 * A bounded client: `concurrency` requests at a time, never more than `window` events sent but not yet at the
 * sink, stopping at `count` events or after `seconds`, whichever comes first.
 */
async function closedLoop(load: ClosedLoop): Promise<LoadResult> {
    const startNs = process.hrtime.bigint();
    const deadline = performance.now() + load.seconds * 1000;
    let next = 0;
    let sent = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
        while (next < load.count && performance.now() < deadline) {
            if (next - load.sink.received >= load.window) {
                await load.sink.nextProgress();
                continue;
            }
            const index = next++;
            try {
                const response = await load.pool.request({
                    path: load.path,
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                    body: load.body(index, process.hrtime.bigint()),
                });
                await response.body.dump();
                if (response.statusCode === load.expectStatus) sent += 1;
                else failed += 1;
            } catch {
                failed += 1;
            }
        }
    };
    await Promise.all(Array.from({ length: load.concurrency }, worker));
    return { sent, failed, startNs };
}

interface Paced {
    pool: Pool;
    path: string;
    rate: number;
    seconds: number;
    expectStatus: number;
    body(index: number, sentNs: bigint): string;
}

/** An open-loop client: events at a steady `rate`, whatever the receiver does, for `seconds`. */
async function paced(load: Paced): Promise<LoadResult> {
    const startNs = process.hrtime.bigint();
    const started = performance.now();
    const count = Math.max(1, Math.round(load.rate * load.seconds));
    let next = 0;
    let sent = 0;
    let failed = 0;
    const pending: Promise<void>[] = [];
    while (next < count) {
        const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * load.rate) + 1);
        while (next < due) {
            const index = next++;
            pending.push(
                load.pool
                    .request({
                        path: load.path,
                        method: 'POST',
                        headers: { 'content-type': 'application/json' },
                        body: load.body(index, process.hrtime.bigint()),
                    })
                    .then(async (response) => {
                        await response.body.dump();
                        if (response.statusCode === load.expectStatus) sent += 1;
                        else failed += 1;
                    })
                    .catch(() => {
                        failed += 1;
                    }),
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
    return { sent, failed, startNs };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring one round

interface RoundResult {
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

async function measure(scenario: Measured): Promise<RoundResult> {
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
 * The load client of scenario X: web service out's own transport (HttpTransport: axios over its undici adapter, the
 * client the node sends with), shaped as the Pool the load loops take. What X costs over C is the client the issue
 * keeps; what W costs over X is the node, Node-RED and the outbox.
 */
function transportClient(baseUrl: string, connections: number): { pool: Pool; close(): void } {
    const transport = new HttpTransport({ maxSockets: connections });
    const request = async (options: { path: string; method: string; headers: Record<string, string>; body: string }) => {
        const outcome = await transport.send({
            method: options.method as OutgoingRequest['method'],
            url: `${baseUrl}${options.path}`,
            headers: options.headers,
            body: Buffer.from(options.body),
            secrets: [],
        });
        const statusCode = outcome.ok ? outcome.response.statusCode : (outcome.error.response?.statusCode ?? 0);
        return { statusCode, body: { dump: async () => undefined } };
    };
    return { pool: { request } as unknown as Pool, close: () => transport.close() };
}

/** One load client over several instances, as a round-robin load balancer spreads it. */
function roundRobin(pools: Pool[]): Pool {
    let next = 0;
    return { request: (options: Parameters<Pool['request']>[0]) => pools[next++ % pools.length].request(options) } as unknown as Pool;
}

/** A runtime of the test matrix (scripts/test-matrix.js): where its Node-RED and its Node binary are. */
interface MatrixLeg {
    name: string;
    nodeRedDir: string;
    nodeBinary(): string;
}

/** Node-RED 5 on Node 22 from the test matrix's install, if it is there. */
function nodeRed5(): { nodeRedPath: string; nodeBinary: string; version: string } | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const matrix = require('../scripts/test-matrix.js') as { LEGS: MatrixLeg[]; installed(leg: MatrixLeg): boolean };
    const leg = matrix.LEGS.find((each) => each.name === 'node-red-5')!;
    if (!matrix.installed(leg)) return undefined;
    const nodeRedPath = path.join(leg.nodeRedDir, 'red.js');
    const nodeBinary = leg.nodeBinary();
    const version = (JSON.parse(fs.readFileSync(path.join(leg.nodeRedDir, 'package.json'), 'utf8')) as { version: string }).version;
    const node = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim();
    return { nodeRedPath, nodeBinary, version: `${version} on Node ${node}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Event-loop delay and GC of a Node-RED process (bench/loop-delay.ts, preloaded)

/** bench/loop-delay.ts as plain JS in a temporary file: Node-RED runs without tsx, so it cannot preload a .ts. */
function compiledLoopDelay(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('typescript') as typeof import('typescript');
    const source = fs.readFileSync(path.join(__dirname, 'loop-delay.ts'), 'utf8');
    const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-bench-')), 'loop-delay.js');
    fs.writeFileSync(file, js);
    return file;
}

/** Reads a process's loop-delay summaries: `mark()` starts a period, `read()` ends it and returns its summary. */
class LoopDelayProbe {
    private seq = 0;

    constructor(
        readonly pid: number,
        readonly file: string,
    ) {}

    private async signal(): Promise<LoopDelaySummary | undefined> {
        process.kill(this.pid, 'SIGWINCH');
        const deadline = performance.now() + 5000;
        while (performance.now() < deadline) {
            try {
                const summary = JSON.parse(fs.readFileSync(this.file, 'utf8')) as LoopDelaySummary;
                if (summary.seq > this.seq) {
                    this.seq = summary.seq;
                    return summary;
                }
            } catch {
                // Not written yet.
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return undefined;
    }

    async mark(): Promise<void> {
        await this.signal();
    }

    read(): Promise<LoopDelaySummary | undefined> {
        return this.signal();
    }
}

/** The round whose loop-delay p99 is the median of the rounds (one real round, not a blend of several). */
function medianLoopDelay(rounds: Array<LoopDelaySummary | undefined>): LoopDelaySummary | undefined {
    const known = rounds.filter((round): round is LoopDelaySummary => round !== undefined).sort((a, b) => a.delayMs.p99 - b.delayMs.p99);
    return known[Math.floor((known.length - 1) / 2)];
}

function loopDelayText(summary: LoopDelaySummary | undefined): string {
    if (!summary) return 'loop delay n/a';
    const { delayMs, gc } = summary;
    return (
        `loop delay p50 ${fixed(delayMs.p50)} p99 ${fixed(delayMs.p99)} max ${fixed(delayMs.max)} ms, ` +
        `GC ${gc.count} pauses ${fixed(gc.totalMs)} ms total max ${fixed(gc.maxMs)} ms, CPU ${Math.round(summary.cpuMs)} ms`
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Node-RED

/**
 * Deploys `flows` with none of the state an earlier round left: removing the nodes first deletes their call state
 * and outbox, so a round never starts by restoring the calls of the rounds before it.
 */
async function freshDeploy(nodeRed: NodeRedProcess, flows: object[]): Promise<void> {
    await deploy(nodeRed, []);
    await deploy(nodeRed, flows);
}

async function deploy(nodeRed: NodeRedProcess, flows: object[]): Promise<void> {
    const started = (nodeRed.log().match(/Started flows/g) ?? []).length;
    const response = await fetch(`${nodeRed.url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(flows),
    });
    if (response.status !== 204 && response.status !== 200) throw new Error(`deploy answered ${response.status}: ${await response.text()}`);
    const deadline = performance.now() + 30_000;
    while ((nodeRed.log().match(/Started flows/g) ?? []).length <= started) {
        if (performance.now() > deadline) throw new Error(`flows did not start after deploy:\n${nodeRed.log()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

async function inject(nodeRed: NodeRedProcess, id: string): Promise<void> {
    const response = await fetch(`${nodeRed.url}/inject/${id}`, { method: 'POST' });
    if (response.status !== 200) throw new Error(`inject ${id} answered ${response.status}`);
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

/** Resolves when the process used under 10% of a core over 250 ms (or after `timeoutMs`). */
async function idle(pid: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
        const watch = watchProcess(pid);
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (watch.stop().cpuPercent < 10) return;
    }
}

function nodeRedVersion(): string {
    return (JSON.parse(fs.readFileSync(require.resolve('node-red/package.json'), 'utf8')) as { version: string }).version;
}

// ---------------------------------------------------------------------------------------------------------------
// Summaries

function median(values: number[]): number {
    const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface ScenarioSummary {
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

function summarise(label: string, rounds: RoundResult[]): ScenarioSummary {
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

const fixed = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'web-service-out.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    const startedAt = new Date();
    const runStarted = performance.now();
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

    const results: Record<'ours' | 'outAlone' | 'core' | 'bare' | 'transport' | 'redis1' | 'redis2' | 'ours5' | 'core5', RoundResult[]> = {
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
    const eventBody = (prefix: string) => (index: number, sentNs: bigint) => JSON.stringify(benchEvent(`${prefix}-${index}`, sentNs));
    const crmBodyOf = (prefix: string) => (index: number, sentNs: bigint) => JSON.stringify(crmBody(benchEvent(`${prefix}-${index}`, sentNs)));
    try {
        if (options.warmup) log('round 0 is a warm-up: it runs every scenario once and is not counted');
        for (let round = options.warmup ? 0 : 1; round <= options.rounds; round++) {
            // One closed loop of this round's load, and what keeps and logs a scenario's result.
            const loadOf = (pool: Pool, pathName: string, count: number, expectStatus: number, body: ClosedLoop['body']) => () =>
                closedLoop({
                    pool,
                    path: pathName,
                    count,
                    seconds: options.seconds,
                    concurrency: options.connections,
                    window: options.window,
                    sink,
                    expectStatus,
                    body,
                });
            const pipeline = (pool: Pool, pathName: string, prefix: string, count: number, expectStatus = 202) =>
                loadOf(pool, pathName, count, expectStatus, eventBody(`${prefix}-${round}`));
            const kept = (list: RoundResult[], result: RoundResult, what: string, unit = 'events/s'): void => {
                list.push(result);
                log(`round ${round} ${what}: ${result.eventsPerSecond} ${unit} (${result.received}/${result.sent} arrived)`);
            };

            // A fresh deploy each round: every round starts with an empty call tracker, as the first did.
            if (options.only.has('ours')) {
                await freshDeploy(ours, aFlow);
                const a = await measure({
                    sink,
                    nodeRedPid: ours.pid,
                    count: options.counts.ours,
                    arriveSeconds: 60,
                    run: pipeline(toOurs, PATHS.ours, 'ours', options.counts.ours),
                });
                kept(results.ours, a, 'A ours');
            }
            if (options.only.has('outAlone')) {
                await freshDeploy(ours, wFlow);
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
                kept(results.outAlone, w, 'W web service out alone', 'requests/s');
            }
            if (options.only.has('core')) {
                const b = await measure({
                    sink,
                    nodeRedPid: core.pid,
                    count: options.counts.core,
                    arriveSeconds: 60,
                    run: pipeline(toCore, PATHS.core, 'core', options.counts.core, 200),
                });
                kept(results.core, b, 'B core nodes');
            }
            if (options.only.has('bare')) {
                const c = await measure({
                    sink,
                    count: options.counts.bare,
                    arriveSeconds: 30,
                    run: loadOf(toSink, '/crm/calls', options.counts.bare, 200, crmBodyOf(`bare-${round}`)),
                });
                kept(results.bare, c, 'C bare undici Pool', 'requests/s');
            }
            if (options.only.has('transport')) {
                const x = await measure({
                    sink,
                    count: options.counts.transport,
                    arriveSeconds: 30,
                    run: loadOf(toSinkByTransport.pool, '/crm/calls', options.counts.transport, 200, crmBodyOf(`transport-${round}`)),
                });
                kept(results.transport, x, "X web service out's transport alone", 'requests/s');
            }
            if (redis && options.only.has('redis1')) {
                await freshDeploy(ours, clusterFlows);
                redis.cli('FLUSHALL');
                const r1 = await measure({
                    sink,
                    nodeRedPid: ours.pid,
                    count: options.counts.redis,
                    arriveSeconds: 60,
                    run: pipeline(toOurs, PATHS.redis, 'redis1', options.counts.redis),
                });
                kept(results.redis1, r1, 'R1 A on Redis, one instance');
            }
            if (redis && second && toSecond) {
                await freshDeploy(ours, clusterFlows);
                await deploy(second, clusterFlows);
                redis.cli('FLUSHALL');
                const r2 = await measure({
                    sink,
                    nodeRedPid: ours.pid,
                    moreNodeRedPids: [second.pid],
                    count: options.counts.redis,
                    arriveSeconds: 60,
                    run: pipeline(roundRobin([toOurs, toSecond]), PATHS.redis, 'redis2', options.counts.redis),
                });
                await deploy(second, []);
                kept(results.redis2, r2, 'R2 A on Redis, two instances');
            }
            if (ours5 && core5 && toOurs5 && toCore5) {
                await freshDeploy(ours5, aFlow);
                const a5 = await measure({
                    sink,
                    nodeRedPid: ours5.pid,
                    count: options.counts.ours,
                    arriveSeconds: 60,
                    run: pipeline(toOurs5, PATHS.ours, 'ours5', options.counts.ours),
                });
                results.ours5.push(a5);
                const b5 = await measure({
                    sink,
                    nodeRedPid: core5.pid,
                    count: options.counts.core,
                    arriveSeconds: 60,
                    run: pipeline(toCore5, PATHS.core, 'core5', options.counts.core, 200),
                });
                results.core5.push(b5);
                log(`round ${round} Node-RED 5: A ${a5.eventsPerSecond} events/s, B ${b5.eventsPerSecond} events/s`);
            }
            // The warm-up's results go: every scenario that ran pushed exactly one.
            if (round === 0) for (const list of Object.values(results)) list.length = 0;
        }

        const scenarios = {
            ours: summarise('A  call event in -> criteria filter -> placeholder template -> web service out', results.ours),
            outAlone: summarise('W  web service out alone (fed inside Node-RED)', results.outAlone),
            core: summarise('B  http in -> switch -> template -> http request -> http response', results.core),
            bare: summarise('C  bare undici Pool -> sink', results.bare),
            transport: summarise("X  web service out's transport alone (axios over its undici adapter) -> sink", results.transport),
            redis1: summarise('R1 A with call state and outbox in Redis, one instance', results.redis1),
            redis2: summarise('R2 A with call state and outbox in Redis, two instances (round robin)', results.redis2),
            ours5: summarise(`A5 A on Node-RED ${nr5?.version ?? '5'}`, results.ours5),
            core5: summarise(`B5 B on Node-RED ${nr5?.version ?? '5'}`, results.core5),
        };

        // Latency at half of B's peak, a rate both pipelines sustain: the added latency a flow sees under a load it
        // handles comfortably.
        const latencyRate = options.latencyRate ?? (Math.round(scenarios.core.eventsPerSecond / 2) || 100);
        const latencyOurs: RoundResult[] = [];
        const latencyCore: RoundResult[] = [];
        const latencyBare: RoundResult[] = [];
        const loopOurs: Array<LoopDelaySummary | undefined> = [];
        const loopCore: Array<LoopDelaySummary | undefined> = [];
        const firstEventMs: Array<{ ours: number; core: number }> = [];
        // A warm-up round here too: the first latency round runs on heaps full of the load rounds' garbage (about twice
        // the GC pauses of the rounds after it, in every run looked at) and on new connections.
        if (options.only.has('latency') && options.warmup) log('latency round 0 is a warm-up and is not counted');
        for (let round = options.warmup ? 0 : 1; options.only.has('latency') && round <= options.latencyRounds; round++) {
            await freshDeploy(ours, aFlow);
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
            if (round === 0) for (const list of [latencyOurs, latencyCore, latencyBare, loopOurs, loopCore, firstEventMs]) list.length = 0;
        }
        const latency = {
            rate: latencyRate,
            seconds: options.latencySeconds,
            ours: summarise("A at half of B's peak", latencyOurs),
            core: summarise('B at half of its peak', latencyCore),
            bare: summarise('C at the same rate (one hop, the floor)', latencyBare),
            /** Per round: the event-loop delay and GC pauses of each Node-RED process during its latency run. */
            loopDelay: { ours: loopOurs, core: loopCore },
            /** Per round: ms from the end of the redeploy to the first event arriving at the sink (before the clock). */
            firstEventMs,
        };

        const drain = options.only.has('drain') ? await measureDrain(ours, sink, options, drainFlows) : [];
        const tracker = options.only.has('tracker') ? trackerMemory(options.trackerCalls) : undefined;
        const axiosAlone = options.only.has('axios') ? axiosAloneCost(options.smoke ? 2_000 : 50_000) : undefined;

        const ratio = (a: number, b: number): number => (b > 0 ? Math.round((100 * a) / b) / 100 : NaN);
        const ratios = {
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
        const goals = [
            { goal: 'A >= 3x B (events/s)', value: ratios.oursOverCore, target: 3, met: ratios.oursOverCore >= 3 },
            { goal: 'A Node-RED CPU per event <= 1/3 of B (ratio)', value: ratios.oursCpuOverCore, target: 0.33, met: ratios.oursCpuOverCore <= 1 / 3 },
            { goal: 'W web service out alone >= 0.5x C', value: ratios.outAloneOverBare, target: 0.5, met: ratios.outAloneOverBare >= 0.5 },
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
                goal: `${options.trackerCalls} tracked calls <= 64 MB more heap (MB)`,
                value: tracker ? Math.round(tracker.heapMb * 10) / 10 : NaN,
                target: 64,
                met: !!tracker && tracker.heapMb <= 64,
            },
        ];
        const result = {
            startedAt: startedAt.toISOString(),
            durationSeconds: Math.round((performance.now() - runStarted) / 1000),
            smoke: options.smoke,
            machine: {
                cpus: os.cpus().length,
                cpuModel: os.cpus()[0]?.model,
                memoryGb: Math.round(os.totalmem() / 2 ** 30),
                loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
                platform: `${os.type()} ${os.release()}`,
                node: process.version,
                nodeRed: nodeRedVersion(),
                commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim() || undefined,
            },
            options: { ...options, out: undefined },
            scenarios,
            ratios,
            latency,
            drain,
            tracker,
            axiosAlone,
            goals,
        };
        fs.mkdirSync(path.dirname(options.out), { recursive: true });
        fs.writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
        printTable(result);
        log(`\nJSON: ${path.relative(process.cwd(), options.out)}`);
    } finally {
        await Promise.allSettled([toOurs, toCore, toSink, toSecond, toOurs5, toCore5].map((pool) => pool?.close()));
        toSinkByTransport.close();
        await Promise.allSettled([ours, core, second, ours5, core5].map((instance) => instance?.stop('SIGINT')));
        sink.stop();
        if (redis) {
            await redis.stop();
            removeRedisDir(redis);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Backlog drain

interface DrainResult {
    mode: 'stall' | 'refuse';
    description: string;
    backlog: number;
    injectedSeconds: number;
    /** Arrived at the sink after it came back, within the wait. */
    delivered: number;
    distinctCalls: number;
    /** From the sink coming back to the last request arriving. */
    drainSeconds: number;
    requestsPerSecond: number;
    nodeRedPeakRssMb: number;
}

/**
 * A backlog of requests built while the sink is away, then how fast it drains once the sink is back.
 * - stall: the sink process is stopped (SIGSTOP): connections open but nothing answers, as a hung service; the
 *   requests wait in web service out (timeout 600 s in this flow).
 * - refuse: the sink closes its port: connections refused, as a crashed service. Without retries every request
 *   fails at once and nothing is left to drain; with the durable outbox (issue 6) they wait and drain once it is up.
 */
async function measureDrain(ours: NodeRedProcess, sink: Sink, options: Options, flows: object[]): Promise<DrainResult[]> {
    const results: DrainResult[] = [];
    for (const mode of ['stall', 'refuse'] as const) {
        await freshDeploy(ours, flows);
        await sink.reset();
        if (mode === 'stall') process.kill(sink.pid, 'SIGSTOP');
        else await sink.down();
        const watch = watchProcess(ours.pid);
        const injectStarted = performance.now();
        const batch = 250;
        const sendNs = process.hrtime.bigint();
        const pool = new Pool(ours.url, { connections: 4 });
        try {
            const posts: Promise<void>[] = [];
            for (let first = 0; first < options.drainCount; first += batch) {
                const events = [];
                for (let i = first; i < Math.min(options.drainCount, first + batch); i++) events.push(benchEvent(`drain-${mode}-${i}`, sendNs));
                posts.push(
                    pool
                        .request({ path: PATHS.drain, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) })
                        .then(async (response) => {
                            await response.body.dump();
                            if (response.statusCode !== 202) throw new Error(`drain inject answered ${response.statusCode}`);
                        }),
                );
                if (posts.length >= 8) await posts.shift();
            }
            await Promise.all(posts);
        } finally {
            await pool.close();
        }
        const injectedSeconds = (performance.now() - injectStarted) / 1000;
        // Let Node-RED finish turning the events into pending requests before the sink comes back.
        await idle(ours.pid, 60_000);
        const backAt = process.hrtime.bigint();
        if (mode === 'stall') process.kill(sink.pid, 'SIGCONT');
        else await sink.up();
        await sink.waitFor(options.drainCount, options.drainWaitSeconds * 1000);
        const report = await sink.report();
        const usage = watch.stop();
        const drainSeconds = report.lastAt ? Number(BigInt(report.lastAt) - backAt) / 1e9 : NaN;
        const result: DrainResult = {
            mode,
            description: mode === 'stall' ? 'sink process stopped (SIGSTOP), then continued' : 'sink port closed (connections refused), then reopened',
            backlog: options.drainCount,
            injectedSeconds: Math.round(injectedSeconds * 100) / 100,
            delivered: report.received,
            distinctCalls: report.distinctCalls,
            drainSeconds: Math.round(drainSeconds * 100) / 100,
            requestsPerSecond: report.received > 0 ? Math.round(report.received / drainSeconds) : 0,
            nodeRedPeakRssMb: Math.round(usage.peakRssMb),
        };
        results.push(result);
        log(`drain (${mode}): ${result.delivered}/${result.backlog} delivered in ${result.drainSeconds} s after the sink came back`);
    }
    return results;
}

/** axios's own cost per request, over an adapter that answers at once (bench/axios-alone.ts), in a process of its own. */
function axiosAloneCost(requests: number): AxiosAlone {
    return ownProcessResult<AxiosAlone>('axios-alone.ts', [String(requests)]);
}

function trackerMemory(calls: number): TrackerMemory {
    return ownProcessResult<TrackerMemory>('tracker-memory.ts', [String(calls)], ['--expose-gc']);
}

/** Runs one of the bench's scripts in a process of its own and reads the JSON line it prints last. */
function ownProcessResult<T>(script: string, args: string[], nodeArgs: string[] = []): T {
    const run = spawnSync(process.execPath, [...nodeArgs, '--require', 'tsx/cjs', path.join(__dirname, script), ...args], { cwd: root, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${script} failed:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

// ---------------------------------------------------------------------------------------------------------------

function printTable(result: {
    machine: { cpus: number; cpuModel?: string; node: string; nodeRed: string; loadAverageAtStart: number[] };
    scenarios: Record<string, ScenarioSummary>;
    ratios: Record<string, number>;
    latency: {
        rate: number;
        ours: ScenarioSummary;
        core: ScenarioSummary;
        bare: ScenarioSummary;
        loopDelay: { ours: Array<LoopDelaySummary | undefined>; core: Array<LoopDelaySummary | undefined> };
        firstEventMs: Array<{ ours: number; core: number }>;
    };
    drain: DrainResult[];
    axiosAlone?: AxiosAlone;
    tracker?: TrackerMemory;
    goals: Array<{ goal: string; value: number; target: number; met: boolean }>;
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
                `${drain.requestsPerSecond} requests/s over ${fixed(drain.drainSeconds)} s, Node-RED peak RSS ${drain.nodeRedPeakRssMb} MB`,
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

main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
});
