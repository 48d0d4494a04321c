import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { catchNode, freshUserDir, helper, lastStatusOf, nodeModule } from '../support/node-red-runtime';
import { until } from '../support/wait';
import { startRecorder, type Arrived, type Recorder } from './web-service-out.recorder';

const webServiceOut = [nodeModule('web-service-out'), catchNode];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const BODY_TYPES = ['none', 'form', 'custom', 'payload'];
const SECRETS = { password: 'pa55-w0rd-secret', token: 'bearer-tok-secret', apiKey: 'api-key-secret-123' };
const HOSTILE = { ...sampleCall(), callerName: `O"Brien & 'Co' = #1 ü 中`, agent: 'J\r\nX-Evil: 1', accountCodes: ['a&b', 'c=d'] };

type Msg = Record<string, any>;

function onTab(nodes: object[]): object[] {
    return [{ id: 'tab', type: 'tab' }, ...nodes.map((node) => ({ z: 'tab', ...node }))];
}

function flow(node: Record<string, unknown>, extra: object[] = []): object[] {
    return onTab([
        // One attempt: these tests are about a single exchange (retries have their own tests).
        {
            id: 'ws',
            type: 'web-service-out',
            method: 'POST',
            bodyType: 'none',
            params: [],
            headers: [],
            form: [],
            timeout: 5,
            retries: '',
            wires: [['out'], ['failed']],
            ...node,
        },
        { id: 'out', type: 'helper' },
        { id: 'failed', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: ['ws'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
        ...extra,
    ]);
}

function nextMessage(id: string): Promise<Msg> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

/** The request the node reports, as the bytes a server receives (with the real secrets put back). */
function assertSameRequest(shown: Msg, arrived: Arrived, unmask: Record<string, string> = {}): void {
    const url = new URL(shown.url);
    assert.equal(arrived.requestLine, `${shown.method} ${url.pathname}${url.search} HTTP/1.1`);
    assert.deepEqual(
        arrived.rawHeaders,
        Object.entries(shown.headers).map(([name, value]) => [name, unmask[name] ?? value]),
    );
    assert.equal(arrived.body.toString('utf8'), shown.body ?? '');
}

describe('web service out node', () => {
    let recorder: Recorder;
    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(async () => {
        freshUserDir();
        recorder = await startRecorder();
    });
    afterEach(async () => {
        await helper.unload();
        await recorder.close();
    });

    for (const method of METHODS) {
        it(`${method}: each body type arrives exactly as msg.request says, hostile call data kept inside its value`, async () => {
            const nodes = BODY_TYPES.map((bodyType, index) => ({
                id: `ws${index}`,
                type: 'web-service-out',
                url: `${recorder.url}/calls/{{callerName}}?codes={{accountCodes}}`,
                method,
                bodyType,
                params: [
                    { name: 'caller', value: '{{callerName}}' },
                    { name: 'fixed', value: 'x&y' },
                    { name: 'empty', value: '' },
                ],
                headers: [{ name: 'X-Call', value: '{{callId}}' }],
                form: [
                    { name: 'caller', value: '{{callerName}}' },
                    { name: 'codes', value: '{{accountCodes}}' },
                ],
                contentType: 'application/json',
                body: '{"caller":"{{callerName}}","agent":"{{agent}}"}',
                wires: [[`out${index}`]],
            }));
            await helper.load(webServiceOut, onTab([...nodes, ...BODY_TYPES.map((_, index) => ({ id: `out${index}`, type: 'helper' }))]));
            for (const [index, bodyType] of BODY_TYPES.entries()) {
                const received = nextMessage(`out${index}`);
                const arrivedNext = recorder.next();
                helper.getNode(`ws${index}`).receive({ call: HOSTILE, payload: { from: 'payload', name: HOSTILE.callerName } });
                const msg = await received;
                const arrived = await arrivedNext;
                assertSameRequest(msg.request, arrived);
                assert.equal(arrived.method, method);
                const query = new URLSearchParams(arrived.query);
                assert.deepEqual(
                    [...query.entries()],
                    [
                        ['codes', 'a&b, c=d'],
                        ['caller', HOSTILE.callerName],
                        ['fixed', 'x&y'],
                        ['empty', ''],
                    ],
                );
                assert.equal(decodeURIComponent(arrived.target.split('?')[0]), `/calls/${HOSTILE.callerName}`);
                assert.equal(arrived.headers['x-call'], HOSTILE.callId);
                const body = arrived.body.toString('utf8');
                if (bodyType === 'none') assert.equal(body, '');
                if (bodyType === 'form') {
                    assert.equal(arrived.headers['content-type'], 'application/x-www-form-urlencoded');
                    assert.deepEqual(
                        [...new URLSearchParams(body).entries()],
                        [
                            ['caller', HOSTILE.callerName],
                            ['codes', 'a&b, c=d'],
                        ],
                    );
                }
                if (bodyType === 'custom') assert.deepEqual(JSON.parse(body), { caller: HOSTILE.callerName, agent: HOSTILE.agent });
                if (bodyType === 'payload') assert.deepEqual(JSON.parse(body), { from: 'payload', name: HOSTILE.callerName });
                assert.equal(msg.statusCode, 200);
                assert.deepEqual(msg.payload, { ok: true, path: arrived.target.split('?')[0] });
                assert.equal(msg.response.statusCode, 200);
                assert.equal(msg.response.headers['x-leak'], 'response-header');
                assert.equal(typeof msg.response.body, 'string');
                assert.ok(msg.response.timeMs >= 0);
                assert.equal(msg.headers, undefined);
                // The status is throttled: while the request is still leaving the queue it is shown when the interval
                // ends, which may be after the msg has gone on. Read from this node's own calls: four are loaded.
                const statusText = (): string => lastStatusOf(helper.getNode(`ws${index}`))?.text ?? '';
                await until(() => /^200 · \d+ ms · \d\d:\d\d:\d\d$/.test(statusText()), statusText, 2000);
            }
        });
    }

    it('a header carrying CR/LF from call data is a header error naming header and call; nothing is sent', async () => {
        await helper.load(webServiceOut, flow({ url: `${recorder.url}/h`, headers: [{ name: 'X-Agent', value: '{{agent}}' }] }));
        const caught = nextMessage('caught');
        helper.getNode('ws').receive({ call: HOSTILE });
        const msg = await caught;
        assert.equal(msg.error.code, 'header');
        assert.match(msg.error.message, new RegExp(`header "X-Agent" of call ${HOSTILE.callId}`));
        assert.equal(recorder.arrived.length, 0);
    });

    it('secrets are sent, but never in the flow JSON, msg.request or the log', async () => {
        await helper.load(webServiceOut, flow({ url: `${recorder.url}/secure`, authType: 'basic', apiKeyHeader: 'X-API-Key' }), {
            ws: { user: 'svc', password: SECRETS.password, apiKey: SECRETS.apiKey },
        });
        const received = nextMessage('out');
        helper.getNode('ws').receive({ call: sampleCall() });
        const msg = await received;
        const arrived = recorder.arrived[0];
        const basic = `Basic ${Buffer.from(`svc:${SECRETS.password}`).toString('base64')}`;
        assert.equal(arrived.headers.authorization, basic);
        assert.equal(arrived.headers['x-api-key'], SECRETS.apiKey);
        assert.equal(msg.request.headers.Authorization, 'Basic ***');
        assert.equal(msg.request.headers['X-API-Key'], '***');
        assertSameRequest(msg.request, arrived, { Authorization: basic, 'X-API-Key': SECRETS.apiKey });
        // A failure is logged: its text must not carry the secret either.
        await helper.unload();
        await helper.load(webServiceOut, flow({ url: `${recorder.url}/status/401`, authType: 'bearer' }), { ws: { token: SECRETS.token } });
        const caught = nextMessage('caught');
        helper.getNode('ws').receive({ call: sampleCall() });
        const failed = await caught;
        assert.equal(failed.request.headers.Authorization, 'Bearer ***');
        const deployed = JSON.stringify(await (helper as any)._redNodes.getFlows());
        const everything = [deployed, JSON.stringify(msg), JSON.stringify(failed), JSON.stringify(helper.log().args)].join('\n');
        for (const secret of [...Object.values(SECRETS), basic.slice(6)]) assert.ok(!everything.includes(secret), `leaked ${secret}`);
    });

    it('response headers do not leak into the next request of a chained node', async () => {
        await helper.load(
            webServiceOut,
            onTab([
                { id: 'first', type: 'web-service-out', url: `${recorder.url}/first`, method: 'POST', bodyType: 'none', wires: [['second']] },
                { id: 'second', type: 'web-service-out', url: `${recorder.url}/second`, method: 'POST', bodyType: 'none', wires: [['out']] },
                { id: 'out', type: 'helper' },
            ]),
        );
        const received = nextMessage('out');
        helper.getNode('first').receive({ call: sampleCall(), headers: { 'X-From-Upstream': 'no' } });
        const msg = await received;
        const second = recorder.arrived.find((arrived) => arrived.target === '/second')!;
        assert.deepEqual(Object.keys(second.headers).sort(), [
            'accept',
            'accept-encoding',
            'connection',
            'content-length',
            'host',
            'idempotency-key',
            'user-agent',
        ]);
        assert.equal(msg.request.url, `${recorder.url}/second`);
        assert.deepEqual(msg.headers, { 'X-From-Upstream': 'no' });
    });

    for (const [path, code] of [
        ['/status/404', 'http-4xx'],
        ['/status/500', 'http-5xx'],
        ['/hang', 'timeout'],
        ['/trickle', 'timeout'],
    ]) {
        it(`${path} is one ${code} error with msg.request, on the Catch node and the failure output`, async () => {
            await helper.load(webServiceOut, flow({ url: `${recorder.url}${path}`, timeout: 0.5, failureOutput: true }));
            const caughtMessages: Msg[] = [];
            helper.getNode('caught').on('input', (msg: Msg) => caughtMessages.push(msg));
            const failed = nextMessage('failed');
            const caught = nextMessage('caught');
            helper.getNode('ws').receive({ call: sampleCall(), payload: 'original' });
            const [onOutput, onCatch] = await Promise.all([failed, caught]);
            for (const msg of [onOutput, onCatch]) {
                assert.equal(msg.error.code, code);
                assert.equal(msg.request.url, `${recorder.url}${path}`);
                assert.equal(msg.payload, 'original');
            }
            if (code.startsWith('http')) {
                assert.equal(onCatch.statusCode, Number(path.slice(-3)));
                assert.equal(onCatch.response.statusCode, Number(path.slice(-3)));
            }
            // Exactly once: a second report would arrive right behind the first.
            await new Promise((resolve) => setTimeout(resolve, 200));
            assert.equal(caughtMessages.length, 1);
            // The status is throttled: the failure is shown once the interval ends, which may be after the catch.
            const status = (): { fill?: string; text?: string } => lastStatusOf(helper.getNode('ws')) ?? {};
            await until(
                () => new RegExp(`^${code}`).test(status().text ?? ''),
                () => JSON.stringify(status()),
                2000,
            );
            assert.equal(status().fill, 'red');
        });
    }

    it('a refused connection is a refused error', async () => {
        const port = recorder.port;
        await recorder.close();
        await helper.load(webServiceOut, flow({ url: `http://127.0.0.1:${port}/x` }));
        const caught = nextMessage('caught');
        helper.getNode('ws').receive({ call: sampleCall() });
        assert.equal((await caught).error.code, 'refused');
        recorder = await startRecorder();
    });

    it('a placeholder in the host is a red status and error on deploy, never a crash on a message', async () => {
        await helper.load(webServiceOut, flow({ url: 'http://{{dnis}}.example.com/x' }));
        const node = helper.getNode('ws');
        const logged = helper.log().args.map((args) => args[0] as { id?: string; msg: unknown });
        assert.ok(logged.some((entry) => entry.id === 'ws' && /placeholders are not allowed in the scheme, host or port/.test(String(entry.msg))));
        const caught = nextMessage('caught');
        node.receive({ call: sampleCall() });
        assert.equal((await caught).error.code, 'config');
    });

    it('a message without msg.call is an input error', async () => {
        await helper.load(webServiceOut, flow({ url: `${recorder.url}/x` }));
        const caught = nextMessage('caught');
        helper.getNode('ws').receive({ payload: 1 });
        assert.equal((await caught).error.code, 'input');
        assert.equal(recorder.arrived.length, 0);
    });

    describe('Test and Preview endpoint', () => {
        const config = (url: string) => ({
            url,
            method: 'PUT',
            bodyType: 'custom',
            contentType: 'text/xml',
            body: '<call id="{{callId}}" caller="{{callerName}}"/>',
            params: [{ name: 'q', value: '{{callerName}}' }],
            headers: [{ name: 'X-Call', value: '{{callId}}' }],
            authType: 'bearer',
            apiKeyHeader: 'X-API-Key',
            timeout: 5,
        });

        it('Preview builds without sending; Test sends; both agree byte for byte with the runtime', async () => {
            await helper.load(webServiceOut, flow(config(`${recorder.url}/p/{{callId}}`)), { ws: { token: SECRETS.token, apiKey: SECRETS.apiKey } });
            const call = { ...HOSTILE, agent: 'x' };
            const preview = await helper
                .request()
                .post('/web-service-out/test')
                .send({
                    id: 'ws',
                    config: config(`${recorder.url}/p/{{callId}}`),
                    credentials: { token: SECRETS.token, apiKey: SECRETS.apiKey },
                    call,
                    send: false,
                })
                .expect(200);
            assert.equal(recorder.arrived.length, 0);
            assert.equal(preview.body.response, undefined);
            assert.equal(preview.body.request.headers.Authorization, 'Bearer ***');

            const tested = await helper
                .request()
                .post('/web-service-out/test')
                .send({
                    id: 'ws',
                    config: config(`${recorder.url}/p/{{callId}}`),
                    credentials: { token: SECRETS.token, apiKey: SECRETS.apiKey },
                    call,
                    send: true,
                })
                .expect(200);
            const unmask = { Authorization: `Bearer ${SECRETS.token}`, 'X-API-Key': SECRETS.apiKey };
            assertSameRequest(tested.body.request, recorder.arrived[0], unmask);
            assert.deepEqual(tested.body.request, preview.body.request);
            assert.equal(tested.body.response.statusCode, 200);
            assert.deepEqual(JSON.parse(tested.body.response.body), { ok: true, path: `/p/${call.callId}` });

            const received = nextMessage('out');
            helper.getNode('ws').receive({ call });
            const msg = await received;
            assert.deepEqual(msg.request, tested.body.request);
            assertSameRequest(msg.request, recorder.arrived[1], unmask);
            assert.ok(!JSON.stringify([preview.body, tested.body]).includes(SECRETS.token));
        });

        it('uses the stored credentials of a deployed node when the dialog only has placeholders', async () => {
            await helper.load(webServiceOut, flow(config(`${recorder.url}/stored`)), { ws: { token: SECRETS.token, apiKey: SECRETS.apiKey } });
            const tested = await helper
                .request()
                .post('/web-service-out/test')
                .send({
                    id: 'ws',
                    config: config(`${recorder.url}/stored`),
                    credentials: { token: '__PWRD__', has_token: true },
                    call: sampleCall(),
                    send: true,
                })
                .expect(200);
            assert.equal(tested.body.response.statusCode, 200);
            assert.equal(recorder.arrived[0].headers.authorization, `Bearer ${SECRETS.token}`);
            assert.equal(recorder.arrived[0].headers['x-api-key'], SECRETS.apiKey);
            assert.ok(!JSON.stringify(tested.body).includes(SECRETS.token));
        });

        it('never sends a stored secret to another origin than the deployed node has', async () => {
            await helper.load(webServiceOut, flow(config(`${recorder.url}/stored`)), { ws: { token: SECRETS.token, apiKey: SECRETS.apiKey } });
            const elsewhere = recorder.url.replace('127.0.0.1', 'localhost');
            const tested = await helper
                .request()
                .post('/web-service-out/test')
                .send({ id: 'ws', config: config(`${elsewhere}/steal`), credentials: { token: '__PWRD__', has_token: true }, call: sampleCall(), send: true })
                .expect(200);
            assert.equal(tested.body.code, 'config');
            assert.match(tested.body.error, /stored (token|apiKey) of this node is only sent to http:\/\/127\.0\.0\.1:\d+/);
            assert.equal(recorder.arrived.length, 0);
        });

        it('answers errors in plain words with their code', async () => {
            await helper.load(webServiceOut, flow({ url: `${recorder.url}/x` }));
            const refused = await helper
                .request()
                .post('/web-service-out/test')
                .send({ config: { url: 'https://{{dnis}}/x', method: 'GET' }, send: false })
                .expect(200);
            assert.equal(refused.body.code, 'config');
            assert.match(refused.body.error, /placeholders are not allowed/);
            const notFound = await helper
                .request()
                .post('/web-service-out/test')
                .send({ config: { url: `${recorder.url}/status/404`, method: 'GET' }, call: sampleCall(), send: true })
                .expect(200);
            assert.equal(notFound.body.code, 'http-4xx');
            assert.match(notFound.body.error, /the server answered 404/);
            assert.equal(notFound.body.response.statusCode, 404);
            assert.equal(notFound.body.request.method, 'GET');
        });
    });
});
