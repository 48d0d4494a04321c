// The benchmark with tiny counts: it runs, writes its JSON, and every scenario delivered exactly what it sent.
// No timing is asserted here; `npm run bench` is the measurement.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporaryDirectory } from '../support/node-red-process';

interface Round {
    count: number;
    sent: number;
    failed: number;
    received: number;
    distinctCalls: number;
    unreadable: number;
    eventsPerSecond: number;
    latencyMs: { p50: number; p99: number } | null;
}

describe('benchmark smoke run (bench/run.ts --smoke)', function () {
    this.timeout(300_000);

    it('runs every scenario once with tiny counts, each delivering exactly its count, and writes the JSON', () => {
        const out = path.join(temporaryDirectory('bench'), 'smoke.json');
        const root = path.resolve(__dirname, '../..');
        const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'bench', 'run.ts'), '--smoke', '--out', out], {
            cwd: root,
            encoding: 'utf8',
            timeout: 290_000,
        });
        assert.equal(run.status, 0, `bench failed:\n${run.stdout}\n${run.stderr}`);
        assert.match(run.stdout, /A\/B .* A\/C .* W\/C/);
        const result = JSON.parse(fs.readFileSync(out, 'utf8'));
        assert.equal(result.smoke, true);

        const exact = (name: string, rounds: Round[]): void => {
            assert.ok(rounds.length >= 1, `${name}: no rounds`);
            for (const round of rounds) {
                assert.equal(round.failed, 0, `${name}: failures`);
                assert.equal(round.sent, round.count, `${name}: sent`);
                assert.equal(round.received, round.count, `${name}: arrived at the sink`);
                assert.equal(round.distinctCalls, round.count, `${name}: distinct calls`);
                assert.equal(round.unreadable, 0, `${name}: unreadable bodies`);
                assert.equal(typeof round.eventsPerSecond, 'number');
            }
        };
        // Node-RED 5 runs when the test matrix has installed it (CI does, before npm test).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const matrix = require('../../scripts/test-matrix.js') as { LEGS: { name: string }[]; installed(leg: { name: string }): boolean };
        const nodeRed5 = matrix.installed(matrix.LEGS.find((leg) => leg.name === 'node-red-5')!);
        for (const name of ['ours', 'outAlone', 'core', 'bare', 'transport', 'redis1', 'redis2', ...(nodeRed5 ? ['ours5', 'core5'] : [])]) {
            assert.equal(typeof result.scenarios[name].eventsPerSecond, 'number', name);
            exact(name, result.scenarios[name].rounds);
        }
        exact('latency ours', result.latency.ours.rounds);
        exact('latency bare', result.latency.bare.rounds);
        exact('latency core', result.latency.core.rounds);
        for (const round of [...result.scenarios.ours.rounds, ...result.latency.ours.rounds]) {
            assert.equal(typeof round.latencyMs?.p99, 'number');
        }
        for (const key of [
            'oursOverCore',
            'oursOverBare',
            'outAloneOverBare',
            'transportOverBare',
            'outAloneOverTransport',
            'oursCpuOverCore',
            'p99OursOverCore',
            'drainOverOutAlone',
            'redis1OverOurs',
            'redis2OverRedis1',
        ])
            assert.ok(Number.isFinite(result.ratios[key]), key);

        const [stall, refuse] = result.drain;
        assert.equal(stall.mode, 'stall');
        assert.equal(stall.delivered, stall.backlog);
        assert.equal(stall.distinctCalls, stall.backlog);
        assert.equal(refuse.mode, 'refuse');
        assert.equal(typeof refuse.delivered, 'number');
        for (const mode of [stall, refuse]) assert.ok(mode.nodeRedHeldRssMb > 0 && mode.nodeRedHeldRssMb <= mode.nodeRedPeakRssMb, mode.mode);

        assert.equal(result.tracker.calls, 2000);
        assert.ok(result.tracker.bytesPerCall > 0);
        assert.equal(result.axiosAlone.requests, 2000);
        assert.ok(result.axiosAlone.cpuMicrosPerRequest > 0);
        assert.match(run.stdout, /axios alone, over an adapter that answers at once: [\d.]+ us CPU per request/);
        assert.match(run.stdout, /^X {2}web service out's transport alone .* yes$/m);
        assert.match(run.stdout, /W\/X [\d.]+/);
        assert.equal(result.goals.length, 7);
        for (const goal of result.goals) assert.equal(typeof goal.met, 'boolean', goal.goal);
    });

    it('bench/platform-answer.ts --smoke: every adapter measured, every paced and burst request answered 200', () => {
        const root = path.resolve(__dirname, '../..');
        const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(root, 'bench', 'platform-answer.ts'), '--smoke'], {
            cwd: root,
            encoding: 'utf8',
            timeout: 120_000,
        });
        assert.equal(run.status, 0, `bench failed:\n${run.stdout}\n${run.stderr}`);
        for (const platform of ['zoom', 'ringcentral', 'amazon-connect', 'genesys-cloud']) {
            assert.match(run.stdout, new RegExp(`^adapter ${platform} +receive\\(\\) +[\\d.]+ us per request$`, 'm'));
        }
        // --smoke: 20/s for 2 s (40 requests), then a burst of 64, to each route.
        const counts = [...run.stdout.matchAll(/^(zoom -> call event in|core http in -> http response).* +(\d+) ok +(\d+) failed/gm)].map((m) => [
            m[1],
            Number(m[2]),
            Number(m[3]),
        ]);
        assert.deepEqual(counts, [
            ['zoom -> call event in', 40, 0],
            ['core http in -> http response', 40, 0],
            ['zoom -> call event in', 64, 0],
            ['core http in -> http response', 64, 0],
        ]);
        assert.match(run.stdout, /^ratios \(call event in \/ core\): paced p99 [\d.]+x, burst p99 [\d.]+x; worst answer [\d.]+ ms/m);
    });
});
