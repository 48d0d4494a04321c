// Issue 30's idle wake-up across processes: an event taken (202) by instance A becomes a request that instance B,
// idle, sends at once, told by Redis rather than by its fallback poll. A may hold one request at a time
// (concurrency 1, the cluster's count), and holds one that the CRM does not answer yet: the next one can only leave
// from B (concurrency 2). On one redis-server and on a three-shard Redis Cluster, whose nodes carry every PUBLISH to all.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterFlow, postEvents } from '../support/cluster';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

/** Well under the fallback poll of 5 s, well over the wake-up on a loaded machine; the bench measures the time. */
const WAKE_BOUND_MS = 2000;

interface HoldingCrm {
    url: string;
    /** callId -> when its first request arrived. */
    arrivals: Map<string, number>;
    /** Requests of this call are answered only once `release()` is called. */
    hold: string | undefined;
    release(): void;
    close(): Promise<void>;
}

async function startHoldingCrm(): Promise<HoldingCrm> {
    const held: (() => void)[] = [];
    const crm: HoldingCrm = {
        url: '',
        arrivals: new Map(),
        hold: undefined,
        release: () => held.splice(0).forEach((answer) => answer()),
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const { callId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { callId: string };
            if (!crm.arrivals.has(callId)) crm.arrivals.set(callId, Date.now());
            const answer = () => {
                if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
            };
            if (callId === crm.hold) held.push(answer);
            else answer();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    crm.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`;
    return crm;
}

describeOnEachRedis('cluster: an idle instance is woken by Redis', function (kind) {
    this.timeout(120_000);
    let redis: SharedRedis;
    let crm: HoldingCrm;
    let a: NodeRedProcess | undefined;
    let b: NodeRedProcess | undefined;

    before(async () => {
        redis = await startSharedRedis(kind);
        crm = await startHoldingCrm();
        const flow = (concurrency: number) => clusterFlow({ redisUrl: redis.target.url, redis: redis.target, crmUrl: crm.url, concurrency });
        [a, b] = await Promise.all([
            startNodeRed({ userDir: userDirWithPackage(), flows: flow(1) }),
            startNodeRed({ userDir: userDirWithPackage(), flows: flow(2) }),
        ]);
    });

    after(async () => {
        crm?.release();
        await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
        await crm?.close();
        await redis?.remove();
    });

    it('202 on A, and the request leaves B at once, several times over', async () => {
        // Both listen on the node's wake channel (in a cluster, each on whichever node it picked).
        const channel = 'cluster-test:outbox:{send}:wake';
        const listening = () => redis.onEveryNode('PUBSUB', 'NUMSUB', channel).reduce((sum, answer) => sum + Number(answer.split('\n')[1]), 0);
        await until(
            () => listening() === 2,
            () => `A and B subscribed to ${channel} (${listening()})`,
            10_000,
            50,
        );
        const presenting = (callId: string) => [{ type: 'presenting', callId, eventId: `${callId}-p`, agent: { name: 'John Doe', extension: '154' } }];
        // Three rounds: a fallback poll of 5 s could explain one quick send by chance, not three.
        for (let round = 1; round <= 3; round++) {
            const held = `held-${round}`;
            const next = `next-${round}`;
            crm.hold = held;
            assert.equal((await postEvents(a!, presenting(held))).status, 202);
            await until(() => crm.arrivals.has(held), `${held} in flight`, 10_000);
            const acceptedAt = Date.now();
            const answer = await postEvents(a!, presenting(next));
            assert.equal(answer.status, 202, answer.body);
            await until(() => crm.arrivals.has(next), `${next} sent by B within ${WAKE_BOUND_MS} ms`, WAKE_BOUND_MS);
            assert.ok(crm.arrivals.get(next)! - acceptedAt < WAKE_BOUND_MS);
            crm.release();
        }
        for (const instance of [a!, b!]) assert.doesNotMatch(instance.log(), /\[error\]/, `${instance.url} logged no error`);
    });
});
