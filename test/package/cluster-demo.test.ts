// `npm run demo:cluster` is how a user watches the cluster work: this runs the very script, checks that calls go
// through the proxy to both instances and on to the stand-in CRM, kills one instance as the script invites, and
// checks that the CRM goes on receiving from the survivor.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporaryDirectory } from '../support/node-red-process';
import { until } from '../support/wait';

const root = path.resolve(__dirname, '../..');

/** Ends a demo still running (SIGTERM: it stops its instances and Redis processes itself) and removes its folder. */
async function stopDemo(demo: ChildProcess | undefined, dir: string): Promise<void> {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
        const ended = new Promise((resolve) => demo.once('exit', resolve));
        demo.kill('SIGTERM');
        await ended;
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

describe('npm run demo:cluster: two instances behind a round-robin proxy', function () {
    this.timeout(150_000);
    let demo: ChildProcess | undefined;
    let output = '';
    const dir = temporaryDirectory('cluster-demo');

    after(() => stopDemo(demo, dir));

    const crmRequests = (): number => {
        const counts = [...output.matchAll(/CRM got (\d+) requests/g)].map((match) => Number(match[1]));
        return counts.length ? counts[counts.length - 1]! : 0;
    };

    it('keeps the CRM fed after one instance is killed', async () => {
        // A base port of its own (the script uses base, +1, +2, +10, +20), away from the usual 1880 and below the
        // ephemeral range (32768 and up here), where an outgoing connection could hold one of them.
        const base = 21_000 + Math.floor(Math.random() * 11_000);
        demo = spawn(process.execPath, [path.join(root, 'scripts', 'start-cluster-demo.js')], {
            env: { ...process.env, PORT: String(base), CLUSTER_DEMO_DIR: dir },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await until(
            () => /try: kill (\d+)/.test(output),
            () => `the demo to announce itself:\n${output}`,
            90_000,
            100,
        );
        await until(
            () => crmRequests() >= 5,
            () => `requests at the stand-in CRM:\n${output}`,
            40_000,
            100,
        );
        const pid = Number(/try: kill (\d+)/.exec(output)![1]);
        process.kill(pid, 'SIGKILL');
        await until(() => /instance a \(pid \d+\) ended/.test(output), 'the demo to see instance a end', 10_000, 100);
        const afterKill = crmRequests();
        await until(
            () => crmRequests() >= afterKill + 5,
            () => `the CRM to go on receiving from instance b:\n${output}`,
            40_000,
            100,
        );
        assert.match(output.slice(output.lastIndexOf('instances:')), /a down, b up/);
        assert.doesNotMatch(output, /no instance answers/);
    });
});

describe('npm run demo:cluster -- --sentinel: a failover of the Redis primary, shown and tallied', function () {
    this.timeout(300_000);
    let demo: ChildProcess | undefined;
    let output = '';
    const dir = temporaryDirectory('cluster-demo-sentinel');

    after(() => stopDemo(demo, dir));

    it('kills the primary, prints the promotion and the 503 gap, and ends with every trigger answered 202 at the CRM under one key', async () => {
        const base = 21_000 + Math.floor(Math.random() * 11_000);
        demo = spawn(process.execPath, [path.join(root, 'scripts', 'start-cluster-demo.js'), '--sentinel', '--failover-after', '15', '--play-for', '30'], {
            env: { ...process.env, PORT: String(base), CLUSTER_DEMO_DIR: dir },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => demo!.once('exit', (exitCode) => resolve(exitCode)));
        assert.equal(code, 0, output);

        const primaryPid = Number(/try: kill -9 (\d+) {3}\(the Redis primary/.exec(output)?.[1]);
        assert.match(output, new RegExp(`SIGKILL to the Redis primary 127\\.0\\.0\\.1:${base + 20} \\(pid ${primaryPid}\\)`));
        const promoted = /Sentinel: 127\.0\.0\.1:(\d+) \(pid \d+\) is the primary now, in place of 127\.0\.0\.1:(\d+)/.exec(output);
        assert.ok(promoted, `a promotion printed:\n${output}`);
        assert.ok([base + 21, base + 22].includes(Number(promoted[1])) && Number(promoted[2]) === base + 20, promoted[0]);
        assert.match(output, /call event in answers 503 /);
        assert.match(output, /call event in answers 202 again, after \d+ refused sends/);
        const played = /tally: (\d+) calls played, (\d+) events answered 202 \((\d+) resends after [^;]*; 0 events never taken\)/.exec(output);
        assert.ok(played && Number(played[3]) > 0, `events resent through the failover:\n${output}`);
        const triggers =
            /tally: triggers answered 202 (\d+), received by the CRM (\d+), missing 0; \d+ repeated requests, 0 triggers under a second idempotency key/.exec(
                output,
            );
        assert.ok(triggers && Number(triggers[1]) > 0 && triggers[1] === triggers[2], `the tally:\n${output}`);

        // Nothing the demo started outlives it: the Redis servers, the Sentinels and both instances.
        const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
        assert.ok(pids.length >= 5);
        for (const pid of new Set(pids)) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} still running`);
    });
});
