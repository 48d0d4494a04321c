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
//
// The parts live beside it: options.ts (the flags), setup.ts (the processes and pools), scenarios/ (one file per
// measured part), rounds.ts (a round, the warm-up, the medians), goals.ts and report.ts (the JSON and the table).
import fs from 'node:fs';
import path from 'node:path';
import { goalsOf, ratiosOf } from './goals';
import { parseOptions } from './options';
import { log } from './progress';
import { describeMachine, printTable, writeResult } from './report';
import { measureDrain } from './scenarios/drain';
import { measureLatency } from './scenarios/latency';
import { axiosAloneCost, trackerMemory } from './scenarios/own-process';
import { runThroughput, summariseThroughput } from './scenarios/throughput';
import { startBench, stopBench } from './setup';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'web-service-out.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    const startedAt = new Date();
    const runStarted = performance.now();
    // Read before anything starts: the load the run itself makes is not the machine's load at its start.
    const machine = describeMachine();
    const bench = await startBench(options);
    try {
        const scenarios = summariseThroughput(await runThroughput(bench), bench.nr5?.version);
        const latency = await measureLatency(bench, scenarios.core.eventsPerSecond);
        const drain = options.only.has('drain') ? await measureDrain(bench) : [];
        const tracker = options.only.has('tracker') ? trackerMemory(options.trackerCalls) : undefined;
        const axiosAlone = options.only.has('axios') ? axiosAloneCost(options.smoke ? 2_000 : 50_000) : undefined;

        const ratios = ratiosOf(scenarios, latency, drain);
        const goals = goalsOf(ratios, options.trackerCalls, tracker, drain);
        const result = {
            startedAt: startedAt.toISOString(),
            durationSeconds: Math.round((performance.now() - runStarted) / 1000),
            smoke: options.smoke,
            machine,
            options: { ...options, out: undefined },
            scenarios,
            ratios,
            latency,
            drain,
            tracker,
            axiosAlone,
            goals,
        };
        writeResult(options.out, result);
        printTable(result);
        log(`\nJSON: ${path.relative(process.cwd(), options.out)}`);
    } finally {
        await stopBench(bench);
    }
}

main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
});
