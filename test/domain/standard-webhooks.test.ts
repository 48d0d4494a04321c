import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { signWebhook, verifyWebhook } from '../../src/signing/standard-webhooks';

// The example of the Standard Webhooks specification.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

describe('Standard Webhooks signatures', () => {
    it('signs the specification example to its published signature', () => {
        assert.deepEqual(signWebhook(SECRET, ID, TIMESTAMP, BODY), {
            'webhook-id': ID,
            'webhook-timestamp': String(TIMESTAMP),
            'webhook-signature': SIGNATURE,
        });
    });

    const headers = { 'webhook-id': ID, 'webhook-timestamp': String(TIMESTAMP), 'webhook-signature': SIGNATURE };

    it('verifies it within the tolerance, also among several signatures of a key rotation', () => {
        verifyWebhook(SECRET, headers, BODY, 300, TIMESTAMP + 299);
        verifyWebhook(SECRET, { ...headers, 'webhook-signature': `v1,AAAA ${SIGNATURE}` }, Buffer.from(BODY), 300, TIMESTAMP);
    });

    const refusals: Array<[string, () => void, RegExp]> = [
        ['a tampered body', () => verifyWebhook(SECRET, headers, BODY.replace('2', '3'), 300, TIMESTAMP), /does not match the body/],
        ['another secret', () => verifyWebhook('whsec_' + Buffer.from('other key').toString('base64'), headers, BODY, 300, TIMESTAMP), /does not match/],
        ['a timestamp beyond the tolerance', () => verifyWebhook(SECRET, headers, BODY, 300, TIMESTAMP + 301), /301 s from now, beyond the 300 s tolerance/],
        ['a missing header', () => verifyWebhook(SECRET, { ...headers, 'webhook-id': undefined }, BODY, 300, TIMESTAMP), /missing webhook-id header/],
        ['another id', () => verifyWebhook(SECRET, { ...headers, 'webhook-id': 'msg_other' }, BODY, 300, TIMESTAMP), /does not match/],
    ];
    for (const [name, check, message] of refusals) {
        it(`refuses ${name}`, () => assert.throws(check, message));
    }

    it('agrees with the reference library (standardwebhooks on npm) both ways, for any id and body', () => {
        const reference = new Webhook(SECRET);
        fc.assert(
            fc.property(
                fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/),
                fc.string({ maxLength: 200 }),
                fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
                (id, body, seconds) => {
                    const theirs = reference.sign(id, new Date(seconds * 1000), body);
                    verifyWebhook(SECRET, { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': theirs }, body, 300, seconds);
                    const ours = signWebhook(SECRET, id, seconds, body);
                    assert.equal(ours['webhook-signature'], theirs);
                },
            ),
            { numRuns: 100 },
        );
        const now = Math.floor(Date.now() / 1000);
        assert.deepEqual(reference.verify(BODY, { ...signWebhook(SECRET, ID, now, BODY) }), JSON.parse(BODY));
    });
});
