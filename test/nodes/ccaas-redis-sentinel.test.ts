// The ccaas-redis config node in sentinel mode, in a real Node-RED runtime (the test helper) against a real Sentinel
// group on loopback (a primary, a replica, three Sentinels, passwords on both): its Test connection answer (mode,
// primary, replicas, persistence), the same-target rule for stored secrets, and a deployed node writing with a
// replica's acknowledgement. Also: a config node saved by 0.3.0 (no mode) keeps working as it did.
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { nodeModule } from '../support/node-red-runtime';
import { testConnection } from '../support/redis-test-connection';
import { removeRedisDir, startRedisServer } from '../support/redis-server';
import { startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel';

const redisNode = nodeModule('ccaas-redis');

interface Answer {
    mode?: string;
    primary?: string;
    role?: string;
    replicas?: Array<{ address: string; state: string }>;
    version?: string;
    aof?: false | { fsync: string };
    rdb?: boolean;
    tls?: { servers: boolean; sentinels?: boolean };
    minReplicas?: number;
    masterName?: string;
    url?: string;
    error?: string;
}

interface DeployedRedis {
    configError?: Error;
    redisTarget?: string;
    acquire(): {
        connection: {
            ready(): Promise<void>;
            acknowledged(key: string): Promise<void>;
            serverAddress?: string;
            client: { set(key: string, value: string): Promise<unknown> };
        };
        release(): Promise<void>;
    };
}

describe('ccaas-redis in sentinel mode', function () {
    this.timeout(60_000);
    let group: SentinelGroup;

    before(async () => {
        group = await startSentinelGroup({ replicas: 1, sentinelPassword: 'sentinel-secret', server: { config: ['requirepass data-secret'] } });
    });
    after(async () => {
        await group?.stop();
    });
    afterEach(async () => {
        await helper.unload();
    });

    const sentinelQuestion = (extra: object = {}) => ({
        mode: 'sentinel',
        sentinels: group.sentinelList,
        masterName: group.masterName,
        prefix: 'ccaas',
        minReplicas: '1',
        credentials: { password: 'data-secret', sentinelPassword: 'sentinel-secret' },
        ...extra,
    });

    it('answers Test connection with the mode, the primary the Sentinels named, its replicas and the persistence', async () => {
        await helper.load(redisNode, []);
        const answer = await testConnection<Answer>(sentinelQuestion());
        const [primary, replica] = group.servers;
        assert.deepEqual(
            { ...answer, version: typeof answer.version, replicas: answer.replicas?.map(({ address, state }) => ({ address, state })) },
            {
                mode: 'sentinel',
                primary: `127.0.0.1:${primary!.port}`,
                role: 'master',
                replicas: [{ address: `127.0.0.1:${replica!.port}`, state: 'online' }],
                version: 'string',
                aof: { fsync: 'always' },
                rdb: false,
                tls: { servers: false, sentinels: false },
                minReplicas: 1,
                masterName: group.masterName,
            },
        );
    });

    it('names the problem: a primary name the Sentinels do not know, a missing Sentinel password, a bad field', async () => {
        await helper.load(redisNode, []);
        assert.match(
            (await testConnection<Answer>(sentinelQuestion({ masterName: 'unknown-primary' }))).error ?? '',
            /^no Sentinel named a primary that could be reached: ERR No such master with that name/,
        );
        const noSentinelPassword = await testConnection<Answer>(sentinelQuestion({ credentials: { password: 'data-secret' } }));
        assert.match(noSentinelPassword.error ?? '', /^no Sentinel named a primary that could be reached: NOAUTH/);
        const noPassword = await testConnection<Answer>(sentinelQuestion({ credentials: { sentinelPassword: 'sentinel-secret' } }));
        assert.match(noPassword.error ?? '', /NOAUTH|Authentication required/i);
        assert.match((await testConnection<Answer>(sentinelQuestion({ sentinels: '' }))).error ?? '', /^sentinels: list at least one Sentinel/);
        assert.match((await testConnection<Answer>(sentinelQuestion({ masterName: '' }))).error ?? '', /^masterName: /);
        assert.match((await testConnection<Answer>(sentinelQuestion({ minReplicas: 'two' }))).error ?? '', /^minReplicas: must be a whole number/);
        assert.match((await testConnection<Answer>(sentinelQuestion({ mode: 'cluster' }))).error ?? '', /^nodes: list at least one node of the cluster/);
    });

    it('sends the stored secrets only to the Sentinels and primary name the deployed node uses', async () => {
        const flow = [{ id: 's1', type: 'ccaas-redis', mode: 'sentinel', sentinels: group.sentinelList, masterName: group.masterName, prefix: 'ccaas' }];
        await helper.load(redisNode, flow, { s1: { password: 'data-secret', sentinelPassword: 'sentinel-secret' } });
        const stored = { password: '__PWRD__', sentinelPassword: '__PWRD__' };
        const same = await testConnection<Answer>(sentinelQuestion({ id: 's1', credentials: stored }));
        assert.equal(same.mode, 'sentinel', JSON.stringify(same));
        // The same Sentinels listed in another order and spacing are the same target.
        const reordered = await testConnection<Answer>(
            sentinelQuestion({ id: 's1', sentinels: group.sentinelList.split(',').reverse().join(' , '), credentials: stored }),
        );
        assert.equal(reordered.mode, 'sentinel', JSON.stringify(reordered));
        const elsewhere = await testConnection<Answer>(sentinelQuestion({ id: 's1', masterName: 'other-primary', credentials: stored }));
        assert.match(elsewhere.error ?? '', /^credentials: the stored password is only sent to /);
        const standalone = await testConnection<Answer>({ id: 's1', url: `redis://127.0.0.1:${group.servers[0]!.port}`, credentials: stored });
        assert.match(standalone.error ?? '', /^credentials: the stored password is only sent to /);
    });

    it('deployed with minReplicas 1, writes on the primary and has them acknowledged by the replica', async () => {
        const flow = [
            {
                id: 's2',
                type: 'ccaas-redis',
                mode: 'sentinel',
                sentinels: group.sentinelList,
                masterName: group.masterName,
                prefix: 'ccaas',
                minReplicas: 1,
                replicaWait: 2000,
                // As the dialog saved it before sentinel mode took TLS: no useTls, no sentinelTls, the TLS row emptied.
                tls: '',
            },
        ];
        await helper.load(redisNode, flow, { s2: { password: 'data-secret', sentinelPassword: 'sentinel-secret' } });
        const node = helper.getNode('s2') as unknown as DeployedRedis;
        assert.equal(node.configError, undefined);
        const lease = node.acquire();
        try {
            await lease.connection.ready();
            assert.equal(lease.connection.serverAddress, `127.0.0.1:${group.servers[0]!.port}`);
            await lease.connection.client.set('ccaas:sentinel-node-test', 'written');
            await lease.connection.acknowledged('ccaas:sentinel-node-test');
            assert.equal(group.servers[1]!.cli('GET', 'ccaas:sentinel-node-test'), 'written');
        } finally {
            await lease.release();
        }
    });

    it('keeps a config node saved by 0.3.0 (url and prefix, no mode) working as a standalone one', async () => {
        const standalone = await startRedisServer();
        try {
            await helper.load(redisNode, [{ id: 'old', type: 'ccaas-redis', name: '', url: standalone.url, prefix: 'ccaas', tls: '' }]);
            const node = helper.getNode('old') as unknown as DeployedRedis;
            assert.equal(node.configError, undefined);
            assert.equal(node.redisTarget, `redis://127.0.0.1:${standalone.port}`);
            const lease = node.acquire();
            try {
                await lease.connection.ready();
                await lease.connection.client.set('ccaas:old-shape', '1');
                // minReplicas defaults to 0: nothing is waited for, on a server that has no replica.
                await lease.connection.acknowledged('ccaas:old-shape');
                assert.equal(standalone.cli('GET', 'ccaas:old-shape'), '1');
            } finally {
                await lease.release();
            }
            const answer = await testConnection<Answer>({ url: standalone.url });
            assert.equal(answer.mode, 'standalone');
            assert.equal(answer.primary, `127.0.0.1:${standalone.port}`);
        } finally {
            await helper.unload();
            await standalone.stop();
            removeRedisDir(standalone);
        }
    });
});
