// The ccaas-redis config node in cluster mode, in a real Node-RED runtime (the test helper) against a real Redis
// Cluster on loopback (three primaries, a replica each, a password on every node): its Test connection answer
// (mode, each shard's primary, replicas and persistence), the `nodes` field checked by name, the same-target rule
// for stored secrets, and a deployed node writing with its shard's replica acknowledging.
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { nodeModule } from '../support/node-red-runtime';
import { testConnection } from '../support/redis-test-connection';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';
import { until } from '../support/wait';

const redisNode = nodeModule('ccaas-redis');
const PASSWORD = 'cluster-secret';

interface Shard {
    primary: string;
    aof: false | { fsync: string };
    replicas?: Array<{ address: string; state: string }>;
}

interface Answer {
    mode?: string;
    nodes?: string;
    minReplicas?: number;
    aof?: false | { fsync: string };
    tls?: { servers: boolean };
    shards?: Shard[];
    error?: string;
}

interface DeployedRedis {
    configError?: Error;
    redisTarget?: string;
    acquire(): {
        connection: { ready(): Promise<void>; acknowledged(key: string): Promise<void>; client: { set(key: string, value: string): Promise<unknown> } };
        release(): Promise<void>;
    };
}

describe('ccaas-redis in cluster mode', function () {
    this.timeout(60_000);
    let cluster: RedisCluster;

    before(async () => {
        cluster = await startRedisCluster({ replicasPerShard: 1, password: PASSWORD });
        await until(
            () => cluster.servers.slice(0, 3).every((server) => /^slave0:.*state=online/m.test(server.cli('INFO', 'replication'))),
            'every primary has its replica online',
            20_000,
        );
    });
    after(async () => {
        await cluster?.remove();
    });
    afterEach(async () => {
        await helper.unload();
    });

    const clusterQuestion = (extra: object = {}) => ({
        mode: 'cluster',
        nodes: cluster.nodes,
        prefix: 'ccaas',
        minReplicas: '1',
        credentials: { password: PASSWORD },
        ...extra,
    });

    it('answers Test connection with the mode and, for each shard, its primary, its replica and its persistence', async () => {
        await helper.load(redisNode, []);
        const answer = await testConnection<Answer>(clusterQuestion());
        assert.equal(answer.mode, 'cluster', JSON.stringify(answer));
        assert.equal(answer.nodes, cluster.nodes);
        assert.equal(answer.minReplicas, 1);
        assert.deepEqual(answer.aof, { fsync: 'always' });
        assert.deepEqual(answer.tls, { servers: false });
        const primaries = cluster.servers.slice(0, 3).map((server) => `127.0.0.1:${server.port}`);
        assert.deepEqual(answer.shards?.map((shard) => shard.primary).sort(), [...primaries].sort());
        const replicas = new Set(cluster.servers.slice(3).map((server) => `127.0.0.1:${server.port}`));
        for (const shard of answer.shards ?? []) {
            assert.deepEqual(shard.aof, { fsync: 'always' });
            assert.equal(shard.replicas?.length, 1, shard.primary);
            assert.equal(shard.replicas![0]!.state, 'online');
            assert.ok(replicas.delete(shard.replicas![0]!.address), `${shard.replicas![0]!.address} is one of the replicas`);
        }
        assert.equal(replicas.size, 0, 'every replica named once');
    });

    it('names the problem: the nodes field, a wrong password, no node answering', async () => {
        await helper.load(redisNode, []);
        assert.match(
            (await testConnection<Answer>(clusterQuestion({ nodes: ' , ' }))).error ?? '',
            /^nodes: list at least one node of the cluster as host:port/,
        );
        assert.match(
            (await testConnection<Answer>(clusterQuestion({ nodes: 'redis://127.0.0.1:7000' }))).error ?? '',
            /^nodes: "redis:\/\/127.0.0.1:7000" is not host:port/,
        );
        assert.match(
            (await testConnection<Answer>(clusterQuestion({ credentials: { password: 'wrong' } }))).error ?? '',
            /WRONGPASS|invalid username-password/i,
        );
        assert.match(
            (await testConnection<Answer>(clusterQuestion({ nodes: '127.0.0.1:1' }))).error ?? '',
            /^no node of the cluster said which primary serves which slot: 127\.0\.0\.1:1: /,
        );
    });

    it('sends the stored password only to the cluster nodes the deployed node uses', async () => {
        const flow = [{ id: 'c1', type: 'ccaas-redis', mode: 'cluster', nodes: cluster.nodes, prefix: 'ccaas' }];
        await helper.load(redisNode, flow, { c1: { password: PASSWORD } });
        const stored = { password: '__PWRD__' };
        // The same seeds in another order and spacing are the same target.
        const reordered = await testConnection<Answer>(
            clusterQuestion({ id: 'c1', nodes: cluster.nodes.split(',').reverse().join(' , '), credentials: stored }),
        );
        assert.equal(reordered.mode, 'cluster', JSON.stringify(reordered));
        const fewer = await testConnection<Answer>(clusterQuestion({ id: 'c1', nodes: cluster.nodes.split(',')[0], credentials: stored }));
        assert.match(fewer.error ?? '', /^credentials: the stored password is only sent to /);
        const standalone = await testConnection<Answer>({ id: 'c1', url: `redis://127.0.0.1:${cluster.servers[0]!.port}`, credentials: stored });
        assert.match(standalone.error ?? '', /^credentials: the stored password is only sent to /);
    });

    it('deployed with minReplicas 1, writes to the shard of each key and has its replica acknowledge it', async () => {
        // As the dialog saved it before cluster mode took TLS: no useTls, the TLS row emptied.
        const flow = [{ id: 'c2', type: 'ccaas-redis', mode: 'cluster', nodes: cluster.nodes, prefix: 'ccaas', minReplicas: 1, replicaWait: 2000, tls: '' }];
        await helper.load(redisNode, flow, { c2: { password: PASSWORD } });
        const node = helper.getNode('c2') as unknown as DeployedRedis;
        assert.equal(node.configError, undefined);
        assert.equal(node.redisTarget, `cluster://${cluster.nodes.split(',').sort().join(',')}`);
        const lease = node.acquire();
        try {
            await lease.connection.ready();
            // Keys of several node ids: more than one shard is written to.
            for (const id of ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']) {
                const key = `ccaas:calls:{${id}}:probe`;
                await lease.connection.client.set(key, 'written');
                await lease.connection.acknowledged(key);
                assert.equal(cluster.cli('GET', key), 'written');
            }
        } finally {
            await lease.release();
        }
    });

    it('refuses a cluster configuration without nodes at deploy, naming the field', async () => {
        await helper.load(redisNode, [{ id: 'c3', type: 'ccaas-redis', mode: 'cluster', nodes: '', prefix: 'ccaas' }]);
        const node = helper.getNode('c3') as unknown as DeployedRedis;
        assert.match(node.configError?.message ?? '', /^nodes: list at least one node of the cluster/);
    });
});
