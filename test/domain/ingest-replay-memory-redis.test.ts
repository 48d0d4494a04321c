// The Standard Webhooks replay memory in Redis, against a real redis-server: ids taken through one connection are
// seen through another (another instance) and through a new object (a redeploy), each for twice the tolerance, and
// a Redis that cannot be asked makes the endpoint answer 503 rather than take an unchecked request.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { receiveEventPost, type EndpointAuth } from '../../src/ingest/event-endpoint';
import { signWebhook } from '../../src/signing/standard-webhooks';
import { StoreError } from '../../src/store/durable-store';
import { RedisConnection } from '../../src/store/redis/redis-connection';
import { RedisReplayMemory } from '../../src/store/redis/redis-replay-memory';
import { removeRedisDir, startRedisServer, type RedisServer } from '../support/redis-server';
import { until } from '../support/wait';

const PREFIX = 'replay-test';
const SECRET = `whsec_${Buffer.from('a test key of 32 bytes exactly!!').toString('base64')}`;

const request = (headers: Record<string, string>): IncomingMessage =>
    ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers } }) as unknown as IncomingMessage;

describe('Standard Webhooks replay memory in Redis', function () {
    this.timeout(30_000);
    let server: RedisServer;
    const connections: RedisConnection[] = [];

    const connect = async (name: string): Promise<RedisConnection> => {
        const connection = new RedisConnection({ url: server.url, prefix: PREFIX }, { maxReconnectWaitMs: 100, clientName: name });
        connections.push(connection);
        await connection.ready();
        return connection;
    };

    before(async () => {
        server = await startRedisServer();
    });
    afterEach(async () => {
        for (const connection of connections.splice(0)) await connection.close();
    });
    after(async () => {
        await server.stop();
        removeRedisDir(server);
    });

    it('an id taken through one instance is a replay on another and after a redeploy; another node keeps its own', async () => {
        const a = new RedisReplayMemory(await connect('a'), 'events', 300);
        const b = new RedisReplayMemory(await connect('b'), 'events', 300);
        assert.equal(await a.seenBefore('msg_1'), false);
        assert.equal(await b.seenBefore('msg_1'), true, 'another instance of the node');
        assert.equal(await a.seenBefore('msg_1'), true, 'the one that took it');
        const redeployed = new RedisReplayMemory(await connect('a-again'), 'events', 300);
        assert.equal(await redeployed.seenBefore('msg_1'), true, 'after a redeploy');
        const otherNode = new RedisReplayMemory(await connect('c'), 'other-events', 300);
        assert.equal(await otherNode.seenBefore('msg_1'), false, 'a webhook-id is remembered per node');
    });

    it('keeps each id under the prefix and the node id, for twice the tolerance, in a key of bounded length', async () => {
        const memory = new RedisReplayMemory(await connect('a'), 'ttl-node', 300);
        const odd = `msg_${'x'.repeat(5000)}:*{}\n\u{1F600}`;
        await memory.seenBefore('msg_ttl');
        await memory.seenBefore(odd);
        const keys = server.cli('--scan', '--pattern', `${PREFIX}:replays:{ttl-node}:*`).split('\n').sort();
        assert.deepEqual(keys, [memory.keyOf('msg_ttl'), memory.keyOf(odd)].sort());
        for (const key of keys) {
            assert.equal(key.length, `${PREFIX}:replays:{ttl-node}:`.length + 43, 'a SHA-256 in base64url, whatever the id');
            const ttl = Number(server.cli('PTTL', key));
            assert.ok(ttl > 590_000 && ttl <= 600_000, `expires in twice the 300 s tolerance, not ${ttl} ms`);
        }
        assert.equal(await memory.seenBefore(odd), true);
        assert.equal(await memory.seenBefore(`msg_${'x'.repeat(5000)}:*{}\n`), false, 'ids that differ stay apart');
    });

    it('forgets on request, so the sender can retry a request whose events were not taken; Redis expires ids by itself', async () => {
        const connection = await connect('a');
        const memory = new RedisReplayMemory(connection, 'forget-node', 300);
        await memory.seenBefore('msg_f');
        memory.forget('msg_f');
        await until(() => server.cli('EXISTS', memory.keyOf('msg_f')) === '0', 'the id to be forgotten');
        assert.equal(await memory.seenBefore('msg_f'), false);
        const short = new RedisReplayMemory(connection, 'short-node', 0.1);
        assert.equal(await short.seenBefore('msg_s'), false);
        assert.equal(await short.seenBefore('msg_s'), true);
        await until(() => server.cli('EXISTS', short.keyOf('msg_s')) === '0', 'Redis to expire the id after 2 x 0.1 s', 5000, 20);
        assert.equal(await short.seenBefore('msg_s'), false);
    });

    it('through the endpoint: 202, then 401 on another instance, and 503 (not 202) while Redis cannot be asked', async () => {
        const authOf = (memory: RedisReplayMemory): EndpointAuth => ({ type: 'standard-webhooks', secret: SECRET, toleranceSeconds: 300, replays: memory });
        const a = authOf(new RedisReplayMemory(await connect('a'), 'endpoint', 300));
        const b = authOf(new RedisReplayMemory(await connect('b'), 'endpoint', 300));
        const body = JSON.stringify({ type: 'update', callId: 'r' });
        const headers = { ...signWebhook(SECRET, 'msg_e', Date.now() / 1000, body) };
        const receive = (auth: EndpointAuth, signed: Record<string, string>) =>
            receiveEventPost(request(signed), { maxBodyBytes: 1024 * 1024, auth, body: Buffer.from(body) });
        assert.equal((await receive(a, headers)).status, 202);
        const replay = await receive(b, headers);
        assert.equal(replay.status, 401);
        assert.equal(JSON.parse(replay.body).error, 'authentication failed: replayed webhook-id (already received within the tolerance window)');
        // A forged signature is refused before Redis is asked: it cannot fill the memory.
        assert.equal((await receive(b, { ...headers, 'webhook-id': 'msg_forged' })).status, 401);
        assert.equal(server.cli('EXISTS', new RedisReplayMemory(connections[0]!, 'endpoint', 300).keyOf('msg_forged')), '0');

        await server.stop();
        await until(() => connections.every((connection) => connection.state !== 'ready'), 'the connections to notice');
        const fresh = { ...signWebhook(SECRET, 'msg_down', Date.now() / 1000, body) };
        const down = await receive(a, fresh);
        assert.equal(down.status, 503);
        assert.ok(down.error instanceof StoreError, 'a store error, which the node reports as Redis unavailable');
        assert.match(JSON.parse(down.body).error, /^webhook-id not checked for a replay: Redis: /);
        assert.deepEqual(down.events, [], 'nothing taken unchecked');
        await server.restart();
        await Promise.all(connections.map((connection) => connection.ready()));
        assert.equal((await receive(a, fresh)).status, 202, "the sender's retry is taken once Redis is back");
        assert.equal((await receive(b, fresh)).status, 401);
    });
});
