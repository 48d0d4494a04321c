// Issue 30's Redis connection: the settings of each mode checked field by field, minReplicas (WAIT) making a write
// that no replica confirmed fail as a store error, the reply bound on a frozen (SIGSTOPped) Redis, and a real
// Sentinel group (a primary, a replica, three Sentinels) followed through a failover, all on loopback.
import assert from 'node:assert/strict';
import { SharedDeliveryQueue } from '../../src/delivery/shared-delivery-queue';
import { StoreError } from '../../src/store/durable-store';
import { RedisCallState } from '../../src/store/redis/redis-call-state';
import { checkedRedisSettings, isConnectionProblem, replicationOf, RedisConnection } from '../../src/store/redis/redis-connection';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel';
import { oneCallCommit } from '../support/one-call-commit';
import { refusal } from '../support/redis-settings-refusal';
import { until } from '../support/wait';

const PREFIX = 'sentinel-test';

describe('Redis settings by mode', () => {
    it('reads a 0.3.0 configuration (url and prefix, no mode) as standalone, unchanged', () => {
        const checked = checkedRedisSettings({ url: 'redis://10.0.0.5:6380/2', prefix: 'crm' });
        assert.equal(checked.mode, 'standalone');
        assert.ok(checked.mode === 'standalone');
        assert.deepEqual(checked.address, { host: '10.0.0.5', port: 6380, db: 2, tls: false });
        assert.equal(checked.minReplicas, 0);
        assert.equal(checked.target, 'redis://10.0.0.5:6380');
        const empty = checkedRedisSettings({ url: '', prefix: '' });
        assert.ok(empty.mode === 'standalone');
        assert.equal(empty.url, 'redis://127.0.0.1:6379');
    });

    it('reads sentinel mode: the Sentinels, the primary name, minReplicas and the wait', () => {
        const checked = checkedRedisSettings({
            mode: 'sentinel',
            url: 'redis://ignored:1',
            sentinels: ' 10.0.0.7:26380, sentinel-b ,[::1]:26381 ',
            masterName: 'crm-primary',
            prefix: 'crm',
            minReplicas: '1',
            replicaWait: '250',
        });
        assert.ok(checked.mode === 'sentinel');
        assert.deepEqual(checked.sentinelAddresses, [
            { host: '10.0.0.7', port: 26380 },
            { host: 'sentinel-b', port: 26379 },
            { host: '::1', port: 26381 },
        ]);
        assert.equal(checked.masterName, 'crm-primary');
        assert.equal(checked.minReplicas, 1);
        assert.equal(checked.replicaWaitMs, 250);
        assert.equal(checked.target, 'sentinel://10.0.0.7:26380,[::1]:26381,sentinel-b:26379/crm-primary');
    });

    it('reads TLS in sentinel mode: Use TLS for the primary and replicas, Sentinel TLS for the Sentinels, each on its own', () => {
        const sentinel = { mode: 'sentinel', url: '', prefix: '', sentinels: '10.0.0.7:26380', masterName: 'crm-primary', tls: { ca: 'the CA' } };
        const both = checkedRedisSettings({ ...sentinel, useTls: true, sentinelTls: true });
        assert.deepEqual(both.tlsTo, { servers: true, sentinels: true });
        assert.equal(both.target, 'sentinel://10.0.0.7:26380/crm-primary?tls=servers,sentinels');
        const servers = checkedRedisSettings({ ...sentinel, useTls: 'true', sentinelTls: '' });
        assert.deepEqual(servers.tlsTo, { servers: true, sentinels: false });
        assert.equal(servers.target, 'sentinel://10.0.0.7:26380/crm-primary?tls=servers');
        // The system's CAs: TLS without a TLS configuration.
        const sentinels = checkedRedisSettings({ ...sentinel, tls: undefined, sentinelTls: true });
        assert.deepEqual(sentinels.tlsTo, { servers: false, sentinels: true });
        assert.equal(sentinels.target, 'sentinel://10.0.0.7:26380/crm-primary?tls=sentinels');
    });

    it('reads a sentinel configuration saved before TLS (no useTls, no sentinelTls, tls empty) as in the clear, unchanged', () => {
        // As the dialog of 0.4.0 before TLS in sentinel mode saved it: the TLS row hidden and emptied.
        const checked = checkedRedisSettings({
            mode: 'sentinel',
            url: 'redis://127.0.0.1:6379',
            prefix: 'ccaas',
            sentinels: '10.0.0.7:26380',
            masterName: 'm',
        });
        assert.deepEqual(checked.tlsTo, { servers: false, sentinels: false });
        assert.equal(checked.target, 'sentinel://10.0.0.7:26380/m');
        // 0.3.0's shape, with a TLS configuration left on a redis:// URL: still in the clear, the TLS configuration unused.
        const old = checkedRedisSettings({ url: 'redis://10.0.0.5:6380/2', prefix: 'crm', tls: { ca: 'x' } });
        assert.deepEqual(old.tlsTo, { servers: false, sentinels: false });
        assert.equal(old.target, 'redis://10.0.0.5:6380');
        const rediss = checkedRedisSettings({ url: 'rediss://10.0.0.5:6380/2', prefix: 'crm', useTls: false });
        assert.deepEqual(rediss.tlsTo, { servers: true, sentinels: false });
    });

    it('names the field of every setting that cannot work', () => {
        const sentinel = { mode: 'sentinel', url: '', prefix: '', sentinels: '127.0.0.1:26379', masterName: 'm' };
        assert.match(refusal({ url: '', prefix: '', mode: 'replicas' }), /^mode: "replicas" is not standalone, sentinel or cluster/);
        assert.match(refusal({ ...sentinel, sentinels: ' , ' }), /^sentinels: list at least one Sentinel/);
        assert.match(refusal({ ...sentinel, sentinels: '127.0.0.1:26379, redis://x:1' }), /^sentinels: "redis:\/\/x:1" is not host:port/);
        assert.match(refusal({ ...sentinel, sentinels: '127.0.0.1:70000' }), /^sentinels: "127.0.0.1:70000" is not host:port/);
        assert.match(refusal({ ...sentinel, masterName: ' ' }), /^masterName: name the primary/);
        assert.match(refusal({ ...sentinel, masterName: 'a b' }), /^masterName: "a b" must be/);
        assert.match(refusal({ ...sentinel, tls: { ca: 'x' } }), /^useTls: a TLS configuration is chosen but neither Use TLS nor Sentinel TLS is on/);
        assert.match(refusal({ ...sentinel, tls: { ca: 'x' }, useTls: false, sentinelTls: 'false' }), /^useTls: a TLS configuration is chosen/);
        assert.match(refusal({ ...sentinel, useTls: 'yes' }), /^useTls: must be true or false \(a checkbox\), not "yes"/);
        assert.match(refusal({ ...sentinel, sentinelTls: 'on' }), /^sentinelTls: must be true or false/);
        assert.match(refusal({ ...sentinel, minReplicas: '-1' }), /^minReplicas: must be a whole number from 0 to 10, not "-1"/);
        assert.match(refusal({ url: '', prefix: '', minReplicas: 1.5 }), /^minReplicas: must be a whole number/);
        assert.match(refusal({ url: '', prefix: '', replicaWait: '0' }), /^replicaWait: must be a whole number from 1 to 10000 ms, not "0"/);
        assert.match(refusal({ url: '', prefix: '', replicaWait: 'soon' }), /^replicaWait: /);
        assert.match(refusal({ url: 'http://x', prefix: '' }), /^url: the scheme must be/);
    });

    it('reads the replicas out of INFO replication', () => {
        const info =
            'role:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=6381,state=online,offset=42,lag=0\r\nslave1:ip=::1,port=6382,state=wait_bgsave,offset=0,lag=1\r\n';
        assert.deepEqual(replicationOf(info), {
            role: 'master',
            replicas: [
                { address: '127.0.0.1:6381', state: 'online', lag: 0 },
                { address: '[::1]:6382', state: 'wait_bgsave', lag: 1 },
            ],
        });
    });
});

describe('minReplicas and the reply bound on a standalone Redis', function () {
    this.timeout(30_000);
    let redis: RedisServer;
    const connections: RedisConnection[] = [];
    const connect = async (settings: { minReplicas?: number; replicaWait?: number } = {}, replyBoundMs?: number): Promise<RedisConnection> => {
        const connection = new RedisConnection(
            { url: redis.url, prefix: PREFIX, ...settings },
            { maxReconnectWaitMs: 100, ...(replyBoundMs ? { replyBoundMs } : {}) },
        );
        connections.push(connection);
        await connection.ready();
        return connection;
    };

    before(async () => {
        redis = await startRedisServer();
    });
    after(async () => {
        await Promise.all(connections.map((connection) => connection.close()));
        redis.signal('SIGCONT');
        await redis?.stop();
        if (redis) removeRedisDir(redis);
    });

    it('refuses a call-state commit and an outbox request no replica confirmed, as store errors, within the wait', async () => {
        const connection = await connect({ minReplicas: 1, replicaWait: 200 });
        await assert.doesNotReject((async () => (await connect()).acknowledged('any-key'))(), 'minReplicas 0 asks nothing');
        const state = new RedisCallState(connection, 'wait-node');
        const started = Date.now();
        await assert.rejects(state.commit(oneCallCommit('c1')), (err: unknown) => {
            assert.ok(err instanceof StoreError, String(err));
            assert.equal(err.code, 'store');
            assert.match(err.message, /0 of the 1 replicas minReplicas asks for confirmed the write within 200 ms/);
            return true;
        });
        const waited = Date.now() - started;
        assert.ok(waited >= 190 && waited < 2000, `the wait took ${waited} ms`);
        // The write itself is on the primary: it is only not acknowledged.
        assert.equal(redis.cli('EXISTS', `${PREFIX}:calls:{wait-node}:call:c1`), '1');

        const queue = new SharedDeliveryQueue<number>({
            connection,
            nodeId: 'wait-out',
            leaseMs: 2000,
            pollMs: 50,
            schedule: [],
            attempt: async () => ({ verdict: { kind: 'delivered' }, result: 0 }),
            onSettled: () => {},
        });
        try {
            await assert.rejects(queue.enqueue({ call: { callId: 'c1' }, idempotencyKey: 'k1' }), (err: unknown) => {
                assert.ok(err instanceof StoreError, String(err));
                assert.match(err.message, /the shared outbox in Redis is unavailable \(.*0 of the 1 replicas.*\): the request is refused, not queued/);
                return true;
            });
        } finally {
            await queue.close();
        }
    });

    it('fails a command of a frozen (SIGSTOPped) Redis within the reply bound, as a connection problem, and recovers after SIGCONT', async () => {
        const connection = await connect({}, 700);
        const state = new RedisCallState(connection, 'frozen-node');
        await state.commit(oneCallCommit('before'));
        const states: string[] = [];
        connection.onChange(() => states.push(connection.state));
        redis.signal('SIGSTOP');
        const started = Date.now();
        let failure: unknown;
        try {
            await state.commit(oneCallCommit('frozen'));
        } catch (err) {
            failure = err;
        } finally {
            // Woken at once, whatever the outcome, so a failed assertion does not leave the server stopped.
            redis.signal('SIGCONT');
        }
        const took = Date.now() - started;
        assert.ok(failure instanceof StoreError, `a StoreError, got ${String(failure)}`);
        assert.equal(failure.code, 'store');
        assert.ok(isConnectionProblem(failure.cause ?? failure), `a connection problem: ${failure.message}`);
        assert.ok(took >= 650 && took < 3000, `failed after ${took} ms, within the bound of 700 ms`);
        // The connection was dropped for not answering and is made again by itself; then writes go through.
        await until(
            () => states.includes('reconnecting') && connection.state === 'ready',
            () => `the connection dropped and ready again (${states.join(', ')})`,
            10_000,
        );
        await state.commit(oneCallCommit('after'));
        assert.equal(redis.cli('EXISTS', `${PREFIX}:calls:{frozen-node}:call:after`), '1');
    });
});

describe('sentinel mode against a real Sentinel group', function () {
    this.timeout(90_000);
    let group: SentinelGroup;

    before(async () => {
        group = await startSentinelGroup({ replicas: 2, sentinelPassword: 'sentinel-secret', server: { config: ['requirepass data-secret'] } });
    });
    after(async () => {
        await group?.stop();
    });

    it('writes to the primary the Sentinels name, acknowledged by a replica, and follows a failover without being made again', async () => {
        const firstPort = group.primaryPort()!;
        const connection = new RedisConnection(
            {
                mode: 'sentinel',
                url: '',
                sentinels: group.sentinelList,
                masterName: group.masterName,
                prefix: PREFIX,
                password: 'data-secret',
                sentinelPassword: 'sentinel-secret',
                minReplicas: 1,
                replicaWait: 500,
            },
            { maxReconnectWaitMs: 200 },
        );
        try {
            await connection.ready();
            assert.equal(connection.serverAddress, `127.0.0.1:${firstPort}`);
            const state = new RedisCallState(connection, 'sentinel-node');
            await state.commit(oneCallCommit('s1'));
            const info = await connection.serverInfo();
            assert.equal(info.role, 'master');
            assert.equal(info.replicas?.filter((replica) => replica.state === 'online').length, 2);

            await group.servers.find((server) => server.port === firstPort)!.stop('SIGKILL');
            const newPort = await group.waitForFailover(firstPort, 1);
            // Commits fail while no primary answers (store errors, connection problems), then go through on the new one.
            let refused = 0;
            await until(
                () => connection.state === 'ready' && connection.serverAddress === `127.0.0.1:${newPort}`,
                () => `the connection on the new primary ${newPort} (${connection.state}, ${connection.serverAddress})`,
                30_000,
                50,
            );
            for (let attempt = 0; ; attempt += 1) {
                try {
                    await state.commit(oneCallCommit('s2'));
                    break;
                } catch (err) {
                    assert.ok(err instanceof StoreError, String(err));
                    refused += 1;
                    if (attempt > 100) throw err;
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
            }
            assert.ok(refused <= 100);
            const stored = await state.read(['s1', 's2']);
            assert.deepEqual([...stored.calls.keys()].sort(), ['s1', 's2'], 'the write acknowledged before the failover survived it');
        } finally {
            await connection.close();
        }
    });
});
