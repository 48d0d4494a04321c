// The outbox of web service out shared in Redis by several instances (here: several Senders with their own Redis
// connections and the same node id, as Node-RED instances running one flow), against a real redis-server and a real
// HTTP sink on 127.0.0.1.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliveryHeaders } from '../../src/delivery/delivery-headers';
import { QueueFullError } from '../../src/delivery/delivery-queue';
import { Sender, type SettledRequest, type StoreProblem } from '../../src/delivery/sender';
import { SharedDeliveryQueue } from '../../src/delivery/shared-delivery-queue';
import { InputError, type CodedError } from '../../src/errors/coded-error';
import { compileRequest } from '../../src/request/build-request';
import { StoreError } from '../../src/store/durable-store';
import { MAX_VALUE_BYTES } from '../../src/store/log-format';
import { RedisConnection } from '../../src/store/redis/redis-connection';
import { RedisOutbox } from '../../src/store/redis/redis-outbox';
import { monitorScripts, type ScriptMonitor } from '../support/redis-script-monitor';
import { describeOnEachRedis, startSharedRedis, type RedisKind, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

const PREFIX = 'test';
const NODE_ID = 'ws1';

interface Arrival {
    key: string;
    callId: string;
    index: number;
    at: number;
}

interface Answer {
    status: number;
    headers?: Record<string, string>;
    /** The answer waits this long (ms); a request in flight counts as such meanwhile. */
    delayMs?: number;
    /** The answer waits until the test calls `releaseHeld()`. */
    hold?: boolean;
}

interface Sink {
    url: string;
    arrivals: Arrival[];
    maxInFlight(): number;
    answer: (arrival: Arrival) => Answer;
    releaseHeld(): void;
    close(): Promise<void>;
}

/** The web service: records each request (idempotency key, call, index in the call) and answers as told. */
async function startSink(): Promise<Sink> {
    const arrivals: Arrival[] = [];
    const held: (() => void)[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const sink: Sink = {
        url: '',
        arrivals,
        maxInFlight: () => maxInFlight,
        answer: () => ({ status: 200 }),
        releaseHeld: () => held.splice(0).forEach((release) => release()),
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
    const server = http.createServer((req, res) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { index: number };
            const arrival: Arrival = {
                key: String(req.headers['idempotency-key']),
                callId: String(req.url).split('/').pop()!,
                index: body.index,
                at: Date.now(),
            };
            arrivals.push(arrival);
            const answer = sink.answer(arrival);
            const respond = () => {
                inFlight -= 1;
                if (!res.destroyed) res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end('{}');
            };
            if (answer.hold) held.push(respond);
            else setTimeout(respond, answer.delayMs ?? 0);
        });
    });
    server.keepAliveTimeout = 100;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return sink;
}

interface Instance {
    name: string;
    connection: RedisConnection;
    sender: Sender<string>;
    delivered: SettledRequest<string>[];
    failed: { request: SettledRequest<string>; error: CodedError }[];
    problems: StoreProblem[];
    close(): Promise<void>;
}

interface InstanceOptions {
    concurrency?: number;
    ratePerSecond?: number;
    maxQueued?: number;
    maxQueuedBytes?: number;
    schedule?: number[];
    leaseMs?: number;
    timeoutMs?: number;
    /** The fallback poll (ms); 50 unless a test shows that something else wakes the instances. */
    pollMs?: number;
}

/** One Node-RED instance's web service out node: its own Redis connection, the shared node id. */
function instance(redis: SharedRedis, sink: Sink, name: string, options: InstanceOptions = {}): Instance {
    const connection = new RedisConnection({ ...redis.target, prefix: PREFIX }, { maxReconnectWaitMs: 100, clientName: name });
    const delivered: SettledRequest<string>[] = [];
    const failed: { request: SettledRequest<string>; error: CodedError }[] = [];
    const problems: StoreProblem[] = [];
    const sender = new Sender<string>({
        nodeId: NODE_ID,
        userDir: undefined,
        schedule: options.schedule ?? [50, 50, 50],
        concurrency: options.concurrency ?? 4,
        ratePerSecond: options.ratePerSecond,
        maxQueued: options.maxQueued ?? 1000,
        maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
        store: { kind: 'redis', connection, pollMs: options.pollMs ?? 50, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) },
        profile: {
            builder: compileRequest({ url: `${sink.url}/calls/{{callId}}`, method: 'POST', bodyType: 'payload', contentType: 'application/json' }),
            decorate: deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: [] }),
            timeoutMs: options.timeoutMs ?? 2000,
        },
        events: {
            delivered: (request) => delivered.push(request),
            failed: (request, error) => failed.push({ request, error }),
            changed: () => {},
            storeProblem: (problem) => problems.push(problem),
        },
    });
    return {
        name,
        connection,
        sender,
        delivered,
        failed,
        problems,
        async close() {
            await sender.close(false);
            await connection.close();
        },
    };
}

/** The index-th trigger of a call: its own idempotency key (updateSeq), its index in the body. */
const outgoing = (callId: string, index: number) => ({ call: { callId, event: 'updated', updateSeq: index }, payload: { index } });

/** Every key of the test prefix, with its TTL in ms (-1: none). */
/**
 * A Redis and a sink of their own for each test of the calling describe, given to `started` before the test, and
 * `start` for its instances (with `defaults` under their own options); all of it stopped after the test.
 */
function perTestCluster(kind: RedisKind, started: (cluster: { redis: SharedRedis; sink: Sink }) => void, defaults: InstanceOptions = {}) {
    let redis: SharedRedis;
    let sink: Sink;
    const instances: Instance[] = [];
    beforeEach(async () => {
        redis = await startSharedRedis(kind);
        sink = await startSink();
        started({ redis, sink });
    });
    afterEach(async () => {
        sink.releaseHeld();
        await Promise.allSettled(instances.splice(0).map((each) => each.close()));
        await sink.close();
        await redis.remove();
    });
    return {
        start(name: string, options: InstanceOptions = {}): Instance {
            const created = instance(redis, sink, name, { ...defaults, ...options });
            instances.push(created);
            return created;
        },
    };
}

function keysWithTtl(redis: SharedRedis): Map<string, number> {
    const keys = redis.scan(`${PREFIX}:*`);
    return new Map(keys.map((key) => [key, Number(redis.cli('PTTL', key))]));
}

describeOnEachRedis('shared delivery queue (Redis)', function (kind) {
    this.timeout(30_000);
    let redis: SharedRedis;
    let sink: Sink;
    const { start } = perTestCluster(kind, (started) => ({ redis, sink } = started));

    it('three instances share the work: each request delivered and reported once, per-call order kept, concurrency for the cluster', async () => {
        const cluster = ['a', 'b', 'c'].map((name) => start(name, { concurrency: 2 }));
        await Promise.all(cluster.map((each) => each.connection.ready()));
        assert.ok(
            cluster.every((each) => each.sender.shared),
            'done() means durable in Redis',
        );
        sink.answer = (arrival) => ({ status: 200, delayMs: 5 + ((arrival.index * 7) % 20) });
        const calls = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
        const perCall = 5;
        // Each call's triggers arrive at different instances, one after the other, as the events of a call would.
        await Promise.all(
            calls.map(async (callId, callIndex) => {
                for (let index = 0; index < perCall; index++) {
                    const accepting = cluster[(callIndex + index) % 3]!;
                    await accepting.sender.send(outgoing(callId, index), `${accepting.name}:${callId}:${index}`);
                }
            }),
        );
        const total = calls.length * perCall;
        const reported = () => cluster.reduce((sum, each) => sum + each.delivered.length, 0);
        await until(() => reported() === total, 'every request delivered', 20_000);
        assert.equal(sink.arrivals.length, total, 'each request sent once');
        assert.equal(new Set(sink.arrivals.map((arrival) => arrival.key)).size, total);
        for (const callId of calls) {
            assert.deepEqual(
                sink.arrivals.filter((arrival) => arrival.callId === callId).map((arrival) => arrival.index),
                [0, 1, 2, 3, 4],
                `the triggers of ${callId} arrive in order`,
            );
        }
        assert.ok(sink.maxInFlight() <= 2, `at most 2 requests in flight in the cluster, saw ${sink.maxInFlight()}`);
        for (const each of cluster) {
            for (const request of each.delivered) {
                // The context is the accepting instance's own; an instance that did not accept the request has none.
                if (request.context !== undefined) assert.ok(request.context.startsWith(`${each.name}:`), `${each.name} reported ${request.context}`);
            }
        }
        const withContext = cluster.reduce((sum, each) => sum + each.delivered.filter((request) => request.context !== undefined).length, 0);
        assert.ok(withContext > 0, 'requests settled where they were accepted report to their msg');
        await until(() => cluster.every((each) => each.sender.snapshot()!.queued === 0), 'every instance sees the outbox empty');
        const left = keysWithTtl(redis);
        for (const [key, ttl] of left) assert.ok(ttl > 0, `${key} is left without a TTL`);
        const base = `${PREFIX}:outbox:{${NODE_ID}}:`;
        assert.deepEqual([...left.keys()].sort(), [`${base}seq`, `${base}settled`], 'only the key counter and the recent settles are left');
    });

    it('holds the rate for the whole cluster', async () => {
        const cluster = ['a', 'b', 'c'].map((name) => start(name, { concurrency: 8, ratePerSecond: 5 }));
        await Promise.all(cluster.map((each) => each.connection.ready()));
        for (let index = 0; index < 12; index++) await cluster[index % 3]!.sender.send(outgoing(`r${index}`, 0), `r${index}`);
        await until(() => sink.arrivals.length === 12, 'every request sent', 10_000);
        const times = sink.arrivals.map((arrival) => arrival.at).sort((x, y) => x - y);
        // 5 per second: any second holds 5 starts (6 when both ends of the window fall on one), plus 2 for requests
        // of a loaded machine arriving later than they started. Without the limit all 12 arrive within one second.
        for (const first of times) {
            const inWindow = times.filter((time) => time >= first && time < first + 1000).length;
            assert.ok(inWindow <= 8, `${inWindow} requests arrived within one second`);
        }
    });

    it('a request whose instance died mid-request is sent by another after the lease, under the same idempotency key', async () => {
        const dying = start('dying', { leaseMs: 600, timeoutMs: 3000 });
        await dying.connection.ready();
        sink.answer = () => (sink.arrivals.length === 1 ? { status: 200, hold: true } : { status: 200 });
        await dying.sender.send(outgoing('d1', 0), 'accepted by dying');
        await until(() => sink.arrivals.length === 1, 'the first attempt in flight');
        // The instance is gone: it neither settles nor renews its lease.
        dying.connection.client.disconnect();
        const survivor = start('survivor', { leaseMs: 600, timeoutMs: 3000 });
        await until(() => survivor.delivered.length === 1, 'the survivor delivered it', 10_000);
        assert.equal(sink.arrivals.length, 2);
        assert.equal(sink.arrivals[1]!.key, sink.arrivals[0]!.key, 'the same idempotency key');
        assert.equal(survivor.delivered[0]!.context, undefined, 'the survivor did not accept the msg');
        assert.equal(survivor.delivered[0]!.entry.attempts, 2, 'the attempt of the dead instance counts');
        sink.releaseHeld();
        await dying.sender.close(false);
        assert.equal(dying.delivered.length + dying.failed.length, 0, 'the dead instance reports nothing');
    });

    it('attempts, backoff and Retry-After carry over from one instance to another', async () => {
        const first = start('first', { schedule: [50, 50, 50] });
        await first.connection.ready();
        const answers: Answer[] = [{ status: 503, headers: { 'retry-after': '1' } }, { status: 500 }, { status: 200 }];
        sink.answer = () => answers[Math.min(sink.arrivals.length - 1, answers.length - 1)]!;
        await first.sender.send(outgoing('r1', 0), 'first');
        await until(() => sink.arrivals.length === 1, 'the first attempt');
        // The first instance goes away while the request waits for its Retry-After.
        await first.close();
        const second = start('second', { schedule: [50, 50, 50] });
        await until(() => second.delivered.length === 1, 'the second instance delivered it', 10_000);
        assert.equal(sink.arrivals.length, 3);
        assert.ok(sink.arrivals[1]!.at - sink.arrivals[0]!.at >= 950, `Retry-After 1 s held: ${sink.arrivals[1]!.at - sink.arrivals[0]!.at} ms`);
        assert.deepEqual(new Set(sink.arrivals.map((arrival) => arrival.key)).size, 1);
        assert.equal(second.delivered[0]!.attempts, 3, 'the attempts go on from those of the first instance');
        assert.equal(first.delivered.length + first.failed.length, 0);
    });

    it('close waits for the attempt in flight and records it; the shared keys of queued requests stay', async () => {
        const one = start('one');
        await one.connection.ready();
        sink.answer = (arrival) => ({ status: 200, delayMs: arrival.callId === 'slow' ? 300 : 0 });
        await one.sender.send(outgoing('slow', 0), 'slow');
        await until(() => sink.arrivals.length === 1, 'the attempt in flight');
        sink.answer = () => ({ status: 200, hold: true });
        await one.sender.close(false);
        assert.equal(one.delivered.length, 1, 'the attempt in flight was reported');
        assert.equal(redis.cli('HLEN', `${PREFIX}:outbox:{${NODE_ID}}:entries`), '0', 'and settled in Redis');
        const two = start('two');
        await two.connection.ready();
        // A request accepted now waits in Redis for whichever instance runs next, once this one closes.
        sink.answer = () => ({ status: 503 });
        await two.sender.send(outgoing('later', 0), 'later');
        await until(() => sink.arrivals.length === 2, 'its first attempt');
        await two.sender.close(false);
        assert.equal(redis.cli('HLEN', `${PREFIX}:outbox:{${NODE_ID}}:entries`), '1', 'the waiting request stays for the next start');
    });

    it('gives up after the last scheduled attempt, wherever it is made, and reports the failure once', async () => {
        const cluster = ['a', 'b'].map((name) => start(name, { schedule: [20, 20] }));
        await Promise.all(cluster.map((each) => each.connection.ready()));
        sink.answer = () => ({ status: 500 });
        await cluster[0]!.sender.send(outgoing('f1', 0), 'a');
        await until(() => cluster.some((each) => each.failed.length === 1), 'the failure', 10_000);
        assert.equal(sink.arrivals.length, 3);
        const failure = cluster.flatMap((each) => each.failed)[0]!;
        assert.equal(failure.error.code, 'http-5xx');
        assert.match(failure.error.message, /gave up after 3 attempts/);
        await until(() => cluster.every((each) => each.sender.snapshot()!.queued === 0), 'the outbox empty');
        assert.equal(cluster.flatMap((each) => each.failed).length, 1);
    });

    it('refuses requests with a store error while Redis is down, and delivers what it acknowledged once Redis is back', async () => {
        const one = start('one', { schedule: [100, 100, 100, 100, 100, 100, 100, 100] });
        const two = start('two', { schedule: [100, 100, 100, 100, 100, 100, 100, 100] });
        await Promise.all([one.connection.ready(), two.connection.ready()]);
        let down = true;
        sink.answer = () => ({ status: down ? 503 : 200 });
        for (let index = 0; index < 4; index++) await [one, two][index % 2]!.sender.send(outgoing(`k${index}`, 0), `k${index}`);
        // SIGKILL: no shutdown save; only what the append-only file holds comes back.
        await redis.stop('SIGKILL');
        await until(() => one.sender.refusing && two.sender.refusing, 'both see Redis gone');
        await assert.rejects(one.sender.send(outgoing('refused', 0), 'refused'), (err: CodedError) => err instanceof StoreError && err.code === 'store');
        await redis.restart();
        await until(() => !one.sender.refusing && !two.sender.refusing, 'both reconnected', 10_000);
        down = false;
        await until(() => one.delivered.length + two.delivered.length === 4, 'every acknowledged request delivered', 15_000);
        const delivered = new Set(sink.arrivals.filter((arrival) => arrival.at > 0).map((arrival) => arrival.callId));
        assert.deepEqual([...delivered].sort(), ['k0', 'k1', 'k2', 'k3'], 'the refused request was never sent');
        for (const each of [one, two]) {
            const kinds = each.problems.map((problem) => problem.kind);
            assert.ok(kinds.includes('redis-unavailable'), `${each.name}: ${kinds.join(', ')}`);
            assert.equal(kinds.filter((kind) => kind === 'redis-reconnected').length, 1);
        }
    });

    it('refuses what the outbox cannot keep as the file queue does (not JSON, more than one record), keeping nothing', async () => {
        const one = start('solo');
        await one.connection.ready();
        await assert.rejects(
            one.sender.send({ call: { callId: 'big', event: 'updated', updateSeq: 1, n: 10n }, payload: {} }, 'big'),
            (error: unknown) => error instanceof InputError && /^msg\.call or msg\.payload cannot be kept in the outbox: .*BigInt/.test(error.message),
        );
        const huge = { call: { callId: 'huge', event: 'updated', updateSeq: 1 }, payload: { index: 0, pad: 'p'.repeat(MAX_VALUE_BYTES) } };
        await assert.rejects(
            one.sender.send(huge, 'huge'),
            (error: unknown) =>
                error instanceof InputError &&
                /^the message is too large to keep in the outbox: msg\.call and msg\.payload take 16\.00 MiB \(\d+ bytes\), one request may take at most 16\.00 MiB \(\d+ bytes\)$/.test(
                    error.message,
                ),
        );
        assert.equal(one.sender.snapshot()!.queued, 0);
        await one.sender.send(outgoing('fine', 0), 'fine');
        await until(() => one.delivered.length === 1, 'the next request delivered');
        assert.deepEqual(
            sink.arrivals.map((arrival) => arrival.callId),
            ['fine'],
        );
    });

    it('bounds the queue for the whole cluster: count and size', async () => {
        const cluster = ['a', 'b', 'c'].map((name) => start(name, { maxQueued: 3 }));
        await Promise.all(cluster.map((each) => each.connection.ready()));
        sink.answer = () => ({ status: 200, hold: true });
        for (let index = 0; index < 3; index++) await cluster[index]!.sender.send(outgoing(`q${index}`, 0), `q${index}`);
        await assert.rejects(
            cluster[2]!.sender.send(outgoing('q3', 0), 'q3'),
            (err: CodedError) => err instanceof QueueFullError && err.code === 'queue-full' && err.queued === 3,
        );
        assert.equal(cluster[2]!.sender.snapshot()!.full, true);
        await until(() => sink.arrivals.length === 3, 'the three accepted in flight');
        sink.releaseHeld();
        sink.answer = () => ({ status: 200 });
        await until(() => cluster.reduce((sum, each) => sum + each.delivered.length, 0) === 3, 'the three delivered');
        await cluster[0]!.sender.send(outgoing('q4', 0), 'q4');
        await until(() => cluster.reduce((sum, each) => sum + each.delivered.length, 0) === 4, 'a new request accepted once the queue drained');

        const sized = ['x', 'y'].map((name) => start(name, { maxQueuedBytes: 600 }));
        // Another node id would be another outbox: these two share the first's, now empty.
        await Promise.all(sized.map((each) => each.connection.ready()));
        await until(() => sized[0]!.sender.snapshot() !== undefined, 'open');
        sink.answer = () => ({ status: 200, hold: true });
        await sized[0]!.sender.send({ call: { callId: 's1', event: 'updated', updateSeq: 1 }, payload: { index: 0, pad: 'p'.repeat(300) } }, 's1');
        await assert.rejects(
            sized[1]!.sender.send({ call: { callId: 's2', event: 'updated', updateSeq: 1 }, payload: { index: 1, pad: 'p'.repeat(300) } }, 's2'),
            (err: CodedError) => err instanceof QueueFullError && err.bound === 'maxQueuedSize',
        );
    });
});

describeOnEachRedis('Redis outbox scripts', function (kind) {
    this.timeout(20_000);
    let redis: SharedRedis;
    let connection: RedisConnection;
    beforeEach(async () => {
        redis = await startSharedRedis(kind);
        connection = new RedisConnection({ ...redis.target, prefix: PREFIX });
        await connection.ready();
    });
    afterEach(async () => {
        await connection.close();
        await redis.remove();
    });

    it('a settle by an instance whose lease was taken over changes nothing; the new owner settles', async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        const body = JSON.stringify({ call: { callId: 'L' }, idempotencyKey: 'k' });
        const queued = await outbox.enqueue('L', body, { maxQueued: 10, maxQueuedBytes: 10_000 });
        assert.equal(queued.kind, 'queued');
        const limits = { leaseMs: 100, concurrency: 1, rateIntervalMs: 0 };
        const first = await outbox.claim('old', limits);
        assert.equal(first.kind, 'claimed');
        assert.equal((await outbox.claim('new', limits)).kind, 'busy', 'one lease of concurrency 1 is held');
        await until(() => Number(redis.cli('TIME').split('\n')[0]) * 1000 > first.counts.now + 150, 'the lease expired', 2000, 50);
        const second = await outbox.claim('new', limits);
        assert.equal(second.kind, 'claimed');
        assert.equal(JSON.parse((second as { json: string }).json).attempts, 2);
        assert.equal((await outbox.settle('old', 'L', queued.kind === 'queued' ? queued.key : '', 'done')).kind, 'lost');
        assert.equal(second.counts.queued, 1);
        const settled = await outbox.settle('new', 'L', (second as { key: string }).key, 'done');
        assert.equal(settled.kind, 'settled');
        assert.equal(settled.counts.queued, 0);
        assert.equal(settled.counts.queuedBytes, 0);
    });

    it('an enqueue claims on its trip as a claim would: the new head, then idle behind it, busy at the concurrency, the rate slot', async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        const body = (callId: string) => JSON.stringify({ call: { callId }, idempotencyKey: `k-${callId}` });
        const bounds = { maxQueued: 10, maxQueuedBytes: 10_000 };
        const along = (concurrency: number, rateIntervalMs = 0) => ({ token: 't', limits: { leaseMs: 5000, concurrency, rateIntervalMs } });
        const first = await outbox.enqueue('A', body('A'), bounds, along(2, 60_000));
        assert.ok(first.kind === 'queued' && first.claim?.kind === 'claimed', `the new head is claimed: ${JSON.stringify(first)}`);
        assert.equal(first.claim.key, first.key);
        assert.equal(first.claim.lane, 'A');
        assert.equal(JSON.parse(first.claim.json).attempts, 1, 'its attempt is counted');
        assert.ok(first.claim.counts.firstLeaseEndAt! >= first.counts.now + 5000, 'the reply says when the lease ends');
        const behind = await outbox.enqueue('A', body('A'), bounds, along(2));
        assert.ok(behind.kind === 'queued' && behind.claim?.kind === 'idle', 'the call head is in flight: nothing else is ready');
        const rated = await outbox.enqueue('B', body('B'), bounds, along(2, 60_000));
        assert.ok(rated.kind === 'queued' && rated.claim?.kind === 'rate', "the cluster's rate slot is a minute away");
        const busy = await outbox.enqueue('C', body('C'), bounds, along(1));
        assert.ok(busy.kind === 'queued' && busy.claim?.kind === 'busy', 'one lease held of concurrency 1');
        const asked = await outbox.enqueue('D', body('D'), bounds);
        assert.ok(asked.kind === 'queued' && asked.claim === undefined, 'no claim unless asked');
        assert.equal(redis.cli('HLEN', `${PREFIX}:outbox:{${NODE_ID}}:owners`), '1', 'one lease in all');
    });

    it("a settle claims on its trip: the call's next request, or another call's", async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        const body = JSON.stringify({ call: { callId: 'A' }, idempotencyKey: 'k' });
        const bounds = { maxQueued: 10, maxQueuedBytes: 10_000 };
        const limits = { leaseMs: 5000, concurrency: 1, rateIntervalMs: 0 };
        await outbox.enqueue('A', body, bounds);
        const second = await outbox.enqueue('A', body, bounds);
        const other = await outbox.enqueue('B', body, bounds);
        const claimed = await outbox.claim('t', limits);
        assert.ok(claimed.kind === 'claimed');
        const settled = await outbox.settle('t', claimed.lane, claimed.key, 'done', 0, { token: 't', limits });
        assert.equal(settled.kind, 'settled');
        // B waited longer than A's second request, which became ready only now.
        assert.ok(settled.claim?.kind === 'claimed' && other.kind === 'queued' && settled.claim.key === other.key, JSON.stringify(settled));
        const next = await outbox.settle('t', settled.claim.lane, settled.claim.key, 'retry', 60_000, { token: 't', limits });
        assert.ok(next.claim?.kind === 'claimed' && second.kind === 'queued' && next.claim.key === second.key, "then A's second request");
        const last = await outbox.settle('t', next.claim.lane, next.claim.key, 'done', 0, { token: 't', limits });
        assert.equal(last.claim?.kind, 'idle', "B's retry is a minute away");
    });

    it('a page of the contents is the oldest entries, in the order they were accepted, as the whole contents begin', async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        // Twelve keys, so that 10, 11 and 12 would come before 2 in text order.
        for (let index = 1; index <= 12; index++) {
            const body = JSON.stringify({ call: { callId: `C${index % 3}` }, idempotencyKey: `k${index}` });
            assert.equal((await outbox.enqueue(`C${index % 3}`, body, { maxQueued: 100, maxQueuedBytes: 100_000 })).kind, 'queued');
        }
        const whole = await outbox.contents();
        const page = await outbox.contents(5);
        assert.equal(whole.entries.length, 12);
        assert.deepEqual(page.entries, whole.entries.slice(0, 5));
        assert.deepEqual(
            page.entries.map((entry) => JSON.parse(entry.json).idempotencyKey),
            ['k1', 'k2', 'k3', 'k4', 'k5'],
        );
        assert.deepEqual([...page.readyAt.keys()].sort(), [...whole.readyAt.keys()].sort(), 'every lane still says when its head is ready');
        assert.deepEqual((await outbox.contents(50)).entries, whole.entries);
    });

    it('the contents while a request is claimed name it as leased (the leases key beside the owners is not read for them)', async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        const bounds = { maxQueued: 100, maxQueuedBytes: 100_000 };
        const body = JSON.stringify({ call: { callId: 'L' }, idempotencyKey: 'leased' });
        assert.equal((await outbox.enqueue('L', body, bounds)).kind, 'queued');
        const claimed = await outbox.claim('t', { leaseMs: 5000, concurrency: 1, rateIntervalMs: 0 });
        assert.ok(claimed.kind === 'claimed');
        const contents = await outbox.contents();
        assert.equal(contents.leased.get('L'), claimed.key);
        assert.equal((await outbox.contents(1)).leased.get('L'), claimed.key);
    });

    it('keeps the stored JSON a readable format 2 entry, its byte count exact as attempts grow', async () => {
        const outbox = new RedisOutbox(connection, NODE_ID);
        const body = JSON.stringify({ call: { callId: 'J', list: [], text: 'é/"' }, payload: [], idempotencyKey: 'k' });
        const queued = await outbox.enqueue('J', body, { maxQueued: 10, maxQueuedBytes: 10_000 });
        assert.equal(queued.kind, 'queued');
        for (let attempt = 1; attempt <= 10; attempt++) {
            const claimed = await outbox.claim('me', { leaseMs: 5000, concurrency: 1, rateIntervalMs: 0 });
            assert.equal(claimed.kind, 'claimed', `claim ${attempt}`);
            const { json, key } = claimed as { json: string; key: string };
            const entry = JSON.parse(json);
            assert.deepEqual(entry.call, { callId: 'J', list: [], text: 'é/"' });
            assert.deepEqual(entry.payload, []);
            assert.equal(entry.attempts, attempt);
            assert.equal(entry.format, 2);
            assert.equal(claimed.counts.queuedBytes, Buffer.byteLength(json));
            await outbox.settle('me', 'J', key, 'retry', 0);
        }
    });
});

describeOnEachRedis('shared delivery queue: requests accepted on one instance, settled on another', function (kind) {
    this.timeout(20_000);
    it('the accepting instance hears that another settled them, so it lets go of their context', async () => {
        const redis = await startSharedRedis(kind);
        const connections = [0, 1].map(() => new RedisConnection({ ...redis.target, prefix: PREFIX }));
        const settledElsewhere: string[] = [];
        const settledOnB: string[] = [];
        const common = { nodeId: NODE_ID, leaseMs: 2000, pollMs: 10, sweepMs: 50, random: () => 0.5 };
        // A's attempts always fail (its receiver would be unreachable from it), B's succeed: B ends up settling.
        const a = new SharedDeliveryQueue<number>({
            ...common,
            connection: connections[0]!,
            schedule: Array.from({ length: 200 }, () => 5),
            attempt: async () => ({ verdict: { kind: 'retry' }, result: 0 }),
            onSettled: () => {},
            onSettledElsewhere: (keys) => settledElsewhere.push(...keys),
        });
        const b = new SharedDeliveryQueue<number>({
            ...common,
            connection: connections[1]!,
            schedule: [],
            attempt: async () => ({ verdict: { kind: 'delivered' }, result: 0 }),
            onSettled: (job) => settledOnB.push(job.key),
        });
        try {
            await Promise.all(connections.map((connection) => connection.ready()));
            const registered: string[] = [];
            const job = await a.enqueue({ call: { callId: 'e1' }, idempotencyKey: 'k' }, (accepted) => registered.push(accepted.key));
            assert.deepEqual(registered, [job.key], 'the job was registered before enqueue resolved');
            await until(() => settledOnB.length === 1, 'B settled it', 10_000);
            assert.deepEqual(settledOnB, [job.key]);
            await until(() => settledElsewhere.length === 1, 'A heard of it');
            assert.deepEqual(settledElsewhere, [job.key]);
        } finally {
            await Promise.all([a.close(), b.close()]);
            await Promise.all(connections.map((connection) => connection.close()));
            await redis.remove();
        }
    });
});

describeOnEachRedis('shared delivery queue: idle instances woken by Redis', function (kind) {
    this.timeout(30_000);
    // A poll this slow explains nothing that happens within a test's bounds: whatever an idle instance does, Redis
    // told it to.
    const SLOW_POLL_MS = 60_000;
    // Generous on a loaded machine; the wake-up time itself is the bench's to measure, not a test's.
    const WAKE_BOUND_MS = 2000;
    let redis: SharedRedis;
    let sink: Sink;
    const { start } = perTestCluster(kind, (started) => ({ redis, sink } = started), { pollMs: SLOW_POLL_MS });
    const channel = `${PREFIX}:outbox:{${NODE_ID}}:wake`;
    // In a cluster each instance's subscriber is on any one node: the count is the sum of every node's.
    const subscribers = () => redis.onEveryNode('PUBSUB', 'NUMSUB', channel).reduce((sum, answer) => sum + Number(answer.split('\n').pop()), 0);

    /**
     * A takes one request at a time (concurrency 1) and is given a second while the first is held by the sink:
     * B, idle and asleep, must be the one that sends it, and it can only have heard of it from Redis.
     */
    async function wakesAcross(a: Instance, b: Instance, tag: string): Promise<void> {
        const held = `${tag}-held`;
        const next = `${tag}-next`;
        sink.answer = (arrival) => (arrival.callId === held ? { status: 200, hold: true } : { status: 200 });
        const queuedBefore = b.sender.snapshot()!.queued;
        await a.sender.send(outgoing(held, 0), held);
        await until(() => sink.arrivals.some((arrival) => arrival.callId === held), 'the held request in flight');
        // B has asked Redis since (whoever took the held request), so it is asleep now with nothing ready.
        await until(() => b.sender.snapshot()!.queued === queuedBefore + 1, 'B asked Redis after the held request');
        const sentAt = Date.now();
        await a.sender.send(outgoing(next, 0), next);
        await until(() => sink.arrivals.some((arrival) => arrival.callId === next), `${next} sent by B`, WAKE_BOUND_MS);
        await until(() => b.delivered.some((request) => request.entry.call.callId === next), `B reported ${next}`);
        assert.ok(Date.now() - sentAt < WAKE_BOUND_MS);
        sink.releaseHeld();
        await until(() => a.sender.snapshot()!.queued === 0 && b.sender.snapshot()!.queued === 0, 'the outbox empty');
    }

    it('a request accepted by A is sent at once by an idle B, with the fallback poll a minute away', async () => {
        const a = start('a', { concurrency: 1 });
        const b = start('b', { concurrency: 2 });
        await Promise.all([a, b].map((each) => each.connection.ready()));
        await until(() => subscribers() === 2, 'both instances subscribed');
        await wakesAcross(a, b, 'w1');
        await wakesAcross(a, b, 'w2');
    });

    it('a retry is attempted at its time, known from the last reply, not at the next poll', async () => {
        const a = start('a', { schedule: [400] });
        const b = start('b', { schedule: [400] });
        await Promise.all([a, b].map((each) => each.connection.ready()));
        sink.answer = (arrival) => ({ status: sink.arrivals.indexOf(arrival) === 0 ? 503 : 200 });
        await a.sender.send(outgoing('r1', 0), 'r1');
        await until(() => sink.arrivals.length === 2, 'the retry sent', 400 * 1.2 + WAKE_BOUND_MS);
        const waited = sink.arrivals[1]!.at - sink.arrivals[0]!.at;
        assert.ok(waited >= 400 * 0.8 - 5, `the retry waited its schedule, not ${waited} ms`);
        assert.equal(sink.arrivals[1]!.key, sink.arrivals[0]!.key);
        await until(() => a.delivered.length + b.delivered.length === 1, 'the retry reported');
    });

    it('after Redis restarts, the instances subscribe again and are woken as before', async () => {
        const a = start('a', { concurrency: 1 });
        const b = start('b', { concurrency: 2 });
        await Promise.all([a, b].map((each) => each.connection.ready()));
        await until(() => subscribers() === 2, 'both instances subscribed');
        await wakesAcross(a, b, 'before');
        await redis.restart();
        await until(() => a.connection.state === 'ready' && b.connection.state === 'ready', 'both connected again', 10_000);
        await until(() => subscribers() === 2, 'both instances subscribed again', 10_000);
        await wakesAcross(a, b, 'after');
    });

    it('the subscriber connection ends with the last queue of its connection', async () => {
        const a = start('a');
        await a.connection.ready();
        await until(() => subscribers() === 1, 'subscribed');
        await a.sender.close(false);
        await until(() => subscribers() === 0, 'unsubscribed on close');
        const names = redis.onEveryNode('CLIENT', 'LIST').join('\n');
        assert.ok(!/name=a-wake/.test(names), `the subscriber connection is closed:\n${names}`);
    });
});

describeOnEachRedis('shared delivery queue: claims made on the trips of enqueues and settles', function (kind) {
    this.timeout(30_000);
    // No poll explains a request sent within a test's bounds; and MONITOR shows no CLAIM was needed.
    const SLOW_POLL_MS = 60_000;
    const WAKE_BOUND_MS = 2000;
    let redis: SharedRedis;
    let sink: Sink;
    let monitor: ScriptMonitor | undefined;
    // Before the Redis of the test is stopped (hooks run in the order they are declared).
    afterEach(() => {
        monitor?.stop();
        monitor = undefined;
    });
    const { start } = perTestCluster(kind, (started) => ({ redis, sink } = started), { pollMs: SLOW_POLL_MS });

    /** An instance that has made its first claims (its start, its subscription) and delivered one request. */
    async function started(name: string, options: InstanceOptions = {}): Promise<Instance> {
        // Subscribing wakes the claim loop once more: that claim is made before the counting starts.
        const channel = `${PREFIX}:outbox:{${NODE_ID}}:wake`;
        const subscribers = () => redis.onEveryNode('PUBSUB', 'NUMSUB', channel).reduce((sum, answer) => sum + Number(answer.split('\n').pop()), 0);
        const before = subscribers();
        const made = start(name, options);
        await made.connection.ready();
        await until(() => subscribers() > before, `${name} subscribed to the wake channel`);
        await made.sender.send(outgoing('warm-up', 0), 'warm-up');
        await until(() => made.delivered.length === 1, 'the warm-up request delivered');
        monitor = await monitorScripts(redis.primaryUrls);
        await monitor.caughtUp();
        monitor.reset();
        return made;
    }

    it('an idle instance sends what it accepts without a claim of its own', async () => {
        const a = await started('a');
        // One at a time, so a slot is free at every enqueue (with all four taken, the loop's CLAIM is right to come).
        for (let index = 0; index < 5; index++) {
            await a.sender.send(outgoing(`e${index}`, 0), `e${index}`);
            await until(() => a.delivered.length === index + 2, `e${index} delivered`);
        }
        await monitor!.caughtUp();
        assert.equal(monitor!.count('CLAIM'), 0, monitor!.breakdown());
        assert.equal(monitor!.count('ENQUEUE'), 5);
        assert.equal(monitor!.count('SETTLE'), 5);
    });

    it('a request queued while every slot is taken leaves on the settle that frees one, behind its call or not', async () => {
        const a = await started('a', { concurrency: 1 });
        sink.answer = (arrival) => (arrival.callId === 'held' && arrival.index === 0 ? { status: 200, hold: true } : { status: 200 });
        await a.sender.send(outgoing('held', 0), 'held');
        await until(() => sink.arrivals.some((arrival) => arrival.callId === 'held'), 'the held request in flight');
        await a.sender.send(outgoing('held', 1), 'held next');
        await a.sender.send(outgoing('other', 0), 'other');
        sink.releaseHeld();
        await until(() => a.delivered.length === 4, 'all three delivered', WAKE_BOUND_MS);
        await monitor!.caughtUp();
        assert.equal(monitor!.count('CLAIM'), 0, monitor!.breakdown());
        assert.deepEqual(
            sink.arrivals.slice(1).map((arrival) => `${arrival.callId}/${arrival.index}`),
            ['held/0', 'other/0', 'held/1'],
            'the longest waiting head first, as a claim takes them',
        );
    });

    it("a dead instance's lease is taken over when it ends, not at the next poll", async () => {
        const LEASE_MS = 800;
        const survivor = await started('survivor', { leaseMs: LEASE_MS, timeoutMs: 5000 });
        const dying = start('dying', { leaseMs: LEASE_MS, timeoutMs: 5000 });
        await dying.connection.ready();
        sink.answer = (arrival) =>
            arrival.callId === 'd1' && sink.arrivals.filter((each) => each.callId === 'd1').length === 1 ? { status: 200, hold: true } : { status: 200 };
        // Taken by the dying instance on its own enqueue: the survivor was told of the lease, not asked to claim.
        await dying.sender.send(outgoing('d1', 0), 'd1');
        await until(() => sink.arrivals.some((arrival) => arrival.callId === 'd1'), 'the first attempt in flight');
        const firstAt = Date.now();
        dying.connection.client.disconnect();
        await until(() => survivor.delivered.length === 2, 'the survivor took it over', LEASE_MS + WAKE_BOUND_MS);
        const attempts = sink.arrivals.filter((arrival) => arrival.callId === 'd1');
        assert.equal(attempts.length, 2);
        assert.equal(attempts[1]!.key, attempts[0]!.key, 'the same idempotency key');
        assert.ok(Date.now() - firstAt < LEASE_MS + WAKE_BOUND_MS, `taken over ${Date.now() - firstAt} ms after the first attempt`);
        sink.releaseHeld();
    });
});

describe('shared delivery queue on a Redis that refuses writes', function () {
    this.timeout(20_000);
    it('refuses the request with a store error naming why, and does not call Redis away', async () => {
        const redis = await startSharedRedis('standalone', { config: ['maxmemory 1', 'maxmemory-policy noeviction'] });
        const sink = await startSink();
        const refusing = instance(redis, sink, 'oom');
        try {
            await refusing.connection.ready();
            await assert.rejects(refusing.sender.send(outgoing('o1', 0), 'o1'), (err: CodedError) => err.code === 'store' && /OOM/.test(err.message));
            assert.deepEqual(
                refusing.problems.filter((problem) => problem.kind === 'redis-unavailable'),
                [],
                'the msg carries the reason; Redis is not away',
            );
            assert.equal(refusing.sender.refusing, false, 'Redis answers: the status does not say it is away');
            assert.equal(sink.arrivals.length, 0);
        } finally {
            await refusing.close();
            await sink.close();
            await redis.remove();
        }
    });
});

describeOnEachRedis('shared delivery queue without Redis', function (kind) {
    it('enqueue rejects with a store error while Redis cannot be reached, and nothing is accepted', async () => {
        const unreachable = kind === 'cluster' ? { url: '', mode: 'cluster', nodes: '127.0.0.1:1' } : { url: 'redis://127.0.0.1:1' };
        const connection = new RedisConnection({ ...unreachable, prefix: PREFIX }, { maxReconnectWaitMs: 50 });
        const errors: unknown[] = [];
        const queue = new SharedDeliveryQueue<number>({
            connection,
            nodeId: NODE_ID,
            leaseMs: 1000,
            pollMs: 10,
            schedule: [],
            attempt: async () => ({ verdict: { kind: 'delivered' }, result: 0 }),
            onSettled: () => {},
            onStoreError: (error) => errors.push(error),
        });
        try {
            await until(() => connection.problem !== undefined, 'the connection failed');
            await assert.rejects(
                queue.enqueue({ call: { callId: 'x' }, idempotencyKey: 'k' }),
                (err: CodedError) => err instanceof StoreError && err.code === 'store',
            );
            assert.equal(queue.snapshot().queued, 0);
        } finally {
            await queue.close();
            await connection.close();
        }
    });
});
