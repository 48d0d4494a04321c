import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeAPI } from 'node-red';
import { Webhook } from 'standardwebhooks';
import { signWebhook } from '../../src/signing/standard-webhooks';
import { catchNode, helper, servedNodeModule } from '../support/node-red-runtime';
import { until } from '../support/wait';

const callEventIn = servedNodeModule('call-event-in');

interface Out {
    topic: string;
    event: string;
    call: Record<string, unknown>;
    payload: Record<string, unknown>;
}

function onTab(nodes: object[]): object[] {
    return [{ id: 'tab', type: 'tab' }, ...nodes.map((node) => ({ z: 'tab', ...node }))];
}

function flow(props: Record<string, unknown> = {}, credentials?: Record<string, string>): { flow: object[]; credentials: Record<string, object> } {
    return {
        flow: onTab([
            { id: 'in', type: 'call-event-in', path: '/ccaas/call-events', events: [], wires: [['out']], ...props },
            { id: 'out', type: 'helper' },
            { id: 'catcher', type: 'catch', scope: ['in'], uncaught: false, wires: [['caught']] },
            { id: 'caught', type: 'helper' },
        ]),
        credentials: credentials ? { in: credentials } : {},
    };
}

function collect(id: string): Out[] {
    const received: Out[] = [];
    helper.getNode(id).on('input', (msg: Out) => received.push(msg));
    return received;
}

const answered = (callId: string) => [
    {
        type: 'presenting',
        callId,
        eventId: `${callId}-1`,
        timestamp: 1000,
        direction: 'Inbound',
        callerName: 'Jane Roe',
        agent: { name: 'John Doe', extension: '154' },
        group: 'Sales',
        startTime: 1000,
    },
    { type: 'connected', callId, eventId: `${callId}-2`, timestamp: 2000 },
    { type: 'complete', callId, eventId: `${callId}-3`, timestamp: 62_000 },
];

describe('call event in node', () => {
    let server: http.Server;
    let base: string;

    before(() => helper.startServer());
    after(() => helper.stopServer());

    async function load(props: Record<string, unknown> = {}, credentials?: Record<string, string>): Promise<void> {
        const { flow: nodes, credentials: creds } = flow(props, credentials);
        await helper.load([callEventIn.register, catchNode], nodes, creds);
        ({ server, base } = await callEventIn.serve());
    }

    afterEach(async () => {
        await new Promise((resolve) => server?.close(resolve));
        await helper.unload();
    });

    function post(body: string | object, headers: Record<string, string> = {}): Promise<Response> {
        return fetch(`${base}/ccaas/call-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: typeof body === 'string' ? body : JSON.stringify(body),
        });
    }

    it('takes a POSTed array of events, answers 202 with the count, and emits each trigger as its own msg', async () => {
        await load();
        const out = collect('out');
        const response = await post(answered('call-1'));
        assert.equal(response.status, 202);
        assert.deepEqual(await response.json(), { accepted: 3 });
        assert.deepEqual(
            out.map((msg) => [msg.topic, msg.event]),
            [
                ['Call is Presenting', 'presenting'],
                ['Call is Connected', 'connected'],
                ['Call is Complete', 'complete'],
                ['Call and Recordings Processed', 'processed'],
                ['Call is Updated', 'updated'],
            ],
        );
        assert.equal(out[4].call.agent, 'John Doe (154)');
        assert.equal(out[4].call.updateSeq, 1);
        assert.deepEqual(out[4].payload, out[4].call);
    });

    it('takes events from msg.payload too, and a bad one is a Catch-able error naming index and field', async () => {
        await load({ path: '' });
        const out = collect('out');
        const caught = collect('caught') as unknown as Array<{ error: { message: string; code: string } }>;
        helper.getNode('in').receive({ payload: answered('call-2') });
        helper.getNode('in').receive({ payload: [{ type: 'complete', callId: 'x' }, { type: 'complete' }] });
        // The good message's triggers wait for the call state to be restored; the bad one fails at once.
        await until(() => caught.length === 1 && out.length === 5, 'the Catch node and the good message');
        assert.equal(out.length, 5);
        assert.equal(caught[0].error.code, 'input');
        assert.equal(caught[0].error.message, 'event 1: callId must be a non-empty string, got nothing');
        assert.equal(out.filter((msg) => msg.call.callId === 'x').length, 0, 'none of a bad batch is taken');
    });

    it('only emits the selected events', async () => {
        await load({ events: ['complete', 'updated'] });
        const out = collect('out');
        await post(answered('call-3'));
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['complete', 'updated'],
        );
    });

    it('400 for a body that is not JSON or has a bad event, and then takes none of it', async () => {
        await load();
        const out = collect('out');
        const notJson = await post('{"type": ');
        assert.equal(notJson.status, 400);
        assert.match(((await notJson.json()) as { error: string }).error, /^body is not JSON/);
        const badSecond = await post([answered('call-4')[0], { type: 'connected', callId: 'call-4', timestamp: 'soon' }]);
        assert.equal(badSecond.status, 400);
        assert.deepEqual(await badSecond.json(), { error: 'event 1: timestamp must be ms since 1970 (a number), got "soon"' });
        assert.equal(out.length, 0);
    });

    it('413 for a body over the configured limit', async () => {
        await load({ maxBody: 1 });
        const response = await post({ type: 'update', callId: 'big', callerName: 'x'.repeat(2000) });
        assert.equal(response.status, 413);
        assert.match(((await response.json()) as { error: string }).error, /larger than the limit of 1024 bytes/);
    });

    it('401 without the shared secret header, 202 with it', async () => {
        await load({ auth: 'header', authHeader: 'X-Webhook-Secret' }, { secret: 's3cret' });
        assert.equal((await post(answered('call-5'))).status, 401);
        assert.equal((await post(answered('call-5'), { 'X-Webhook-Secret': 'wrong' })).status, 401);
        assert.equal((await post(answered('call-5'), { 'X-Webhook-Secret': 's3cret' })).status, 202);
    });

    it('401 for a Standard Webhooks signature that does not verify or is too old; 202 when it does', async () => {
        const secret = `whsec_${Buffer.from('a test key of 32 bytes exactly!!').toString('base64')}`;
        await load({ auth: 'standard-webhooks', tolerance: 300 }, { secret });
        const body = JSON.stringify(answered('call-6'));
        const now = Date.now() / 1000;
        const good = signWebhook(secret, 'msg_1', now, body);
        assert.equal((await post(body)).status, 401);
        assert.equal((await post(body.replace('Jane', 'Joan'), { ...good })).status, 401, 'tampered body');
        const old = signWebhook(secret, 'msg_1', now - 600, body);
        const stale = await post(body, { ...old });
        assert.equal(stale.status, 401);
        assert.match(((await stale.json()) as { error: string }).error, /beyond the 300 s tolerance/);
        assert.equal((await post(body, { ...good })).status, 202);
    });

    it('a second node cannot claim the same path: it says so and does not serve it', async () => {
        const { flow: nodes } = flow();
        await helper.load(
            [callEventIn.register, catchNode],
            [...nodes, { id: 'in2', z: 'tab', type: 'call-event-in', path: 'ccaas/call-events', wires: [[]] }],
        );
        const logged = helper.log().args.map((args) => args[0] as { id?: string; msg: unknown });
        assert.ok(logged.some((entry) => entry.id === 'in2' && /path \/ccaas\/call-events is already served by call event in node in/.test(String(entry.msg))));
        ({ server, base } = await callEventIn.serve());
        const out = collect('out');
        assert.equal((await post(answered('call-8'))).status, 202);
        assert.equal(out.length, 5, 'the first node still serves the path');
    });

    it('a recording that never arrives: processed fires after the wait with recordingsMissing', async () => {
        await load({ recordingWait: 0.01 });
        const out = collect('out');
        await post({ type: 'complete', callId: 'call-7', pendingRecordings: 1 });
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['complete'],
        );
        await until(() => out.length === 3, 'the recording wait', 5000);
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['complete', 'processed', 'updated'],
        );
        assert.equal(out[1].call.recordingsMissing, true);
    });

    it('the editor button plays a whole realistic call through the deployed node', async () => {
        await load();
        const out = collect('out');
        const answer = await helper.request().post('/call-event-in/in/simulate').expect(200);
        await until(() => out.some((msg) => msg.event === 'processed'), 'the simulated call', 15_000);
        const events = out.map((msg) => msg.event);
        assert.equal(events[0], 'presenting');
        assert.ok(events.includes('connected') && events.includes('complete') && events.includes('updated'), events.join(', '));
        assert.ok(out.every((msg) => msg.call.callId === answer.body.callId));
        await helper.request().post('/call-event-in/nope/simulate').expect(404);
    });

    describe('hostile input', () => {
        const postTo = (route: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
            fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        const errorOf = async (response: Response): Promise<string> => ((await response.json()) as { error: string }).error;
        const logged = (level: number): string[] =>
            helper
                .log()
                .args.map((args) => args[0] as { level?: number; msg: unknown })
                .filter((entry) => entry.level === level)
                .map((entry) => String(entry.msg));
        const WARN = 30;
        const ERROR = 20;

        it('the body limit holds for every spelling of the path Express routes to the node', async () => {
            await load({ maxBody: 1 });
            const out = collect('out');
            const big = JSON.stringify({ type: 'update', callId: 'big', callerName: 'x'.repeat(2000) });
            for (const spelling of ['/ccaas/call-events', '/ccaas/call-events/', '/Ccaas/Call-Events/', '/CCAAS/CALL-EVENTS', '/ccaas/call-events?x=1']) {
                const response = await postTo(spelling, big);
                assert.equal(response.status, 413, spelling);
                assert.match(await errorOf(response), /larger than the limit of 1024 bytes/, spelling);
            }
            assert.equal((await postTo('/Ccaas/Call-Events/', JSON.stringify(answered('spelled')))).status, 202);
            assert.equal(out.length, 5);
            // Express does not decode a path to match it: this spelling is not the endpoint at all.
            assert.equal((await postTo('/%63caas/call-events', big)).status, 404);
        });

        it('a path with ":" or "*" is served literally, not as route parameters', async () => {
            await load({ path: '/ccaas/:tenant/*' });
            assert.equal((await postTo('/ccaas/acme/x', JSON.stringify(answered('p-1')))).status, 404);
            assert.equal((await postTo('/ccaas/:tenant/*', JSON.stringify(answered('p-2')))).status, 202);
        });

        it('a body another middleware parsed first is measured: over the limit or of unknown size is a 413', async () => {
            let httpNode: http.RequestListener | undefined;
            const { flow: nodes } = flow({ maxBody: 1 });
            const register = (RED: NodeAPI): void => {
                httpNode = RED.httpNode as unknown as http.RequestListener;
                callEventIn.register(RED);
            };
            await helper.load([register, catchNode], nodes, {});
            // A JSON parser in front of Node-RED, as an embedding application might have.
            server = http.createServer((req, res) => {
                const chunks: Buffer[] = [];
                req.on('data', (chunk: Buffer) => chunks.push(chunk));
                req.on('end', () => {
                    Object.assign(req, { body: JSON.parse(Buffer.concat(chunks).toString()), _body: true });
                    if (req.headers['x-drop-length']) delete req.headers['content-length'];
                    httpNode!(req, res);
                });
            });
            await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
            base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
            const out = collect('out');
            const over = await postTo('/ccaas/call-events', JSON.stringify({ type: 'update', callId: 'big', callerName: 'x'.repeat(2000) }));
            assert.equal(over.status, 413);
            assert.match(await errorOf(over), /larger than the limit of 1024 bytes/);
            const unknown = await postTo('/ccaas/call-events', JSON.stringify(answered('pre-1')), { 'x-drop-length': '1' });
            assert.equal(unknown.status, 413);
            assert.match(await errorOf(unknown), /parsed by another middleware without a Content-Length/);
            assert.equal((await postTo('/ccaas/call-events', JSON.stringify(answered('pre-2')))).status, 202);
            assert.equal(out.length, 5);
        });

        it('two nodes whose paths Express treats as one: the second is refused on deploy, naming both', async () => {
            const { flow: nodes } = flow();
            await helper.load(
                [callEventIn.register, catchNode],
                [...nodes, { id: 'in2', z: 'tab', type: 'call-event-in', path: '/CCAAS/Call-Events/', wires: [[]] }],
            );
            const errors = helper
                .log()
                .args.map((args) => args[0] as { id?: string; level?: number; msg: unknown })
                .filter((entry) => entry.id === 'in2' && entry.level === ERROR);
            assert.ok(
                errors.some(
                    (entry) =>
                        String(entry.msg) ===
                        'path /CCAAS/Call-Events/ is already served by call event in node in (as /ccaas/call-events, the same path to Express)',
                ),
                errors.map((entry) => String(entry.msg)).join('\n'),
            );
            ({ server, base } = await callEventIn.serve());
            assert.equal((await post(answered('dup'))).status, 202);
        });

        it('a body nested deeper than 32 levels is a 400 naming the bound, before it is parsed; then a good one is taken', async () => {
            await load();
            const out = collect('out');
            for (const depth of [33, 100_000]) {
                const response = await postTo('/ccaas/call-events', `${'['.repeat(depth)}${']'.repeat(depth)}`);
                assert.equal(response.status, 400, `depth ${depth}`);
                assert.match(await errorOf(response), /deeper than the limit of 32 levels/);
            }
            // Brackets inside strings are text, not nesting.
            assert.equal((await post({ type: 'update', callId: 'brackets', callerName: '[[[[{{{{'.repeat(10) })).status, 202);
            assert.equal((await post(answered('after-deep'))).status, 202);
            assert.equal(out.length, 5);
        });

        it('more events than maxEvents is a 413 naming the bound; nothing is taken, and the next good request fires', async () => {
            await load({ maxEvents: 3 });
            const out = collect('out');
            const four = [...answered('many'), { type: 'update', callId: 'many' }];
            const response = await post(four);
            assert.equal(response.status, 413);
            assert.equal(await errorOf(response), 'request: has 4 events, over the limit of 3 per request');
            assert.equal(out.length, 0);
            assert.equal((await post(answered('many'))).status, 202);
            assert.deepEqual(
                out.map((msg) => msg.event),
                ['presenting', 'connected', 'complete', 'processed', 'updated'],
            );
        });

        it('a msg.payload over maxEvents is a Catch-able input error naming the bound', async () => {
            await load({ path: '', maxEvents: 2 });
            const caught = collect('caught') as unknown as Array<{ error: { message: string; code: string } }>;
            helper.getNode('in').receive({ payload: answered('msg-many') });
            await until(() => caught.length === 1, 'the Catch node');
            assert.equal(caught[0].error.code, 'input');
            assert.equal(caught[0].error.message, 'request: has 3 events, over the limit of 2 per request');
        });

        for (const [property, value, problem] of [
            ['maxEvents', 'lots', 'maxEvents (events per request): "lots" is not a positive number'],
            ['maxFieldLength', 0, 'maxFieldLength (text field length): "0" is not a positive number'],
            ['maxListMembers', 1.5, 'maxListMembers (list members per event): "1.5" is not a whole number'],
            ['maxCallListMembers', -1, 'maxCallListMembers (list members per call): "-1" is not a positive number'],
            ['maxCallSize', 'big', 'maxCallSize (call record size, KiB): "big" is not a positive number'],
            ['maxStateSize', 0, 'maxStateSize (tracked state memory, MiB): "0" is not a positive number'],
        ] as const) {
            it(`a bad ${property} is reported on deploy, naming the property`, async () => {
                await load({ [property]: value });
                assert.ok(logged(ERROR).includes(problem), logged(ERROR).join('\n'));
                assert.equal((await post(answered('bad-config'))).status, 404, 'a node that cannot work serves nothing');
            });
        }

        it('a flow saved without the limit properties takes what it took before', async () => {
            await load();
            const events = Array.from({ length: 500 }, (_, index) => ({ type: 'update', callId: `default-${index % 7}`, eventId: `e${index}` }));
            assert.equal((await post(events)).status, 202);
        });

        it('a Standard Webhooks webhook-id already taken within the tolerance is refused as a replay', async () => {
            const secret = `whsec_${Buffer.from('a test key of 32 bytes exactly!!').toString('base64')}`;
            await load({ auth: 'standard-webhooks', tolerance: 300 }, { secret });
            const out = collect('out');
            const body = JSON.stringify(answered('replay'));
            const ours = signWebhook(secret, 'msg_replay', Date.now() / 1000, body);
            assert.equal((await post(body, { ...ours })).status, 202);
            const again = await post(body, { ...ours });
            assert.equal(again.status, 401);
            assert.match(await errorOf(again), /replayed webhook-id/);
            // The reference implementation's own signature: verified, then refused the second time too.
            const theirs = new Webhook(secret);
            const at = new Date();
            const otherBody = JSON.stringify(answered('replay-2'));
            const headers = {
                'webhook-id': 'msg_theirs',
                'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
                'webhook-signature': theirs.sign('msg_theirs', at, otherBody),
            };
            assert.equal((await post(otherBody, headers)).status, 202);
            assert.equal((await post(otherBody, headers)).status, 401);
            assert.equal(out.length, 10);
        });

        it('a msg.payload error quoting outside text has it escaped, for the log and the Catch node', async () => {
            await load({ path: '' });
            const caught = collect('caught') as unknown as Array<{ error: { message: string; code: string } }>;
            helper.getNode('in').receive({ payload: { type: 'x\n[error] forged', callId: 'a' } });
            await until(() => caught.length === 1, 'the Catch node');
            assert.equal(caught[0].error.code, 'input');
            assert.match(caught[0].error.message, /^event 0: type must be one of .*, got "x\\n\[error\] forged"$/);
        });

        it('outside text in warnings is escaped and cut: a request cannot forge log lines', async () => {
            await load();
            const response = await post({ type: 'x\n[error] forged line\u001b[31m', callId: 'y'.repeat(5000) });
            assert.equal(response.status, 400);
            const warnings = logged(WARN);
            assert.ok(
                warnings.some((warning) => warning.includes('\\n[error] forged line\\u001b[31m')),
                warnings.join('\n'),
            );
            assert.ok(warnings.every((warning) => !/[\n\u001b]/.test(warning) && warning.length <= 401));
        });
    });
});
