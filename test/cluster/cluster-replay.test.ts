// Issue 30's shared replay memory: two Node-RED instances run one flow whose call event in checks Standard Webhooks
// signatures and keeps its state in one Redis. A signed request taken by one instance is refused as a replay by the
// other, and by the first after a redeploy, as a single instance refuses it; each is signed with the reference
// implementation (the standardwebhooks package). On one redis-server and on a three-shard Redis Cluster.
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { AGENT, clusterFlow } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { describeOnEachRedis, startSharedRedis, type RedisTarget, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

const SECRET = `whsec_${Buffer.from('a cluster key of 32 bytes long!!').toString('base64')}`;

/** The cluster flow with call event in behind Standard Webhooks signatures (credentials go in with a deploy). */
function signedFlow(redis: RedisTarget, crmUrl: string): object[] {
    return clusterFlow({ redisUrl: redis.url, redis, crmUrl }).map((node) =>
        (node as { id: string }).id === 'events' ? { ...node, auth: 'standard-webhooks', tolerance: 300, credentials: { secret: SECRET } } : node,
    );
}

/** Deploys `flows` in full (the editor's Deploy) and waits for the flows to have started `times` times in all. */
async function deploy(instance: NodeRedProcess, flows: object[], times: number): Promise<void> {
    const answer = await fetch(`${instance.url}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(flows),
        signal: AbortSignal.timeout(15_000),
    });
    assert.equal(answer.status, 204, await answer.text());
    await instance.waitForLog(new RegExp(Array(times).fill('Started flows').join('[\\s\\S]*')), 30_000);
}

/** A signed request as the platform sends it: the same bytes and headers each time it is sent. */
function signed(webhookId: string, events: object[]): { body: string; headers: Record<string, string> } {
    const at = new Date();
    const body = JSON.stringify(events);
    return {
        body,
        headers: {
            'content-type': 'application/json',
            'webhook-id': webhookId,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': new Webhook(SECRET).sign(webhookId, at, body),
        },
    };
}

async function post(instance: NodeRedProcess, request: { body: string; headers: Record<string, string> }): Promise<{ status: number; error?: string }> {
    const answer = await fetch(`${instance.url}/events`, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
    const text = await answer.text();
    return { status: answer.status, ...(answer.status >= 400 ? { error: (JSON.parse(text) as { error: string }).error } : {}) };
}

describeOnEachRedis('cluster replay memory: a signed request taken by one instance is a replay on another, and after a redeploy', function (kind) {
    this.timeout(120_000);
    let redis: SharedRedis;
    let crm: CrmSink;
    let instances: NodeRedProcess[] = [];
    let flows: object[];

    before(async () => {
        redis = await startSharedRedis(kind);
        crm = await startCrmSink();
        flows = signedFlow(redis.target, crm.url);
        instances = await Promise.all([0, 1].map(() => startNodeRed({ userDir: userDirWithPackage(), flows: [] })));
        await Promise.all(instances.map((instance) => deploy(instance, flows, 2)));
    });

    after(async () => {
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        await crm?.close();
        await redis?.remove();
    });

    it('refuses the replay on the other instance and on the first after a redeploy; the call is sent once', async () => {
        const [a, b] = instances as [NodeRedProcess, NodeRedProcess];
        const request = signed('msg_cluster_1', [{ type: 'presenting', callId: 'signed-1', eventId: 'signed-1-p', agent: AGENT, direction: 'Inbound' }]);
        assert.deepEqual(await post(a, request), { status: 202 });
        const replayed = 'authentication failed: replayed webhook-id (already received within the tolerance window)';
        assert.deepEqual(await post(b, request), { status: 401, error: replayed }, 'the other instance');
        assert.deepEqual(await post(a, request), { status: 401, error: replayed }, 'the instance that took it');

        await deploy(a, flows, 3);
        assert.deepEqual(await post(a, request), { status: 401, error: replayed }, 'the first instance after a redeploy');

        // Both still take requests they have not seen, whichever instance gets them.
        const next = signed('msg_cluster_2', [{ type: 'connected', callId: 'signed-1', eventId: 'signed-1-c', agent: AGENT }]);
        assert.deepEqual(await post(b, next), { status: 202 });
        assert.deepEqual(await post(a, next), { status: 401, error: replayed });
        await until(() => crm.delivered().filter((attempt) => attempt.callId === 'signed-1').length >= 2, 'presenting and connected at the CRM', 30_000, 50);
        assert.deepEqual(
            crm.delivered().map((attempt) => attempt.trigger),
            ['signed-1:presenting', 'signed-1:connected'],
            'each trigger once: the replays fired nothing',
        );
        // The memory is Redis's, one key per webhook-id taken, on whichever node holds the call event in's slot.
        assert.equal(redis.scan('cluster-test:replays:{events}:*').length, 2, 'the two webhook-ids taken, kept in Redis');
        for (const instance of instances) assert.doesNotMatch(instance.log(), /Unhandled|uncaught exception/i);
    });
});
