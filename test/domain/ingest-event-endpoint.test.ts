import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { customMappingAdapter } from '../../src/adapters/custom-mapping';
import { CodedError, ConfigError, InputError } from '../../src/errors/coded-error';
import { receiveEventPost, type EndpointOptions } from '../../src/ingest/event-endpoint';
import { refusalStatus } from '../../src/ingest/refusal-status';
import { ReplayGuard } from '../../src/ingest/replay-guard';
import { LimitExceededError } from '../../src/lifecycle/event-limits';
import { signWebhook } from '../../src/signing/standard-webhooks';

const request = (headers: Record<string, string> = {}): IncomingMessage =>
    ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers } }) as unknown as IncomingMessage;
const receive = (body: string, options: Partial<EndpointOptions> = {}, headers: Record<string, string> = {}) =>
    receiveEventPost(request(headers), { maxBodyBytes: 1024 * 1024, auth: { type: 'none' }, body: Buffer.from(body), ...options });

describe('event endpoint: what each refusal answers', () => {
    it('maps errors by cause: over a bound 413, malformed 400, store 503, anything else 500', () => {
        assert.equal(refusalStatus(new LimitExceededError('event 0', 'tags', 'has 101 members, over the limit of 100')), 413);
        assert.equal(refusalStatus(Object.assign(new Error('too big'), { status: 413 })), 413);
        assert.equal(refusalStatus(new InputError('event 0: callId must be a non-empty string')), 400);
        assert.equal(refusalStatus(new CodedError('store', 'disk full')), 503);
        assert.equal(refusalStatus(new ConfigError('bad')), 500);
        assert.equal(refusalStatus(new TypeError('bug')), 500);
        assert.equal(refusalStatus(null), 500);
    });

    it('more raw events than maxEvents: 413 naming the bound, and no events', async () => {
        const outcome = await receive(
            JSON.stringify([
                { type: 'update', callId: 'a' },
                { type: 'update', callId: 'b' },
            ]),
            { limits: { maxEvents: 1 } },
        );
        assert.equal(outcome.status, 413);
        assert.deepEqual(JSON.parse(outcome.body), { error: 'request: has 2 events, over the limit of 1 per request' });
        assert.deepEqual(outcome.events, []);
    });

    it('a body nested too deep: 400 before parsing, for raw events and for platform sources alike', async () => {
        const deep = `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`;
        const raw = await receive(deep);
        assert.equal(raw.status, 400);
        assert.match(JSON.parse(raw.body).error, /deeper than the limit of 32 levels/);
        const adapter = customMappingAdapter({ callId: 'id', eventType: 'kind', eventTypes: { ring: 'presenting' } });
        const mapped = await receive(deep, { adapter });
        assert.equal(mapped.status, 400);
        assert.match(JSON.parse(mapped.body).error, /^custom mapping: the body nests arrays and objects deeper than the limit of 32 levels/);
    });

    it("a platform's events pass the same limits as raw ones", async () => {
        const adapter = customMappingAdapter({ items: 'calls', callId: 'id', eventType: 'kind', eventTypes: { ring: 'presenting' } });
        const body = JSON.stringify({ calls: Array.from({ length: 4 }, (_, index) => ({ id: `c${index}`, kind: 'ring' })) });
        const over = await receive(body, { adapter, limits: { maxEvents: 3 } });
        assert.equal(over.status, 413);
        assert.match(JSON.parse(over.body).error, /has 4 events, over the limit of 3/);
        assert.equal((await receive(body, { adapter, limits: { maxEvents: 4 } })).events.length, 4);
    });

    it('a custom mapping with many distinct unmapped event types stays one pass (no quadratic de-duplication)', async () => {
        const adapter = customMappingAdapter({ items: 'calls', callId: 'id', eventType: 'kind', eventTypes: { ring: 'presenting' } });
        const body = JSON.stringify({ calls: Array.from({ length: 20_000 }, (_, index) => ({ id: 'c', kind: `kind-${index}` })) });
        const outcome = await receive(body, { adapter });
        assert.equal(outcome.status, 200);
        assert.deepEqual(outcome.events, []);
    });

    it('a replayed webhook-id is a 401; one whose events were not taken can be sent again', async () => {
        const secret = `whsec_${Buffer.from('a test key of 32 bytes exactly!!').toString('base64')}`;
        const replays = new ReplayGuard(300);
        const auth = { type: 'standard-webhooks' as const, secret, toleranceSeconds: 300, replays };
        const body = JSON.stringify({ type: 'update', callId: 'r' });
        const headers = { ...signWebhook(secret, 'msg_r', Date.now() / 1000, body) };
        const first = await receive(body, { auth }, headers);
        assert.equal(first.status, 202);
        const replay = await receive(body, { auth }, headers);
        assert.equal(replay.status, 401);
        assert.equal(JSON.parse(replay.body).error, 'authentication failed: replayed webhook-id (already received within the tolerance window)');
        // The store failed after the first was verified: the node releases the id, and the sender's retry is taken.
        first.release?.();
        assert.equal((await receive(body, { auth }, headers)).status, 202);
        // A request refused for its content is not remembered either.
        const badBody = '{"type":"nope","callId":"r"}';
        const badHeaders = { ...signWebhook(secret, 'msg_bad', Date.now() / 1000, badBody) };
        assert.equal((await receive(badBody, { auth }, badHeaders)).status, 400);
        assert.equal((await receive(badBody, { auth }, badHeaders)).status, 400);
        // Unsigned or wrongly signed requests never enter the guard.
        assert.equal((await receive(body, { auth }, { ...headers, 'webhook-id': 'msg_forged' })).status, 401);
        assert.equal(replays.size, 1);
    });
});
