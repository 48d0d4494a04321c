// The outbox of "web service out" across a SIGKILL of a real Node-RED process (issue 6): requests pending at the kill
// arrive after the restart, a request in flight at the kill is the only one that arrives twice, and every copy of a
// request carries the same idempotency key.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';

interface Arrival {
    label: string;
    key: string;
    /** 0 while the receiver holds the request without answering. */
    status: number;
}

describe('web service out: a SIGKILL of Node-RED while requests are pending', function () {
    this.timeout(120_000);
    let nodeRed: NodeRedProcess | undefined;
    let server: http.Server;
    const sockets = new Set<Socket>();
    const arrivals: Arrival[] = [];
    /** Before the kill: A1 is delivered, B1 is held unanswered (in flight at the kill), the rest fail with 503. */
    let phase: 'before-kill' | 'after-restart' = 'before-kill';
    let url = '';

    before(async () => {
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const arrival: Arrival = {
                    label: JSON.parse(Buffer.concat(chunks).toString('utf8')).label,
                    key: String(req.headers['idempotency-key']),
                    status: 0,
                };
                arrivals.push(arrival);
                if (phase === 'before-kill' && arrival.label === 'B1') return;
                arrival.status = phase === 'after-restart' || arrival.label === 'A1' ? 200 : 503;
                res.writeHead(arrival.status, { 'content-type': 'application/json' }).end('{}');
            });
        });
        server.on('connection', (socket: Socket) => {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
        await nodeRed?.stop('SIGKILL');
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
    });

    it('every request arrives after the restart; only the one in flight twice; all copies under one key', async () => {
        const flows = [
            { id: 'tab', type: 'tab', label: 'kill test' },
            { id: 'in', z: 'tab', type: 'http in', url: '/enqueue', method: 'post', upload: false, wires: [['set', 'answer']] },
            { id: 'answer', z: 'tab', type: 'http response', statusCode: '204', headers: {}, wires: [] },
            {
                id: 'set',
                z: 'tab',
                type: 'change',
                rules: [
                    { t: 'set', p: 'call', pt: 'msg', to: 'payload.call', tot: 'msg' },
                    { t: 'set', p: 'topic', pt: 'msg', to: 'Call is Updated', tot: 'str' },
                ],
                wires: [['ws']],
            },
            {
                id: 'ws',
                z: 'tab',
                type: 'web-service-out',
                url: `${url}/hook`,
                method: 'POST',
                bodyType: 'custom',
                contentType: 'application/json',
                body: '{"label":"{{callerName}}"}',
                params: [],
                headers: [],
                form: [],
                // Long enough that B1 is still in flight when the process is killed.
                timeout: 60,
                retries: Array(100).fill('0.2').join(', '),
                wires: [[]],
            },
        ];
        const userDir = userDirWithPackage();
        nodeRed = await startNodeRed({ userDir, flows });
        const red = nodeRed;
        // Three calls half-way through their life: each trigger is one request, in this order.
        const triggers = [
            ['call-A', 'A1'],
            ['call-B', 'B1'],
            ['call-A', 'A2'],
            ['call-C', 'C1'],
            ['call-A', 'A3'],
            ['call-B', 'B2'],
        ];
        for (const [index, [callId, label]] of triggers.entries()) {
            const response = await fetch(`${red.url}/enqueue`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ call: { callId, event: 'updated', updateSeq: index + 1, callerName: label } }),
                signal: AbortSignal.timeout(5000),
            });
            assert.equal(response.status, 204);
        }
        const seen = (label: string) => arrivals.filter((arrival) => arrival.label === label);
        await until(
            () => seen('A1').length === 1 && seen('B1').length === 1 && seen('A2').length >= 2 && seen('C1').length >= 2,
            () => JSON.stringify(arrivals),
            20_000,
        );
        // A3 and B2 wait behind A2 and B1 and were never attempted; a beat more lets the retry counts reach the disk.
        assert.deepEqual([seen('A3').length, seen('B2').length], [0, 0]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await red.stop('SIGKILL');
        nodeRed = undefined;
        const beforeRestart = arrivals.length;

        phase = 'after-restart';
        nodeRed = await startNodeRed({ userDir });
        const labels = triggers.map(([, label]) => label!);
        const delivered = () => arrivals.filter((arrival) => arrival.status === 200);
        await until(
            () => delivered().length >= labels.length,
            () => JSON.stringify(arrivals),
            20_000,
        );
        // Anything extra would arrive right behind.
        await new Promise((resolve) => setTimeout(resolve, 1000));

        assert.deepEqual(
            delivered()
                .map((arrival) => arrival.label)
                .sort(),
            [...labels].sort(),
            'each request delivered exactly once',
        );
        const afterRestart = arrivals.slice(beforeRestart);
        assert.deepEqual(
            afterRestart.map((arrival) => arrival.label).sort(),
            ['A2', 'A3', 'B1', 'B2', 'C1'],
            'A1 was delivered before the kill and not sent again',
        );
        assert.deepEqual(
            labels.filter((label) => seen(label).filter((arrival) => arrival.status !== 503).length > 1),
            ['B1'],
            'the request in flight at the kill is the only duplicate',
        );
        for (const label of labels) assert.equal(new Set(seen(label).map((arrival) => arrival.key)).size, 1, `${label} kept its key`);
        assert.equal(new Set(arrivals.map((arrival) => arrival.key)).size, labels.length, 'one key per trigger');
        const order = delivered().map((arrival) => arrival.label);
        for (const call of ['A', 'B']) {
            assert.deepEqual(
                order.filter((label) => label.startsWith(call)),
                labels.filter((label) => label.startsWith(call)),
                `call ${call} in order`,
            );
        }
        assert.doesNotMatch(nodeRed.log(), /outbox.*dropped/);
    });
});
