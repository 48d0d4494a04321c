// Issue 17's fault promises on three real Node-RED instances and one real redis-server: Redis unreachable (503s and
// Catch-able errors, then recovery without a redeploy), Redis restarted mid-run with its append-only file (nothing
// acknowledged lost), and an instance SIGKILLed while the CRM is down (the survivors send everything, once, under
// the keys the dead instance would have used).
import assert from 'node:assert/strict';
import { clusterFlow, postEvents, postUntilTaken, SHORT_LIFE_TRIGGERS, shortLife, startCluster } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import type { NodeRedProcess } from '../support/node-red-process';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

describeOnEachRedis('cluster faults: Redis away, Redis restarted, an instance killed', function (kind) {
    this.timeout(240_000);
    let redis: SharedRedis;
    let crm: CrmSink;
    let instances: NodeRedProcess[] = [];

    before(async () => {
        redis = await startSharedRedis(kind, { persistence: 'always' });
        crm = await startCrmSink();
        const flows = clusterFlow({ redisUrl: redis.target.url, redis: redis.target, crmUrl: crm.url, logCaught: true });
        // A second way in, straight to web service out, so a message reaches it while Redis is away.
        flows.push(
            { id: 'direct', z: 'tab', type: 'http in', url: '/direct', method: 'post', wires: [['as-call']] },
            { id: 'as-call', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'call', pt: 'msg', to: 'payload', tot: 'msg' }], wires: [['send', 'answer']] },
            { id: 'answer', z: 'tab', type: 'http response', statusCode: '200', wires: [] },
        );
        instances = await startCluster(3, flows);
    });

    after(async () => {
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        await crm?.close();
        await redis?.remove();
    });

    const deliveredOf = (callId: string): string[] =>
        crm
            .delivered()
            .filter((attempt) => attempt.callId === callId)
            .map((attempt) => attempt.trigger.slice(callId.length + 1));

    it('answers 503 and fails messages with a Catch-able store error while Redis is away, then recovers by itself', async () => {
        await redis.stop('SIGTERM');
        const refused = await postEvents(instances[0]!, shortLife('away-1').slice(0, 1));
        assert.equal(refused.status, 503, refused.body);
        assert.match(refused.body, /error/);
        const direct = await fetch(`${instances[1]!.url}/direct`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ callId: 'away-direct', event: 'presenting' }),
        });
        assert.equal(direct.status, 200);
        await instances[1]!.waitForLog(/caught store: /, 15_000);

        await redis.restart();
        // No redeploy: the nodes reconnect by themselves and the platform's next try is taken.
        const tries = await postUntilTaken(instances[0]!, shortLife('away-1'));
        assert.ok(tries < 100);
        await until(
            () => deliveredOf('away-1').length >= 5,
            () => `away-1 delivered (${deliveredOf('away-1').join(', ')})`,
            30_000,
        );
        assert.deepEqual(deliveredOf('away-1'), SHORT_LIFE_TRIGGERS);
        assert.equal(deliveredOf('away-direct').length, 0, 'the refused message was not queued');
    });

    it('loses nothing acknowledged when Redis restarts mid-run (append-only file, fsync always)', async () => {
        crm.up = false;
        const before = ['aof-1', 'aof-2', 'aof-3', 'aof-4'];
        for (const [index, callId] of before.entries()) {
            for (const event of shortLife(callId)) assert.equal((await postEvents(instances[index % 3]!, [event])).status, 202);
        }
        // Requests are pending (the CRM is down) and calls are tracked when Redis goes down and comes back.
        await until(() => crm.attempts.filter((attempt) => attempt.trigger.startsWith('aof-')).length >= 4, 'attempts against the down CRM', 20_000);
        await redis.restart();
        crm.up = true;
        for (const callId of before) await postUntilTaken(instances[2]!, [{ type: 'accountCodes', callId, eventId: `${callId}-a`, accountCodes: ['Won'] }]);
        for (const callId of before) {
            await until(
                () => deliveredOf(callId).length >= 6,
                () => `${callId} delivered (${deliveredOf(callId).join(', ')})`,
                60_000,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
        for (const callId of before) assert.deepEqual(deliveredOf(callId), [...SHORT_LIFE_TRIGGERS, 'updated#2'], `${callId}: nothing lost, in order`);
    });

    it('sends everything of an instance SIGKILLed mid-request, from the survivors, under the same keys; repeats only of what was in flight', async () => {
        crm.up = false;
        const calls = ['kill-1', 'kill-2', 'kill-3', 'kill-4', 'kill-5', 'kill-6'];
        // Every event taken by the instance that is about to die; all three instances share the sending.
        for (const callId of calls) for (const event of shortLife(callId)) assert.equal((await postEvents(instances[0]!, [event])).status, 202);
        await until(
            () => calls.every((callId) => crm.attempts.some((attempt) => attempt.trigger === `${callId}:presenting`)),
            'every call head tried against the down CRM',
            30_000,
        );
        // The CRM comes back slow, so requests are in flight, on every instance, when one of them dies.
        crm.delayMs = 2500;
        crm.up = true;
        await until(
            () => crm.inFlight >= 6,
            () => `requests in flight (${crm.inFlight})`,
            20_000,
        );
        const inFlightAtKill = crm.inFlight;
        await instances[0]!.stop('SIGKILL');
        crm.delayMs = 0;
        const survivors = instances.slice(1);
        for (const callId of calls) {
            await until(
                () => new Set(deliveredOf(callId)).size >= 5,
                () => `${callId} delivered by the survivors (${deliveredOf(callId).join(', ')})`,
                90_000,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 1500));
        let repeats = 0;
        for (const callId of calls) {
            const delivered = deliveredOf(callId);
            // A request in flight when its instance died arrives a second time, right behind the first.
            const collapsed = delivered.filter((trigger, index) => trigger !== delivered[index - 1]);
            repeats += delivered.length - collapsed.length;
            assert.deepEqual(collapsed, SHORT_LIFE_TRIGGERS, `${callId}: every trigger, in order`);
        }
        assert.ok(repeats <= inFlightAtKill, `repeats (${repeats}) only of the ${inFlightAtKill} requests in flight at the kill`);
        for (const callId of calls) {
            for (const trigger of SHORT_LIFE_TRIGGERS) {
                const keys = new Set(crm.attempts.filter((attempt) => attempt.trigger === `${callId}:${trigger}`).map((attempt) => attempt.key));
                assert.equal(keys.size, 1, `${callId}:${trigger}: one key over every attempt, before and after the kill`);
            }
        }
        for (const survivor of survivors) assert.doesNotMatch(survivor.log(), /Unhandled|uncaught exception/i);
    });
});
