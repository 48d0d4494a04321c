// What the transport does with a response besides passing it on: the decompression and size limit axios used to
// apply, which the direct Node http path must keep.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import type { AxiosAdapter, InternalAxiosRequestConfig } from 'axios';
import { axiosRequest, HttpTransport, leanAxios, MAX_RESPONSE_BYTES } from '../../src/delivery/http-transport';
import { compileRequest } from '../../src/request/build-request';

describe('http transport responses', () => {
    let server: http.Server;
    let url: string;
    let transport: HttpTransport;
    const text = JSON.stringify({ ok: true, note: 'x'.repeat(2000) });

    before(async () => {
        server = http.createServer((req, res) => {
            if (req.url === '/gzip') res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(zlib.gzipSync(text));
            else if (req.url === '/deflate') res.writeHead(200, { 'content-encoding': 'deflate' }).end(zlib.deflateSync(text));
            else if (req.url === '/br') res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync(text));
            else if (req.url === '/huge') {
                res.writeHead(200, { 'content-type': 'application/octet-stream' });
                const chunk = Buffer.alloc(1024 * 1024);
                let sent = 0;
                const more = (): void => {
                    while (sent < 12 && res.write(chunk)) sent++;
                    if (sent >= 12) res.end();
                    else res.once('drain', () => (sent++, more()));
                };
                more();
            } else res.writeHead(200).end('plain');
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        transport = new HttpTransport();
    });
    after(async () => {
        transport.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    });

    const get = (path: string) => transport.send(compileRequest({ url: `${url}${path}`, method: 'GET' }).build({ callId: 'c' }));

    for (const encoding of ['gzip', 'deflate', 'br']) {
        it(`decompresses a ${encoding} body and drops its Content-Encoding`, async () => {
            const outcome = await get(`/${encoding}`);
            assert.ok(outcome.ok);
            assert.equal(outcome.response.body.toString(), text);
            assert.equal(outcome.response.headers['content-encoding'], undefined);
        });
    }

    it(`refuses a body larger than ${MAX_RESPONSE_BYTES} bytes`, async () => {
        const outcome = await get('/huge');
        assert.ok(!outcome.ok);
        assert.equal(outcome.error.code, 'network');
        assert.match(outcome.error.message, /maxContentLength size of 10485760 exceeded/);
        // The connection pool still works afterwards.
        assert.ok((await get('/plain')).ok);
    });
});

describe('the axios instance web service out sends with (leanAxios)', () => {
    it('keeps only the defaults it is given, and its requests reach that adapter with the options the request set', async () => {
        const seen: InternalAxiosRequestConfig[] = [];
        const adapter: AxiosAdapter = (config) => {
            seen.push(config);
            return Promise.resolve({ data: Buffer.from('ok'), status: 200, statusText: 'OK', headers: {}, config, request: {} });
        };
        const client = leanAxios({ adapter });
        assert.deepEqual(Object.keys(client.defaults).sort(), ['adapter', 'headers']);
        const request = compileRequest({ url: 'http://127.0.0.1:9/lean', method: 'POST', bodyType: 'custom', contentType: 'text/plain', body: 'hi' }).build({});
        const answer = await client.request(axiosRequest(request, 1234));
        assert.equal(answer.status, 200);
        assert.equal(seen.length, 1, 'the given adapter answered, not one of axios');
        assert.equal(seen[0].timeout, 1234);
        assert.equal(seen[0].maxRedirects, 0);
        assert.equal(seen[0].transitional, undefined);
        // Only the request's own headers: none of axios's stock Accept or Content-Type.
        assert.deepEqual(
            Object.keys(seen[0].headers.toJSON())
                .map((name) => name.toLowerCase())
                .sort(),
            Object.keys(request.headers)
                .map((name) => name.toLowerCase())
                .sort(),
        );
    });
});
