import assert from 'node:assert/strict';
import { deliveryHeaders } from '../../src/delivery/delivery-headers';
import { idempotencyKey } from '../../src/delivery/idempotency';
import { parseRetryAfter, MAX_RETRY_AFTER_MS } from '../../src/delivery/retry-after';
import { verdictOf } from '../../src/delivery/retry-policy';
import { DEFAULT_RETRIES, formatWait, jittered, parseRetries } from '../../src/delivery/retry-schedule';
import { ConfigError } from '../../src/errors/coded-error';
import { compileRequest } from '../../src/request/build-request';
import { displayRequest } from '../../src/request/masking';
import { verifyWebhook } from '../../src/signing/standard-webhooks';

const SECRET = `whsec_${Buffer.from('a 32 byte key for the unit test!').toString('base64')}`;

describe('retry schedule', () => {
    it('the default starts at 1 s and reaches hours', () => {
        const schedule = parseRetries(undefined);
        assert.deepEqual(schedule, parseRetries(DEFAULT_RETRIES));
        assert.equal(schedule[0], 1000);
        assert.ok(schedule.at(-1)! >= 3_600_000);
        for (let index = 1; index < schedule.length; index++) assert.ok(schedule[index]! >= schedule[index - 1]!, 'never shrinks');
    });

    it('reads durations with units, bare seconds, and none', () => {
        assert.deepEqual(parseRetries('1s, 5s,30s , 2m, 1h, 250ms'), [1000, 5000, 30_000, 120_000, 3_600_000, 250]);
        assert.deepEqual(parseRetries('0.05, .1, 2'), [50, 100, 2000]);
        assert.deepEqual(parseRetries(''), []);
        assert.deepEqual(parseRetries('none'), []);
        assert.deepEqual(parseRetries(3), [3000]);
    });

    it('refuses what is no duration, saying which part', () => {
        for (const bad of ['1s,, 2s', 'soon', '-1', '5 days', '1s 2s', '200h']) {
            assert.throws(
                () => parseRetries(bad),
                (err: unknown) => err instanceof ConfigError && /^retries: /.test(err.message),
                bad,
            );
        }
    });

    it('jitter stays within 20 % either way', () => {
        assert.equal(
            jittered(1000, () => 0.5),
            1000,
        );
        assert.equal(
            jittered(1000, () => 0),
            800,
        );
        assert.equal(
            jittered(1000, () => 0.999999),
            1200,
        );
    });

    it('waits read as a person would say them', () => {
        assert.deepEqual([50, 1000, 30_000, 119_000, 600_000, 3_600_000, 5_400_000, 7_200_000].map(formatWait), [
            '50 ms',
            '1 s',
            '30 s',
            '119 s',
            '10 min',
            '60 min',
            '90 min',
            '2 h',
        ]);
        assert.equal(formatWait(9_000_000), '2 h 30 min');
    });
});

describe('Retry-After', () => {
    const now = Date.parse('2026-11-25T12:00:00Z');

    it('reads delay-seconds and HTTP dates', () => {
        assert.equal(parseRetryAfter('120', now), 120_000);
        assert.equal(parseRetryAfter('0', now), 0);
        assert.equal(parseRetryAfter(['7'], now), 7000);
        assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now), 30_000);
        assert.equal(parseRetryAfter('Wednesday, 25-Nov-26 12:01:00 GMT', now), 60_000);
        assert.equal(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now), 0, 'a past date: at once');
    });

    it('ignores what it cannot read and caps what is absurd', () => {
        for (const bad of [undefined, '', 'soon', '1.5', '-3', '2026-11-25T12:00:30Z']) assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
        assert.equal(parseRetryAfter('999999999', now), MAX_RETRY_AFTER_MS);
    });
});

describe('retry policy', () => {
    const answer = (statusCode: number, headers: Record<string, string> = {}) => ({
        error: { code: statusCode >= 500 ? ('http-5xx' as const) : ('http-4xx' as const) },
        response: { statusCode, headers },
    });

    it('retries network failures, timeouts, 408, 429 and 5xx', () => {
        for (const code of ['timeout', 'dns', 'tls', 'refused', 'reset', 'network'] as const)
            assert.deepEqual(verdictOf({ error: { code } }), { kind: 'retry', unreachable: true }, code);
        for (const status of [408, 429, 500, 502, 503, 504]) assert.equal(verdictOf(answer(status)).kind, 'retry', String(status));
    });

    it('gives up at once on other 4xx, a redirect or a request that cannot be built', () => {
        for (const status of [400, 401, 403, 404, 409, 410, 422]) assert.deepEqual(verdictOf(answer(status)), { kind: 'final' }, String(status));
        assert.deepEqual(verdictOf({ error: { code: 'http-3xx' }, response: { statusCode: 302, headers: {} } }), { kind: 'final' });
        for (const code of ['render', 'header', 'url', 'json'] as const) assert.deepEqual(verdictOf({ error: { code } }), { kind: 'final' });
        assert.deepEqual(verdictOf({}), { kind: 'delivered' });
    });

    it('honours Retry-After on 429 and 503 only', () => {
        assert.deepEqual(verdictOf(answer(429, { 'retry-after': '3' })), { kind: 'retry', retryAfterMs: 3000 });
        assert.deepEqual(verdictOf(answer(503, { 'retry-after': '1' })), { kind: 'retry', retryAfterMs: 1000 });
        assert.deepEqual(verdictOf(answer(500, { 'retry-after': '3' })), { kind: 'retry' });
    });
});

describe('idempotency key and signing', () => {
    const call = { callId: 'c-1', event: 'updated', updateSeq: 2 };

    it('is the same for one trigger of one call on one node, different otherwise', () => {
        const key = idempotencyKey('node-a', call);
        assert.match(key, /^msg_[0-9a-f]{32}$/);
        assert.equal(idempotencyKey('node-a', { ...call, callerName: 'changed' }), key);
        const others = [
            idempotencyKey('node-b', call),
            idempotencyKey('node-a', { ...call, updateSeq: 3 }),
            idempotencyKey('node-a', { ...call, event: 'complete', updateSeq: undefined }),
            idempotencyKey('node-a', { ...call, callId: 'c-2' }),
        ];
        assert.equal(new Set([key, ...others]).size, 5);
    });

    it('gives each Presenting and each Connected of a call its own key; the first keeps the key 0.3.0 gave it', () => {
        // Written by 0.3.0's idempotencyKey (commit 7b10b7f) for node-a and call c-1.
        assert.equal(idempotencyKey('node-a', { callId: 'c-1', event: 'presenting', eventSeq: 1 }), 'msg_75dd890023c1fe1258488deec5456196');
        assert.equal(idempotencyKey('node-a', { callId: 'c-1', event: 'presenting' }), 'msg_75dd890023c1fe1258488deec5456196');
        assert.equal(idempotencyKey('node-a', { callId: 'c-1', event: 'connected', eventSeq: 1 }), 'msg_87a704d45af431dcc0f8c43658a71a15');
        const keys = [1, 2, 3].flatMap((eventSeq) => ['presenting', 'connected'].map((event) => idempotencyKey('node-a', { callId: 'c-1', event, eventSeq })));
        assert.equal(new Set(keys).size, 6, 'two agents rung and two answers: four requests, four keys');
        assert.equal(idempotencyKey('node-a', { callId: 'c-1', event: 'presenting', eventSeq: 2 }), keys[2], 'the same for every attempt of one');
    });

    it('a hand-made call without a trigger gets a fresh random key', () => {
        assert.notEqual(idempotencyKey('n', { callId: 'x' }), idempotencyKey('n', { callId: 'x' }));
    });

    const request = () =>
        compileRequest({
            url: 'http://127.0.0.1:1/hook',
            method: 'POST',
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{"id":"{{callId}}"}',
        }).build(call);

    it('puts the key in its header before the closing transport headers; an empty name sends none', () => {
        const decorated = deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: [] })(request(), 'msg_1');
        assert.equal(decorated.headers['Idempotency-Key'], 'msg_1');
        assert.deepEqual(Object.keys(decorated.headers).slice(-3), ['Idempotency-Key', 'Accept-Encoding', 'content-length']);
        const none = deliveryHeaders({ idempotencyHeader: '', profileHeaders: [] })(request(), 'msg_1');
        assert.deepEqual(none, request());
        assert.equal(deliveryHeaders({ idempotencyHeader: 'X-Request-Id', profileHeaders: [] })(request(), 'k').headers['X-Request-Id'], 'k');
    });

    it('signs per the Standard Webhooks scheme with the key as webhook-id, the signature masked when shown', () => {
        const now = 1_764_072_000;
        const signed = deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', signingSecret: SECRET, profileHeaders: [] })(request(), 'msg_7', now);
        assert.equal(signed.headers['webhook-id'], 'msg_7');
        assert.equal(signed.headers['webhook-timestamp'], String(now));
        verifyWebhook(SECRET, signed.headers, signed.body!, 300, now);
        assert.throws(() => verifyWebhook(SECRET, signed.headers, Buffer.from('{"id":"other"}'), 300, now), /does not match/);
        assert.equal(displayRequest(signed).headers['webhook-signature'], '***');
    });

    it('refuses on deploy a bad header name, a header the profile sets too, a malformed secret', () => {
        assert.throws(() => deliveryHeaders({ idempotencyHeader: 'Bad Name', profileHeaders: [] }), /not a valid header name/);
        assert.throws(() => deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: ['idempotency-key'] }), /also set/);
        assert.throws(() => deliveryHeaders({ idempotencyHeader: '', signingSecret: SECRET, profileHeaders: ['Webhook-Id'] }), /also set/);
        assert.throws(() => deliveryHeaders({ idempotencyHeader: '', signingSecret: 'whsec_', profileHeaders: [] }), /webhook secret/);
    });
});
