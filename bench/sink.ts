// The web service every scenario posts to, in its own process so its CPU is not the Node-RED process's. It answers
// 200 to every POST and keeps, per round, what arrived: how many, which calls (to count duplicates), and the latency
// of each request from the time stamp its event carried (process.hrtime is CLOCK_MONOTONIC, the same clock in every
// process on the machine).
// Commands arrive over IPC from bench/sink-control.ts; progress (requests received so far) goes back every few
// milliseconds, which is how the load client keeps a bounded number of events in flight end to end.
import http from 'node:http';
import type net from 'node:net';

export type SinkCommand = { cmd: 'reset' } | { cmd: 'report' } | { cmd: 'down' } | { cmd: 'up' } | { cmd: 'exit' };

export interface SinkReport {
    received: number;
    distinctCalls: number;
    /** Requests whose body had no readable `sent` stamp or `callId`. */
    unreadable: number;
    /** hrtime (ns, as a string) of the first and last request of the round. */
    firstAt?: string;
    lastAt?: string;
    /** Microseconds from the event's stamp to the request's arrival, sorted. */
    latencyPercentilesUs: { p50: number; p90: number; p99: number; max: number } | null;
}

export type SinkMessage =
    { type: 'listening'; port: number } | { type: 'progress'; received: number } | { type: 'report'; report: SinkReport } | { type: 'ack'; cmd: string };

const ANSWER = Buffer.from('{"ok":true}');

let received = 0;
let unreadable = 0;
let calls = new Set<string>();
let latencies = new Float64Array(1 << 16);
let firstAt: bigint | undefined;
let lastAt: bigint | undefined;
let reportedReceived = -1;

function reply(message: SinkMessage): void {
    process.send?.(message);
}

function record(body: Buffer, at: bigint): void {
    received += 1;
    firstAt ??= at;
    lastAt = at;
    let parsed: { callId?: unknown; sent?: unknown };
    try {
        parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
        unreadable += 1;
        return;
    }
    if (typeof parsed.callId !== 'string' || (typeof parsed.sent !== 'string' && typeof parsed.sent !== 'number')) {
        unreadable += 1;
        return;
    }
    calls.add(parsed.callId);
    const sentNs = BigInt(parsed.sent);
    const index = calls.size - 1;
    if (index >= latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
    }
    latencies[calls.size - 1] = Number(at - sentNs) / 1000;
}

function percentiles(): SinkReport['latencyPercentilesUs'] {
    const count = calls.size;
    if (count === 0) return null;
    const sorted = latencies.slice(0, count).sort();
    const at = (q: number): number => sorted[Math.min(count - 1, Math.ceil(q * count) - 1)];
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[count - 1] };
}

const sockets = new Set<net.Socket>();
const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
        record(Buffer.concat(chunks), process.hrtime.bigint());
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': ANSWER.length }).end(ANSWER);
    });
});
server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
});
// The default backlog would refuse connections in a burst of thousands; the kernel caps it at somaxconn anyway.
const BACKLOG = 4096;
let port = Number(process.env.SINK_PORT ?? 0);

server.listen(port, '127.0.0.1', BACKLOG, () => {
    port = (server.address() as net.AddressInfo).port;
    reply({ type: 'listening', port });
});

const progress = setInterval(() => {
    if (received !== reportedReceived) {
        reportedReceived = received;
        reply({ type: 'progress', received });
    }
}, 5);

process.on('message', (message: SinkCommand) => {
    switch (message.cmd) {
        case 'reset':
            received = 0;
            unreadable = 0;
            calls = new Set();
            firstAt = undefined;
            lastAt = undefined;
            reportedReceived = -1;
            reply({ type: 'ack', cmd: 'reset' });
            break;
        case 'report':
            reply({
                type: 'report',
                report: {
                    received,
                    distinctCalls: calls.size,
                    unreadable,
                    firstAt: firstAt?.toString(),
                    lastAt: lastAt?.toString(),
                    latencyPercentilesUs: percentiles(),
                },
            });
            break;
        case 'down':
            // Down as a crashed service is: connections refused, open ones reset.
            server.close();
            for (const socket of sockets) socket.destroy();
            reply({ type: 'ack', cmd: 'down' });
            break;
        case 'up':
            server.listen(port, '127.0.0.1', BACKLOG, () => reply({ type: 'ack', cmd: 'up' }));
            break;
        case 'exit':
            clearInterval(progress);
            server.close();
            for (const socket of sockets) socket.destroy();
            process.exit(0);
    }
});
process.on('disconnect', () => process.exit(0));
