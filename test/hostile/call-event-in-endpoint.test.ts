// Hostile input against a default "call event in" in a real Node-RED process (the package installed in its user
// directory, built by `npm run build`): each class of attack at just over and well over its bound must get its
// 400/401/413 naming the problem, and afterwards the runtime must still take a normal call and fire its trigger.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { MAX_JSON_DEPTH } from '../../src/ingest/bounded-json';
import { DEFAULT_EVENT_LIMITS } from '../../src/lifecycle/event-limits';
import { UNREAD_BODY_LINGER_MS } from '../../src/ingest/unread-body';
import { signWebhook } from '../../src/signing/standard-webhooks';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';

const SECRET = `whsec_${Buffer.from('a 32 byte key for the real test!').toString('base64')}`;
const SMALL_BODY_KIB = 64;

describe('call event in endpoint under hostile input, in a real Node-RED', function () {
    this.timeout(60_000);
    let nodeRed: NodeRedProcess;
    let sink: http.Server;
    /** Call ids of the triggers that reached the loopback sink through an http request node. */
    const triggered: string[] = [];
    let normalCalls = 0;

    before(async () => {
        sink = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                triggered.push(String((JSON.parse(Buffer.concat(chunks).toString()) as { callId?: unknown }).callId));
                res.end('ok');
            });
        });
        await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
        const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/trigger`;
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [] });
        const flows = [
            { id: 'tab', type: 'tab', label: 'hostile' },
            { id: 'small', z: 'tab', type: 'call-event-in', path: '/ccaas/call-events', maxBody: SMALL_BODY_KIB, events: ['presenting'], wires: [['sink']] },
            { id: 'roomy', z: 'tab', type: 'call-event-in', path: '/ccaas/roomy', events: ['presenting'], wires: [['sink']] },
            {
                id: 'signed',
                z: 'tab',
                type: 'call-event-in',
                path: '/ccaas/signed',
                auth: 'standard-webhooks',
                tolerance: 300,
                events: ['presenting'],
                wires: [['sink']],
                credentials: { secret: SECRET },
            },
            { id: 'sink', z: 'tab', type: 'http request', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: sinkUrl, persist: false, wires: [[]] },
        ];
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(flows),
        });
        assert.equal(deployed.status, 204);
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
    });

    after(async () => {
        await nodeRed?.stop();
        await new Promise((resolve) => sink?.close(resolve));
    });

    const post = (route: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${nodeRed.url}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
            signal: AbortSignal.timeout(15_000),
        });

    async function refused(response: Response, status: number, problem: RegExp): Promise<void> {
        const text = await response.text();
        assert.equal(response.status, status, text.slice(0, 300));
        assert.match(text, problem);
    }

    /** A normal call afterwards: 202, its trigger reaches the sink, and the process is still the one started. */
    async function normalCallIsTaken(route = '/ccaas/call-events'): Promise<void> {
        normalCalls += 1;
        const callId = `normal-${normalCalls}`;
        const response = await post(
            route,
            JSON.stringify({ type: 'presenting', callId, eventId: `${callId}-1`, timestamp: Date.now(), callerName: 'Jane Roe' }),
        );
        assert.equal(response.status, 202, await response.text());
        const started = Date.now();
        while (!triggered.includes(callId)) {
            if (Date.now() - started > 10_000) throw new Error(`the trigger of ${callId} never reached the sink`);
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
        process.kill(nodeRed.pid, 0);
    }

    const events = (count: number, callId: (index: number) => string, extra: Record<string, unknown> = {}) =>
        JSON.stringify(Array.from({ length: count }, (_, index) => ({ type: 'update', callId: callId(index), eventId: `e${index}`, ...extra })));
    const padded = (bytes: number): string => JSON.stringify({ type: 'update', callId: 'big', callerName: 'x'.repeat(bytes) });

    it('a body over the limit is a 413 at every spelling of the path Express routes to the node', async () => {
        const limit = SMALL_BODY_KIB * 1024;
        const justOver = padded(limit - 40);
        assert.ok(Buffer.byteLength(justOver) > limit && Buffer.byteLength(justOver) < limit + 64);
        const wellOver = padded(8 * 1024 * 1024);
        for (const spelling of ['/ccaas/call-events', '/ccaas/call-events/', '/Ccaas/Call-Events/', '/CCAAS/CALL-EVENTS', '/ccaas/call-events?x=1']) {
            await refused(await post(spelling, justOver), 413, new RegExp(`larger than the limit of ${limit} bytes`));
            await refused(await post(spelling, wellOver), 413, new RegExp(`larger than the limit of ${limit} bytes`));
        }
        // Streamed without a Content-Length: counted as it arrives.
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
            pull(controller) {
                if (sent >= 32) return controller.close();
                sent += 1;
                controller.enqueue(chunk);
            },
        });
        const chunked = await fetch(`${nodeRed.url}/CCAAS/call-events/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: stream,
            duplex: 'half',
            signal: AbortSignal.timeout(15_000),
        } as RequestInit);
        await refused(chunked, 413, /larger than the limit/);
        // Express does not decode a path to route it: this spelling never reaches the node (nor is taken).
        const encoded = await post('/%63caas/call-events', justOver);
        assert.ok(encoded.status === 404 || encoded.status === 413, String(encoded.status));
        await normalCallIsTaken('/Ccaas/Call-Events/');
    });

    it('a sender that goes on streaming past the limit gets its 413, then its connection closed after the linger', async () => {
        const { hostname, port } = new URL(nodeRed.url);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        for (const framing of ['declared', 'chunked'] as const) {
            const socket = net.connect(Number(port), hostname);
            await once(socket, 'connect');
            let answer = '';
            let answeredAt = 0;
            let closedAt = 0;
            socket.on('data', (data: Buffer) => {
                answeredAt ||= Date.now();
                answer += data.toString('latin1');
            });
            socket.on('close', () => (closedAt = Date.now()));
            // The server closing while this side still writes shows as EPIPE or ECONNRESET.
            socket.on('error', () => undefined);
            const length = framing === 'declared' ? 'Content-Length: 1073741824' : 'Transfer-Encoding: chunked';
            socket.write(`POST /ccaas/call-events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
            const piece = framing === 'declared' ? chunk : Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
            // A body without end, bounded here in time (20 s) and so in bytes (64 KiB every 10 ms).
            const started = Date.now();
            while (!closedAt && Date.now() - started < 20_000) {
                if (!socket.write(piece)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]).catch(() => undefined);
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
            assert.ok(closedAt, `${framing}: the server never closed the connection`);
            assert.match(answer, /^HTTP\/1\.1 413 /, answer.slice(0, 200));
            assert.match(answer, new RegExp(`larger than the limit of ${SMALL_BODY_KIB * 1024} bytes`));
            // Answered while the body was still coming, and closed after the linger, not at once nor at the timeout.
            assert.ok(answeredAt - started < 2000, `${framing}: answered after ${answeredAt - started} ms`);
            const lingered = closedAt - answeredAt;
            assert.ok(lingered >= UNREAD_BODY_LINGER_MS - 200 && lingered < UNREAD_BODY_LINGER_MS + 5000, `${framing}: closed ${lingered} ms after the answer`);
        }
        await normalCallIsTaken();
    });

    it('a body nested deeper than the bound is a 400 naming it, before it is parsed', async () => {
        for (const depth of [MAX_JSON_DEPTH + 1, 30_000]) {
            await refused(
                await post('/ccaas/call-events', `${'['.repeat(depth)}${']'.repeat(depth)}`),
                400,
                new RegExp(`deeper than the limit of ${MAX_JSON_DEPTH} levels`),
            );
        }
        await normalCallIsTaken();
    });

    it('more events than the bound is a 413 naming it', async () => {
        for (const count of [DEFAULT_EVENT_LIMITS.maxEvents + 1, 15_000]) {
            await refused(
                await post(
                    '/ccaas/roomy',
                    events(count, (index) => `many-${index % 10}`),
                ),
                413,
                new RegExp(`has ${count} events, over the limit of ${DEFAULT_EVENT_LIMITS.maxEvents} per request`),
            );
        }
        await normalCallIsTaken('/ccaas/roomy');
    });

    it("a replayed webhook-id is a 401, once or many times, for our signatures and the reference library's", async () => {
        const body = JSON.stringify({ type: 'presenting', callId: 'signed-1', eventId: 's1' });
        const ours = { ...signWebhook(SECRET, 'msg_hostile_1', Date.now() / 1000, body) };
        assert.equal((await post('/ccaas/signed', body, ours)).status, 202);
        for (let replay = 0; replay < 50; replay += 1) await refused(await post('/ccaas/signed', body, ours), 401, /replayed webhook-id/);
        const at = new Date();
        const theirs = {
            'webhook-id': 'msg_hostile_2',
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': new Webhook(SECRET).sign('msg_hostile_2', at, body),
        };
        assert.equal((await post('/ccaas/signed', body, theirs)).status, 202);
        await refused(await post('/ccaas/signed', body, theirs), 401, /replayed webhook-id/);
        const fresh = JSON.stringify({ type: 'presenting', callId: 'signed-2', eventId: 's2' });
        assert.equal((await post('/ccaas/signed', fresh, { ...signWebhook(SECRET, 'msg_hostile_3', Date.now() / 1000, fresh) })).status, 202);
        await normalCallIsTaken();
    });

    describe('bounds that call tracking enforces (the limits of src/lifecycle/event-limits.ts)', () => {
        const callRecordBound = new RegExp(`over the limit of (${DEFAULT_EVENT_LIMITS.maxCallBytes}|${DEFAULT_EVENT_LIMITS.maxCallBytes / 1024} KiB)`);
        it('each oversized text field is a 413 naming the event, the field and the bound', async () => {
            const { maxIdLength, maxTextLength } = DEFAULT_EVENT_LIMITS;
            const cases: Array<[string, Record<string, unknown>, number]> = [
                ['callId', { callId: 'c'.repeat(maxIdLength + 1) }, maxIdLength],
                ['callId', { callId: 'c'.repeat(200_000) }, maxIdLength],
                ['eventId', { eventId: 'e'.repeat(maxIdLength + 1) }, maxIdLength],
                ['callerName', { callerName: 'n'.repeat(maxTextLength + 1) }, maxTextLength],
                ['callerName', { callerName: 'n'.repeat(500_000) }, maxTextLength],
                ['externalNumber', { externalNumber: '1'.repeat(maxTextLength + 1) }, maxTextLength],
                ['group', { group: 'g'.repeat(maxTextLength + 1) }, maxTextLength],
                ['agent.name', { agent: { name: 'a'.repeat(maxTextLength + 1) } }, maxTextLength],
                ['tags', { tags: ['t'.repeat(maxTextLength + 1)] }, maxTextLength],
            ];
            for (const [field, fields, bound] of cases) {
                const body = JSON.stringify([
                    { type: 'update', callId: 'fine', eventId: 'ok' },
                    { type: 'update', callId: 'oversized', ...fields },
                ]);
                await refused(await post('/ccaas/roomy', body), 413, new RegExp(`event 1: ${field.replace('.', '\\.')}\\b.*\\b${bound}\\b`));
            }
            await normalCallIsTaken('/ccaas/roomy');
        });

        it('too many list members in one event is a 413 naming the list and the bound', async () => {
            const { maxListMembers } = DEFAULT_EVENT_LIMITS;
            for (const count of [maxListMembers + 1, 20_000]) {
                const body = JSON.stringify({ type: 'update', callId: 'listy', tags: Array.from({ length: count }, (_, index) => `t${index}`) });
                await refused(await post('/ccaas/roomy', body), 413, new RegExp(`event 0: tags\\b.*\\b${maxListMembers}\\b`));
            }
            await normalCallIsTaken('/ccaas/roomy');
        });

        it('a call whose record would pass its bound is a 413 and keeps what it had; other calls go on', async () => {
            // Each request adds 90 tags of 200 characters (about 18 KiB) to one call: the fourth passes 64 KiB.
            let refusal: Response | undefined;
            for (let round = 0; round < 20 && !refusal; round += 1) {
                const tags = Array.from({ length: 90 }, (_, index) => `${round}-${index}-${'t'.repeat(190)}`);
                const response = await post('/ccaas/roomy', JSON.stringify({ type: 'update', callId: 'growing', eventId: `g${round}`, tags }));
                if (response.status !== 202) refusal = response;
            }
            assert.ok(refusal, 'the call record bound was never reached');
            await refused(refusal, 413, callRecordBound);
            await normalCallIsTaken('/ccaas/roomy');
        });

        it('a ~1 MB body of recording events for one call is refused whole, and the runtime stays responsive', async () => {
            for (const count of [40, 480]) {
                const body = JSON.stringify(
                    Array.from({ length: count }, (_, index) => ({
                        type: 'recording',
                        callId: `recorded-${count}`,
                        eventId: `r${index}`,
                        recordingUrl: `https://recordings.example.com/${index}/${'r'.repeat(2000)}`,
                    })),
                );
                assert.ok(Buffer.byteLength(body) < 1024 * 1024);
                await refused(await post('/ccaas/roomy', body), 413, callRecordBound);
            }
            const editor = await fetch(`${nodeRed.url}/flows`, { signal: AbortSignal.timeout(5000) });
            assert.equal(editor.status, 200);
            await normalCallIsTaken('/ccaas/roomy');
        });
    });
});
