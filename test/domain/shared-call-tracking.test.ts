import assert from 'node:assert/strict';
import type { RawEvent } from '../../src/call/raw-event';
import type { CallCommit, CallStateStore, CommitOutcome } from '../../src/lifecycle/call-state-store';
import { CallTracker, type TrackedCall, type TrackerOptions, type Trigger } from '../../src/lifecycle/call-tracker';
import { LimitExceededError } from '../../src/lifecycle/event-limits';
import { SharedCallTracking, type SharedCallTrackingOptions } from '../../src/lifecycle/shared-call-tracking';
import { seededRandom } from '../../src/simulator/call-lives';
import { StoreError } from '../../src/store/durable-store';
import { RedisCallState } from '../../src/store/redis/redis-call-state';
import { RedisConnection } from '../../src/store/redis/redis-connection';
import { idempotencyKey } from '../../src/delivery/idempotency';
import { monitorScripts } from '../support/redis-script-monitor';
import { describeOnEachRedis, startSharedRedis, type SharedRedis } from '../support/shared-redis';
import { until } from '../support/wait';

const PREFIX = 'shared-test';
const LEASE_MS = 5_000;

interface Fired {
    instance: string;
    trigger: Trigger;
}

interface Instance {
    id: string;
    connection: RedisConnection;
    state: RedisCallState;
    tracking: SharedCallTracking;
    emit: (triggers: Trigger[]) => void;
}

/** Instances of one call event in node on one Redis, each with its own connection, on one clock the test moves. */
class Cluster {
    readonly fired: Fired[] = [];
    readonly instances: Instance[] = [];
    readonly clock = { now: Date.now() };
    private static nodes = 0;
    readonly nodeId = `node${(Cluster.nodes += 1)}.${process.pid}`;

    constructor(
        private readonly server: SharedRedis,
        private readonly options: Partial<SharedCallTrackingOptions> = {},
        /** 'test': every instance on `clock`, moved by the test; 'store': on Redis's clock, as in a node. */
        private readonly timeSource: 'test' | 'store' = 'test',
    ) {}

    async add(id: string, wrap: (state: CallStateStore) => CallStateStore = (state) => state): Promise<Instance> {
        const connection = new RedisConnection({ ...this.server.target, prefix: PREFIX }, { maxReconnectWaitMs: 100, clientName: id });
        await connection.ready();
        const state = new RedisCallState(connection, this.nodeId);
        const clock = this.timeSource === 'test' ? { now: () => this.clock.now } : {};
        const tracking = new SharedCallTracking(wrap(state), { leaseMs: LEASE_MS, ...this.options, instanceId: id, ...clock });
        const instance: Instance = {
            id,
            connection,
            state,
            tracking,
            emit: (triggers) => {
                for (const trigger of triggers) this.fired.push({ instance: id, trigger });
            },
        };
        this.instances.push(instance);
        return instance;
    }

    take(instance: Instance, events: RawEvent[]): Promise<void> {
        return instance.tracking.take(events, instance.emit);
    }

    tick(instance: Instance): Promise<void> {
        return instance.tracking.tick(instance.emit);
    }

    firedFor(callId: string): string[] {
        return this.fired.filter(({ trigger }) => trigger.call.callId === callId).map(({ trigger }) => trigger.event);
    }

    /** Every key of this node in Redis. */
    keys(): string[] {
        return this.server.scan(`${PREFIX}:calls:{${this.nodeId}}:*`);
    }

    async record(callId: string): Promise<TrackedCall | undefined> {
        return (await this.instances[0].state.read([callId])).calls.get(callId)?.record as TrackedCall | undefined;
    }

    async close(): Promise<void> {
        for (const instance of this.instances) {
            await instance.tracking.close();
            await instance.connection.close();
        }
    }
}

function event(callId: string, type: RawEvent['type'], eventId: string, timestamp: number, extra: Partial<RawEvent> = {}): RawEvent {
    return { type, callId, eventId, timestamp, ...extra };
}

/**
 * A life whose triggers do not depend on the order its events arrive in (the lifecycle's tolerance): recordings are
 * all later than the disconnect and as many as it announces, and nothing changes the account codes.
 */
function orderFreeLife(random: () => number, callId: string, start: number): RawEvent[] {
    const answered = random() < 0.7;
    const recordings = answered ? Math.floor(random() * 3) : 0;
    const life: RawEvent[] = [
        event(callId, 'presenting', `${callId}-p`, start, {
            direction: 'Inbound',
            callerName: `Caller ${callId}`,
            startTime: start,
            agent: { name: 'Ann', extension: '1' },
        }),
    ];
    if (answered) life.push(event(callId, 'connected', `${callId}-c`, start + 10, { agent: { name: 'Bob', extension: '2' }, group: 'Support' }));
    life.push(event(callId, 'update', `${callId}-u`, start + 20, { tags: ['VIP', `t-${callId}`] }));
    life.push(event(callId, 'complete', `${callId}-x`, start + 30, { pendingRecordings: recordings }));
    for (let index = 0; index < recordings; index += 1) {
        life.push(event(callId, 'recording', `${callId}-r${index}`, start + 40 + index, { recordingUrl: `https://rec/${callId}/${index}.wav` }));
    }
    return life;
}

function shuffled<T>(random: () => number, items: readonly T[]): T[] {
    const out = [...items];
    for (let index = out.length - 1; index > 0; index -= 1) {
        const other = Math.floor(random() * (index + 1));
        [out[index], out[other]] = [out[other], out[index]];
    }
    return out;
}

/** A record with its lists in a fixed order: which arrival order filled them is not part of the state's meaning. */
function normalized(record: TrackedCall | undefined): unknown {
    if (!record) return record;
    return {
        ...record,
        tags: [...record.tags].sort(),
        recordings: [...record.recordings].sort((a, b) => a.url.localeCompare(b.url)),
        seen: [...record.seen].sort(),
    };
}

const trackerOptions = (clock: { now: number }, options: Partial<TrackerOptions> = {}): Partial<TrackerOptions> => ({ ...options, now: () => clock.now });

describeOnEachRedis('shared call tracking: several instances on one Redis behave as one', function (kind) {
    this.timeout(60_000);
    let server: SharedRedis;
    const clusters: Cluster[] = [];
    const cluster = (options?: Partial<SharedCallTrackingOptions>): Cluster => {
        const made = new Cluster(server, options);
        clusters.push(made);
        return made;
    };

    before(async () => {
        server = await startSharedRedis(kind);
    });
    afterEach(async () => {
        for (const made of clusters.splice(0)) await made.close();
    });
    after(async () => {
        await server.remove();
    });

    it('events of 40 calls spread over four instances, shuffled and duplicated: each trigger once, as one CallTracker fires them', async () => {
        for (const seed of [1, 2, 3]) {
            const random = seededRandom(seed);
            const nodes = cluster();
            const instances = await Promise.all(['a', 'b', 'c', 'd'].map((id) => nodes.add(`${id}${seed}`)));
            const callIds = Array.from({ length: 40 }, (_, index) => `call-${seed}-${index}`);
            const lives = callIds.flatMap((callId, index) => orderFreeLife(random, callId, 1_000_000 + index * 1000));
            const duplicates = lives.filter(() => random() < 0.25);
            const arrivals = shuffled(random, [...lives, ...duplicates]);

            // Consecutive arrivals in batches of one to four events, each batch to a random instance; the instances
            // work through their queues at the same time, so batches on one call meet in Redis.
            const queues = new Map<Instance, RawEvent[][]>(instances.map((instance) => [instance, []]));
            for (let index = 0; index < arrivals.length;) {
                const size = 1 + Math.floor(random() * 4);
                queues.get(instances[Math.floor(random() * instances.length)])!.push(arrivals.slice(index, index + size));
                index += size;
            }
            await Promise.all(
                [...queues].map(async ([instance, batches]) => {
                    for (const batch of batches) await nodes.take(instance, batch);
                }),
            );

            const reference = new CallTracker(trackerOptions(nodes.clock));
            const expected = reference.apply(arrivals);
            for (const callId of callIds) {
                const want = expected.filter((trigger) => trigger.call.callId === callId).map((trigger) => trigger.event);
                assert.deepEqual(nodes.firedFor(callId).sort(), [...want].sort(), `triggers of ${callId} (seed ${seed})`);
                assert.equal(new Set(want).size, want.length, 'the reference fires each trigger once');
                assert.ok(want.includes('processed'));
                assert.deepEqual(normalized(await nodes.record(callId)), normalized(reference.get(callId)), `state of ${callId}`);
            }
            // Every instance did some of the work.
            for (const instance of instances)
                assert.ok(
                    nodes.fired.some((fired) => fired.instance === instance.id),
                    `${instance.id} fired nothing`,
                );
            await nodes.tick(instances[0]);
            assert.equal(instances[0].tracking.size, callIds.length);
            assert.equal(instances[0].tracking.unfinished, 0);
        }
    });

    it('two instances changing one call at once: the later commit finds the conflict, runs again on the state it is told and keeps both', async () => {
        const nodes = cluster();
        // a reads the call (absent); before its commit, b takes its own event of the same call and commits.
        const a = await nodes.add('a', (state) => gated(state, () => nodes.take(b, [event('same', 'connected', 'c', 200)])));
        const b = await nodes.add('b');
        await nodes.take(a, [event('same', 'presenting', 'p', 100, { callerName: 'Jane' })]);
        assert.equal(a.tracking.conflicts, 1, 'one redo');
        assert.equal(b.tracking.conflicts, 0);
        assert.deepEqual(nodes.firedFor('same').sort(), ['connected', 'presenting']);
        const record = await nodes.record('same');
        assert.equal(record?.answered, true);
        assert.equal(record?.values.callerName, 'Jane');
        assert.equal(record?.seen.length, 2);

        // And many racing batches on one call: whatever the interleaving, every trigger once.
        const life = orderFreeLife(seededRandom(9), 'race', 5_000);
        await Promise.all(life.map((raced, index) => nodes.take(index % 2 === 0 ? a : b, [raced])));
        assert.deepEqual(
            nodes.firedFor('race').sort(),
            new CallTracker(trackerOptions(nodes.clock))
                .apply(life)
                .map((trigger) => trigger.event)
                .sort(),
        );
    });

    it('gives up with a StoreError after maxAttempts conflicts in a row, having written nothing', async () => {
        const nodes = cluster({ maxAttempts: 3 });
        const a = await nodes.add('a', (state) => alwaysConflicting(state));
        await assert.rejects(nodes.take(a, [event('busy', 'presenting', 'p', 1)]), (err: unknown) => err instanceof StoreError && err.code === 'store');
        assert.equal(a.tracking.conflicts, 3);
        assert.equal(await nodes.record('busy'), undefined);
        assert.equal(nodes.fired.length, 0);
    });

    it('refuses a batch over a per-call bound before anything is written', async () => {
        const nodes = cluster({ limits: { maxCallListMembers: 2 } });
        const a = await nodes.add('a');
        await assert.rejects(nodes.take(a, [event('big', 'update', 'u', 1, { tags: ['a', 'b', 'c'] })]), LimitExceededError);
        assert.equal(await nodes.record('big'), undefined);
        assert.deepEqual(nodes.keys(), []);
    });

    it('an instance that committed and died before emitting: another re-emits after the lease, once, with the same snapshots', async () => {
        const nodes = cluster();
        const dying = await nodes.add('dying');
        const b = await nodes.add('b');
        const c = await nodes.add('c');
        let lost: Trigger[] = [];
        const crash = new Error('process died');
        await assert.rejects(
            dying.tracking.take([event('crash', 'presenting', 'p', 100), event('crash', 'complete', 'x', 200)], (triggers) => {
                lost = JSON.parse(JSON.stringify(triggers)) as Trigger[];
                throw crash;
            }),
            (err) => err === crash,
        );
        assert.deepEqual(
            lost.map((trigger) => trigger.event),
            ['presenting', 'complete', 'processed', 'updated'],
        );
        await Promise.all([nodes.tick(b), nodes.tick(c)]);
        assert.equal(nodes.fired.length, 0, 'nothing re-emitted while the lease runs');

        nodes.clock.now += LEASE_MS + 1;
        await Promise.all([nodes.tick(b), nodes.tick(c), nodes.tick(b), nodes.tick(c)]);
        assert.equal(nodes.fired.length, 4, 'one instance re-emitted the batch, once');
        assert.equal(new Set(nodes.fired.map((fired) => fired.instance)).size, 1);
        assert.deepEqual(
            nodes.fired.map((fired) => fired.trigger),
            lost,
            'the same snapshots, so the same idempotency keys',
        );
        nodes.clock.now += 2 * LEASE_MS;
        await Promise.all([nodes.tick(b), nodes.tick(c)]);
        assert.equal(nodes.fired.length, 4, 'acknowledged: never again');
        assert.equal(server.cli('EXISTS', `${PREFIX}:calls:{${nodes.nodeId}}:pending`), '0');
        // The platform's resend of the same events is a duplicate: no trigger.
        await nodes.take(b, [event('crash', 'presenting', 'p', 100), event('crash', 'complete', 'x', 200)]);
        assert.equal(nodes.fired.length, 4);
    });

    it('acknowledges each batch before it answers, with no read; an acknowledgement that failed rides on the next commit', async () => {
        const nodes = cluster();
        let refuseAcknowledgements = false;
        const a = await nodes.add('a', (state) =>
            Object.assign(Object.create(state) as CallStateStore, {
                acknowledge: (batchIds: string[]) =>
                    refuseAcknowledgements ? Promise.reject(new StoreError('Redis: Connection is closed.')) : state.acknowledge(batchIds),
            }),
        );
        const pending = () => Number(server.cli('HLEN', `${PREFIX}:calls:{${nodes.nodeId}}:pending`));
        const monitor = await monitorScripts(server.primaryUrls);
        try {
            await nodes.take(a, [event('ack-1', 'presenting', 'p', 100)]);
            assert.equal(pending(), 0, 'acknowledged before the answer');
            refuseAcknowledgements = true;
            await nodes.take(a, [event('ack-1', 'connected', 'c', 200)]);
            assert.equal(pending(), 1, 'its acknowledgement failed: the batch stays pending');
            refuseAcknowledgements = false;
            await nodes.take(a, [event('ack-2', 'presenting', 'p', 300)]);
            assert.equal(pending(), 0, 'the next commit carried the failed one');
            await monitor.caughtUp();
            assert.equal(monitor.count('READ'), 0, `the calls were new, then as this instance committed them: ${monitor.breakdown()}`);
            assert.equal(monitor.count('COMMIT'), 3, monitor.breakdown());
            assert.equal(monitor.count('ACKNOWLEDGE'), 2, `one per answered batch that had none failing: ${monitor.breakdown()}`);
        } finally {
            monitor.stop();
        }
        assert.deepEqual(nodes.firedFor('ack-1'), ['presenting', 'connected']);
    });

    it('a remembered state another instance has changed since: the commit is refused with the current state, and the batch runs on it', async () => {
        const nodes = cluster();
        const a = await nodes.add('a');
        const b = await nodes.add('b');
        const monitor = await monitorScripts(server.primaryUrls);
        try {
            await nodes.take(a, [event('moved', 'presenting', 'p', 100, { agent: { name: 'Ann', extension: '1' } })]);
            await nodes.take(b, [event('moved', 'connected', 'c', 200, { agent: { name: 'Bob', extension: '2' } })]);
            await nodes.take(a, [event('moved', 'complete', 'x', 300, { pendingRecordings: 0 })]);
            await monitor.caughtUp();
            assert.equal(monitor.count('READ'), 0, `each refusal said the state: ${monitor.breakdown()}`);
            assert.equal(monitor.count('COMMIT'), 5, `three batches, two of them on a state that had changed: ${monitor.breakdown()}`);
        } finally {
            monitor.stop();
        }
        assert.equal(a.tracking.conflicts, 1);
        assert.equal(b.tracking.conflicts, 1, 'b had never seen the call');
        assert.deepEqual(nodes.firedFor('moved'), ['presenting', 'connected', 'complete', 'processed', 'updated']);
        const record = await nodes.record('moved');
        assert.equal(record?.answered, true, "b's connected is kept");
        assert.equal(record?.processed, true);
    });

    it('an acknowledgement lost with its instance: another emits the batch again after the lease, once, under the same idempotency keys', async () => {
        const nodes = cluster();
        // Its acknowledgement does not get through (Redis away for it), and then the process dies.
        const dying = await nodes.add('dying', (state) =>
            Object.assign(Object.create(state) as CallStateStore, {
                acknowledge: () => Promise.reject(new StoreError('Redis: Connection is closed.')),
            }),
        );
        const b = await nodes.add('b');
        await nodes.take(dying, [event('lost-ack', 'presenting', 'p', 100), event('lost-ack', 'complete', 'x', 200)]);
        const first = nodes.fired.map((fired) => fired.trigger);
        assert.deepEqual(
            first.map((trigger) => trigger.event),
            ['presenting', 'complete', 'processed', 'updated'],
        );
        dying.connection.client.disconnect();
        await nodes.tick(b);
        assert.equal(nodes.fired.length, 4, 'nothing emitted again while the lease runs');

        nodes.clock.now += LEASE_MS + 1;
        await Promise.all([nodes.tick(b), nodes.tick(b)]);
        const again = nodes.fired.slice(4);
        assert.equal(again.length, 4, 'emitted again once');
        assert.ok(again.every((fired) => fired.instance === 'b'));
        assert.deepEqual(
            again.map((fired) => idempotencyKey('send', fired.trigger.call)),
            first.map((trigger) => idempotencyKey('send', trigger.call)),
            'the same keys, so the receiver drops the repeats',
        );
        nodes.clock.now += 2 * LEASE_MS;
        await nodes.tick(b);
        await nodes.tick(b);
        assert.equal(nodes.fired.length, 8, 'never a third time');
        assert.equal(server.cli('EXISTS', `${PREFIX}:calls:{${nodes.nodeId}}:pending`), '0');
        // The platform's resend of the same events is a duplicate: no trigger, under no new key.
        await nodes.take(b, [event('lost-ack', 'presenting', 'p', 100), event('lost-ack', 'complete', 'x', 200)]);
        assert.equal(nodes.fired.length, 8);
    });

    it('a recording wait fires once in the cluster when the instance that set it is gone, and after a claimant died', async () => {
        const nodes = cluster({ recordingWaitMs: 60_000 });
        const setter = await nodes.add('setter');
        const b = await nodes.add('b');
        const c = await nodes.add('c');
        await nodes.take(setter, [event('wait', 'connected', 'c', 100), event('wait', 'complete', 'x', 200, { pendingRecordings: 1 })]);
        assert.deepEqual(nodes.firedFor('wait'), ['connected', 'complete']);
        await setter.tracking.close();
        await setter.connection.close();
        nodes.instances.shift();

        await Promise.all([nodes.tick(b), nodes.tick(c)]);
        assert.deepEqual(nodes.firedFor('wait'), ['connected', 'complete'], 'not before its deadline');
        nodes.clock.now += 60_000;
        // A claimant that dies right after its claim: the others skip the call until the claim's lease ends.
        assert.deepEqual(await b.state.claimDue(LEASE_MS, 10, nodes.clock.now), ['wait']);
        await Promise.all([nodes.tick(b), nodes.tick(c)]);
        assert.deepEqual(nodes.firedFor('wait'), ['connected', 'complete']);
        nodes.clock.now += LEASE_MS;
        await Promise.all([nodes.tick(b), nodes.tick(c), nodes.tick(b), nodes.tick(c)]);
        assert.deepEqual(nodes.firedFor('wait'), ['connected', 'complete', 'processed', 'updated']);
        const processed = nodes.fired.find((fired) => fired.trigger.event === 'processed')!.trigger;
        assert.equal(processed.call.recordingsMissing, true);
        assert.equal(server.cli('ZCARD', `${PREFIX}:calls:{${nodes.nodeId}}:deadlines`), '0');
        // The recording that comes late updates the call once.
        await nodes.take(c, [event('wait', 'recording', 'r', 300, { recordingUrl: 'https://rec/1.wav' })]);
        assert.deepEqual(nodes.firedFor('wait').slice(4), ['updated']);
    });

    it('a tick asked for while one runs is the same tick: a slow Redis does not pile ticks up', async () => {
        const nodes = cluster();
        const a = await nodes.add('a');
        await nodes.take(a, [event('t', 'presenting', 'p', 1)]);
        const first = nodes.tick(a);
        assert.equal(nodes.tick(a), first);
        await first;
        const next = nodes.tick(a);
        assert.notEqual(next, first, 'a tick after the last one ended is a new one');
        await next;
        assert.equal(a.tracking.size, 1);
    });

    it('every key it writes carries a TTL: a record its retention or stale limit, the indexes a safety net', async () => {
        const retentionMs = 3_600_000;
        const staleMs = 7_200_000;
        const nodes = cluster({ retentionMs, staleMs });
        const a = await nodes.add('a');
        await nodes.take(a, [event('done', 'presenting', 'p', 1), event('done', 'complete', 'x', 2)]);
        await nodes.take(a, [event('open', 'presenting', 'p', 1)]);
        await nodes.take(a, [event('waiting', 'complete', 'x', 1, { pendingRecordings: 1 })]);
        // A batch left pending, as by an instance that died before emitting.
        await assert.rejects(
            a.tracking.take([event('orphan', 'presenting', 'p', 1)], () => {
                throw new Error('died');
            }),
        );
        const keys = nodes.keys();
        const names = keys.map((key) => key.slice(`${PREFIX}:calls:{${nodes.nodeId}}:`.length)).sort();
        assert.deepEqual(names, [
            'bytes',
            'call:done',
            'call:open',
            'call:orphan',
            'call:waiting',
            'deadlines',
            'finished',
            'leases',
            'pending',
            'sizes',
            'unfinished',
        ]);
        for (const key of keys) {
            const ttl = Number(server.cli('PTTL', key));
            assert.ok(ttl > 0, `${key} has no TTL (${ttl})`);
            if (key.endsWith(':call:done')) assert.ok(ttl <= retentionMs && ttl > retentionMs - 60_000, `finished: ${ttl}`);
            else if (key.includes(':call:')) assert.ok(ttl <= staleMs && ttl > staleMs - 60_000, `unfinished: ${ttl}`);
        }
    });

    it('finished calls leave Redis at the end of their retention by themselves, and the counts follow', async () => {
        const nodes = cluster({ retentionMs: 300, staleMs: 60_000 });
        const a = await nodes.add('a');
        await nodes.take(a, [event('short', 'presenting', 'p', 1), event('short', 'complete', 'x', 2)]);
        await nodes.take(a, [event('long', 'presenting', 'p', 1)]);
        await nodes.tick(a);
        assert.equal(a.tracking.size, 2);
        await until(() => server.cli('EXISTS', a.state.recordKey('short')) === '0', 'the finished call to expire', 5000, 20);
        nodes.clock.now = Date.now();
        await nodes.tick(a);
        assert.equal(a.tracking.size, 1);
        assert.equal(a.tracking.unfinished, 1);
        assert.equal(server.cli('ZCARD', `${PREFIX}:calls:{${nodes.nodeId}}:finished`), '0');
        assert.equal(a.tracking.bytes, Number(server.cli('HSTRLEN', a.state.recordKey('long'), 'r')), 'the expired bytes left the total');
    });

    it('holds maxCalls across the cluster, forgetting finished calls first, oldest first, and says so', async () => {
        const evicted: Array<{ callId: string; processed: boolean }> = [];
        const nodes = cluster({ maxCalls: 5, onEviction: (eviction) => evicted.push({ callId: eviction.callId, processed: eviction.processed }) });
        const a = await nodes.add('a');
        const b = await nodes.add('b');
        for (const [index, callId] of ['f1', 'f2', 'f3'].entries()) {
            nodes.clock.now += 1;
            await nodes.take(index % 2 ? a : b, [event(callId, 'presenting', 'p', 1), event(callId, 'complete', 'x', 2)]);
        }
        for (const [index, callId] of ['u1', 'u2', 'u3', 'u4'].entries()) {
            nodes.clock.now += 1;
            await nodes.take(index % 2 ? a : b, [event(callId, 'presenting', 'p', 1)]);
        }
        assert.deepEqual(evicted, [
            { callId: 'f1', processed: true },
            { callId: 'f2', processed: true },
        ]);
        await nodes.tick(a);
        assert.equal(a.tracking.size, 5);
        assert.equal(await nodes.record('f1'), undefined);
        assert.ok(await nodes.record('f3'));
        nodes.clock.now += 1;
        await nodes.take(b, [event('u5', 'presenting', 'p', 1), event('u6', 'presenting', 'p', 1)]);
        assert.deepEqual(
            evicted.slice(2).map((eviction) => eviction.callId),
            ['f3', 'u1'],
        );
        await nodes.tick(b);
        assert.equal(b.tracking.size, 5);
    });

    it('holds maxBytes of stored records across the cluster, and keeps the byte total equal to what is stored', async () => {
        const clock = { now: Date.now() };
        const lifeOf = (callId: string): RawEvent[] => [event(callId, 'presenting', 'p', 1, { callerName: 'Jane' })];
        const alone = new CallTracker(trackerOptions(clock));
        alone.apply(lifeOf('b1'));
        const recordBytes = JSON.stringify(alone.get('b1')).length;
        const evicted: Array<{ callId: string; reason: string }> = [];
        const nodes = cluster({
            maxBytes: Math.floor(2.5 * recordBytes),
            onEviction: (eviction) => evicted.push({ callId: eviction.callId, reason: eviction.reason }),
        });
        nodes.clock.now = clock.now;
        const a = await nodes.add('a');
        const b = await nodes.add('b');
        await nodes.take(a, lifeOf('b1'));
        nodes.clock.now += 1;
        await nodes.take(b, lifeOf('b2'));
        await nodes.tick(a);
        assert.equal(a.tracking.bytes, 2 * recordBytes, 'the total is the JSON stored');
        nodes.clock.now += 1;
        await nodes.take(a, lifeOf('b3'));
        assert.deepEqual(evicted, [{ callId: 'b1', reason: 'bytes' }]);
        // A call that grows counts its new size, not both.
        nodes.clock.now += 1;
        await nodes.take(b, [event('b3', 'update', 'u', 2, { tags: ['x'] })]);
        await nodes.tick(b);
        const stored = ['b2', 'b3'].map((callId) => Number(server.cli('HSTRLEN', b.state.recordKey(callId), 'r')));
        assert.equal(b.tracking.bytes, stored[0] + stored[1]);
        assert.equal(b.tracking.size, 2);
    });

    it('drops a stored record that is not a call state, with a report, and starts the call afresh', async () => {
        const unreadable: string[] = [];
        const nodes = cluster({ onUnreadable: (callId) => unreadable.push(callId) });
        const a = await nodes.add('a');
        server.cli('HSET', a.state.recordKey('odd'), 'v', 'x', 'r', '{"format":99,"callId":"odd"}');
        await nodes.take(a, [event('odd', 'presenting', 'p', 1)]);
        assert.deepEqual(unreadable, ['odd']);
        assert.deepEqual(nodes.firedFor('odd'), ['presenting']);
        assert.equal((await nodes.record('odd'))?.format, 2);
    });

    it('sends its scripts again when the server has forgotten them', async () => {
        const nodes = cluster();
        const a = await nodes.add('a');
        await nodes.take(a, [event('flush', 'presenting', 'p', 1)]);
        server.onEveryNode('SCRIPT', 'FLUSH');
        await nodes.take(a, [event('flush', 'connected', 'c', 2)]);
        await nodes.tick(a);
        assert.deepEqual(nodes.firedFor('flush'), ['presenting', 'connected']);
        assert.equal(a.tracking.size, 1);
    });

    it('keeps call ids Redis would confuse apart: colons, globs, newlines, lone surrogates', async () => {
        const nodes = cluster();
        const a = await nodes.add('a');
        const ids = ['a:b', 'a*', 'x\ny', '\ud800-lone', '\udbff-lone', '😀'];
        for (const callId of ids) await nodes.take(a, [event(callId, 'presenting', 'p', 1)]);
        for (const callId of ids) {
            assert.deepEqual(nodes.firedFor(callId), ['presenting']);
            assert.equal((await nodes.record(callId))?.callId, callId);
        }
        await nodes.tick(a);
        assert.equal(a.tracking.size, ids.length);
    });
});

describeOnEachRedis('shared call tracking when Redis goes away', function (kind) {
    this.timeout(60_000);
    let server: SharedRedis;
    let nodes: Cluster;

    beforeEach(async () => {
        server = await startSharedRedis(kind);
    });
    afterEach(async () => {
        await nodes.close();
        await server.remove();
    });

    it('Redis stopped: take and tick reject with a StoreError (io); restarted: the same objects work again', async () => {
        nodes = new Cluster(server);
        const a = await nodes.add('a');
        await nodes.take(a, [event('down', 'presenting', 'p', 1)]);
        await server.stop();
        await until(() => a.connection.state !== 'ready', 'the connection to notice');
        const isIo = (err: unknown): boolean => err instanceof StoreError && err.code === 'store' && err.reason === 'io';
        await assert.rejects(nodes.take(a, [event('down', 'connected', 'c', 2)]), isIo);
        assert.ok(isIo(a.tracking.failure));
        await assert.rejects(nodes.tick(a), isIo);
        await server.restart();
        await a.connection.ready();
        await nodes.take(a, [event('down', 'connected', 'c', 2)]);
        assert.equal(a.tracking.failure, undefined);
        assert.deepEqual(nodes.firedFor('down'), ['presenting', 'connected'], 'the refused batch fired nothing; its resend did');
    });

    it('Redis killed and restarted on its append-only file: every acknowledged state is there', async () => {
        nodes = new Cluster(server, { recordingWaitMs: 60_000 });
        const a = await nodes.add('a');
        const b = await nodes.add('b');
        await nodes.take(a, [event('kept', 'presenting', 'p', 1), event('kept', 'connected', 'c', 2)]);
        await nodes.take(b, [event('kept', 'complete', 'x', 3, { pendingRecordings: 1 })]);
        const before = await nodes.record('kept');
        await server.stop('SIGKILL');
        await until(() => a.connection.state !== 'ready' && b.connection.state !== 'ready', 'the connections to notice');
        await server.restart();
        await Promise.all([a.connection.ready(), b.connection.ready()]);
        assert.deepEqual(await nodes.record('kept'), before);
        await nodes.take(b, [event('kept', 'connected', 'c', 2)]);
        assert.deepEqual(nodes.firedFor('kept'), ['presenting', 'connected', 'complete'], 'a duplicate from before the restart stays one');
        nodes.clock.now += 60_000;
        await nodes.tick(a);
        assert.deepEqual(nodes.firedFor('kept').slice(3), ['processed', 'updated'], 'the recording wait survived');
    });
});

/**
 * Runs `step` with this process's clock (Date.now) `offsetMs` off: an instance made in it keeps that clock (code that
 * took Date.now as its clock holds the shifted one), and the steps of the instance run in it too.
 */
async function withClockOff<T>(offsetMs: number, step: () => Promise<T>): Promise<T> {
    const realNow = Date.now;
    Date.now = () => realNow() + offsetMs;
    try {
        return await step();
    } finally {
        Date.now = realNow;
    }
}

describeOnEachRedis("shared call tracking on Redis's clock: an instance whose clock is 5 minutes off behaves like the others", function (kind) {
    this.timeout(60_000);
    const SKEW_MS = 5 * 60_000;
    let server: SharedRedis;
    let nodes: Cluster;

    before(async () => {
        server = await startSharedRedis(kind);
    });
    afterEach(async () => {
        await nodes.close();
    });
    after(async () => {
        await server.remove();
    });

    const redisNow = (): number => {
        const [seconds, micros] = server.cli('TIME').split('\n').map(Number);
        return seconds * 1000 + Math.floor(micros / 1000);
    };

    it('a recording wait set by one instance is not fired early by an instance whose clock is 5 minutes ahead', async () => {
        nodes = new Cluster(server, { recordingWaitMs: 60_000 }, 'store');
        const a = await nodes.add('a');
        const ahead = await withClockOff(SKEW_MS, () => nodes.add('ahead'));
        const before = redisNow();
        await nodes.take(a, [event('wait', 'connected', 'c', 100), event('wait', 'complete', 'x', 200, { pendingRecordings: 1 })]);
        const after = redisNow();
        const deadline = (await nodes.record('wait'))!.recordingDeadline!;
        assert.ok(deadline >= before + 60_000 && deadline <= after + 60_000, `the deadline ${deadline} is Redis's time of the event plus the wait`);
        await withClockOff(SKEW_MS, () => nodes.tick(ahead));
        assert.deepEqual(nodes.firedFor('wait'), ['connected', 'complete'], 'the wait has 60 s to run on the cluster clock');
        assert.equal(server.cli('ZSCORE', `${PREFIX}:calls:{${nodes.nodeId}}:deadlines`, 'wait'), String(deadline), 'and it was not claimed');
    });

    it('an instance whose clock is 5 minutes ahead does not take over a pending batch whose lease still runs', async () => {
        nodes = new Cluster(server, { leaseMs: 1500 }, 'store');
        const dying = await nodes.add('dying');
        const ahead = await withClockOff(SKEW_MS, () => nodes.add('ahead'));
        const crash = new Error('process died');
        await nodes.take(dying, [event('lease', 'presenting', 'p', 100)]);
        const committed = Date.now();
        await assert.rejects(
            dying.tracking.take([event('lease', 'connected', 'c', 200)], () => {
                throw crash;
            }),
            (err) => err === crash,
        );
        await withClockOff(SKEW_MS, () => nodes.tick(ahead));
        assert.deepEqual(nodes.firedFor('lease'), ['presenting'], 'not re-emitted while the lease runs');
        for (let round = 0; round < 200 && nodes.firedFor('lease').length < 2; round += 1) {
            await withClockOff(SKEW_MS, () => nodes.tick(ahead));
            if (nodes.firedFor('lease').length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(nodes.firedFor('lease'), ['presenting', 'connected'], 're-emitted once the lease ended');
        assert.ok(Date.now() - committed >= 1500 - 20, `taken over after ${Date.now() - committed} ms, not before the 1.5 s lease ended`);
    });

    it("a batch run on an estimate of Redis's clock that a jump of the instance's clock made wrong is refused, and runs on Redis's time", async () => {
        nodes = new Cluster(server, {}, 'store');
        const a = await nodes.add('a');
        await nodes.take(a, [event('jump', 'presenting', 'p', 100)]);
        // The clock jumps 5 minutes after the last reply: the estimate (this clock plus the difference then) is off.
        const before = redisNow();
        await withClockOff(SKEW_MS, () => nodes.take(a, [event('jump', 'connected', 'c', 200)]));
        const after = redisNow();
        const record = await nodes.record('jump');
        assert.ok(record!.lastActivity >= before && record!.lastActivity <= after, `the last activity ${record!.lastActivity} is on Redis's clock`);
        assert.equal(a.tracking.conflicts, 1, 'refused once, then committed on the time the refusal gave');
        // And on the clock as it now is, the estimate is right again: the next batch is its commit alone.
        const monitor = await monitorScripts(server.primaryUrls);
        try {
            await withClockOff(SKEW_MS, () => nodes.take(a, [event('jump', 'update', 'u', 300, { tags: ['later'] })]));
            await monitor.caughtUp();
            assert.equal(monitor.count('COMMIT'), 1, monitor.breakdown());
            assert.equal(monitor.count('READ'), 0, monitor.breakdown());
        } finally {
            monitor.stop();
        }
        assert.deepEqual(nodes.firedFor('jump'), ['presenting', 'connected']);
        assert.deepEqual((await nodes.record('jump'))!.tags, ['later'], 'the batch committed on the remembered state');
    });

    it("one reply slower than the clock tolerance does not put the next batch's estimate of Redis's clock off", async () => {
        nodes = new Cluster(server, {}, 'store');
        let slowNext = false;
        const a = await nodes.add('a', (state) => ({
            ...gated(state, () => undefined),
            async commit(commit: CallCommit): Promise<CommitOutcome> {
                const outcome = await state.commit(commit);
                // The reply of a script that Redis ran at once reaches the instance 400 ms later (a stalled loop, a
                // slow fsync): the clock it says is 400 ms old on arrival.
                if (slowNext) {
                    slowNext = false;
                    await new Promise((resolve) => setTimeout(resolve, 400));
                }
                return outcome;
            },
        }));
        await nodes.take(a, [event('slow', 'presenting', 'p', 100)]);
        slowNext = true;
        await nodes.take(a, [event('slow', 'connected', 'c', 200)]);
        await nodes.take(a, [event('slow', 'update', 'u', 300, { tags: ['later'] })]);
        assert.equal(a.tracking.conflicts, 0, 'no commit refused for the clock: the estimate kept the best recent reply');
        assert.deepEqual((await nodes.record('slow'))!.tags, ['later']);
    });

    it('a finished call written by an instance whose clock is 5 minutes behind is kept for its retention', async () => {
        nodes = new Cluster(server, { retentionMs: 60_000 }, 'store');
        const a = await nodes.add('a');
        const behind = await withClockOff(-SKEW_MS, () => nodes.add('behind'));
        await withClockOff(-SKEW_MS, () => nodes.take(behind, [event('kept', 'presenting', 'p', 1), event('kept', 'complete', 'x', 2)]));
        const ttl = Number(server.cli('PTTL', behind.state.recordKey('kept')));
        assert.ok(ttl > 55_000 && ttl <= 60_000, `the record expires in its 60 s retention, not ${ttl} ms`);
        await nodes.take(a, [event('kept', 'complete', 'x', 2)]);
        assert.deepEqual(nodes.firedFor('kept'), ['presenting', 'complete', 'processed', 'updated'], "the platform's resend is a duplicate");
    });
});

/** A state whose first commit waits for `hold()` (after its read), so another instance commits in between. */
function gated(state: CallStateStore, hold: () => Promise<void> | undefined): CallStateStore {
    let first = true;
    return {
        read: (callIds) => state.read(callIds),
        async commit(commit: CallCommit): Promise<CommitOutcome> {
            if (first) {
                first = false;
                await hold();
            }
            return state.commit(commit);
        },
        acknowledge: (batchIds) => state.acknowledge(batchIds),
        claimPending: (leaseMs, limit, now, acknowledged) => state.claimPending(leaseMs, limit, now, acknowledged),
        claimDue: (leaseMs, limit, now) => state.claimDue(leaseMs, limit, now),
        count: (expiry, now) => state.count(expiry, now),
    };
}

/** A state where another instance always commits first: every commit finds a version it did not read. */
function alwaysConflicting(state: CallStateStore): CallStateStore {
    return {
        ...gated(state, () => undefined),
        commit: (commit) => state.commit({ ...commit, writes: commit.writes.map((write) => ({ ...write, expected: 'someone-else' })) }),
    };
}
