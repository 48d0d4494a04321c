// The web service of a web service out test, on 127.0.0.1: it records every request (its idempotency key, the
// body's label) and answers as the test scripts it, per request and per attempt of one key.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
    key: string;
    label: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    at: number;
    /** The status the receiver answered. */
    status: number;
}

export interface Receiver {
    url: string;
    port: number;
    received: Received[];
    /** Decides each answer: status and headers. */
    answer: (request: Received, attemptOfKey: number) => { status: number; headers?: Record<string, string> };
    close(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
    const sockets = new Set<Socket>();
    const receiver: Receiver = {
        url: '',
        port: 0,
        received: [],
        answer: () => ({ status: 200 }),
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const key = String(req.headers['idempotency-key'] ?? '');
            const request: Received = { key, label: JSON.parse(body || '{}').label, headers: req.headers, body, at: Date.now(), status: 0 };
            const attemptOfKey = receiver.received.filter((earlier) => earlier.key === key).length + 1;
            const { status, headers } = receiver.answer(request, attemptOfKey);
            request.status = status;
            receiver.received.push(request);
            res.writeHead(status, { 'content-type': 'application/json', ...headers });
            res.end(JSON.stringify({ status }));
        });
    });
    server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    receiver.port = (server.address() as AddressInfo).port;
    receiver.url = `http://127.0.0.1:${receiver.port}`;
    return receiver;
}
