// A flood of msgs over the outbox bound of "web service out" in a real Node-RED process (issue 15): with the CRM
// down, the node keeps exactly maxQueued requests, every further msg reaches a Catch node as `queue-full`, the
// outbox file stays under the byte bound, the process stays up, and once the CRM is back every accepted request
// arrives, once. Needs `npm run build` first (the package is installed from dist/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort, startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';

const MAX_QUEUED = 50;
const MAX_QUEUED_MIB = 1;
const FLOOD = 80;

interface Sink {
    url: string;
    /** Parsed JSON bodies per path, in arrival order. */
    received: Map<string, Record<string, unknown>[]>;
    headers: http.IncomingHttpHeaders[];
    close(): Promise<void>;
}

async function startSink(port = 0): Promise<Sink> {
    const sockets = new Set<Socket>();
    const received = new Map<string, Record<string, unknown>[]>();
    const headers: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const list = received.get(req.url ?? '') ?? [];
            list.push(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
            received.set(req.url ?? '', list);
            headers.push(req.headers);
            res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        });
    });
    server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        received,
        headers,
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}

/**
 * The statuses the editor would show, from Node-RED's comms socket (it replays the retained ones on subscribe). A
 * Status node cannot see a status set while the flow starts: Node-RED collects Status nodes only after creating all.
 */
async function editorStatuses(url: string): Promise<Map<string, { text?: string; fill?: string }>> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/comms`);
    const statuses = new Map<string, { text?: string; fill?: string }>();
    await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
    });
    socket.on('message', (data) => {
        for (const event of JSON.parse(String(data)) as { topic: string; data: { text?: string; fill?: string } }[]) {
            if (event.topic.startsWith('status/')) statuses.set(event.topic.slice('status/'.length), event.data);
        }
    });
    socket.send(JSON.stringify({ subscribe: 'status/#' }));
    await until(
        () => statuses.size > 0,
        () => 'no status on the comms socket',
        5000,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.close();
    return statuses;
}

/** A function node that posts what it builds to the observer sink, so the test sees it from outside the process. */
function reporter(id: string, body: string, url: string): object[] {
    return [
        { id, z: 'tab', type: 'function', func: `return { payload: ${body} };`, outputs: 1, wires: [[`${id}-post`]] },
        {
            id: `${id}-post`,
            z: 'tab',
            type: 'http request',
            method: 'POST',
            ret: 'txt',
            paytoqs: 'ignore',
            url,
            tls: '',
            persist: false,
            proxy: '',
            authType: '',
            senderr: false,
            headers: [],
            wires: [[]],
        },
    ];
}

describe('hostile: a flood over the outbox bound of web service out, in a real Node-RED', function () {
    this.timeout(90_000);
    let nodeRed: NodeRedProcess | undefined;
    let observer: Sink | undefined;
    let crm: Sink | undefined;

    after(async () => {
        await nodeRed?.stop('SIGKILL');
        await observer?.close();
        await crm?.close();
    });

    it('queue-full reaches the Catch node, the outbox stays bounded, the process lives, and every accepted request arrives', async () => {
        observer = await startSink();
        const crmPort = await freePort();
        const ws = {
            z: 'tab',
            type: 'web-service-out',
            method: 'POST',
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{"label":"{{callerName}}","callId":"{{callId}}","filler":"{{agent}}"}',
            params: [],
            headers: [],
            form: [],
            timeout: 2,
            // About one attempt a second for a minute and a half: the requests wait while the CRM is down.
            retries: Array(90).fill('1').join(', '),
            wires: [[]],
        };
        const flows = [
            { id: 'tab', type: 'tab', label: 'queue flood' },
            { id: 'watcher', z: 'tab', type: 'status', scope: ['ws'], wires: [['statuses']] },
            ...reporter('statuses', '{ id: msg.status.source.id, text: msg.status.text, fill: msg.status.fill }', `${observer.url}/status`),
            { id: 'in', z: 'tab', type: 'http in', url: '/enqueue', method: 'post', upload: false, wires: [['set', 'answer']] },
            { id: 'answer', z: 'tab', type: 'http response', statusCode: '204', headers: {}, wires: [] },
            { id: 'set', z: 'tab', type: 'change', rules: [{ t: 'set', p: 'call', pt: 'msg', to: 'payload.call', tot: 'msg' }], wires: [['ws']] },
            { ...ws, id: 'ws', url: `http://127.0.0.1:${crmPort}/hook`, maxQueued: MAX_QUEUED, maxQueuedSize: MAX_QUEUED_MIB },
            // Bearer authentication without a token: its status must name the missing credential.
            { ...ws, id: 'no-token', url: `http://127.0.0.1:${crmPort}/hook`, authType: 'bearer' },
            { id: 'catcher', z: 'tab', type: 'catch', scope: ['ws'], uncaught: false, wires: [['caught']] },
            ...reporter('caught', '{ code: msg.error.code, message: msg.error.message, label: msg.call && msg.call.callerName }', `${observer.url}/caught`),
        ];
        const userDir = userDirWithPackage();
        nodeRed = await startNodeRed({ userDir, flows });
        const red = nodeRed;
        const outboxLog = path.join(userDir, 'ccaas-web-service', 'outbox', 'ws', 'outbox.log');
        const post = async (body: unknown): Promise<number> => {
            const response = await fetch(`${red.url}/enqueue`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(body),
                signal: AbortSignal.timeout(10_000),
            });
            return response.status;
        };
        const caught = () => observer!.received.get('/caught') ?? [];
        const statuses = () => observer!.received.get('/status') ?? [];

        // One msg bigger than the whole byte bound on its own, while the queue is still empty.
        assert.equal(await post({ call: { callId: 'huge', event: 'updated', callerName: 'HUGE', agent: 'h'.repeat(1.2 * 1024 * 1024) } }), 204);
        await until(
            () => caught().length === 1,
            () => JSON.stringify(caught()),
            10_000,
        );
        assert.equal(caught()[0]!.code, 'queue-full');
        assert.match(String(caught()[0]!.message), /more than the whole queue may keep \(maxQueuedSize 1\.00 MiB\); 0 requests are queued/);

        const labels = Array.from({ length: FLOOD }, (_, index) => `F${index}`);
        for (const label of labels) {
            assert.equal(await post({ call: { callId: `call-${label}`, event: 'updated', updateSeq: 1, callerName: label, agent: 'a'.repeat(1000) } }), 204);
        }
        const refused = labels.slice(MAX_QUEUED);
        await until(
            () => caught().length === 1 + refused.length,
            () => `${caught().length} caught`,
            20_000,
        );
        assert.deepEqual(
            caught()
                .slice(1)
                .map((entry) => entry.label),
            refused,
            'exactly the msgs beyond the bound are refused, in order',
        );
        for (const entry of caught().slice(1)) {
            assert.equal(entry.code, 'queue-full');
            assert.match(String(entry.message), new RegExp(`${MAX_QUEUED} requests are queued, the most this node keeps \\(maxQueued ${MAX_QUEUED}\\)`));
        }
        await until(
            () => statuses().some((entry) => entry.id === 'ws' && entry.text === `queue full · ${MAX_QUEUED} queued`),
            () => JSON.stringify(statuses()),
            10_000,
        );
        const shown = await editorStatuses(red.url);
        assert.deepEqual(shown.get('no-token'), { fill: 'red', shape: 'ring', text: 'missing credential: Token' });
        assert.equal(shown.get('ws')?.text, `queue full · ${MAX_QUEUED} queued`);
        // A few retry rounds with the CRM down: the log grows by retry records but stays under the byte bound.
        for (let round = 0; round < 3; round++) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const size = fs.statSync(outboxLog).size;
            assert.ok(size > MAX_QUEUED * 1000 && size < MAX_QUEUED_MIB * 1024 * 1024, `outbox.log is ${size} bytes`);
        }
        assert.match((await fetch(`${red.url}/nonexistent`)).status.toString(), /^404$/, 'the runtime still answers');

        crm = await startSink(crmPort);
        const arrived = () => crm!.received.get('/hook') ?? [];
        await until(
            () => arrived().length >= MAX_QUEUED,
            () => `${arrived().length} arrived`,
            20_000,
        );
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.deepEqual(
            arrived()
                .map((body) => body.label)
                .sort(),
            labels.slice(0, MAX_QUEUED).sort(),
            'every accepted request arrives, once',
        );
        for (const body of arrived()) assert.equal(body.filler, 'a'.repeat(1000));
        assert.equal(new Set(crm.headers.map((headers) => headers['idempotency-key'])).size, MAX_QUEUED);

        // The queue took new msgs again once it drained.
        assert.equal(await post({ call: { callId: 'call-after', event: 'updated', updateSeq: 1, callerName: 'AFTER', agent: 'x' } }), 204);
        await until(
            () => arrived().some((body) => body.label === 'AFTER'),
            () => `${arrived().length} arrived`,
            10_000,
        );
        assert.equal(caught().length, 1 + refused.length, 'nothing more was refused');
        assert.doesNotMatch(red.log(), /FATAL|out of memory|dropped/i);
    });
});
