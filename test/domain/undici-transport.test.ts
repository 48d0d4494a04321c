// The transport over undici keeps every promise the axios http adapter kept: TLS options, proxies from the
// environment, one timer over the whole exchange, no redirects, a bounded and decoded body, masked secrets, and the
// error codes flows branch on. Every server here is real and on 127.0.0.1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import zlib from 'node:zlib';
import axios, { AxiosError } from 'axios';
import { HttpTransport, MAX_RESPONSE_BYTES, type TransportOptions } from '../../src/delivery/http-transport';
import { timedConnector } from '../../src/delivery/connect-timeout';
import { OriginPools } from '../../src/delivery/origin-pools';
import { createUndiciTransport } from '../../src/delivery/undici-adapter';
import { compileRequest, type OutgoingRequest } from '../../src/request/build-request';
import { selfSignedCertificate, type SelfSignedCertificate } from '../support/self-signed-certificate';
import { until } from '../support/wait';

type Certificate = Pick<SelfSignedCertificate, 'cert' | 'key'>;

/** A self-signed certificate for `crm.test` only, so that reaching it as 127.0.0.1 needs `servername`. */
function selfSigned(directory: string): Certificate {
    return selfSignedCertificate(directory, 'crm.test', 'DNS:crm.test');
}

async function listen(server: net.Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
}

async function shut(server: http.Server | net.Server): Promise<void> {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
}

function post(url: string): OutgoingRequest {
    return compileRequest({ url, method: 'POST', bodyType: 'custom', contentType: 'application/json', body: '{"id":"{{callId}}"}' }).build({
        callId: 'call-1',
    });
}

function get(url: string): OutgoingRequest {
    return compileRequest({ url, method: 'GET' }).build({ callId: 'call-1' });
}

async function closedPort(): Promise<number> {
    const server = net.createServer();
    const port = await listen(server);
    await shut(server);
    return port;
}

/** Restores the proxy variables whatever a test set. */
function withEnvironment(values: Record<string, string | undefined>): () => void {
    const names = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'all_proxy', 'ALL_PROXY'];
    const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
    for (const name of names) delete process.env[name];
    for (const [name, value] of Object.entries(values)) if (value !== undefined) process.env[name] = value;
    return () => {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}

describe('undici transport', function () {
    this.timeout(20_000);
    let directory: string;
    let certificate: Certificate;
    let transports: HttpTransport[];
    const transport = (options: TransportOptions = {}): HttpTransport => {
        const created = new HttpTransport(options);
        transports.push(created);
        return created;
    };

    before(() => {
        directory = fs.mkdtempSync(path.join(os.tmpdir(), 'undici-transport-'));
        certificate = selfSigned(directory);
    });
    after(() => fs.rmSync(directory, { recursive: true, force: true }));
    beforeEach(() => (transports = []));
    afterEach(() => transports.forEach((created) => created.close()));

    describe('TLS options of a tls-config node', () => {
        let server: https.Server;
        let port: number;
        let peers: (string | undefined)[];
        before(async () => {
            peers = [];
            // Asks for a client certificate but also answers without one, saying whether the one it got was trusted.
            server = https.createServer({ ...certificate, requestCert: true, rejectUnauthorized: false, ca: [certificate.cert] }, (req, res) => {
                const socket = req.socket as TLSSocket;
                peers.push(socket.authorized ? String(socket.getPeerCertificate().subject?.CN) : undefined);
                res.writeHead(200, { 'content-type': 'text/plain' }).end('secure');
            });
            port = await listen(server);
        });
        after(() => shut(server));

        it('refuses a self-signed server without options, and one whose name does not match without servername', async () => {
            const plain = await transport().send(post(`https://127.0.0.1:${port}/x`));
            assert.ok(!plain.ok);
            assert.equal(plain.error.code, 'tls');
            const misnamed = await transport({ tls: { ca: certificate.cert } }).send(post(`https://127.0.0.1:${port}/x`));
            assert.ok(!misnamed.ok);
            assert.equal(misnamed.error.code, 'tls');
            assert.match(misnamed.error.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
        });

        it('trusts the server with ca and servername, and presents cert and key as the client certificate', async () => {
            const trusting = await transport({ tls: { ca: certificate.cert, servername: 'crm.test' } }).send(post(`https://127.0.0.1:${port}/x`));
            assert.ok(trusting.ok, trusting.ok ? '' : trusting.error.message);
            assert.equal(trusting.response.body.toString(), 'secure');
            assert.equal(peers.at(-1), undefined);
            const client = transport({ tls: { ca: certificate.cert, servername: 'crm.test', cert: certificate.cert, key: certificate.key } });
            const authenticated = await client.send(post(`https://127.0.0.1:${port}/x`));
            assert.ok(authenticated.ok, authenticated.ok ? '' : authenticated.error.message);
            assert.equal(peers.at(-1), 'crm.test');
        });

        it('rejectUnauthorized false accepts the untrusted server', async () => {
            const outcome = await transport({ tls: { rejectUnauthorized: false } }).send(post(`https://127.0.0.1:${port}/x`));
            assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
        });
    });

    describe('proxies from the environment', () => {
        let proxy: http.Server;
        let proxyPort: number;
        let proxied: string[];
        let target: https.Server;
        let targetPort: number;
        let direct: http.Server;
        let directPort: number;
        let restore: () => void;
        before(async () => {
            proxied = [];
            // A forward proxy: absolute-form requests are answered here, CONNECT tunnels go to 127.0.0.1 whatever
            // the host, so names that do not resolve (crm.test) can be used.
            proxy = http.createServer((req, res) => {
                proxied.push(`${req.method} ${req.url}`);
                req.resume();
                res.writeHead(200, { 'content-type': 'text/plain' }).end(`via proxy, Host ${req.headers.host}`);
            });
            proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
                proxied.push(`CONNECT ${req.url}`);
                const upstream = net.connect(Number(String(req.url).split(':').pop()), '127.0.0.1', () => {
                    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
                    upstream.write(head);
                    upstream.pipe(socket).pipe(upstream);
                });
                upstream.on('error', () => socket.destroy());
                socket.on('error', () => upstream.destroy());
            });
            proxyPort = await listen(proxy);
            target = https.createServer(certificate, (req, res) =>
                res.writeHead(200, { 'content-type': 'text/plain' }).end(`tunnelled to ${req.headers.host}`),
            );
            targetPort = await listen(target);
            direct = http.createServer((_, res) => res.writeHead(200).end('direct'));
            directPort = await listen(direct);
        });
        after(async () => {
            await shut(proxy);
            await shut(target);
            await shut(direct);
        });
        afterEach(() => restore());

        it('sends an http target to http_proxy in absolute form, read at send time', async () => {
            const sender = transport();
            restore = withEnvironment({ http_proxy: `http://127.0.0.1:${proxyPort}` });
            const outcome = await sender.send(post('http://crm.test/hook?a=1'));
            assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
            assert.equal(outcome.response.body.toString(), 'via proxy, Host crm.test');
            assert.deepEqual(proxied, ['POST http://crm.test/hook?a=1']);
        });

        it('tunnels an https target through https_proxy with CONNECT, TLS to the origin with the tls-config CA', async () => {
            proxied.length = 0;
            restore = withEnvironment({ https_proxy: `http://127.0.0.1:${proxyPort}` });
            const outcome = await transport({ tls: { ca: certificate.cert } }).send(post(`https://crm.test:${targetPort}/secure`));
            assert.ok(outcome.ok, outcome.ok ? '' : outcome.error.message);
            assert.equal(outcome.response.body.toString(), `tunnelled to crm.test:${targetPort}`);
            assert.deepEqual(proxied, [`CONNECT crm.test:${targetPort}`]);
        });

        it('no_proxy bypasses the proxy by name, by suffix, and localhost for 127.0.0.1', async () => {
            proxied.length = 0;
            const sender = transport();
            for (const noProxy of ['127.0.0.1', `127.0.0.1:${directPort}`, 'localhost', '.0.0.1', '*']) {
                restore = withEnvironment({ http_proxy: `http://127.0.0.1:${proxyPort}`, no_proxy: noProxy });
                const outcome = await sender.send(post(`http://127.0.0.1:${directPort}/x`));
                restore();
                assert.ok(outcome.ok, noProxy);
                assert.equal(outcome.response.body.toString(), 'direct', noProxy);
            }
            restore = withEnvironment({ HTTP_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'other.example' });
            const proxiedOutcome = await sender.send(post(`http://127.0.0.1:${directPort}/x`));
            assert.ok(proxiedOutcome.ok);
            assert.deepEqual(proxied, [`POST http://127.0.0.1:${directPort}/x`]);
        });
    });

    describe('the adapter under plain axios', () => {
        let server: http.Server;
        let url: string;
        before(async () => {
            server = http.createServer((req, res) => {
                req.resume();
                res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' }).end(`at ${req.url}`);
            });
            url = `http://127.0.0.1:${await listen(server)}`;
        });
        after(() => shut(server));

        it("settles by axios's validateStatus and goes direct with proxy: false whatever the environment says", async () => {
            const undici = createUndiciTransport({ connections: 2 });
            const restore = withEnvironment({ http_proxy: `http://127.0.0.1:${await closedPort()}` });
            try {
                const client = axios.create({ adapter: undici.adapter, responseType: 'arraybuffer' });
                const answer = await client.get(`${url}/found`, { proxy: false });
                assert.equal(answer.status, 200);
                assert.equal(Buffer.from(answer.data).toString(), 'at /found');
                const failure = await client.get(`${url}/missing`, { proxy: false }).then(
                    () => undefined,
                    (error: unknown) => error,
                );
                assert.ok(failure instanceof AxiosError);
                assert.equal(failure.code, AxiosError.ERR_BAD_REQUEST);
                assert.equal(failure.response?.status, 404);
                // Without proxy: false the request goes to the proxy of the environment, which refuses.
                const proxied = await client.get(`${url}/found`).then(
                    () => undefined,
                    (error: unknown) => error,
                );
                assert.ok(proxied instanceof AxiosError);
                assert.equal(proxied.code, 'ECONNREFUSED');
            } finally {
                restore();
                await undici.close();
            }
        });
    });

    describe('answers', () => {
        let server: http.Server;
        let url: string;
        let arrivedPaths: string[];
        const text = JSON.stringify({ ok: true, note: 'y'.repeat(3000) });
        before(async () => {
            arrivedPaths = [];
            server = http.createServer((req, res) => {
                const where = req.url ?? '/';
                arrivedPaths.push(where);
                req.resume();
                if (where.startsWith('/redirect/')) res.writeHead(Number(where.split('/')[2]), { location: `${url}/elsewhere` }).end();
                else if (where === '/gzip') res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(text));
                else if (where === '/deflate') res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync(text));
                else if (where === '/raw-deflate') res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateRawSync(text));
                else if (where === '/br') res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync(text));
                else if (where === '/unknown-coding') res.writeHead(200, { 'content-encoding': 'zstd' }).end('as is');
                // 11 MiB of zeros compress to a few KiB: the limit must hold for what the body decodes to.
                else if (where === '/bomb')
                    res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync(Buffer.alloc(MAX_RESPONSE_BYTES + 1024 * 1024)));
                else if (where === '/at-limit') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(MAX_RESPONSE_BYTES));
                else if (where === '/headers') {
                    res.setHeader('set-cookie', ['a=1', 'b=2']);
                    res.setHeader('x-many', ['1', '2']);
                    res.writeHead(201, 'Made It').end();
                } else res.writeHead(200, { 'content-type': 'text/plain' }).end('plain');
            });
            url = `http://127.0.0.1:${await listen(server)}`;
        });
        after(() => shut(server));

        it('returns a 3xx as the answer and follows no redirect', async () => {
            const sender = transport();
            for (const status of [301, 302, 303, 307, 308]) {
                const outcome = await sender.send(post(`${url}/redirect/${status}`));
                assert.ok(!outcome.ok);
                assert.equal(outcome.error.code, 'http-3xx');
                assert.equal(outcome.error.response?.statusCode, status);
                assert.match(outcome.error.message, new RegExp(`redirects to ${url}/elsewhere`));
            }
            assert.ok(!arrivedPaths.includes('/elsewhere'));
        });

        for (const encoding of ['gzip', 'deflate', 'raw-deflate', 'br']) {
            it(`decodes a ${encoding} body and drops its Content-Encoding`, async () => {
                const outcome = await transport().send(get(`/${encoding}`.replace(/^/, url)));
                assert.ok(outcome.ok);
                assert.equal(outcome.response.body.toString(), text);
                assert.equal(outcome.response.headers['content-encoding'], undefined);
            });
        }

        it('passes a body in an unknown coding on as it came, with its header', async () => {
            const outcome = await transport().send(get(`${url}/unknown-coding`));
            assert.ok(outcome.ok);
            assert.equal(outcome.response.body.toString(), 'as is');
            assert.equal(outcome.response.headers['content-encoding'], 'zstd');
        });

        it('takes a body of exactly the limit and refuses one that decodes to more, the pool still usable', async () => {
            const sender = transport();
            const atLimit = await sender.send(get(`${url}/at-limit`));
            assert.ok(atLimit.ok);
            assert.equal(atLimit.response.body.length, MAX_RESPONSE_BYTES);
            const bomb = await sender.send(get(`${url}/bomb`));
            assert.ok(!bomb.ok);
            assert.equal(bomb.error.code, 'network');
            assert.match(bomb.error.message, /maxContentLength size of 10485760 exceeded/);
            assert.ok((await sender.send(get(`${url}/plain`))).ok);
        });

        it('keeps the status text, Set-Cookie as a list and joins other repeated headers as Node does', async () => {
            const outcome = await transport().send(get(`${url}/headers`));
            assert.ok(outcome.ok);
            assert.equal(outcome.response.statusCode, 201);
            assert.equal(outcome.response.statusMessage, 'Made It');
            assert.deepEqual(outcome.response.headers['set-cookie'], ['a=1', 'b=2']);
            assert.equal(outcome.response.headers['x-many'], '1, 2');
        });
    });

    describe('the timer over the whole exchange', () => {
        let server: http.Server;
        let url: string;
        let arrivedPaths: string[];
        before(async () => {
            arrivedPaths = [];
            server = http.createServer((req, res) => {
                req.resume();
                arrivedPaths.push(req.url ?? '');
                if (req.url === '/hang') return;
                if (req.url === '/ok') return void res.writeHead(200).end('ok');
                res.writeHead(200, { 'content-type': 'text/plain' });
                const timer = setInterval(() => res.write('.'), 50);
                res.on('close', () => clearInterval(timer));
            });
            url = `http://127.0.0.1:${await listen(server)}`;
        });
        after(() => shut(server));

        it('ends a trickling body, a silent server and a request still waiting for a connection at its timeout', async () => {
            const sender = transport({ maxSockets: 1 });
            const started = Date.now();
            // The second waits behind the first for the one connection and times out before it is free.
            const [trickled, waited] = await Promise.all([
                sender.send(get(`${url}/trickle`), { timeoutMs: 600 }),
                sender.send(get(`${url}/waits`), { timeoutMs: 300 }),
            ]);
            for (const [outcome, ms] of [
                [trickled, 600],
                [waited, 300],
            ] as const) {
                assert.ok(!outcome.ok);
                assert.equal(outcome.error.code, 'timeout');
                assert.match(outcome.error.message, new RegExp(`no complete answer within ${ms} ms`));
            }
            const silent = await sender.send(get(`${url}/hang`), { timeoutMs: 300 });
            assert.ok(!silent.ok);
            assert.equal(silent.error.code, 'timeout');
            assert.ok(Date.now() - started < 5000);
            // The one that timed out while it waited was never sent once the connection came free.
            assert.ok((await sender.send(get(`${url}/ok`), { timeoutMs: 2000 })).ok);
            assert.deepEqual(arrivedPaths, ['/trickle', '/hang', '/ok']);
        });
    });

    describe('failures and their codes', () => {
        it('refused, dns, reset, network and masked secrets in every message', async () => {
            const sender = transport();
            const secret = 's3cr3t-value';
            const masked = (request: OutgoingRequest): OutgoingRequest => ({ ...request, url: `${request.url}?key=${secret}`, secrets: [secret] });

            const refused = await sender.send(masked(post(`http://127.0.0.1:${await closedPort()}/x`)));
            assert.ok(!refused.ok);
            assert.equal(refused.error.code, 'refused');

            const dns = await sender.send(masked(post('http://no-such-host.invalid/x')), { timeoutMs: 5000 });
            assert.ok(!dns.ok);
            assert.equal(dns.error.code, 'dns');

            // A server that closes the connection after reading the request, and one that answers in no HTTP.
            const rude = net.createServer((socket) => {
                socket.once('data', (data) => {
                    if (data.toString().includes('/garbage')) socket.end('NOT HTTP AT ALL\r\n\r\n');
                    else socket.destroy();
                });
            });
            const port = await listen(rude);
            try {
                const reset = await sender.send(masked(post(`http://127.0.0.1:${port}/reset`)));
                assert.ok(!reset.ok);
                assert.equal(reset.error.code, 'reset');
                const garbage = await sender.send(masked(post(`http://127.0.0.1:${port}/garbage`)));
                assert.ok(!garbage.ok);
                assert.equal(garbage.error.code, 'network');
                for (const outcome of [refused, dns, reset, garbage]) {
                    assert.ok(!outcome.ok);
                    assert.ok(!outcome.error.message.includes(secret), outcome.error.message);
                    assert.match(outcome.error.message, /\?key=\*\*\*/);
                }
            } finally {
                await shut(rude);
            }
        });

        it('4xx and 5xx keep the response and its status text', async () => {
            const server = http.createServer((req, res) =>
                res.writeHead(Number(req.url?.slice(1)), { 'content-type': 'application/json' }).end('{"why":"no"}'),
            );
            const url = `http://127.0.0.1:${await listen(server)}`;
            try {
                for (const [status, code] of [
                    [404, 'http-4xx'],
                    [503, 'http-5xx'],
                ] as const) {
                    const outcome = await transport().send(post(`${url}/${status}`));
                    assert.ok(!outcome.ok);
                    assert.equal(outcome.error.code, code);
                    assert.equal(outcome.error.response?.body.toString(), '{"why":"no"}');
                    assert.match(outcome.error.message, new RegExp(`answered ${status} ${status === 404 ? 'Not Found' : 'Service Unavailable'}`));
                }
            } finally {
                await shut(server);
            }
        });
    });

    describe('pools', () => {
        let server: http.Server;
        let url: string;
        let sockets: Set<net.Socket>;
        let open: number;
        let arrived: { headers: string[]; body: string }[];
        before(async () => {
            sockets = new Set();
            open = 0;
            arrived = [];
            server = http.createServer((req, res) => {
                const chunks: Buffer[] = [];
                req.on('data', (chunk: Buffer) => chunks.push(chunk));
                req.on('end', () => {
                    arrived.push({ headers: req.rawHeaders, body: Buffer.concat(chunks).toString() });
                    setTimeout(() => res.writeHead(200).end('ok'), 20);
                });
            });
            server.on('connection', (socket) => {
                sockets.add(socket);
                open++;
                socket.on('close', () => open--);
            });
            url = `http://127.0.0.1:${await listen(server)}`;
        });
        after(() => shut(server));

        it('keeps at most maxSockets keep-alive connections per origin, and close() ends them', async () => {
            sockets.clear();
            const sender = new HttpTransport({ maxSockets: 2 });
            const outcomes = await Promise.all(Array.from({ length: 12 }, () => sender.send(post(`${url}/x`))));
            assert.ok(outcomes.every((outcome) => outcome.ok));
            assert.equal(sockets.size, 2);
            assert.ok((await sender.send(post(`${url}/x`))).ok);
            assert.equal(sockets.size, 2, 'a later request reuses a kept connection');
            sender.close();
            await until(() => open === 0, 'the pooled connections to close');
        });

        it('times a connection out on its own timer, and leaves one that opened or failed in time alone', async () => {
            const destroyed: Error[] = [];
            const hanging = { destroy: (error: Error) => destroyed.push(error) } as unknown as net.Socket;
            const results: unknown[] = [];
            const target = { hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'http:', port: '9' };
            // A connection that never opens: destroyed at the timeout with undici's own error, which the transport
            // classifies as `timeout`.
            timedConnector(
                {},
                30,
                () => hanging,
            )(target, (...args) => {
                results.push(args[0]);
            });
            await until(() => destroyed.length === 1, 'the hanging connection destroyed');
            assert.equal((destroyed[0] as Error & { code?: string }).code, 'UND_ERR_CONNECT_TIMEOUT');
            // One that opens in time, and one that fails before its connector returns: no timer is left for them.
            timedConnector({}, 30, (_target, callback) => {
                setTimeout(() => callback(null, hanging), 5);
                return hanging;
            })(target, (...args) => {
                results.push(args[0]);
            });
            timedConnector({}, 30, (_target, callback) => {
                callback(new Error('cannot start'), null);
                return hanging;
            })(target, (...args) => {
                results.push(args[0]);
            });
            await new Promise((resolve) => setTimeout(resolve, 80));
            assert.equal(destroyed.length, 1, 'only the hanging connection was destroyed');
            assert.equal(results.length, 2);
            // The real connector under it: a refused port fails at once, an open one connects.
            const closed = String(await closedPort());
            const refused = await new Promise<Error | null>((resolve) => timedConnector({})({ ...target, port: closed }, (...args) => resolve(args[0])));
            assert.equal((refused as Error & { code?: string }).code, 'ECONNREFUSED');
            const { port } = new URL(url);
            const opened = await new Promise<net.Socket>((resolve, reject) =>
                timedConnector({})({ ...target, port }, (...args) => (args[0] ? reject(args[0]) : resolve(args[1] as net.Socket))),
            );
            opened.destroy();
        });

        it("keeps an origin's pool across refused connections, and closes the least recently used one beyond the bound", async () => {
            const pools = new OriginPools({ connections: 2, pipelining: 1 }, 2);
            try {
                const refusing = `http://127.0.0.1:${await closedPort()}`;
                const first = pools.for(refusing);
                for (let attempt = 0; attempt < 3; attempt++) {
                    await assert.rejects(first.request({ origin: refusing, path: '/x', method: 'GET' }), { code: 'ECONNREFUSED' });
                }
                assert.equal(pools.for(refusing), first, 'the same pool after its connections were refused');
                const answering = pools.for(url);
                assert.equal(await (await answering.request({ origin: url, path: '/x', method: 'GET' })).body.text(), 'ok');
                pools.for(refusing);
                const third = pools.for('http://127.0.0.1:1');
                assert.ok(answering.closed, 'the least recently used origin is closed');
                assert.ok(!first.closed && !third.closed);
                assert.notEqual(pools.for(url), answering, 'a closed pool is built again when its origin is asked for');
            } finally {
                await pools.destroy();
            }
        });

        it('sends every header the request lists, with its value, its own headers in their order and case, and the body', async () => {
            arrived.length = 0;
            const request = compileRequest({
                url: `${url}/h`,
                method: 'POST',
                bodyType: 'custom',
                contentType: 'application/json',
                body: '{"id":"{{callId}}"}',
                headers: [
                    { name: 'X-Trace', value: '{{callId}}' },
                    { name: 'x-lower', value: 'v' },
                ],
            }).build({ callId: 'call-1' });
            assert.ok((await transport().send(request)).ok);
            const raw = arrived[0].headers;
            const pairs = Array.from({ length: raw.length / 2 }, (_, index) => [raw[2 * index], raw[2 * index + 1]]);
            const lower = (list: string[][]) => list.map(([name, value]) => `${name.toLowerCase()}: ${value}`).sort();
            assert.deepEqual(lower(pairs), lower(Object.entries(request.headers)));
            const transportOwned = new Set(['host', 'connection', 'content-length']);
            const own = (list: string[][]) => list.filter(([name]) => !transportOwned.has(name.toLowerCase()));
            assert.deepEqual(own(pairs), own(Object.entries(request.headers)));
            assert.equal(arrived[0].body, '{"id":"call-1"}');
        });

        it("the axios http adapter stays selectable and puts the headers on the wire in the request's own order", async () => {
            arrived.length = 0;
            const request = post(`${url}/axios`);
            const outcome = await transport({ adapter: 'axios-http' }).send(request);
            assert.ok(outcome.ok);
            const raw = arrived[0].headers;
            const pairs = Array.from({ length: raw.length / 2 }, (_, index) => [raw[2 * index], raw[2 * index + 1]]);
            assert.deepEqual(pairs, Object.entries(request.headers));
        });
    });
});
