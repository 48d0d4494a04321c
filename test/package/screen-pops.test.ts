// A call that rings two agents (the first does not answer, the second does) and is then transferred to a third:
// call event in -> web service out in a real Node-RED gives a screen pop per ring and an answer per answer, each
// under a key of its own, the same key on every attempt. A receiver that drops repeated keys keeps every one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';

interface Arrival {
    key: string;
    body: { event: string; eventSeq: string; agent: string };
    status: number;
}

describe('call event in -> web service out: one key per ring and per answer', function () {
    this.timeout(60_000);
    let nodeRed: NodeRedProcess | undefined;
    let crm: http.Server;
    let userDir: string | undefined;
    const arrivals: Arrival[] = [];

    before(async () => {
        crm = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const key = String(req.headers['idempotency-key']);
                // The first attempt of each request fails, so every key is seen on a retry too.
                const status = arrivals.some((arrival) => arrival.key === key) ? 200 : 503;
                arrivals.push({ key, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), status });
                res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
            });
        });
        await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
    });

    after(async () => {
        await nodeRed?.stop();
        await new Promise((resolve) => crm.close(resolve));
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    it('three rings and two answers arrive as five requests under five keys', async () => {
        userDir = userDirWithPackage();
        nodeRed = await startNodeRed({
            userDir,
            flows: [
                { id: 'tab', type: 'tab', label: 'screen pops' },
                {
                    id: 'events',
                    z: 'tab',
                    type: 'call-event-in',
                    path: '/events',
                    source: 'raw',
                    events: ['presenting', 'connected'],
                    auth: 'none',
                    wires: [['send']],
                },
                {
                    id: 'send',
                    z: 'tab',
                    type: 'web-service-out',
                    url: `http://127.0.0.1:${(crm.address() as AddressInfo).port}/screen-pop`,
                    method: 'POST',
                    bodyType: 'custom',
                    contentType: 'application/json',
                    body: '{"event": "{{event}}", "eventSeq": "{{eventSeq}}", "agent": "{{agent}}"}',
                    authType: 'none',
                    retries: '100ms, 100ms',
                    wires: [[]],
                },
            ],
        });
        const ring = (eventId: string, at: number, name: string) => ({
            type: 'presenting',
            callId: 'two-agents',
            eventId,
            timestamp: at,
            agent: { name },
            direction: 'Inbound',
        });
        const answer = (eventId: string, at: number, name: string) => ({ type: 'connected', callId: 'two-agents', eventId, timestamp: at, agent: { name } });
        const posted = await fetch(`${nodeRed.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([
                ring('ring-1', 1000, 'First'),
                ring('ring-2', 21_000, 'Second'),
                answer('answer-2', 25_000, 'Second'),
                ring('ring-3', 60_000, 'Third'),
                answer('answer-3', 65_000, 'Third'),
            ]),
            signal: AbortSignal.timeout(5000),
        });
        assert.equal(posted.status, 202, await posted.text());
        await until(() => arrivals.filter((arrival) => arrival.status === 200).length >= 5, 'five delivered', 20_000);

        const delivered = arrivals.filter((arrival) => arrival.status === 200);
        assert.deepEqual(
            delivered.map((arrival) => `${arrival.body.event} ${arrival.body.eventSeq} ${arrival.body.agent}`),
            ['presenting 1 First', 'presenting 2 Second', 'connected 1 Second', 'presenting 3 Third', 'connected 2 Third'],
            'in the call order',
        );
        assert.equal(new Set(delivered.map((arrival) => arrival.key)).size, 5, 'five keys');
        for (const arrival of delivered) {
            const tries = arrivals.filter((other) => other.key === arrival.key);
            assert.deepEqual(
                tries.map((other) => [other.status, other.body]),
                [
                    [503, arrival.body],
                    [200, arrival.body],
                ],
                'the retry of one request carries its key, and only its own',
            );
        }
    });
});
