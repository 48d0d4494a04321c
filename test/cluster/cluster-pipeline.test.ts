// Issue 17's first promise: three Node-RED instances running one flow against one Redis behave like one instance.
// The events of each call are spread over the instances at random and arrive out of order; every trigger reaches
// the CRM exactly once, in each call's order, as a single call tracker fed the same events would fire them.
import assert from 'node:assert/strict';
import type { RawEvent } from '../../src/call/raw-event';
import { CallTracker } from '../../src/lifecycle/call-tracker';
import { clusterFlow, postEvents, startCluster } from '../support/cluster';
import { startCrmSink, type CrmSink } from '../support/crm-sink';
import type { NodeRedProcess } from '../support/node-red-process';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

/** A small seeded generator, so a failing order can be replayed. */
function seeded(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state * 1664525 + 1013904223) >>> 0;
        return state / 2 ** 32;
    };
}

/** One call's life: rings, is answered, ends waiting for a recording, the recording comes, account codes change. */
function lifeOf(callId: string, start: number): RawEvent[] {
    const agent = { name: 'John Doe', extension: '154' };
    return [
        { type: 'presenting', callId, eventId: `${callId}-p`, timestamp: start, agent, direction: 'Inbound', callerName: 'Jane Roe' },
        { type: 'connected', callId, eventId: `${callId}-c`, timestamp: start + 1000, agent },
        { type: 'complete', callId, eventId: `${callId}-x`, timestamp: start + 60_000, pendingRecordings: 1 },
        { type: 'recording', callId, eventId: `${callId}-r`, timestamp: start + 70_000, recordingUrl: `https://recordings.example.com/${callId}.wav` },
        { type: 'accountCodes', callId, eventId: `${callId}-a`, timestamp: start + 80_000, accountCodes: ['Opp Won'] },
    ] as RawEvent[];
}

/** Swaps a few neighbours: late deliveries as a platform's retries make them. */
function outOfOrder(events: RawEvent[], random: () => number): RawEvent[] {
    const shuffled = [...events];
    for (let i = shuffled.length - 1; i > 0; i--) {
        if (random() < 0.4) [shuffled[i], shuffled[i - 1]] = [shuffled[i - 1]!, shuffled[i]!];
    }
    return shuffled;
}

function triggerName(event: string, updateSeq?: number): string {
    return `${event}${updateSeq ? `#${updateSeq}` : ''}`;
}

describeOnEachRedis('cluster: three Node-RED instances, one flow, one Redis', function (kind) {
    this.timeout(180_000);
    let redis: SharedRedis;
    let crm: CrmSink;
    let instances: NodeRedProcess[] = [];

    before(async () => {
        redis = await startSharedRedis(kind);
        crm = await startCrmSink();
        instances = await startCluster(3, clusterFlow({ redisUrl: redis.target.url, redis: redis.target, crmUrl: crm.url }));
    });

    after(async () => {
        await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
        await crm?.close();
        await redis?.remove();
    });

    it('fires every trigger once, in each call order, whichever instance takes each event', async () => {
        const random = seeded(17);
        const calls = Array.from({ length: 24 }, (_, index) => `call-${index + 1}`);
        const arrivals = new Map(calls.map((callId, index) => [callId, outOfOrder(lifeOf(callId, 1_700_000_000_000 + index * 1000), random)]));

        // What one instance would fire for the same arrivals: the trigger rules of src/lifecycle.
        const expected = new Map<string, string[]>();
        for (const [callId, events] of arrivals) {
            const tracker = new CallTracker({ now: () => 1_700_000_100_000 });
            expected.set(
                callId,
                events.flatMap((event) => tracker.ingest(event).map((trigger) => triggerName(trigger.event, trigger.call.updateSeq))),
            );
        }

        // The calls go on side by side; each event of a call is posted once the previous one was acknowledged, to
        // an instance picked at random.
        const taken = new Map<string, number>();
        await Promise.all(
            [...arrivals].map(async ([callId, events]) => {
                for (const event of events) {
                    const instance = instances[Math.floor(random() * instances.length)]!;
                    const answer = await postEvents(instance, [event]);
                    assert.equal(answer.status, 202, `${callId} ${event.type} on ${instance.url}: ${answer.body}`);
                    taken.set(instance.url, (taken.get(instance.url) ?? 0) + 1);
                }
            }),
        );
        assert.equal(taken.size, 3, 'every instance took some of the events');

        const total = [...expected.values()].reduce((sum, triggers) => sum + triggers.length, 0);
        await until(
            () => crm.delivered().length >= total,
            () => `${total} requests at the CRM (got ${crm.delivered().length})`,
            60_000,
        );
        // Anything sent twice would follow right behind.
        await new Promise((resolve) => setTimeout(resolve, 1500));

        assert.equal(crm.delivered().length, total, 'every trigger once');
        for (const [callId, triggers] of expected) {
            const received = crm
                .delivered()
                .filter((attempt) => attempt.callId === callId)
                .map((attempt) => attempt.trigger.slice(callId.length + 1));
            assert.deepEqual(received, triggers, `${callId}: the triggers one instance fires, in its order`);
        }
        assert.equal(new Set(crm.delivered().map((attempt) => attempt.key)).size, total, 'one idempotency key per trigger');
        for (const instance of instances) assert.doesNotMatch(instance.log(), /\[error\]/, `${instance.url} logged no error`);
    });
});
