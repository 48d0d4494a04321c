// Our Zoom signatures and URL-validation answers checked by Zoom's own Node SDK (@zoom/rivet), which verifies
// x-zm-signature and answers endpoint.url_validation itself in its AWS Lambda receiver. The SDK verifies over the
// re-serialised JSON rather than the raw bytes, so the bodies here are compact JSON, for which the two are the same.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zoomAdapter, zoomSignature } from '../../src/adapters/zoom';

interface LambdaAnswer {
    statusCode: number;
    body: string;
}
type LambdaHandler = (event: { body: string; headers: Record<string, string>; isBase64Encoded: boolean }, context: object) => Promise<LambdaAnswer>;

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'zoom');
const SECRET = 'zoom-secret-token-for-tests';
const compact = (name: string): string => JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')));

describe('Zoom adapter against Zoom’s SDK (@zoom/rivet)', () => {
    let rivet: LambdaHandler;
    let quietDebug: typeof console.debug;

    before(() => {
        // The SDK logs every request it handles through console.debug.
        quietDebug = console.debug;
        console.debug = () => undefined;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { AwsLambdaReceiver } = require('@zoom/rivet/phone') as { AwsLambdaReceiver: new (options: object) => { start(): LambdaHandler } };
        rivet = new AwsLambdaReceiver({ webhooksSecretToken: SECRET }).start();
    });

    after(() => {
        console.debug = quietDebug;
    });

    function headers(body: string, secret = SECRET): Record<string, string> {
        const timestamp = String(Math.floor(Date.now() / 1000));
        return { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(secret, timestamp, body) };
    }

    const fixtures = readdirSync(FIXTURES).filter((name) => name.endsWith('.json'));

    it('the SDK takes every fixture we sign, and both sides refuse one signed with another secret', async () => {
        assert.ok(fixtures.length >= 10, `fixtures: ${fixtures.join(', ')}`);
        const ours = zoomAdapter({ secretToken: SECRET });
        for (const name of fixtures) {
            const body = compact(name);
            const answer = await rivet({ body, headers: headers(body), isBase64Encoded: false }, {});
            assert.equal(answer.statusCode, 200, `${name}: ${answer.body}`);
            const forged = headers(body, 'another-secret');
            assert.equal((await rivet({ body, headers: forged, isBase64Encoded: false }, {})).statusCode, 400, name);
            const refused = ours.receive({ headers: forged, rawBody: Buffer.from(body) });
            assert.equal(refused.ok ? 200 : refused.answer.status, 401, name);
        }
    });

    it('Contact Center events are signed as Phone ones: the SDK and we take the same bodies, and refuse them changed', async () => {
        // The SDK has no Contact Center module; its Phone receiver verifies whatever event the body names.
        const contactCenter = fixtures.filter((name) => name.startsWith('cc-'));
        assert.ok(contactCenter.length >= 30, `Contact Center fixtures: ${contactCenter.join(', ')}`);
        const ours = zoomAdapter({ secretToken: SECRET });
        for (const name of contactCenter) {
            const body = compact(name);
            assert.match(body, /^\{"event":"contact_center\./, name);
            const signedHeaders = headers(body);
            assert.equal((await rivet({ body, headers: signedHeaders, isBase64Encoded: false }, {})).statusCode, 200, name);
            const outcome = ours.receive({ headers: signedHeaders, rawBody: Buffer.from(body) });
            assert.ok(outcome.ok, `${name}: ${outcome.ok ? '' : outcome.error.message}`);
            const tampered = body.replace('"engagement_id":"', '"engagement_id":"x');
            assert.notEqual(tampered, body, name);
            assert.equal((await rivet({ body: tampered, headers: signedHeaders, isBase64Encoded: false }, {})).statusCode, 400, name);
            const refused = ours.receive({ headers: signedHeaders, rawBody: Buffer.from(tampered) });
            assert.equal(refused.ok ? 200 : refused.answer.status, 401, name);
        }
    });

    it('answers endpoint.url_validation exactly as the SDK does', async () => {
        const name = fixtures.find((file) => /validation/.test(file));
        assert.ok(name, 'a URL validation fixture');
        const body = compact(name);
        const signedHeaders = headers(body);
        const theirs = await rivet({ body, headers: signedHeaders, isBase64Encoded: false }, {});
        const ours = zoomAdapter({ secretToken: SECRET }).receive({ headers: signedHeaders, rawBody: Buffer.from(body) });
        assert.equal(theirs.statusCode, 200, theirs.body);
        assert.equal(ours.answer.status, 200);
        assert.deepEqual(JSON.parse(ours.answer.body), JSON.parse(theirs.body));
    });
});
