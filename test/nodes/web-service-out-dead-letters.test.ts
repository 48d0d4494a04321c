// Dead letters of web service out (issue 29): a CRM that refuses every request (400) and is then fixed, driven by
// the msg.action API a flow uses, with the file store and with Redis, across a restart.
import assert from 'node:assert/strict';
import { catchNode, collect, freshUserDir, helper, nodeModule, warningsLogged } from '../support/node-red-runtime';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { startReceiver, type Receiver } from '../support/scripted-receiver';
import { until } from '../support/wait';

type Msg = Record<string, any>;

const webServiceOut = nodeModule('web-service-out');
const redisNode = nodeModule('ccaas-redis');

function flow(url: string, node: Record<string, unknown> = {}, extra: object[] = []): object[] {
    return [
        { id: 'tab', type: 'tab' },
        ...extra,
        {
            id: 'ws',
            z: 'tab',
            type: 'web-service-out',
            url: `${url}/hook`,
            method: 'POST',
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{"label":"{{callerName}}","callId":"{{callId}}"}',
            timeout: 2,
            retries: '0.05, 0.05',
            wires: [['out']],
            ...node,
        },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['ws'], uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
    ];
}

function trigger(callId: string, label: string): Msg {
    return { topic: 'Call is Presenting', call: { callId, event: 'presenting', eventSeq: 1, callerName: label }, payload: { label } };
}

/** Sends a msg.action and waits for its answer on the first output. */
async function ask(out: Msg[], action: Msg): Promise<Msg> {
    const before = out.length;
    helper.getNode('ws').receive({ ...action });
    await until(
        () => out.slice(before).some((msg) => msg.action === action.action),
        () =>
            `the answer to ${action.action} (${JSON.stringify(
                helper
                    .log()
                    .args.filter((args) => (args[0] as { level?: number }).level === 20)
                    .map((args) => (args[0] as { msg?: unknown }).msg),
            )})`,
        5000,
    );
    return out.slice(before).find((msg) => msg.action === action.action)!;
}

const stores = [
    { name: 'file store', redis: false },
    { name: 'Redis', redis: true },
] as const;

for (const store of stores) {
    describe(`web service out: dead letters (${store.name})`, function () {
        this.timeout(30_000);
        let receiver: Receiver | undefined;
        let redis: RedisServer | undefined;
        before(async () => {
            await helper.startServer();
            if (store.redis) redis = await startRedisServer();
        });
        after(async () => {
            await helper.stopServer();
            if (redis) {
                await redis.stop();
                removeRedisDir(redis);
            }
        });
        beforeEach(() => {
            freshUserDir();
            redis?.cli('FLUSHALL');
        });
        afterEach(async () => {
            await helper.unload();
            await receiver?.close();
            receiver = undefined;
        });

        const load = (url: string, node: Record<string, unknown> = {}) =>
            helper.load(
                [webServiceOut, redisNode, catchNode],
                flow(
                    url,
                    store.redis ? { store: 'redis', ...node } : node,
                    store.redis ? [{ id: 'redis', type: 'ccaas-redis', url: redis!.url, prefix: 'dead-test' }] : [],
                ),
            );

        it('a CRM that answers 400: the requests become dead letters, survive a restart, and replay-all delivers each once with its key', async () => {
            receiver = await startReceiver();
            receiver.answer = () => ({ status: 400 });
            await load(receiver.url);
            let caught = collect('caught');
            let out = collect('out');
            for (const label of ['A', 'B', 'C']) helper.getNode('ws').receive(trigger(`call-${label}`, label));
            await until(() => caught.length === 3, 'three failures caught', 5000);
            assert.ok(
                caught.every((msg) => msg.delivery.deadLettered === true && msg.error.code === 'http-4xx'),
                'each failure says it was kept',
            );
            const failedKeys = receiver.received.map((request) => request.key);
            assert.equal(new Set(failedKeys).size, 3);

            const listed = await ask(out, { action: 'list' });
            assert.deepEqual(listed.payload.queued, []);
            // The three calls are attempted side by side: they fail, and are listed, in whichever order they end.
            const failedAts = listed.payload.deadLetters.map((item: Msg) => item.failedAt as number);
            assert.deepEqual(
                failedAts,
                [...failedAts].sort((a, b) => a - b),
                'oldest failure first',
            );
            assert.deepEqual(
                listed.payload.deadLetters
                    .map((item: Msg) => [item.callId, item.event, item.attempts, item.code, item.status, typeof item.failedAt])
                    .sort((a: string[], b: string[]) => a[0]!.localeCompare(b[0]!)),
                [
                    ['call-A', 'presenting', 1, 'http-4xx', 400, 'number'],
                    ['call-B', 'presenting', 1, 'http-4xx', 400, 'number'],
                    ['call-C', 'presenting', 1, 'http-4xx', 400, 'number'],
                ],
            );
            assert.deepEqual(listed.payload.deadLetters.map((item: Msg) => item.key).sort(), [...failedKeys].sort());
            assert.equal(receiver.received.length, 3, 'a msg with action sends no request');

            // A restart (a redeploy of the whole flow) keeps them.
            await helper.unload();
            await load(receiver.url);
            caught = collect('caught');
            out = collect('out');
            const again = await ask(out, { action: 'list' });
            assert.equal(again.payload.deadLetters.length, 3, 'still there after the restart');

            // Fixed: every dead letter arrives once, under the key it failed with, and leaves the dead letters.
            receiver.answer = () => ({ status: 201 });
            const replayed = await ask(out, { action: 'replay-all' });
            assert.deepEqual(replayed.payload, { replayed: 3 });
            await until(() => receiver!.received.filter((request) => request.status === 201).length === 3, 'three delivered', 5000);
            const deliveredKeys = receiver.received.filter((request) => request.status === 201).map((request) => request.key);
            assert.deepEqual([...deliveredKeys].sort(), [...failedKeys].sort());
            await until(() => out.filter((msg) => msg.statusCode === 201).length === 3, 'three delivery reports', 5000);
            const after = await ask(out, { action: 'list' });
            assert.deepEqual([after.payload.queued, after.payload.deadLetters], [[], []]);
            assert.equal(receiver.received.length, 6, 'each once');
            assert.equal(caught.length, 0);
        });

        it('bounds: at most deadLetters are kept, the oldest dropped first, with one warning', async () => {
            receiver = await startReceiver();
            receiver.answer = () => ({ status: 422 });
            await load(receiver.url, { deadLetters: 2 });
            const caught = collect('caught');
            const out = collect('out');
            for (const label of ['A', 'B', 'C', 'D']) {
                helper.getNode('ws').receive(trigger(`call-${label}`, label));
                // One at a time, so that their failures are in this order.
                await until(() => caught.length === ['A', 'B', 'C', 'D'].indexOf(label) + 1, `failure of ${label}`, 5000);
            }
            const listed = await ask(out, { action: 'list' });
            assert.deepEqual(
                listed.payload.deadLetters.map((item: Msg) => item.callId),
                ['call-C', 'call-D'],
            );
            const dropped = warningsLogged().filter((text) => text.includes('dead letters:'));
            assert.equal(dropped.length, 1, dropped.join('\n'));
            assert.match(dropped[0]!, /dropped to keep at most 2 for 7 days/);
        });

        it('"list" with msg.limit answers the oldest of each kind and counts them all; a bad msg.limit is Caught naming it', async () => {
            receiver = await startReceiver();
            receiver.answer = () => ({ status: 400 });
            await load(receiver.url);
            const caught = collect('caught');
            const out = collect('out');
            for (const label of ['A', 'B', 'C']) {
                helper.getNode('ws').receive(trigger(`call-${label}`, label));
                await until(() => caught.length === ['A', 'B', 'C'].indexOf(label) + 1, `failure of ${label}`, 5000);
            }
            const page = await ask(out, { action: 'list', limit: 2 });
            assert.deepEqual(
                page.payload.deadLetters.map((item: Msg) => item.callId),
                ['call-A', 'call-B'],
            );
            assert.deepEqual(page.payload.queued, []);
            assert.equal(page.payload.deadLetterCount, 3);
            assert.equal(page.payload.queuedCount, 0);
            // An inject node may give the number as a string.
            assert.equal((await ask(out, { action: 'list', limit: '1' })).payload.deadLetters.length, 1);
            // Without msg.limit the answer is what it always was: everything, and no counts.
            assert.deepEqual(Object.keys((await ask(out, { action: 'list' })).payload).sort(), ['deadLetters', 'queued']);
            for (const limit of [0, 1.5, 'ten', -1]) helper.getNode('ws').receive({ action: 'list', limit });
            await until(() => caught.length === 7, 'four refusals', 5000);
            for (const msg of caught.slice(3)) {
                assert.equal(msg.error.code, 'input');
                assert.match(String(msg.error.message), /^msg\.limit: "list" takes a whole number of 1 or more/);
            }
        });

        it('"list" with msg.limit pages the queued requests too, oldest first', async () => {
            receiver = await startReceiver();
            receiver.answer = () => ({ status: 503 });
            await load(receiver.url, { retries: '1h' });
            const out = collect('out');
            for (const label of ['A', 'B', 'C']) {
                helper.getNode('ws').receive(trigger(`call-${label}`, label));
                await until(() => receiver!.received.length === ['A', 'B', 'C'].indexOf(label) + 1, `the first attempt of ${label}`, 5000);
            }
            let page: Msg = {};
            for (let tries = 0; tries < 50 && page.payload?.queuedCount !== 3; tries++) page = await ask(out, { action: 'list', limit: 2 });
            assert.deepEqual(
                page.payload.queued.map((item: Msg) => item.callId),
                ['call-A', 'call-B'],
            );
            assert.equal(page.payload.queuedCount, 3);
            assert.equal(page.payload.deadLetterCount, 0);
        });

        it('replay and discard by msg.key; bad actions are Caught naming msg.action or msg.key', async () => {
            receiver = await startReceiver();
            receiver.answer = () => ({ status: 400 });
            await load(receiver.url);
            const caught = collect('caught');
            const out = collect('out');
            helper.getNode('ws').receive(trigger('call-A', 'A'));
            helper.getNode('ws').receive(trigger('call-B', 'B'));
            await until(() => caught.length === 2, 'two failures', 5000);
            const [first, second] = (await ask(out, { action: 'list' })).payload.deadLetters as Msg[];

            assert.deepEqual((await ask(out, { action: 'discard', key: first!.key })).payload, { discarded: 1 });
            receiver.answer = () => ({ status: 200 });
            assert.deepEqual((await ask(out, { action: 'replay', key: second!.key })).payload, { replayed: 1 });
            await until(() => receiver!.received.some((request) => request.status === 200), 'the replayed one', 5000);
            assert.equal(receiver.received.at(-1)!.key, second!.key);

            helper.getNode('ws').receive({ action: 'replay', key: first!.key });
            helper.getNode('ws').receive({ action: 'replay' });
            helper.getNode('ws').receive({ action: 'resend-everything' });
            await until(() => caught.length === 5, 'three refusals', 5000);
            // Each is answered as soon as it is known, so not necessarily in the order sent.
            const texts = caught
                .slice(2)
                .map((msg) => String(msg.error.message))
                .sort();
            assert.match(texts[0]!, /^msg\.action: "resend-everything" is not one of list, replay, replay-all, discard, discard-all, retry/);
            assert.match(texts[1]!, /^msg\.key: "replay" needs the idempotency key of a dead letter/);
            assert.match(texts[2]!, /^msg\.key: no dead letter has the key "msg_[0-9a-f]{32}"/);
            assert.deepEqual((await ask(out, { action: 'discard-all' })).payload, { discarded: 0 });
        });

        it('a request waiting for its retry is listed with its next attempt, and "retry" sends it now', async () => {
            receiver = await startReceiver();
            receiver.answer = (_request, attempt) => ({ status: attempt === 1 ? 503 : 200 });
            await load(receiver.url, { retries: '1h' });
            const out = collect('out');
            helper.getNode('ws').receive(trigger('call-A', 'A'));
            await until(() => receiver!.received.length === 1, 'the first attempt', 5000);
            // The failed attempt is recorded (and its retry scheduled) just after its answer arrived.
            let queued: Msg[] = [];
            for (let tries = 0; tries < 50 && !(queued.length === 1 && queued[0]!.nextAttemptAt !== undefined); tries++) {
                queued = (await ask(out, { action: 'list' })).payload.queued;
            }
            assert.equal(queued[0]!.code, 'http-5xx');
            assert.equal(queued[0]!.attempts, 1);
            assert.ok(queued[0]!.nextAttemptAt > Date.now() + 30 * 60_000, 'an hour away');
            assert.deepEqual((await ask(out, { action: 'retry', key: queued[0]!.key })).payload, { retried: true });
            await until(() => receiver!.received.length === 2, 'the second attempt, now', 5000);
            await until(() => out.some((msg) => msg.statusCode === 200), 'delivered', 5000);
            assert.deepEqual((await ask(out, { action: 'retry', key: queued[0]!.key })).payload, { retried: false });
        });
    });
}
