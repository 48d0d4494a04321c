// A body refused before it was read to its end (over the limit): the 413 goes out at once, a sender that finishes
// within the linger keeps its kept-alive connection, one that goes on sending loses it after the linger. A real
// HTTP server on 127.0.0.1 and a raw socket as the sender.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { readBody } from '../../src/ingest/event-endpoint';
import { closeUnfinishedRequest } from '../../src/ingest/unread-body';
import { until } from '../support/wait';

const LIMIT = 16;
const LINGER_MS = 300;

describe('a body answered before it was read to its end', () => {
    let server: http.Server;
    let port: number;

    before(async () => {
        server = http.createServer((req, res) => {
            void readBody(req, LIMIT).then((body) => {
                if (body === 'too-large') {
                    res.writeHead(413).end('too large');
                    closeUnfinishedRequest(req, res, LINGER_MS);
                } else res.writeHead(200).end(`got ${body.length}`);
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as AddressInfo).port;
    });
    after(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    });

    /** A raw connection: what it has received so far, and whether the server has closed it. */
    async function connect(): Promise<{ socket: net.Socket; received: () => string; closed: () => boolean }> {
        const socket = net.connect(port, '127.0.0.1');
        await once(socket, 'connect');
        let received = '';
        let closed = false;
        socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
        socket.on('close', () => (closed = true));
        socket.on('error', () => undefined);
        return { socket, received: () => received, closed: () => closed };
    }
    const head = (length: number) => `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${length}\r\n\r\n`;

    it('answers 413 at once; a sender that then finishes its body keeps the connection for its next request', async () => {
        const client = await connect();
        client.socket.write(`${head(40)}${'x'.repeat(20)}`);
        await until(() => client.received().includes('too large'), 'the 413');
        assert.match(client.received(), /^HTTP\/1\.1 413 /);
        client.socket.write('x'.repeat(20));
        client.socket.write(`${head(3)}abc`);
        await until(() => client.received().includes('got 3'), 'the answer to the next request on the same connection');
        await new Promise((resolve) => setTimeout(resolve, LINGER_MS + 200));
        assert.equal(client.closed(), false, 'a sender that finished in time keeps its connection');
        client.socket.destroy();
    });

    it('closes the connection of a sender that goes on sending, after the linger and not before', async () => {
        for (const length of [1_000_000, undefined]) {
            const client = await connect();
            const framing = length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
            client.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}\r\n\r\n`);
            const piece = length === undefined ? '20\r\n' + 'x'.repeat(32) + '\r\n' : 'x'.repeat(32);
            const started = Date.now();
            let answeredAt = 0;
            // Bounded: at most 5 s of a piece every 10 ms.
            while (!client.closed() && Date.now() - started < 5000) {
                client.socket.write(piece);
                if (!answeredAt && client.received().includes('too large')) answeredAt = Date.now();
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
            assert.ok(client.closed(), `${framing}: still open after 5 s`);
            assert.match(client.received(), /^HTTP\/1\.1 413 /);
            const lingered = Date.now() - answeredAt;
            assert.ok(lingered >= LINGER_MS - 50 && lingered < LINGER_MS + 1000, `${framing}: closed ${lingered} ms after the answer`);
        }
    });
});
