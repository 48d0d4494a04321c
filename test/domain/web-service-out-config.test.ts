// The flow JSON of web service out -> its options: the defaults a flow of 0.1.0 (which had none of the delivery
// properties) runs with, and the error naming the property that cannot work.
import assert from 'node:assert/strict';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_QUEUED, DEFAULT_MAX_QUEUED_BYTES } from '../../src/delivery/delivery-queue';
import { DEFAULT_TIMEOUT_MS } from '../../src/delivery/http-transport';
import { parseRetries } from '../../src/delivery/retry-schedule';
import { ConfigError } from '../../src/errors/coded-error';
import { idempotencyHeaderOf, originOf, profileHeaders, queueSettingsOf, timeoutMsOf, type WebServiceOutConfig } from '../../src/nodes/web-service-out/config';

// The web service out node of "01 Recording link to a CRM" as 0.1.0 saved it (git show 02f372e:examples/...).
const SAVED_BY_0_1_0 = {
    id: 'recording-link-send',
    type: 'web-service-out',
    name: 'CRM: recording link',
    method: 'POST',
    url: '${CRM_URL}',
    params: [],
    headers: [],
    form: [],
    bodyType: 'payload',
    contentType: 'application/json',
    body: '',
    authType: 'bearer',
    apiKeyHeader: '',
    tls: '',
    timeout: 10,
    failureOutput: false,
    outputs: 1,
    x: 940,
    y: 120,
    wires: [['recording-link-debug']],
    z: 'ex-recording-link',
} as unknown as WebServiceOutConfig;

describe('web service out config', () => {
    it('a node saved by 0.1.0 gets the defaults: the default retries, 16 at once, no rate limit, 10,000 requests or 64 MiB queued', () => {
        assert.deepEqual(queueSettingsOf(SAVED_BY_0_1_0), {
            schedule: parseRetries(undefined),
            concurrency: DEFAULT_CONCURRENCY,
            ratePerSecond: undefined,
            maxQueued: DEFAULT_MAX_QUEUED,
            maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
        });
        assert.equal(idempotencyHeaderOf(SAVED_BY_0_1_0), 'Idempotency-Key');
        assert.equal(timeoutMsOf(SAVED_BY_0_1_0.timeout), 10_000);
        assert.equal(timeoutMsOf(undefined), DEFAULT_TIMEOUT_MS);
        assert.deepEqual(profileHeaders(SAVED_BY_0_1_0), ['Authorization']);
    });

    it('empty fields of the dialog mean the default, an empty idempotency header means none', () => {
        const settings = queueSettingsOf({ retries: '', concurrency: '', rate: '', maxQueued: '', maxQueuedSize: '' });
        assert.deepEqual(settings, {
            schedule: [],
            concurrency: DEFAULT_CONCURRENCY,
            ratePerSecond: undefined,
            maxQueued: DEFAULT_MAX_QUEUED,
            maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
        });
        assert.equal(idempotencyHeaderOf({ idempotencyHeader: '' }), '');
        assert.deepEqual(queueSettingsOf({ concurrency: '4', rate: '2.5', maxQueued: 7, maxQueuedSize: '2', retries: '1s, 2m' }), {
            schedule: [1000, 120_000],
            concurrency: 4,
            ratePerSecond: 2.5,
            maxQueued: 7,
            maxQueuedBytes: 2 * 1024 * 1024,
        });
    });

    for (const [config, named] of [
        [{ concurrency: '0' }, /^concurrency: "0" is not a whole number from 1 to 1000$/],
        [{ concurrency: 1.5 }, /^concurrency: "1.5"/],
        [{ rate: '-1' }, /^rate: "-1" is not a positive number/],
        [{ maxQueued: '10000001' }, /^maxQueued: "10000001" is not a whole number from 1 to 10000000$/],
        [{ maxQueuedSize: 'lots' }, /^maxQueuedSize: "lots"/],
        [{ retries: '5 parsecs' }, /^retries: "5 parsecs"/],
    ] as const) {
        it(`${JSON.stringify(config)} is a ConfigError naming the property`, () => {
            assert.throws(
                () => queueSettingsOf(config),
                (err: unknown) => err instanceof ConfigError && named.test(err.message),
            );
        });
    }

    it('a timeout that is not a positive number of seconds is a ConfigError naming it', () => {
        assert.throws(
            () => timeoutMsOf('0'),
            (err: unknown) => err instanceof ConfigError && err.message === 'timeout: "0" is not a positive number of seconds',
        );
    });

    it('the origin of a URL template, or none when the URL does not compile', () => {
        assert.equal(originOf('https://crm.example:8443/calls/{{callId}}'), 'https://crm.example:8443');
        assert.equal(originOf('https://{{host}}/calls'), undefined);
        assert.equal(originOf(42), undefined);
    });
});
