import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { HttpTransport } from '../../src/delivery/http-transport';
import { compileRequest } from '../../src/request/build-request';
import type { RequestConfig } from '../../src/request/request-config';
import { startRecorder, TEST_CERT, type Recorder } from '../nodes/web-service-out.recorder';

function build(url: string, overrides: Partial<RequestConfig> = {}) {
    return compileRequest({ url, method: 'POST', bodyType: 'custom', contentType: 'application/json', body: '{"id":"{{callId}}"}', ...overrides }).build({
        callId: 'call-1',
    });
}

async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
}

describe('delivery', () => {
    let recorder: Recorder;
    let transport: HttpTransport;
    beforeEach(async () => {
        recorder = await startRecorder();
        transport = new HttpTransport();
    });
    afterEach(async () => {
        transport.close();
        await recorder.close();
    });

    it('sends exactly the built request: request line, every header in order, body', async () => {
        const request = build(`${recorder.url}/calls/{{callId}}?a=1`, { headers: [{ name: 'X-Trace', value: '{{callId}}' }] });
        const outcome = await transport.send(request, { timeoutMs: 5000 });
        assert.ok(outcome.ok);
        const arrived = recorder.arrived[0];
        assert.equal(arrived.requestLine, 'POST /calls/call-1?a=1 HTTP/1.1');
        assert.deepEqual(arrived.rawHeaders, Object.entries(request.headers));
        assert.deepEqual(arrived.body, request.body);
        assert.equal(outcome.response.statusCode, 200);
        assert.deepEqual(JSON.parse(outcome.response.body.toString()), { ok: true, path: '/calls/call-1' });
        assert.ok(outcome.response.timeMs >= 0);
    });

    it('reuses a pooled keep-alive connection for the next request', async () => {
        const request = build(`${recorder.url}/a`);
        assert.ok((await transport.send(request)).ok);
        // undici hands a connection to the next request one event-loop turn after its answer (pipelining 1).
        await new Promise((resolve) => setImmediate(resolve));
        assert.ok((await transport.send(request)).ok);
        assert.equal(recorder.arrived.length, 2);
        assert.equal(recorder.arrived[0].remotePort, recorder.arrived[1].remotePort);
    });

    it('classifies 4xx, 5xx and an unfollowed redirect, keeping the response', async () => {
        const cases: [number, string][] = [
            [404, 'http-4xx'],
            [422, 'http-4xx'],
            [500, 'http-5xx'],
            [503, 'http-5xx'],
            [302, 'http-3xx'],
        ];
        for (const [status, code] of cases) {
            const outcome = await transport.send(build(`${recorder.url}/status/${status}`));
            assert.ok(!outcome.ok);
            assert.equal(outcome.error.code, code);
            assert.equal(outcome.error.response?.statusCode, status);
            assert.match(outcome.error.message, new RegExp(`^POST ${recorder.url}/status/${status}: the server answered ${status}`));
        }
        // The redirect was not followed: only the five requests above arrived.
        assert.equal(recorder.arrived.length, 5);
    });

    it('times out a server that never answers and one that trickles its body, within the timeout', async () => {
        for (const path of ['/hang', '/trickle']) {
            const started = Date.now();
            const outcome = await transport.send(build(`${recorder.url}${path}`), { timeoutMs: 600 });
            assert.ok(!outcome.ok, path);
            assert.equal(outcome.error.code, 'timeout', path);
            assert.match(outcome.error.message, /no complete answer within 600 ms/);
            // Bounded: the trickling server sends a byte every 100 ms and would otherwise go on for ever.
            assert.ok(Date.now() - started < 5000, path);
        }
    });

    it('classifies a refused connection, a reset and an unknown host', async () => {
        const refused = await transport.send(build(`http://127.0.0.1:${await closedPort()}/x`));
        assert.ok(!refused.ok);
        assert.equal(refused.error.code, 'refused');
        const reset = await transport.send(build(`${recorder.url}/reset`));
        assert.ok(!reset.ok);
        assert.equal(reset.error.code, 'reset');
        const dns = await transport.send(build('http://no-such-host.invalid/x'), { timeoutMs: 5000 });
        assert.ok(!dns.ok);
        assert.equal(dns.error.code, 'dns');
    });

    it('a TLS failure is tls; the tls-config CA makes the same request succeed', async () => {
        const secure = await startRecorder({ tls: true });
        const trusting = new HttpTransport({ tls: { ca: TEST_CERT, rejectUnauthorized: true } });
        try {
            const failed = await transport.send(build(`${secure.url}/x`));
            assert.ok(!failed.ok);
            assert.equal(failed.error.code, 'tls');
            const ok = await trusting.send(build(`${secure.url}/x`));
            assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
            assert.equal(secure.arrived.at(-1)?.requestLine, 'POST /x HTTP/1.1');
        } finally {
            trusting.close();
            await secure.close();
        }
    });

    it('honours http_proxy and no_proxy from the environment', async () => {
        const proxied: string[] = [];
        const proxy = http.createServer((req, res) => {
            proxied.push(`${req.method} ${req.url}`);
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('via proxy');
        });
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy, NO_PROXY: process.env.NO_PROXY };
        try {
            process.env.http_proxy = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
            delete process.env.NO_PROXY;
            process.env.no_proxy = 'bypass.example';
            const outcome = await transport.send(build('http://crm.example.com/hook'));
            assert.ok(outcome.ok);
            assert.equal(outcome.response.body.toString(), 'via proxy');
            assert.deepEqual(proxied, ['POST http://crm.example.com/hook']);
            process.env.no_proxy = '127.0.0.1';
            assert.ok((await transport.send(build(`${recorder.url}/direct`))).ok);
            assert.equal(recorder.arrived.at(-1)?.target, '/direct');
            assert.equal(proxied.length, 1);
        } finally {
            for (const [name, value] of Object.entries(saved)) {
                if (value === undefined) delete process.env[name];
                else process.env[name] = value;
            }
            proxy.closeAllConnections();
            await new Promise((resolve) => proxy.close(resolve));
        }
    });
});
