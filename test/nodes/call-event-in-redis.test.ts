// call event in with its Store set to a ccaas-redis node, in the test helper's runtime against a real redis-server:
// triggers as with the file store, state that survives a redeploy in Redis, 503 and a Catch-able store error while
// Redis is away, the status saying so, and recovery without a redeploy.
import assert from 'node:assert/strict';
import http from 'node:http';
import { catchNode, helper, nodeModule, servedNodeModule, statusNode } from '../support/node-red-runtime';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { until } from '../support/wait';

const callEventIn = servedNodeModule('call-event-in');
const redisNode = nodeModule('ccaas-redis');

interface Out {
    event: string;
    call: { callId: string; updateSeq?: number };
}

describe('call event in node: call state shared in Redis', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    let server: http.Server | undefined;
    let base: string;
    let out: Out[];
    let caught: Array<{ code: string; message: string }>;
    let statuses: Array<{ fill: string; text: string }>;

    before(async () => {
        await helper.startServer();
        redis = await startRedisServer();
    });
    after(async () => {
        await helper.stopServer();
        await redis.stop();
        removeRedisDir(redis);
    });
    afterEach(async () => {
        const serving = server;
        server = undefined;
        if (serving) await new Promise((resolve) => serving.close(resolve));
        await helper.unload();
    });

    const flow = (store = 'redis'): object[] => [
        { id: 'tab', type: 'tab' },
        { id: 'redis', type: 'ccaas-redis', url: redis.url, prefix: 'node-test' },
        { id: 'in', z: 'tab', type: 'call-event-in', path: '/redis-events', events: [], store, wires: [['out']] },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['in'], wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
        { id: 'watch', z: 'tab', type: 'status', scope: ['in'], wires: [['statuses']] },
        { id: 'statuses', z: 'tab', type: 'helper' },
    ];

    async function start(store?: string): Promise<void> {
        await helper.load([redisNode, callEventIn.register, catchNode, statusNode], flow(store));
        out = [];
        caught = [];
        statuses = [];
        helper.getNode('out').on('input', (msg: Out) => out.push(msg));
        helper.getNode('caught').on('input', (msg: { error: { code: string; message: string } }) => caught.push(msg.error));
        helper.getNode('statuses').on('input', (msg: { status: { fill: string; text: string } }) => statuses.push(msg.status));
        ({ server, base } = await callEventIn.serve());
    }

    const post = (body: object): Promise<Response> =>
        fetch(`${base}/redis-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it('fires the triggers and keeps the call in Redis across a redeploy', async () => {
        await start();
        assert.equal((await post({ type: 'presenting', callId: 'r-1', eventId: 'r-1-p' })).status, 202);
        assert.equal((await post({ type: 'complete', callId: 'r-1', eventId: 'r-1-x', pendingRecordings: 1 })).status, 202);
        await until(() => out.length === 2, 'two triggers');
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting', 'complete'],
        );
        assert.ok(redis.cli('--scan', '--pattern', 'node-test:calls:*').includes('r-1'), 'the call record is in Redis under the prefix');
        await helper.unload();
        await new Promise((resolve) => server!.close(resolve));
        server = undefined;

        await start();
        // The recording completes the call the earlier deploy saw begin; a duplicate stays one.
        assert.equal((await post({ type: 'recording', callId: 'r-1', eventId: 'r-1-r', recordingUrl: 'https://rec.example.com/r-1.wav' })).status, 202);
        assert.equal((await post({ type: 'complete', callId: 'r-1', eventId: 'r-1-x', pendingRecordings: 1 })).status, 202);
        await until(() => out.length === 2, 'processed and updated');
        assert.deepEqual(
            out.map((msg) => `${msg.event}${msg.call.updateSeq ?? ''}`),
            ['processed', 'updated1'],
        );
    });

    it('answers 503 and fails a msg with a Catch-able store error while Redis is away, then takes events again by itself', async () => {
        await start();
        assert.equal((await post({ type: 'presenting', callId: 'r-2', eventId: 'r-2-p' })).status, 202);
        await redis.stop();
        const refused = await post({ type: 'connected', callId: 'r-2', eventId: 'r-2-c' });
        assert.equal(refused.status, 503);
        assert.match(((await refused.json()) as { error: string }).error, /call state not saved|Redis/);
        helper.getNode('in').receive({ payload: { type: 'connected', callId: 'r-2', eventId: 'r-2-c' } });
        await until(() => caught.length === 1, 'a Catch-able error');
        assert.equal(caught[0]!.code, 'store');
        await until(() => statuses.some((status) => status.fill === 'red' && /Redis unavailable/.test(status.text)), 'a red Redis status');

        await redis.restart();
        const started = Date.now();
        let status = 0;
        while (status !== 202 && Date.now() - started < 15_000) {
            status = (await post({ type: 'connected', callId: 'r-2', eventId: 'r-2-c' })).status;
            if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.equal(status, 202, 'taken again without a redeploy');
        await until(() => out.some((msg) => msg.event === 'connected'), 'the connected trigger');
        await until(() => statuses.at(-1)?.fill === 'green', 'a green status again', 5000);
    });

    it('refuses to start when Store names no deployed ccaas-redis node, naming the property', async () => {
        await start('missing');
        const errors = (helper.log().args as unknown[][])
            .flat()
            .filter((entry) => (entry as { level?: number }).level === 20)
            .map((entry) => String((entry as { msg?: unknown }).msg));
        assert.ok(
            errors.some((message) => /^store: the Redis configuration missing named in Store is not deployed/.test(message)),
            errors.join('\n'),
        );
    });
});
