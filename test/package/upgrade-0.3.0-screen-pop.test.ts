// An upgrade from 0.3.0 in the middle of a call: 0.3.0 left the first agent's screen pop in its outbox (the CRM was
// down) and the call's state on disk or in Redis. After the upgrade the queued request arrives under the key 0.3.0
// gave it, and a second agent rung gets a screen pop under a key of its own: 0.3.0 gave every Presenting of a call
// the same key, so a CRM that drops repeated keys dropped the second one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Redis from 'ioredis';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { until } from '../support/wait';

const FIXTURES = path.resolve(__dirname, '../fixtures/0.3.0');
/** The key 0.3.0 stored with the first agent's screen pop (read from the fixtures; the same in both stores). */
const KEY_0_3_0 = 'msg_bf4f3759a7268ccd135dd547ab82576c';

interface Arrival {
    key: string;
    body: { callId: string; agent: string };
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** Writes back the keys 0.3.0 left in Redis, as redis-keys.json has them. */
async function restoreRedisKeys(url: string): Promise<void> {
    const keys = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'redis-keys.json'), 'utf8')) as Array<{ key: string; type: string; value: unknown }>;
    const client = new Redis(url);
    try {
        for (const { key, type, value } of keys) {
            if (type === 'string') await client.set(key, value as string);
            else if (type === 'hash') await client.hset(key, value as Record<string, string>);
            else if (type === 'list') await client.rpush(key, ...(value as string[]));
            else if (type === 'zset') {
                const pairs = value as string[];
                for (let index = 0; index < pairs.length; index += 2) {
                    // The outbox's next attempt was due an hour after the fixture was written (a real time, from
                    // Redis): capped at now, so that the test does not depend on when it runs.
                    const score = key.endsWith(':ready') ? Math.min(Number(pairs[index + 1]), Date.now()) : Number(pairs[index + 1]);
                    await client.zadd(key, score, pairs[index]);
                }
            } else throw new Error(`redis-keys.json: ${key} has a type this test does not write back (${type})`);
        }
    } finally {
        client.disconnect();
    }
}

for (const store of ['file', 'redis'] as const) {
    describe(`upgrade from 0.3.0 (${store} store): a second agent rung after the upgrade`, function () {
        this.timeout(60_000);
        let nodeRed: NodeRedProcess | undefined;
        let redis: RedisServer | undefined;
        let crm: http.Server;
        let userDir: string;
        const arrivals: Arrival[] = [];

        before(async () => {
            crm = http.createServer((req, res) => {
                const chunks: Buffer[] = [];
                req.on('data', (chunk: Buffer) => chunks.push(chunk));
                req.on('end', () => {
                    arrivals.push({ key: String(req.headers['idempotency-key']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
                    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
                });
            });
            await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
            userDir = userDirWithPackage();
            if (store === 'redis') redis = await startRedisServer();
        });

        after(async () => {
            await nodeRed?.stop();
            await new Promise((resolve) => crm.close(resolve));
            if (redis) {
                await redis.stop();
                removeRedisDir(redis);
            }
            if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
        });

        it('sends the queued screen pop under its 0.3.0 key, and the second agent’s under another', async () => {
            const flows = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'screen-pop-flow.json'), 'utf8')) as FlowNode[];
            const send = flows.find((node) => node.id === 'upgrade-send')!;
            // The CRM is up now, at this test's port: the only property changed, as its user would change it.
            send.url = `http://127.0.0.1:${(crm.address() as AddressInfo).port}/screen-pop`;
            if (redis) {
                flows.push({ id: 'upgrade-redis', type: 'ccaas-redis', url: redis.url, prefix: 'ccaas' });
                for (const node of flows) if (node.type === 'call-event-in' || node.type === 'web-service-out') node.store = 'upgrade-redis';
                await restoreRedisKeys(redis.url);
            } else {
                for (const [kind, id, file] of [
                    ['calls', 'upgrade-events', 'calls.log'],
                    ['outbox', 'upgrade-send', 'outbox.log'],
                ] as const) {
                    const directory = nodeStateDirectory(userDir, kind, id);
                    fs.mkdirSync(directory, { recursive: true });
                    fs.copyFileSync(path.join(FIXTURES, file), path.join(directory, file));
                }
            }
            nodeRed = await startNodeRed({ userDir, flows });
            await until(() => arrivals.length >= 1, 'the screen pop 0.3.0 left queued', 20_000);
            assert.deepEqual(arrivals[0], { key: KEY_0_3_0, body: { callId: 'upgrade-call-3', agent: 'First Agent (201)' } });

            const post = async (events: object[]): Promise<number> =>
                (
                    await fetch(`${nodeRed!.url}/upgrade/events`, {
                        method: 'POST',
                        headers: { 'content-type': 'application/json' },
                        body: JSON.stringify(events),
                        signal: AbortSignal.timeout(5000),
                    })
                ).status;
            const ringFirst = { type: 'presenting', callId: 'upgrade-call-3', eventId: 'ring-first', timestamp: 4952000000000 };
            const ringSecond = {
                type: 'presenting',
                callId: 'upgrade-call-3',
                eventId: 'ring-second',
                timestamp: 4952000020000,
                agent: { name: 'Second Agent', extension: '202' },
            };
            // The platform sending the first ring again is a repeat 0.3.0 already took: nothing fires. Had it fired,
            // its request would arrive before the second ring's, since the requests of one call go out in order.
            assert.equal(await post([ringFirst, ringSecond]), 202);
            await until(() => arrivals.length >= 2, 'the second agent’s screen pop', 20_000);
            assert.deepEqual(arrivals[1].body, { callId: 'upgrade-call-3', agent: 'Second Agent (202)' });
            assert.match(arrivals[1].key, /^msg_[0-9a-f]{32}$/);
            assert.notEqual(arrivals[1].key, KEY_0_3_0, 'a screen pop of its own, not a repeat of the first');
            assert.equal(arrivals.length, 2, 'each screen pop once');
            assert.doesNotMatch(nodeRed.log(), /\[(call-event-in|web-service-out):[^\]]*\].*(unreadable|dropped|skipped)/);
        });
    });
}
