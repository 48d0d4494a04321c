// The whole promise of issue 6 in one run: call event in -> web service out in a real Node-RED, SIGKILLed while the
// CRM is down (requests waiting in the outbox) and calls are half-way through their life (complete, recording still
// to come). After the restart every trigger reaches the CRM exactly once, in each call's order, every attempt of
// one trigger under one idempotency key.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';

interface Attempt {
    trigger: string;
    key: string;
    status: number;
}

describe('call event in -> web service out: a SIGKILL while the CRM is down and calls are half-way', function () {
    this.timeout(120_000);
    let nodeRed: NodeRedProcess | undefined;
    let server: http.Server;
    let crmUp = false;
    const attempts: Attempt[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { callId: string; event: string; updateSeq: string };
                const status = crmUp ? 200 : 503;
                attempts.push({
                    trigger: `${body.callId}:${body.event}${body.updateSeq ? `#${body.updateSeq}` : ''}`,
                    key: String(req.headers['idempotency-key']),
                    status,
                });
                res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    after(async () => {
        await nodeRed?.stop('SIGKILL');
        await new Promise((resolve) => server.close(resolve));
    });

    async function post(red: NodeRedProcess, events: object[]): Promise<void> {
        const answer = await fetch(`${red.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events),
            signal: AbortSignal.timeout(10_000),
        });
        assert.equal(answer.status, 202, await answer.text());
    }

    it('every trigger arrives once after the restart, in order, under one key per trigger', async () => {
        const crm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`;
        const flows = [
            { id: 'tab', type: 'tab', label: 'pipeline kill test' },
            {
                id: 'events',
                z: 'tab',
                type: 'call-event-in',
                path: '/events',
                source: 'raw',
                events: [],
                auth: 'none',
                recordingWait: 15,
                retention: 60,
                maxCalls: 1000,
                wires: [['send']],
            },
            {
                id: 'send',
                z: 'tab',
                type: 'web-service-out',
                url: crm,
                method: 'POST',
                bodyType: 'custom',
                contentType: 'application/json',
                body: '{"callId":"{{callId}}","event":"{{event}}","updateSeq":"{{updateSeq}}"}',
                params: [],
                headers: [],
                form: [],
                timeout: 5,
                retries: Array(200).fill('0.2').join(', '),
                wires: [[]],
            },
        ];
        const userDir = userDirWithPackage();
        nodeRed = await startNodeRed({ userDir, flows });
        const agent = { name: 'John Doe', extension: '154' };
        // call-1 completes waiting for one recording; call-2 is answered and still talking.
        await post(nodeRed, [
            { type: 'presenting', callId: 'call-1', eventId: 'c1-p', agent, direction: 'Inbound' },
            { type: 'connected', callId: 'call-1', eventId: 'c1-c', agent },
            { type: 'presenting', callId: 'call-2', eventId: 'c2-p', agent, direction: 'Outbound' },
            { type: 'complete', callId: 'call-1', eventId: 'c1-x', pendingRecordings: 1 },
            { type: 'connected', callId: 'call-2', eventId: 'c2-c', agent },
        ]);
        const tried = (trigger: string) => attempts.filter((attempt) => attempt.trigger === trigger);
        // The heads of both calls' queues are being retried against the down CRM; the rest wait behind them.
        await until(
            () => tried('call-1:presenting').length >= 2 && tried('call-2:presenting').length >= 2,
            () => JSON.stringify(attempts),
            20_000,
        );
        assert.deepEqual([tried('call-1:connected').length, tried('call-1:complete').length, tried('call-2:connected').length], [0, 0, 0]);
        await nodeRed.stop('SIGKILL');
        nodeRed = undefined;

        crmUp = true;
        nodeRed = await startNodeRed({ userDir });
        // The rest of both lives, after the restart: call-1's recording, then call-2 ends with none pending.
        await post(nodeRed, [
            { type: 'recording', callId: 'call-1', eventId: 'c1-r', recordingUrl: 'https://recordings.example.com/call-1.wav' },
            { type: 'complete', callId: 'call-2', eventId: 'c2-x', pendingRecordings: 0 },
        ]);
        const expected: Record<string, string[]> = {
            'call-1': ['call-1:presenting', 'call-1:connected', 'call-1:complete', 'call-1:processed', 'call-1:updated#1'],
            'call-2': ['call-2:presenting', 'call-2:connected', 'call-2:complete', 'call-2:processed', 'call-2:updated#1'],
        };
        const delivered = () => attempts.filter((attempt) => attempt.status === 200);
        await until(
            () => delivered().length >= 10,
            () => JSON.stringify(delivered()),
            30_000,
        );
        // Anything sent twice would follow right behind.
        await new Promise((resolve) => setTimeout(resolve, 1000));

        for (const [callId, triggers] of Object.entries(expected)) {
            assert.deepEqual(
                delivered()
                    .filter((attempt) => attempt.trigger.startsWith(`${callId}:`))
                    .map((attempt) => attempt.trigger),
                triggers,
                `${callId}: every trigger once, in order`,
            );
        }
        const triggers = Object.values(expected).flat();
        for (const trigger of triggers)
            assert.equal(new Set(tried(trigger).map((attempt) => attempt.key)).size, 1, `${trigger}: one key over all its attempts`);
        assert.equal(new Set(attempts.map((attempt) => attempt.key)).size, triggers.length, 'a different key per trigger');
        assert.match(nodeRed.log(), /restored the state of 2 calls/);
    });
});
