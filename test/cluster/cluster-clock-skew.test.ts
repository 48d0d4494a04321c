// Issue 30's one clock: two Node-RED instances of one flow on one Redis, the second with a wall clock 5 minutes
// ahead (a machine whose NTP failed). Deadlines and leases are taken from Redis's TIME, so the skewed instance
// behaves like the other: it does not fire a recording wait the other set before the wait ends (before this change
// it fired it within a second: it compared the deadline with its own clock), and a retry it schedules waits its real
// delay (the outbox was on Redis's TIME already; this keeps it so). On one redis-server and on a three-shard Redis
// Cluster, where each script reads the TIME of the shard it runs on.
import assert from 'node:assert/strict';
import path from 'node:path';
import { JITTER } from '../../src/delivery/retry-schedule';
import { AGENT, clusterFlow, postEvents } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

const SKEW_MS = 5 * 60_000;
const RECORDING_WAIT_MS = 6_000;
const RETRY_WAIT_MS = 3_000;

describeOnEachRedis("cluster on one clock: an instance whose clock is 5 minutes ahead behaves like the others (Redis's TIME)", function (kind) {
    this.timeout(120_000);
    let redis: SharedRedis;
    let crm: CrmSink;
    let onTime: NodeRedProcess;
    let ahead: NodeRedProcess;

    before(async () => {
        redis = await startSharedRedis(kind);
        crm = await startCrmSink();
        const flows = clusterFlow({
            redisUrl: redis.target.url,
            redis: redis.target,
            crmUrl: crm.url,
            recordingWaitMinutes: RECORDING_WAIT_MS / 60_000,
            retries: Array(5)
                .fill(String(RETRY_WAIT_MS / 1000))
                .join(', '),
        });
        const preload = path.join(__dirname, '../support/clock-offset.js');
        [onTime, ahead] = await Promise.all([
            startNodeRed({ userDir: userDirWithPackage(), flows }),
            startNodeRed({ userDir: userDirWithPackage(), flows, nodeArgs: ['--require', preload], env: { CLOCK_OFFSET_MS: String(SKEW_MS) } }),
        ]);
    });

    after(async () => {
        await Promise.all([onTime, ahead].map((instance) => instance?.stop('SIGKILL')));
        await crm?.close();
        await redis?.remove();
    });

    const attemptsOf = (trigger: string) => crm.attempts.filter((attempt) => attempt.trigger === trigger);

    it('the instance 5 minutes ahead does not end a recording wait the other set: processed comes after the wait, once', async () => {
        const callId = 'skew-wait';
        const events = [
            { type: 'presenting', callId, eventId: `${callId}-p`, agent: AGENT, direction: 'Inbound' },
            { type: 'connected', callId, eventId: `${callId}-c`, agent: AGENT },
            { type: 'complete', callId, eventId: `${callId}-x`, pendingRecordings: 1 },
        ];
        assert.equal((await postEvents(onTime, events)).status, 202);
        const completedAt = Date.now();
        // The skewed instance ticks every second: on its own clock the wait would have ended 5 minutes ago.
        await until(() => attemptsOf(`${callId}:processed`).length > 0, 'the recording wait to end and processed to reach the CRM', 30_000, 50);
        const waited = attemptsOf(`${callId}:processed`)[0]!.at - completedAt;
        assert.ok(waited >= RECORDING_WAIT_MS - 500, `processed ${waited} ms after the complete, not before the ${RECORDING_WAIT_MS} ms wait`);
        await until(() => attemptsOf(`${callId}:updated#1`).length > 0, 'the update after processing', 10_000, 50);
        for (const trigger of ['presenting', 'connected', 'complete', 'processed', 'updated#1']) {
            assert.equal(attemptsOf(`${callId}:${trigger}`).length, 1, `${trigger} once in the cluster`);
        }
    });

    it('a retry the instance 5 minutes ahead schedules waits its real delay, whichever instance makes it', async () => {
        const callId = 'skew-retry';
        crm.up = false;
        assert.equal((await postEvents(ahead, [{ type: 'presenting', callId, eventId: `${callId}-p`, agent: AGENT, direction: 'Inbound' }])).status, 202);
        await until(() => attemptsOf(`${callId}:presenting`).length >= 2, 'a first attempt and its retry', 30_000, 50);
        crm.up = true;
        const [first, second] = attemptsOf(`${callId}:presenting`);
        // The schedule's jitter may shorten the wait by a fifth; a skewed clock would have cut it by minutes.
        const shortest = RETRY_WAIT_MS * (1 - JITTER) - 300;
        assert.ok(second!.at - first!.at >= shortest, `the retry came ${second!.at - first!.at} ms after the first attempt, not before ${shortest} ms`);
        await until(
            () => crm.delivered().some((attempt) => attempt.trigger === `${callId}:presenting`),
            'the request delivered once the CRM is up',
            30_000,
            50,
        );
        for (const instance of [onTime, ahead]) assert.doesNotMatch(instance.log(), /Unhandled|uncaught exception/i);
    });
});
