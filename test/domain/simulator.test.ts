import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { RawEvent } from '../../src/call/raw-event';
import { validateRawEvents } from '../../src/lifecycle/raw-event-validation';
import { CallTracker } from '../../src/lifecycle/call-tracker';
import { callLife, seededRandom } from '../../src/simulator/call-lives';
import { simulateCalls } from '../../src/simulator/simulate';

/** A stand-in endpoint on loopback that keeps every event it is sent. */
async function endpoint(status = 202): Promise<{ url: string; events: RawEvent[]; close(): Promise<void> }> {
    const events: RawEvent[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => {
            events.push(...validateRawEvents(JSON.parse(Buffer.concat(chunks).toString())));
            res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: 1 }));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
        events,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

describe('call simulator', () => {
    it('a seeded call life is valid, replayable, and makes the tracker fire a whole life', () => {
        const life = callLife(seededRandom(7), { paceMs: 10, startTime: 1_000, answered: true, callId: 'sim-1' });
        assert.deepEqual(callLife(seededRandom(7), { paceMs: 10, startTime: 1_000, answered: true, callId: 'sim-1' }), life);
        validateRawEvents(life.map((step) => step.event));
        const tracker = new CallTracker({ now: () => 0 });
        const fired = life.flatMap((step) => tracker.ingest(step.event)).map((trigger) => trigger.event);
        assert.equal(fired[0], 'presenting');
        for (const event of ['connected', 'complete', 'processed', 'updated'] as const) assert.ok(fired.includes(event), `${event} in ${fired.join(', ')}`);
        assert.ok(fired.indexOf('processed') > fired.indexOf('complete'));
    });

    it('varies agents, groups, directions and outcomes across calls', () => {
        const random = seededRandom(42);
        const lives = Array.from({ length: 200 }, () => callLife(random, { paceMs: 1, startTime: 0 }));
        const firsts = lives.map((life) => life[0].event);
        assert.ok(new Set(firsts.map((event) => event.agent?.name)).size >= 4);
        assert.ok(new Set(firsts.map((event) => event.group)).size >= 3);
        assert.ok(new Set(firsts.map((event) => event.direction)).size >= 2);
        const missed = lives.filter((life) => !life.some((step) => step.event.type === 'connected')).length;
        assert.ok(missed > 10 && missed < 100, `${missed} missed calls of 200`);
        assert.ok(
            lives.some((life) => life.filter((step) => step.event.type === 'accountCodes').length === 2),
            'some codes change twice',
        );
    });

    it('plays calls against an endpoint, bounded in count, and counts the answers', async () => {
        const target = await endpoint();
        try {
            const sent: string[] = [];
            const summary = await simulateCalls({
                url: target.url,
                calls: 5,
                rate: 50,
                paceMs: 5,
                seed: 3,
                maxSeconds: 20,
                onSent: (event, status) => sent.push(`${event.type}:${status}`),
            });
            assert.equal(summary.calls, 5);
            assert.equal(summary.events, target.events.length);
            assert.deepEqual(summary.answers, { 202: target.events.length });
            assert.equal(summary.unsent, 0);
            assert.equal(new Set(target.events.map((event) => event.callId)).size, 5);
            assert.equal(sent.length, target.events.length);
        } finally {
            await target.close();
        }
    });

    it('stops at the time limit and says how many events were not sent', async () => {
        const target = await endpoint();
        try {
            const summary = await simulateCalls({ url: target.url, calls: 3, rate: 100, paceMs: 2000, seed: 1, maxSeconds: 1 });
            assert.ok(summary.unsent > 0);
            assert.equal(summary.events, target.events.length);
        } finally {
            await target.close();
        }
    });

    it('ccaas-simulate runs from the command line, prints each event and a summary, and fails on refusals', async () => {
        const cli = path.resolve(__dirname, '../../src/simulator/cli.ts');
        const run = (url: string): Promise<{ code: number; stdout: string }> =>
            new Promise((resolve) => {
                execFile(
                    process.execPath,
                    ['--require', require.resolve('tsx/cjs'), cli, '--url', url, '--calls', '2', '--rate', '20', '--pace', '5', '--seed', '9'],
                    (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
                );
            });
        const accepting = await endpoint();
        const refusing = await endpoint(401);
        try {
            const ok = await run(accepting.url);
            assert.equal(ok.code, 0, ok.stdout);
            assert.match(ok.stdout, /^presenting\s+call \w{8} -> 202 /m);
            assert.match(ok.stdout, new RegExp(`^2 calls, ${accepting.events.length} events sent in [\\d.]+ s: ${accepting.events.length} x 202$`, 'm'));
            const refused = await run(refusing.url);
            assert.equal(refused.code, 1);
            assert.match(refused.stdout, /x 401/);
        } finally {
            await accepting.close();
            await refusing.close();
        }
    });
});
