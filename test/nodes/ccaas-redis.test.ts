// The ccaas-redis config node in a real Node-RED runtime (the test helper) against real redis-servers on loopback:
// its Test connection answer, the same-server rule for a stored password, ACL users and the start-up warning for a
// Redis without persistence.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { temporaryDirectory } from '../support/node-red-process';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { nodeModule } from '../support/node-red-runtime';
import { testConnection } from '../support/redis-test-connection';
import { selfSignedCertificate, type SelfSignedCertificate } from '../support/self-signed-certificate';
import { until } from '../support/wait';

const redisNode = nodeModule('ccaas-redis');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsConfigNode: unknown = require(require.resolve('@node-red/nodes/core/network/05-tls.js', { paths: [path.dirname(require.resolve('node-red'))] }));

/** A self-signed certificate for 127.0.0.1. */
function selfSigned(): SelfSignedCertificate {
    return selfSignedCertificate(temporaryDirectory('redis-tls'), '127.0.0.1', 'IP:127.0.0.1');
}

interface Answer {
    version?: string;
    aof?: false | { fsync: string };
    rdb?: boolean;
    tls?: { servers: boolean };
    error?: string;
}

describe('ccaas-redis', function () {
    this.timeout(30_000);
    let durable: RedisServer;
    let volatile: RedisServer;

    before(async () => {
        durable = await startRedisServer({
            persistence: 'everysec',
            config: ['requirepass main-secret', 'user crm on >crm-secret ~ccaas:* &* +@all'],
        });
        volatile = await startRedisServer({ persistence: 'off' });
    });
    after(async () => {
        for (const server of [durable, volatile]) {
            await server?.stop();
            if (server) removeRedisDir(server);
        }
    });
    afterEach(async () => {
        await helper.unload();
    });

    it('answers Test connection with the version and the persistence, for requirepass and for an ACL user', async () => {
        await helper.load(redisNode, []);
        const withPassword = await testConnection<Answer>({ url: durable.url, credentials: { password: 'main-secret' } });
        assert.deepEqual(
            { ...withPassword, version: typeof withPassword.version },
            {
                mode: 'standalone',
                primary: `127.0.0.1:${durable.port}`,
                role: 'master',
                replicas: [],
                version: 'string',
                aof: { fsync: 'everysec' },
                rdb: false,
                tls: { servers: false },
                minReplicas: 0,
                url: durable.url,
            },
        );
        const acl = await testConnection<Answer>({ url: durable.url, credentials: { username: 'crm', password: 'crm-secret' } });
        assert.match(acl.version ?? '', /^\d+\.\d+/);
        const none = await testConnection<Answer>({ url: volatile.url });
        assert.equal(none.aof, false);
        assert.equal(none.rdb, false);
    });

    it('names the problem when the connection is refused, the password is wrong or the URL is not a Redis URL', async () => {
        await helper.load(redisNode, []);
        const wrong = await testConnection<Answer>({ url: durable.url, credentials: { username: 'crm', password: 'nope' } });
        assert.match(wrong.error ?? '', /WRONGPASS|invalid username-password/i);
        const noAuth = await testConnection<Answer>({ url: durable.url });
        assert.match(noAuth.error ?? '', /NOAUTH|Authentication required/i);
        const stopped = await startRedisServer();
        const url = stopped.url;
        await stopped.stop();
        removeRedisDir(stopped);
        assert.match((await testConnection<Answer>({ url })).error ?? '', /ECONNREFUSED|did not answer/);
        assert.match((await testConnection<Answer>({ url: 'http://127.0.0.1:6379' })).error ?? '', /^url: the scheme must be redis:\/\/ or rediss:\/\//);
        assert.match(
            (await testConnection<Answer>({ url: 'redis://user:pw@127.0.0.1:6379' })).error ?? '',
            /^url: put the user name and password in the Username and Password fields/,
        );
        assert.match((await testConnection<Answer>({ url: durable.url, prefix: 'a b' })).error ?? '', /^prefix: /);
    });

    it('uses the stored password of the deployed node only for the server the node names', async () => {
        const flow = [{ id: 'r1', type: 'ccaas-redis', url: durable.url, prefix: 'ccaas' }];
        await helper.load(redisNode, flow, { r1: { password: 'main-secret' } });
        const stored = await testConnection<Answer>({ id: 'r1', url: durable.url, credentials: { password: '__PWRD__' } });
        assert.match(stored.version ?? '', /^\d/, JSON.stringify(stored));
        const elsewhere = await testConnection<Answer>({ id: 'r1', url: volatile.url, credentials: { password: '__PWRD__' } });
        assert.match(elsewhere.error ?? '', /^credentials: the stored password is only sent to /);
    });

    it('warns once at start when Redis keeps nothing (no append-only file, no RDB)', async () => {
        const flow = [{ id: 'r2', type: 'ccaas-redis', url: volatile.url, prefix: 'ccaas' }];
        await helper.load(redisNode, flow);
        const node = helper.getNode('r2') as unknown as { acquire(): { release(): Promise<void> }; warn: (text: string) => void };
        const warnings: string[] = [];
        const warn = node.warn.bind(node);
        node.warn = (text: string) => {
            warnings.push(text);
            warn(text);
        };
        const lease = node.acquire();
        await until(() => warnings.length > 0, 'the persistence warning', 10_000);
        assert.match(warnings[0]!, /has no persistence \(no append-only file, no RDB snapshots\): a Redis restart loses every call state and queued request/);
        await lease.release();
    });

    it('connects over TLS (rediss://) with the CA of a tls-config node, and refuses an unknown certificate', async () => {
        const certificate = selfSigned();
        const tlsServer = await startRedisServer({ tls: certificate, persistence: 'always' });
        try {
            const flow = [
                { id: 'ca', type: 'tls-config', cert: '', key: '', ca: certificate.certFile, verifyservercert: true },
                { id: 'r4', type: 'ccaas-redis', url: tlsServer.url, prefix: 'ccaas', tls: 'ca' },
            ];
            await helper.load([tlsConfigNode, redisNode], flow);
            assert.match(tlsServer.url, /^rediss:/);
            const trusted = await testConnection<Answer>({ url: tlsServer.url, tls: 'ca' });
            assert.deepEqual(trusted.aof, { fsync: 'always' }, JSON.stringify(trusted));
            const untrusted = await testConnection<Answer>({ url: tlsServer.url });
            assert.match(untrusted.error ?? '', /self[- ]signed|unable to verify|certificate/i);
            const node = helper.getNode('r4') as unknown as {
                acquire(): { connection: { ready(): Promise<void>; client: { ping(): Promise<string> } }; release(): Promise<void> };
            };
            const lease = node.acquire();
            await lease.connection.ready();
            assert.equal(await lease.connection.client.ping(), 'PONG');
            // Test connection said the server was reached over TLS.
            assert.deepEqual(trusted.tls, { servers: true });
            await lease.release();
        } finally {
            await helper.unload();
            await tlsServer.stop();
            removeRedisDir(tlsServer);
            fs.rmSync(path.dirname(certificate.certFile), { recursive: true, force: true });
        }
    });

    it('refuses a configuration that cannot work, naming the field', async () => {
        const flow = [{ id: 'r3', type: 'ccaas-redis', url: 'redis://127.0.0.1:6379/abc', prefix: 'ccaas' }];
        await helper.load(redisNode, flow);
        const node = helper.getNode('r3') as unknown as { configError?: Error; acquire(): unknown };
        assert.match(node.configError?.message ?? '', /^url: the database must be a number/);
        assert.throws(() => node.acquire(), /^url: the database/);
    });
});
