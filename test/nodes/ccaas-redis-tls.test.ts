// The ccaas-redis config node over TLS in sentinel and cluster mode, in a real Node-RED runtime (the test helper) with a
// core tls-config node, against real redis-servers that serve TLS only (replication, the cluster bus and the
// Sentinels too): a Sentinel group reached through its Sentinels and written to, a Redis Cluster written to on every
// shard, the wake channel heard over TLS, Test connection saying what went over TLS, and a certificate the
// configuration does not trust, or made out for another name, refused with what it means.
//
// The certificate is made out for the name redis.test only, while every server is reached at 127.0.0.1 (the address
// the Sentinels and the cluster name): a connection that left out the TLS configuration's server name would fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { RedisCallState } from '../../src/store/redis/redis-call-state';
import type { RedisConnection } from '../../src/store/redis/redis-connection';
import { temporaryDirectory } from '../support/node-red-process';
import { nodeModule } from '../support/node-red-runtime';
import { oneCallCommit } from '../support/one-call-commit';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';
import { startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel';
import { selfSignedCertificate, type SelfSignedCertificate } from '../support/self-signed-certificate';
import { until } from '../support/wait';
import { testConnection } from '../support/redis-test-connection';

const redisNode = nodeModule('ccaas-redis');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsConfigNode: unknown = require(require.resolve('@node-red/nodes/core/network/05-tls.js', { paths: [path.dirname(require.resolve('node-red'))] }));
const PASSWORD = 'tls-secret';

interface Answer {
    mode?: string;
    primary?: string;
    tls?: { servers: boolean; sentinels?: boolean };
    aof?: false | { fsync: string };
    shards?: Array<{ primary: string }>;
    error?: string;
}

interface DeployedRedis {
    configError?: Error;
    redisTarget?: string;
    acquire(): { connection: RedisConnection; release(): Promise<void> };
}

/** The tls-config node a flow trusts the test's CA with; `servername` empty: none. */
const trusting = (certificate: SelfSignedCertificate, servername = 'redis.test') => ({
    id: 'ca',
    type: 'tls-config',
    cert: '',
    key: '',
    ca: certificate.certFile,
    verifyservercert: true,
    servername,
});

/** Resolves with the first message on `channel` the connection's subscriber hears, after it has subscribed. */
async function firstMessage(connection: RedisConnection, channel: string, publish: () => void): Promise<string> {
    let subscribed = false;
    let heard: string | undefined;
    const stop = connection.subscribe(channel, {
        message: (text) => (heard ??= text),
        subscribed: () => (subscribed = true),
    });
    try {
        await until(() => subscribed, `subscribed to ${channel}`, 10_000);
        publish();
        await until(() => heard !== undefined, `a message on ${channel}`, 10_000);
        return heard!;
    } finally {
        stop();
    }
}

describe('ccaas-redis over TLS in sentinel and cluster mode', function () {
    this.timeout(90_000);
    let certificate: SelfSignedCertificate;

    before(() => {
        certificate = selfSignedCertificate(temporaryDirectory('redis-tls'), 'redis.test', 'DNS:redis.test');
    });
    after(() => {
        if (certificate) fs.rmSync(path.dirname(certificate.certFile), { recursive: true, force: true });
    });
    afterEach(async () => {
        await helper.unload();
    });

    const test = (body: object) => testConnection<Answer>(body);

    describe('sentinel mode: a TLS primary and replica, three TLS Sentinels', () => {
        let group: SentinelGroup;
        before(async () => {
            group = await startSentinelGroup({ replicas: 1, tls: certificate, server: { config: [`requirepass ${PASSWORD}`] } });
        });
        after(async () => {
            await group?.stop();
        });
        const sentinelNode = (extra: object = {}) => ({
            id: 's1',
            type: 'ccaas-redis',
            mode: 'sentinel',
            sentinels: group.sentinelList,
            masterName: group.masterName,
            prefix: 'ccaas',
            tls: 'ca',
            useTls: true,
            sentinelTls: true,
            ...extra,
        });
        const question = (extra: object = {}) => ({ ...sentinelNode(), credentials: { password: PASSWORD }, ...extra });

        it('deployed with Use TLS and Sentinel TLS, finds the primary through the Sentinels and writes, acknowledged by the replica', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate), sentinelNode({ minReplicas: 1, replicaWait: 2000 })], {
                s1: { password: PASSWORD },
            });
            const node = helper.getNode('s1') as unknown as DeployedRedis;
            assert.equal(node.configError, undefined);
            assert.match(node.redisTarget ?? '', /\?tls=servers,sentinels$/);
            const lease = node.acquire();
            try {
                await lease.connection.ready();
                assert.equal(lease.connection.serverAddress, `127.0.0.1:${group.servers[0]!.port}`);
                assert.equal(lease.connection.encrypted, true);
                const state = new RedisCallState(lease.connection, 'tls-node');
                const outcome = await state.commit(oneCallCommit('call-over-tls'));
                assert.ok(outcome.committed, JSON.stringify(outcome));
                // Committed means acknowledged by the replica (minReplicas 1), which has the call's keys.
                assert.notEqual(group.servers[1]!.cli('KEYS', 'ccaas:*tls-node*'), '');
                assert.equal(
                    await firstMessage(lease.connection, 'ccaas:tls-wake', () => group.servers[0]!.cli('PUBLISH', 'ccaas:tls-wake', 'hello')),
                    'hello',
                );
            } finally {
                await lease.release();
            }
        });

        it('says in Test connection that the primary and the Sentinels were reached over TLS; a stored password goes over TLS only', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate), sentinelNode()], { s1: { password: PASSWORD } });
            const answer = await test(question());
            assert.equal(answer.mode, 'sentinel', JSON.stringify(answer));
            assert.equal(answer.primary, `127.0.0.1:${group.servers[0]!.port}`);
            assert.deepEqual(answer.tls, { servers: true, sentinels: true });
            assert.deepEqual(answer.aof, { fsync: 'always' });
            const stored = await test(question({ id: 's1', credentials: { password: '__PWRD__' } }));
            assert.deepEqual(stored.tls, { servers: true, sentinels: true }, JSON.stringify(stored));
            // The same Sentinels and primary, but the primary in the clear: the deployed node never sent it there.
            const clear = await test(question({ id: 's1', useTls: false, credentials: { password: '__PWRD__' } }));
            assert.match(
                clear.error ?? '',
                /^credentials: the stored password is only sent to ccaas-primary via Sentinel [\d.:,]+, over TLS to the servers and the Sentinels; /,
            );
        });

        it('refuses a certificate it does not trust, or made out for another name, saying what it means', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate, '')]);
            // No TLS configuration: the system's CAs, which never signed the test's certificate.
            const untrusted = await test(question({ tls: '' }));
            assert.match(
                untrusted.error ?? '',
                /^no Sentinel named a primary that could be reached: TLS to 127\.0\.0\.1:\d+: self[- ]signed certificate \(TLS: the server's certificate is not signed by a CA this node trusts; choose a TLS configuration holding the CA/,
            );
            // The CA, but no server name: the certificate names redis.test, the Sentinels are reached at 127.0.0.1.
            const otherName = await test(question());
            assert.match(otherName.error ?? '', /does not match certificate's altnames.*\(TLS: the server's certificate is for another name/);
            // Sentinel TLS off against Sentinels that speak TLS only: no answer in the clear.
            const plainSentinels = await test(question({ tls: '', sentinelTls: false, useTls: false }));
            assert.match(plainSentinels.error ?? '', /^no Sentinel named a primary that could be reached/);
        });

        it('deployed without the CA, tells the certificate problem in its state, not only a closed connection', async () => {
            await helper.load([tlsConfigNode, redisNode], [sentinelNode({ tls: '' })], { s1: { password: PASSWORD } });
            const lease = (helper.getNode('s1') as unknown as DeployedRedis).acquire();
            try {
                await until(
                    () =>
                        /TLS to 127\.0\.0\.1:\d+: self[- ]signed certificate \(TLS: the server's certificate is not signed/.test(
                            lease.connection.problem ?? '',
                        ),
                    () => `the certificate problem in the state (${lease.connection.state}: ${lease.connection.problem ?? 'no problem'})`,
                    15_000,
                    50,
                );
                assert.notEqual(lease.connection.state, 'ready');
            } finally {
                await lease.release();
            }
        });

        // Last of this group: it kills the primary.
        it('follows a failover over TLS: the new primary the Sentinels name is reached over TLS, without a redeploy', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate), sentinelNode()], { s1: { password: PASSWORD } });
            const node = helper.getNode('s1') as unknown as DeployedRedis;
            const lease = node.acquire();
            try {
                await lease.connection.ready();
                const firstPort = group.primaryPort()!;
                const state = new RedisCallState(lease.connection, 'tls-failover');
                assert.ok((await state.commit(oneCallCommit('before-failover'))).committed);
                // Replication is asynchronous (this node has minReplicas 0): the write is sure to outlive the primary
                // only once the replica confirmed it, as WAIT on the connection that wrote it says.
                assert.equal(await lease.connection.client.wait(1, 5000), 1, 'the replica has the write before the primary is killed');
                await group.servers.find((server) => server.port === firstPort)!.stop('SIGKILL');
                const newPort = await group.waitForFailover(firstPort, 0);
                await until(
                    () => lease.connection.state === 'ready' && lease.connection.serverAddress === `127.0.0.1:${newPort}`,
                    () => `the connection on the new primary ${newPort} (${lease.connection.state}, ${lease.connection.problem ?? 'no problem'})`,
                    30_000,
                    50,
                );
                assert.equal(lease.connection.encrypted, true);
                assert.ok((await state.commit(oneCallCommit('after-failover'))).committed);
                const stored = await state.read(['before-failover', 'after-failover']);
                assert.deepEqual([...stored.calls.keys()].sort(), ['after-failover', 'before-failover']);
            } finally {
                await lease.release();
            }
        });
    });

    describe('cluster mode: three TLS primaries (the cluster bus on TLS too)', () => {
        let cluster: RedisCluster;
        before(async () => {
            cluster = await startRedisCluster({ tls: certificate, password: PASSWORD });
        });
        after(async () => {
            await cluster?.remove();
        });
        const clusterNode = (extra: object = {}) => ({
            id: 'c1',
            type: 'ccaas-redis',
            mode: 'cluster',
            nodes: cluster.nodes,
            prefix: 'ccaas',
            tls: 'ca',
            useTls: true,
            ...extra,
        });

        it('deployed with Use TLS, writes to every shard and hears the wake channel', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate), clusterNode()], { c1: { password: PASSWORD } });
            const node = helper.getNode('c1') as unknown as DeployedRedis;
            assert.equal(node.configError, undefined);
            assert.match(node.redisTarget ?? '', /^cluster:\/\/.*\?tls=servers$/);
            const lease = node.acquire();
            try {
                await lease.connection.ready();
                assert.equal(lease.connection.encrypted, true);
                // A node id whose keys live on each shard (its keys carry the id as a hash tag).
                const idOfShard = new Map<number, string>();
                for (let index = 0; idOfShard.size < 3 && index < 200; index++) {
                    const id = `tls-node-${index}`;
                    const { primary } = cluster.shardOf(`ccaas:calls:{${id}}:finished`);
                    if (!idOfShard.has(primary.port)) idOfShard.set(primary.port, id);
                }
                assert.equal(idOfShard.size, 3, 'a node id on each shard');
                for (const [port, id] of idOfShard) {
                    const outcome = await new RedisCallState(lease.connection, id).commit(oneCallCommit(`call-of-${id}`));
                    assert.ok(outcome.committed, JSON.stringify(outcome));
                    const shard = cluster.servers.find((server) => server.port === port)!;
                    assert.notEqual(shard.cli('--scan', '--pattern', `ccaas:*{${id}}*`), '', `the shard at ${port} holds ${id}'s keys`);
                }
                assert.equal(await firstMessage(lease.connection, 'ccaas:tls-wake', () => cluster.cli('PUBLISH', 'ccaas:tls-wake', 'hello')), 'hello');
            } finally {
                await lease.release();
            }
        });

        it('says in Test connection that every shard was reached over TLS, and names a certificate it does not trust', async () => {
            await helper.load([tlsConfigNode, redisNode], [trusting(certificate)]);
            const question = { ...clusterNode(), credentials: { password: PASSWORD } };
            const answer = await test(question);
            assert.equal(answer.mode, 'cluster', JSON.stringify(answer));
            assert.equal(answer.shards?.length, 3);
            assert.deepEqual(answer.tls, { servers: true });
            const untrusted = await test({ ...question, tls: '' });
            assert.match(
                untrusted.error ?? '',
                /^no node of the cluster said which primary serves which slot: TLS to 127\.0\.0\.1:\d+: self[- ]signed certificate \(TLS: the server's certificate is not signed by a CA this node trusts/,
            );
            const plain = await test({ ...question, tls: '', useTls: false });
            assert.match(plain.error ?? '', /^no node of the cluster said which primary serves which slot: /);
        });

        it('deployed without the CA, tells the certificate problem in its state', async () => {
            await helper.load([tlsConfigNode, redisNode], [clusterNode({ tls: '' })], { c1: { password: PASSWORD } });
            const lease = (helper.getNode('c1') as unknown as DeployedRedis).acquire();
            try {
                await until(
                    () =>
                        /^no node of the cluster said which primary serves which slot: TLS to 127\.0\.0\.1:\d+: self[- ]signed certificate \(TLS: /.test(
                            lease.connection.problem ?? '',
                        ),
                    () => `the certificate problem in the state (${lease.connection.state}: ${lease.connection.problem ?? 'no problem'})`,
                    15_000,
                    50,
                );
            } finally {
                await lease.release();
            }
        });
    });

    describe('cluster mode by host name: nodes that announce the name localhost, a certificate for that name only', () => {
        let cluster: RedisCluster;
        let byName: SelfSignedCertificate;
        before(async () => {
            byName = selfSignedCertificate(temporaryDirectory('redis-tls'), 'localhost', 'DNS:localhost');
            cluster = await startRedisCluster({ tls: byName, password: PASSWORD, announceHostname: 'localhost' });
        });
        after(async () => {
            await cluster?.remove();
            if (byName) fs.rmSync(path.dirname(byName.certFile), { recursive: true, force: true });
        });

        it('checks each node, a seed ioredis resolved to an address too, against the host name it was given', async () => {
            // No server name in the TLS configuration: each connection's own host name is the one checked.
            await helper.load([tlsConfigNode, redisNode], [trusting(byName, '')]);
            const seeds = cluster.nodes.replace(/127\.0\.0\.1/g, 'localhost');
            const question = { mode: 'cluster', nodes: seeds, prefix: 'ccaas', tls: 'ca', useTls: true, credentials: { password: PASSWORD } };
            const answer = await test(question);
            assert.deepEqual(answer.tls, { servers: true }, JSON.stringify(answer));
            assert.deepEqual(
                answer.shards?.map((shard) => shard.primary.replace(/:\d+$/, '')),
                ['localhost', 'localhost', 'localhost'],
            );
            // The same nodes by address: the certificate does not name 127.0.0.1.
            const byAddress = await test({ ...question, nodes: cluster.nodes });
            assert.match(
                byAddress.error ?? '',
                /TLS to 127\.0\.0\.1:\d+: Hostname\/IP does not match certificate's altnames.*\(TLS: the server's certificate is for another name/,
            );
        });
    });
});
