// The options of `npm run bench` (bench/run.ts): what a full run and a smoke run measure, and what --only,
// --rounds and the other flags change.
import path from 'node:path';
import { BENCH_CONNECTIONS } from './flows';

const root = path.resolve(__dirname, '..');

export interface Options {
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

export const PARTS = ['ours', 'outAlone', 'core', 'bare', 'transport', 'redis1', 'redis2', 'nr5', 'latency', 'drain', 'tracker', 'axios'] as const;
export type Part = (typeof PARTS)[number];
/** The letters the table prints, accepted by --only as well: `--only W,C`. */
const SCENARIO_LETTERS: Record<string, Part> = { A: 'ours', W: 'outAlone', B: 'core', C: 'bare', X: 'transport', R1: 'redis1', R2: 'redis2' };

export function parseOptions(argv: string[]): Options {
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
