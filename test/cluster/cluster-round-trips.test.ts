// Issue 30's cost per event: the Redis round trips a trigger costs on its way to the CRM, counted with MONITOR on a
// real redis-server, and on every primary of a three-shard Redis Cluster (the call state and the outbox then live on
// shards of their own: the counts are the same), while one Node-RED instance takes calls whose one event fires one
// trigger (one request each).
import assert from 'node:assert/strict';
import { AGENT, clusterFlow, postEvents, startCluster } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import type { NodeRedProcess } from '../support/node-red-process';
import type { MonitoredCommand } from '../support/redis-monitor';
import { monitorScripts, type ScriptMonitor } from '../support/redis-script-monitor';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

const CALLS = 60;
/** Calls played side by side, each posted once the one before it on its chain was answered 202. */
const CHAINS = 4;

/**
 * The scripts an event's path runs: from the event to the request leaving, the outcome recorded after it, and the
 * acknowledgement of the emitted trigger, made before the 202 while the trigger travels to web service out (it keeps a
 * call's triggers in order across instances), on its own trip.
 */
const TO_REQUEST = ['READ', 'COMMIT', 'ENQUEUE', 'CLAIM'];
const AFTER_REQUEST = ['SETTLE'];
const ACKNOWLEDGE = ['ACKNOWLEDGE'];
/** What runs on timers whatever the load (the call state's tick, the outbox's sweep, lease renewals, the dead letters' count). */
const PERIODIC = ['CLAIM_PENDING', 'CLAIM_DUE', 'COUNT', 'GONE', 'RENEW', 'ZCARD'];
/** Commits refused for the clock, at most (a tenth: an estimate that is always off would refuse every one). */
const MOST_REFUSED_FOR_THE_CLOCK = CALLS / 10;

/**
 * How late Redis ran a COMMIT the script refuses for its clock, else undefined: the instance ran the batch on its
 * estimate of Redis's clock (the batch's now, sent with the tolerance it allows), and Redis ran the script further
 * from it than that, as when the instance or Redis stalls that long between the estimate and the script (a loaded
 * machine, a slow fsync). The batch then runs again on the clock the refusal gives: a trip the design spends on a
 * stall, told apart from the path's cost.
 */
function refusedForTheClock({ at, args }: MonitoredCommand): number | undefined {
    // EVALSHA sha numkeys keys... then ARGV: ARGV[11] is the tolerance ('' for none), ARGV[12] the batch's now.
    const argv = args.slice(3 + Number(args[2]));
    const [tolerance = '', batchNow = ''] = argv.slice(10, 12);
    const late = at - Number(batchNow);
    return tolerance !== '' && Math.abs(late) > Number(tolerance) ? late : undefined;
}

describeOnEachRedis('cluster: Redis round trips per event', function (kind) {
    this.timeout(120_000);
    let redis: SharedRedis;
    let crm: CrmSink;
    let instances: NodeRedProcess[] = [];
    let monitor: ScriptMonitor | undefined;

    before(async () => {
        redis = await startSharedRedis(kind);
        crm = await startCrmSink();
        instances = await startCluster(1, clusterFlow({ redisUrl: redis.target.url, redis: redis.target, crmUrl: crm.url }));
    });

    after(async () => {
        monitor?.stop();
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        await crm?.close();
        await redis?.remove();
    });

    it('a trigger becomes a request in at most two round trips, its outcome is recorded in one more, its acknowledgement rides along', async () => {
        const [instance] = instances;
        const presenting = (callId: string) => [{ type: 'presenting', callId, eventId: `${callId}-p`, agent: AGENT, direction: 'Inbound' }];
        // Every outcome recorded: the outbox is empty (the settle comes after the CRM's answer).
        const entries = `cluster-test:outbox:{send}:entries`;
        const outboxEmptied = (what: string) => until(() => redis.cli('EXISTS', entries) === '0', what, 10_000, 50);
        // One call first, so that every script is loaded and the connections are up before counting; its settle too
        // (a first SETTLE costs two trips, an EVALSHA answered NOSCRIPT and the EVAL that loads it).
        assert.equal((await postEvents(instance!, presenting('warm-up'))).status, 202);
        await until(() => crm.delivered().length === 1, 'the warm-up request at the CRM', 20_000);
        await outboxEmptied('the warm-up settled');

        const refused: number[] = [];
        monitor = await monitorScripts(redis.primaryUrls, (name, command) => {
            const late = name === 'COMMIT' ? refusedForTheClock(command) : undefined;
            if (late !== undefined) refused.push(late);
        });

        await Promise.all(
            Array.from({ length: CHAINS }, async (_, chain) => {
                for (let index = chain; index < CALLS; index += CHAINS) {
                    const answer = await postEvents(instance!, presenting(`call-${index}`));
                    assert.equal(answer.status, 202, answer.body);
                }
            }),
        );
        await until(
            () => crm.delivered().length === CALLS + 1,
            () => `${CALLS} requests at the CRM (got ${crm.delivered().length - 1})`,
            30_000,
        );
        await outboxEmptied('the outbox emptied by the settles');
        await monitor.caughtUp();
        const counted = monitor.counts();
        // The commands after the last settle (the probes, a tick) are not the events' and are left out by name.
        const sum = (group: readonly string[]) => group.reduce((total, name) => total + (counted.get(name) ?? 0), 0);
        const breakdown = monitor.breakdown();
        const toRequest = (sum(TO_REQUEST) - refused.length) / CALLS;
        const afterRequest = sum(AFTER_REQUEST) / CALLS;
        const acknowledgements = sum(ACKNOWLEDGE) / CALLS;
        const other = [...counted.keys()].filter((name) => ![...TO_REQUEST, ...AFTER_REQUEST, ...ACKNOWLEDGE, ...PERIODIC, 'EXISTS'].includes(name));
        const stalls =
            refused.length > 0
                ? `; ${refused.length} commits refused for the clock, run ${refused.map((late) => late.toFixed(0)).join(', ')} ms late, left out`
                : '';
        console.log(
            `      round trips per event: ${toRequest.toFixed(2)} to the request, ${afterRequest.toFixed(2)} after it, ${acknowledgements.toFixed(2)} acknowledging (${breakdown}${stalls})`,
        );
        assert.ok(refused.length <= MOST_REFUSED_FOR_THE_CLOCK, `few commits refused for the clock (${breakdown}${stalls})`);
        assert.deepEqual(other, [], `no other command on the events' path (${breakdown})`);
        assert.ok(toRequest <= 2, `at most two round trips from event to request, got ${toRequest.toFixed(2)} (${breakdown}${stalls})`);
        assert.ok(afterRequest <= 1, `at most one round trip to record the outcome, got ${afterRequest.toFixed(2)} (${breakdown})`);
        assert.ok(acknowledgements <= 1, `one acknowledgement per answered batch at most, got ${acknowledgements.toFixed(2)} trips per event (${breakdown})`);
    });
});
