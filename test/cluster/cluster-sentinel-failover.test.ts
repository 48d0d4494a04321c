// Issue 30's failover promise on real processes: two Node-RED instances of one flow in sentinel mode with
// minReplicas 1, against a primary, two replicas and three Sentinels on loopback. With the CRM down, calls are
// played (each event resent until 202, as a platform does); the primary is SIGKILLed mid-play and Sentinel promotes
// a replica; the play goes on through the failover; then the CRM comes back. Every trigger of every event answered
// 202 reaches the CRM, a repeat only under its first idempotency key, and both instances still take events.
import assert from 'node:assert/strict';
import { clusterFlow, postUntilTaken, SHORT_LIFE_TRIGGERS, shortLife, startCluster } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import type { NodeRedProcess } from '../support/node-red-process';
import { startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel';
import { until } from '../support/wait';

const CALLS = 16;

describe('cluster on Redis Sentinel: the primary SIGKILLed mid-play loses nothing answered 202', function () {
    this.timeout(300_000);
    let group: SentinelGroup;
    let crm: CrmSink;
    let instances: NodeRedProcess[] = [];

    before(async () => {
        // Two replicas, so the promoted primary still has one for minReplicas 1.
        group = await startSentinelGroup({ replicas: 2, downAfterMs: 1000, failoverTimeoutMs: 3000 });
        crm = await startCrmSink();
        const flows = clusterFlow({
            redisUrl: '',
            crmUrl: crm.url,
            logCaught: true,
            redis: { mode: 'sentinel', sentinels: group.sentinelList, masterName: group.masterName, minReplicas: 1, replicaWait: 1000 },
        });
        instances = await startCluster(2, flows);
    });

    after(async () => {
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        await crm?.close();
        await group?.stop();
    });

    const deliveredOf = (callId: string): string[] =>
        crm
            .delivered()
            .filter((attempt) => attempt.callId === callId)
            .map((attempt) => attempt.trigger.slice(callId.length + 1));

    it('delivers every trigger of every call once the CRM is back, under one key each, and both instances carry on', async () => {
        crm.up = false;
        const calls = Array.from({ length: CALLS }, (_, index) => `fo-${index + 1}`);
        let taken = 0;
        let refusals = 0;
        // The platform: events of a call in order, each resent until 202, alternating between the instances.
        const play = (async () => {
            for (const [index, callId] of calls.entries()) {
                for (const [step, event] of shortLife(callId).entries()) {
                    refusals += await postUntilTaken(instances[(index + step) % 2]!, [event], 60_000);
                    taken += 1;
                }
            }
        })();
        play.catch(() => undefined);

        // The primary dies with a third of the events taken and requests waiting for the CRM.
        await until(
            () => taken >= CALLS,
            () => `events taken before the kill (${taken})`,
            60_000,
        );
        const oldPort = group.primaryPort()!;
        await group.servers.find((server) => server.port === oldPort)!.stop('SIGKILL');
        const takenAtKill = taken;
        const newPort = await group.waitForFailover(oldPort, 1, 60_000);
        assert.notEqual(newPort, oldPort);
        await play;
        assert.equal(taken, CALLS * 3);
        assert.ok(taken > takenAtKill, 'events were taken after the kill');
        // No primary answered for a second or more: the platform was told to send again, not told "taken".
        assert.ok(refusals > 0, 'events were refused (503) during the failover');

        crm.up = true;
        for (const callId of calls) {
            // A batch whose acknowledgement was lost with the primary is sent again after its 30 s lease.
            await until(
                () => new Set(deliveredOf(callId)).size >= SHORT_LIFE_TRIGGERS.length,
                () => `${callId} delivered (${deliveredOf(callId).join(', ')}); refusals ${refusals}; caught: ${caughtOf(instances)}`,
                120_000,
                100,
            );
        }
        for (const callId of calls) {
            // Not always in order: a trigger whose write reached a replica but whose WAIT reply died with the primary
            // was answered 503, and its resend is a duplicate; it is sent when its lease ends, after the later ones.
            assert.deepEqual([...new Set(deliveredOf(callId))].sort(), [...SHORT_LIFE_TRIGGERS].sort(), `${callId}: every trigger`);
            for (const trigger of SHORT_LIFE_TRIGGERS) {
                const keys = new Set(crm.attempts.filter((attempt) => attempt.trigger === `${callId}:${trigger}`).map((attempt) => attempt.key));
                assert.equal(keys.size, 1, `${callId}:${trigger}: one idempotency key over every attempt (${[...keys].join(', ')})`);
            }
        }

        // Both instances are alive on the new primary and take a new call each, sent at once.
        for (const [index, instance] of instances.entries()) {
            const callId = `after-${index}`;
            for (const event of shortLife(callId)) await postUntilTaken(instance, [event], 30_000);
            await until(
                () => deliveredOf(callId).length >= SHORT_LIFE_TRIGGERS.length,
                () => `${callId} delivered (${deliveredOf(callId).join(', ')})`,
                30_000,
                50,
            );
            assert.deepEqual(deliveredOf(callId), SHORT_LIFE_TRIGGERS);
        }
        for (const instance of instances) assert.doesNotMatch(instance.log(), /Unhandled|uncaught exception/i);
    });
});

/** The Catch-able errors web service out reported on each instance, for the failure message. */
function caughtOf(instances: NodeRedProcess[]): string {
    const caught = instances.flatMap((instance, index) => (instance.log().match(/caught [^\n]*/g) ?? []).map((line) => `${index}: ${line}`));
    return caught.length > 0 ? caught.join(' | ') : 'none';
}
