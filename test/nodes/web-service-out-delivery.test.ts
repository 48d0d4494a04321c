// Delivery guarantees of "web service out" (issue 6), against a receiver on 127.0.0.1 whose answers each test
// scripts: retries, Retry-After, per-call order, the outbox across a redeploy and a torn file, signing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { OutboxEntry } from '../../src/delivery/outbox';
import { noteReserveOf } from '../../src/delivery/delivery-queue';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { verifyWebhook } from '../../src/signing/standard-webhooks';
import { openFileStore } from '../../src/store/file-store';
import { nodeFileSystem, type StoreFile } from '../../src/store/store-file-system';
import { freePort } from '../support/node-red-process';
import { catchNode, collect, freshUserDir, helper, lastStatusOf, nodeModule, warningsLogged } from '../support/node-red-runtime';
import { startReceiver, type Receiver } from '../support/scripted-receiver';
import { until } from '../support/wait';

const webServiceOut = [nodeModule('web-service-out'), catchNode];
const SECRET = `whsec_${Buffer.from('a 32 byte key for the node test!').toString('base64')}`;

type Msg = Record<string, any>;

function flow(url: string, node: Record<string, unknown> = {}): object[] {
    return [
        { id: 'tab', type: 'tab' },
        {
            id: 'ws',
            z: 'tab',
            type: 'web-service-out',
            url: `${url}/hook`,
            method: 'POST',
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{"label":"{{callerName}}","callId":"{{callId}}"}',
            params: [],
            headers: [],
            form: [],
            timeout: 2,
            retries: '0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05',
            failureOutput: true,
            outputs: 2,
            wires: [['out'], ['failed']],
            ...node,
        },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'failed', z: 'tab', type: 'helper' },
        { id: 'catcher', z: 'tab', type: 'catch', scope: ['ws'], uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'tab', type: 'helper' },
    ];
}

/** A triggered call: `label` names the request in the receiver's log. */
function trigger(callId: string, label: string, updateSeq: number): Msg {
    return { topic: 'Call is Updated', call: { callId, event: 'updated', updateSeq, callerName: label }, payload: { label } };
}

const delivered = (receiver: Receiver) => receiver.received.filter((request) => request.status === 200);

describe('web service out: delivery guarantees', function () {
    this.timeout(20_000);
    let userDir: string;
    let receiver: Receiver | undefined;
    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(() => {
        userDir = freshUserDir();
    });
    afterEach(async () => {
        await helper.unload();
        await receiver?.close();
        receiver = undefined;
    });

    it('receiver down (connection refused), then up: every request arrives once, with its key, in call order', async () => {
        const port = await freePort();
        await helper.load(webServiceOut, flow(`http://127.0.0.1:${port}`));
        const out = collect('out');
        const caught = collect('caught');
        const node = helper.getNode('ws');
        const labels = ['A1', 'B1', 'A2', 'C1', 'A3', 'B2'];
        for (const [index, label] of labels.entries()) node.receive(trigger(`call-${label[0]}`, label, index + 1));
        // Refused for a while: several attempts each, all still queued.
        await until(
            () => /^6 queued · retrying in/.test(node.status.lastCall?.args[0].text ?? ''),
            () => JSON.stringify(node.status.lastCall?.args),
            3000,
        );
        await new Promise((resolve) => setTimeout(resolve, 250));
        assert.equal(out.length, 0);
        receiver = await startReceiver(port);
        await until(
            () => out.length === 6,
            () => `${out.length} delivered`,
            5000,
        );
        assert.equal(receiver.received.length, 6, 'each request arrived exactly once');
        assert.deepEqual(new Set(receiver.received.map((request) => request.label)), new Set(labels));
        for (const call of ['A', 'B']) {
            assert.deepEqual(
                receiver.received.filter((request) => request.label.startsWith(call)).map((request) => request.label),
                labels.filter((label) => label.startsWith(call)),
            );
        }
        assert.equal(new Set(receiver.received.map((request) => request.key)).size, 6, 'one key per trigger');
        for (const msg of out) {
            // The first request of each call was refused several times; the ones behind it waited without trying.
            if (['A1', 'B1', 'C1'].includes(msg.call.callerName)) assert.ok(msg.delivery.attempts > 1, `attempts ${msg.delivery.attempts}`);
            else assert.equal(msg.delivery.attempts, 1);
            assert.equal(msg.delivery.idempotencyKey, receiver.received.find((request) => request.label === msg.call.callerName)!.key);
            assert.ok(msg.delivery.totalMs >= 250);
            assert.equal(typeof msg.delivery.queuedAt, 'number');
            assert.equal(msg.statusCode, 200);
        }
        assert.equal(caught.length, 0);
        await until(() => /^200 · /.test(node.status.lastCall?.args[0].text ?? ''), "/^200 · /.test(node.status.lastCall?.args[0].text ?? '')", 1000);
        assert.deepEqual(fs.readdirSync(nodeStateDirectory(userDir, 'outbox', 'ws')), ['outbox.log']);
    });

    it('503 with Retry-After, then 200: the wait is honoured, every request arrives', async () => {
        receiver = await startReceiver();
        receiver.answer = (_request, attempt) => (attempt === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 });
        await helper.load(webServiceOut, flow(receiver.url));
        const out = collect('out');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        helper.getNode('ws').receive(trigger('call-B', 'B1', 1));
        await until(
            () => out.length === 2,
            () => `${out.length} delivered`,
            5000,
        );
        assert.equal(receiver.received.length, 4);
        const { received } = receiver;
        for (const label of ['A1', 'B1']) {
            const [first, second] = received.filter((request) => request.label === label);
            assert.deepEqual([first!.status, second!.status], [503, 200]);
            assert.equal(first!.key, second!.key);
            assert.ok(second!.at - first!.at >= 950, `${label} waited ${second!.at - first!.at} ms, not the 50 ms of the schedule`);
        }
        assert.deepEqual(
            out.map((msg) => msg.delivery.attempts),
            [2, 2],
        );
    });

    it('per-call order holds while the first request of a call is retried; other calls go on', async () => {
        receiver = await startReceiver();
        receiver.answer = (request, attempt) => (request.label === 'A1' && attempt <= 3 ? { status: 500 } : { status: 200 });
        await helper.load(webServiceOut, flow(receiver.url, { concurrency: 2 }));
        const out = collect('out');
        const node = helper.getNode('ws');
        for (const [index, label] of ['A1', 'A2', 'B1', 'A3', 'B2'].entries()) node.receive(trigger(`call-${label[0]}`, label, index + 1));
        await until(
            () => out.length === 5,
            () => `${out.length} delivered`,
            5000,
        );
        assert.deepEqual(
            delivered(receiver)
                .filter((request) => request.label.startsWith('A'))
                .map((request) => request.label),
            ['A1', 'A2', 'A3'],
        );
        assert.equal(receiver.received.filter((request) => request.label === 'A1').length, 4);
        assert.equal(receiver.received.length, 8, 'A1 four times, every other request once');
        const order = delivered(receiver).map((request) => request.label);
        assert.ok(order.indexOf('B2') < order.indexOf('A1'), `B did not wait for A: ${order.join(' ')}`);
        assert.deepEqual(
            out.map((msg) => [msg.call.callerName, msg.delivery.attempts]).filter(([label]) => label === 'A1'),
            [['A1', 4]],
        );
    });

    it('a 400 is not retried: one request, one Catch, one failure message that can be replayed', async () => {
        receiver = await startReceiver();
        receiver.answer = () => ({ status: 400 });
        await helper.load(webServiceOut, flow(receiver.url));
        const caught = collect('caught');
        const failed = collect('failed');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        await until(() => caught.length === 1 && failed.length === 1, 'caught.length === 1 && failed.length === 1', 3000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(receiver.received.length, 1);
        assert.equal(caught.length, 1);
        const [msg] = failed;
        assert.equal(msg!.error.code, 'http-4xx');
        assert.equal(msg!.delivery.attempts, 1);
        assert.equal(msg!.request.url, `${receiver.url}/hook`);
        assert.deepEqual(msg!.payload, { label: 'A1' });
        assert.equal(msg!.call.callerName, 'A1');
        assert.equal(fs.readFileSync(path.join(nodeStateDirectory(userDir, 'outbox', 'ws'), 'outbox.log')).length > 0, true);

        // The failure message, fixed and sent back in, goes out again under the same key.
        receiver.answer = () => ({ status: 200 });
        const out = collect('out');
        helper.getNode('ws').receive(msg!);
        await until(() => out.length === 1, 'out.length === 1', 3000);
        assert.equal(receiver.received[1]!.key, receiver.received[0]!.key);
    });

    it('after the last retry a 5xx is a final failure that says how many attempts were made', async () => {
        receiver = await startReceiver();
        receiver.answer = () => ({ status: 502 });
        await helper.load(webServiceOut, flow(receiver.url, { retries: '0.05, 0.05' }));
        const caught = collect('caught');
        const failed = collect('failed');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        await until(() => caught.length === 1, 'caught.length === 1', 3000);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(receiver.received.length, 3);
        assert.equal(caught.length, 1);
        assert.equal(caught[0]!.error.code, 'http-5xx');
        assert.match(caught[0]!.error.message, /gave up after 3 attempts/);
        assert.equal(failed[0]!.delivery.attempts, 3);
        // Throttled: the failure is shown once the status interval ends, which may be after the 200 ms above.
        const statusText = (): string => lastStatusOf(helper.getNode('ws'))?.text ?? '';
        await until(() => /^http-5xx 502 · /.test(statusText()), statusText, 2000);
    });

    it('a truncated outbox on start: the intact entries are delivered and the node says what it dropped', async () => {
        receiver = await startReceiver();
        const directory = nodeStateDirectory(userDir, 'outbox', 'ws');
        const store = await openFileStore<OutboxEntry>({ directory, name: 'outbox' });
        const queuedAt = Date.now() - 5000;
        for (const [seq, label] of ['A1', 'B1', 'A2'].entries()) {
            await store.put(String(seq), {
                call: { callId: `call-${label[0]}`, event: 'updated', updateSeq: seq + 1, callerName: label },
                topic: 'Call is Updated',
                payload: { label },
                idempotencyKey: `key-${label}`,
                attempts: 1,
                queuedAt,
                seq,
            });
        }
        await store.close();
        const log = path.join(directory, 'outbox.log');
        fs.truncateSync(log, fs.statSync(log).size - 7);

        await helper.load(webServiceOut, flow(receiver.url));
        const out = collect('out');
        await until(
            () => out.length === 2,
            () => `${out.length} delivered`,
            3000,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(
            receiver.received.map((request) => [request.label, request.key]),
            [
                ['A1', 'key-A1'],
                ['B1', 'key-B1'],
            ],
        );
        assert.ok(
            warningsLogged().some((text) => /recovered 2 entries, dropped 1 torn record/.test(text)),
            warningsLogged().join('\n'),
        );
        const resumed = out.find((msg) => msg.call.callerName === 'A1')!;
        assert.equal(resumed.topic, 'Call is Updated');
        assert.deepEqual(resumed.delivery, { attempts: 2, totalMs: resumed.delivery.totalMs, idempotencyKey: 'key-A1', queuedAt });
        assert.ok(resumed.delivery.totalMs >= 5000);
        // The notice follows the outcomes, which reach the editor at most every 250 ms.
        await until(
            () => /dropped 1 torn record/.test(helper.getNode('ws').status.lastCall?.args[0].text ?? ''),
            () => JSON.stringify(helper.getNode('ws').status.lastCall?.args),
            1000,
        );
    });

    it('a redeploy that changes the node keeps its pending requests; deleting the node drops them with a warning', async () => {
        const port = await freePort();
        await helper.load(webServiceOut, flow(`http://127.0.0.1:${port}`, { retries: '0.05, 60s' }));
        const node = helper.getNode('ws');
        node.receive(trigger('call-A', 'A1', 1));
        node.receive(trigger('call-B', 'B1', 1));
        await until(
            () => /^2 queued · retrying in/.test(node.status.lastCall?.args[0].text ?? '') && /in \d+ s/.test(node.status.lastCall?.args[0].text ?? ''),
            "/^2 queued · retrying in/.test(node.status.lastCall?.args[0].text ?? '') && /in \\d+ s/.test(node.status.lastCall?.args[0].text ?? '')",
            3000,
        );

        // Pointed at a receiver that is up, the kept requests go out at once: built from the new settings.
        receiver = await startReceiver();
        const changed = flow(receiver.url, { name: 'changed', retries: '0.05' });
        await helper.setFlows(changed, 'nodes');
        await until(
            () => receiver!.received.length === 2,
            () => `${receiver!.received.length} arrived`,
            3000,
        );
        assert.deepEqual(receiver.received.map((request) => request.label).sort(), ['A1', 'B1']);

        receiver.answer = () => ({ status: 503, headers: { 'retry-after': '60' } });
        helper.getNode('ws').receive(trigger('call-C', 'C1', 1));
        await until(() => receiver!.received.length === 3, 'receiver!.received.length === 3', 3000);
        await until(
            () => /^1 queued · retrying in 60 s/.test(helper.getNode('ws').status.lastCall?.args[0].text ?? ''),
            "/^1 queued · retrying in 60 s/.test(helper.getNode('ws').status.lastCall?.args[0].text ?? '')",
            1000,
        );
        await helper.setFlows(
            changed.filter((entry) => (entry as { id: string }).id !== 'ws'),
            'nodes',
        );
        await until(
            () => warningsLogged().some((text) => /deleted with 1 request not yet delivered/.test(text)),
            () => warningsLogged().join('\n'),
            3000,
        );
        assert.equal(fs.existsSync(nodeStateDirectory(userDir, 'outbox', 'ws')), false);
    });

    // Until 0.2.0 the node fell back to memory here and still acknowledged each msg, which a restart then lost; it
    // now follows the package's state policy (openNodeStore): refuse what it cannot record, and try to open again.
    it('an outbox that cannot be opened is an error on deploy; each msg is Caught as a store error and nothing is sent', async () => {
        receiver = await startReceiver();
        // A file where the outbox folder would go: mkdir fails, as on a read-only user directory.
        fs.writeFileSync(path.join(userDir, 'ccaas-web-service'), 'not a folder');
        await helper.load(webServiceOut, flow(receiver.url));
        const out = collect('out');
        const caught = collect('caught');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        helper.getNode('ws').receive(trigger('call-A', 'A2', 2));
        await until(() => caught.length === 2, 'caught.length === 2', 3000);
        assert.deepEqual(
            caught.map((msg) => (msg.error as { code?: unknown }).code),
            ['store', 'store'],
        );
        assert.match(String((caught[0]!.error as { message?: unknown }).message), /^outbox unavailable \(.+\): the request is refused, not queued$/);
        assert.equal(out.length, 0);
        assert.equal(receiver.received.length, 0);
        const logged = helper.log().args.map((args) => args[0] as { level?: number; msg?: unknown });
        assert.equal(
            logged.filter((entry) => entry.level === 20 && /^outbox cannot be opened .*trying again every 30 s$/.test(String(entry.msg))).length,
            1,
            JSON.stringify(logged),
        );
        assert.deepEqual(helper.getNode('ws').status.lastCall.args[0], { fill: 'red', shape: 'ring', text: 'outbox unavailable' });
    });

    // A disk cannot be made full on demand here, and chmod would not do: tests may run as root, whom it does not stop,
    // and the open log keeps writing through its descriptor whatever the folder's mode. So the package's own file
    // operations fail the writes under this test's user directory while `failing` is set.
    it('a disk that stops taking writes: each new msg is Caught as a store error, the status says so, and it recovers by itself', async function () {
        this.timeout(30_000);
        receiver = await startReceiver();
        const disk = { failing: false };
        const original = { openExisting: nodeFileSystem.openExisting, create: nodeFileSystem.create };
        const failingUnder = (file: string, opened: StoreFile): StoreFile =>
            file.startsWith(userDir)
                ? {
                      ...opened,
                      async write(data, position) {
                          if (disk.failing) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
                          await opened.write(data, position);
                      },
                  }
                : opened;
        nodeFileSystem.openExisting = async (file) => failingUnder(file, await original.openExisting(file));
        nodeFileSystem.create = async (file) => failingUnder(file, await original.create(file));
        try {
            await helper.load(webServiceOut, flow(receiver.url));
            const out = collect('out');
            const caught = collect('caught');
            const node = helper.getNode('ws');
            node.receive(trigger('call-A', 'A1', 1));
            await until(() => out.length === 1, 'A1 delivered', 3000);

            disk.failing = true;
            // Taken as the disk fails: delivered, and written again by the outbox's repair.
            node.receive(trigger('call-A', 'A2', 2));
            await until(
                () => node.status.lastCall?.args[0].text === 'outbox cannot write: refusing',
                () => JSON.stringify(node.status.lastCall?.args[0]),
                3000,
            );
            node.receive(trigger('call-B', 'B1', 1));
            await until(() => caught.length === 1, 'B1 caught', 3000);
            assert.equal((caught[0]!.error as { code?: unknown }).code, 'store');
            assert.match(
                String((caught[0]!.error as { message?: unknown }).message),
                /^the outbox cannot record requests \(.*ENOSPC.*\): the request is refused, not queued$/,
            );
            await until(() => out.length === 2, 'A2 delivered', 3000);
            const logged = helper.log().args.map((args) => args[0] as { level?: number; msg?: unknown });
            assert.equal(logged.filter((entry) => entry.level === 20 && /^outbox cannot write \(/.test(String(entry.msg))).length, 1, 'said once, as an error');

            disk.failing = false;
            await until(
                () => warningsLogged().some((text) => /^outbox writes again/.test(text)),
                () => warningsLogged().join('\n'),
                10_000,
            );
            node.receive(trigger('call-B', 'B1', 1));
            await until(() => out.length === 3, 'B1 delivered once accepted again', 3000);
            assert.deepEqual(
                receiver.received.map((request) => JSON.parse(request.body).label),
                ['A1', 'A2', 'B1'],
                'each sent once; the refused one only when it was sent again',
            );
            assert.equal(caught.length, 1);
        } finally {
            nodeFileSystem.openExisting = original.openExisting;
            nodeFileSystem.create = original.create;
        }
    });

    it('without a user directory the outbox is in memory: one warning, a status that says so, and requests are delivered', async () => {
        receiver = await startReceiver();
        helper.settings().userDir = undefined;
        try {
            await helper.load(webServiceOut, flow(receiver.url));
            const out = collect('out');
            helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
            await until(() => out.length === 1, 'out.length === 1', 3000);
            assert.equal(receiver.received.length, 1);
            assert.deepEqual(
                warningsLogged().filter((text) => /no user directory/.test(text)),
                ['Node-RED has no user directory: the outbox is kept in memory only, so a restart loses the requests not yet delivered'],
            );
            // A lasting condition of the outbox stays in view while the queue is empty, over the last outcome.
            assert.deepEqual(helper.getNode('ws').status.lastCall.args[0], { fill: 'yellow', shape: 'ring', text: 'outbox in memory: not durable' });
        } finally {
            helper.settings().userDir = userDir;
        }
    });

    it('signs each attempt per Standard Webhooks: webhook-id is the idempotency key, the signature is masked in msg.request', async () => {
        receiver = await startReceiver();
        receiver.answer = (_request, attempt) => (attempt === 1 ? { status: 500 } : { status: 200 });
        await helper.load(webServiceOut, flow(receiver.url, { authType: 'bearer' }), { ws: { signingSecret: SECRET, token: 'bearer-token-kept-off-disk' } });
        const out = collect('out');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        await until(() => out.length === 1, 'out.length === 1', 3000);
        assert.equal(receiver.received.length, 2);
        for (const request of receiver.received) {
            verifyWebhook(SECRET, request.headers, request.body, 60);
            assert.equal(request.headers['webhook-id'], request.key);
        }
        assert.throws(
            () =>
                verifyWebhook(
                    `whsec_${Buffer.from('another key of 32 bytes for it!!').toString('base64')}`,
                    receiver!.received[1]!.headers,
                    receiver!.received[1]!.body,
                    60,
                ),
            /does not match/,
        );
        const shown = out[0]!.request.headers;
        assert.equal(shown['webhook-signature'], '***');
        assert.equal(shown['webhook-id'], out[0]!.delivery.idempotencyKey);
        assert.ok(!JSON.stringify(out[0]).includes(SECRET.slice(6)));
        const outbox = fs.readFileSync(path.join(nodeStateDirectory(userDir, 'outbox', 'ws'), 'outbox.log'), 'latin1');
        assert.match(outbox, /"idempotencyKey"/, 'the outbox log was written');
        for (const secret of [SECRET.slice(6), 'bearer-token-kept-off-disk', String(receiver.received[0]!.headers['webhook-signature'])]) {
            assert.ok(!outbox.includes(secret), `${secret} is not on disk`);
        }
        assert.equal(receiver.received[0]!.headers.authorization, 'Bearer bearer-token-kept-off-disk');
    });

    it('the idempotency header can be renamed or turned off; a bad one is a red status on deploy', async () => {
        receiver = await startReceiver();
        await helper.load(webServiceOut, flow(receiver.url, { idempotencyHeader: 'X-Request-Key' }));
        const out = collect('out');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        await until(() => out.length === 1, 'out.length === 1', 3000);
        assert.equal(receiver.received[0]!.headers['x-request-key'], out[0]!.delivery.idempotencyKey);
        assert.equal(receiver.received[0]!.headers['idempotency-key'], undefined);
        await helper.unload();

        await helper.load(webServiceOut, flow(receiver.url, { idempotencyHeader: '' }));
        const quiet = collect('out');
        helper.getNode('ws').receive(trigger('call-A', 'A1', 1));
        await until(() => quiet.length === 1, 'quiet.length === 1', 3000);
        assert.equal(receiver.received[1]!.headers['idempotency-key'], undefined);
        await helper.unload();

        await helper.load(webServiceOut, flow(receiver.url, { idempotencyHeader: 'Bad Header', concurrency: 0 }));
        const status = helper.getNode('ws').status.lastCall.args[0];
        assert.equal(status.fill, 'red');
    });
});

// Issue 15: the outbox of a node is bounded in requests and bytes; beyond, a new msg is Caught with `queue-full`.
describe('web service out: outbox bounds', function () {
    this.timeout(20_000);
    let receiver: Receiver | undefined;
    before(() => helper.startServer());
    after(() => helper.stopServer());
    beforeEach(() => {
        freshUserDir();
    });
    afterEach(async () => {
        await helper.unload();
        await receiver?.close();
        receiver = undefined;
    });

    // Retried every 0.2 s for 10 s: the requests wait while the receiver is down, and go out soon after it is up.
    const patient = { retries: Array.from({ length: 50 }, () => '0.2').join(', ') };
    const statusText = (): string => String(helper.getNode('ws').status.lastCall?.args[0]?.text ?? '');

    it('receiver down: maxQueued requests are kept, the next msg is Caught with queue-full; receiver up: all arrive once, then new msgs are accepted', async () => {
        const port = await freePort();
        await helper.load(webServiceOut, flow(`http://127.0.0.1:${port}`, { ...patient, maxQueued: 5 }));
        const node = helper.getNode('ws');
        const caught = collect('caught');
        const out = collect('out');
        for (let i = 1; i <= 5; i++) node.receive(trigger(`call-${i}`, `L${i}`, 1));
        await until(
            () => node.queueSnapshot()?.queued === 5,
            () => JSON.stringify(node.queueSnapshot()),
            3000,
        );
        node.receive(trigger('call-6', 'L6', 1));
        node.receive(trigger('call-1', 'L1b', 2));
        await until(
            () => caught.length === 2,
            () => `${caught.length} caught`,
            3000,
        );
        for (const msg of caught) {
            assert.equal(msg.error.code, 'queue-full');
            assert.match(msg.error.message, /5 requests are queued.*maxQueued 5/);
        }
        assert.deepEqual(
            caught.map((msg) => msg.call.callerName),
            ['L6', 'L1b'],
        );
        const snapshot = node.queueSnapshot();
        assert.equal(snapshot.queued, 5);
        assert.equal(snapshot.full, true);
        // Each request counts its entry and the room its attempt note may take (fifty retries: the latest 25 tries).
        assert.ok(snapshot.queuedBytes > 5 * (100 + noteReserveOf(50)) && snapshot.queuedBytes < 5 * (1000 + noteReserveOf(50)), String(snapshot.queuedBytes));
        // The helper loads no message catalog, so the status is its catalog key here; the hostile test against a
        // real Node-RED sees the translated "queue full · 50 queued".
        await until(() => /^(queue full · 5 queued|web-service-out\.status\.queueFull)$/.test(statusText()), statusText, 2000);
        assert.equal(node.status.lastCall.args[0].fill, 'red');

        receiver = await startReceiver(port);
        await until(
            () => out.length === 5,
            () => `${out.length} delivered`,
            5000,
        );
        assert.deepEqual(
            delivered(receiver)
                .map((request) => request.label)
                .sort(),
            ['L1', 'L2', 'L3', 'L4', 'L5'],
        );
        assert.equal(new Set(delivered(receiver).map((request) => request.key)).size, 5, 'each request once, under its own key');
        for (const msg of out) assert.equal(msg.delivery.idempotencyKey, delivered(receiver).find((request) => request.label === msg.call.callerName)!.key);
        assert.deepEqual(node.queueSnapshot(), { queued: 0, queuedBytes: 0, full: false, inFlight: 0 });

        node.receive(trigger('call-6', 'L6', 1));
        await until(() => out.length === 6, 'out.length === 6', 3000);
        assert.equal(caught.length, 2, 'nothing more was refused');
        assert.equal(delivered(receiver).at(-1)!.label, 'L6');
    });

    it('receiver down: the byte bound refuses the msg that would pass maxQueuedSize, and one bigger than it alone', async () => {
        const port = await freePort();
        await helper.load(webServiceOut, flow(`http://127.0.0.1:${port}`, { ...patient, maxQueuedSize: 1 }));
        const node = helper.getNode('ws');
        const caught = collect('caught');
        const out = collect('out');
        const big = (label: string, kib: number): Msg => ({ ...trigger(`call-${label}`, label, 1), payload: { label, filler: 'f'.repeat(kib * 1024) } });
        for (const label of ['B1', 'B2', 'B3']) node.receive(big(label, 300));
        await until(() => node.queueSnapshot()?.queued === 3, 'node.queueSnapshot()?.queued === 3', 3000);
        node.receive(big('B4', 300));
        node.receive(big('HUGE', 1100));
        await until(
            () => caught.length === 2,
            () => `${caught.length} caught`,
            3000,
        );
        assert.deepEqual(
            caught.map((msg) => [msg.call.callerName, msg.error.code]),
            [
                ['B4', 'queue-full'],
                ['HUGE', 'queue-full'],
            ],
        );
        assert.match(caught[0]!.error.message, /3 queued requests take 90[0-9]\.\d KiB .*maxQueuedSize 1\.00 MiB/);
        assert.match(caught[1]!.error.message, /this request takes 1\.07 MiB, more than the whole queue may keep \(maxQueuedSize 1\.00 MiB\)/);
        assert.ok(node.queueSnapshot().queuedBytes <= 1024 * 1024);

        receiver = await startReceiver(port);
        await until(
            () => out.length === 3,
            () => `${out.length} delivered`,
            5000,
        );
        assert.deepEqual(
            delivered(receiver)
                .map((request) => request.label)
                .sort(),
            ['B1', 'B2', 'B3'],
        );
        node.receive(big('B4', 300));
        await until(() => out.length === 4, 'out.length === 4', 3000);
    });

    it('a msg too large for the outbox is Caught as input naming its size and the limit, and never sent', async () => {
        receiver = await startReceiver();
        await helper.load(webServiceOut, flow(receiver.url, { maxQueuedSize: 100 }));
        const node = helper.getNode('ws');
        const caught = collect('caught');
        const out = collect('out');
        node.receive({ ...trigger('call-X', 'X', 1), payload: 'p'.repeat(17 * 1024 * 1024) });
        node.receive(trigger('call-Y', 'Y', 1));
        await until(() => caught.length === 1 && out.length === 1, 'caught.length === 1 && out.length === 1', 5000);
        assert.equal(caught[0]!.error.code, 'input');
        assert.match(
            caught[0]!.error.message,
            /too large to keep in the outbox: .* take 17\.00 MiB \(\d+ bytes\), one request may take at most 16\.00 MiB \(\d+ bytes\)/,
        );
        assert.deepEqual(
            receiver.received.map((request) => request.label),
            ['Y'],
        );
    });

    it('bounds that cannot work are a red status and an error naming the property on deploy', async () => {
        const errorsLogged = (): string[] =>
            helper
                .log()
                .args.map((args) => args[0] as { level?: number; msg?: unknown })
                .filter((entry) => entry.level === 20)
                .map((entry) => String(entry.msg));
        await helper.load(webServiceOut, flow('http://127.0.0.1:9', { maxQueued: 0 }));
        assert.equal(helper.getNode('ws').status.lastCall.args[0].fill, 'red');
        assert.ok(
            errorsLogged().some((text) => /maxQueued: "0" is not a whole number from 1 to 10000000/.test(text)),
            errorsLogged().join('\n'),
        );
        await helper.unload();
        await helper.load(webServiceOut, flow('http://127.0.0.1:9', { maxQueuedSize: 'lots' }));
        assert.equal(helper.getNode('ws').status.lastCall.args[0].fill, 'red');
        assert.ok(
            errorsLogged().some((text) => /maxQueuedSize: "lots" is not a whole number from 1 to 1048576/.test(text)),
            errorsLogged().join('\n'),
        );
    });

    it('call data in a failure reaches the log escaped: no forged line, bounded length', async () => {
        receiver = await startReceiver();
        // No Catch node: Node-RED logs an error only when nothing catches it.
        const uncaught = flow(receiver.url, { headers: [{ name: 'X-Agent', value: '{{agent}}' }] }).filter(
            (entry) => (entry as { type: string }).type !== 'catch',
        );
        await helper.load(webServiceOut, uncaught);
        const forged = `c1\n[error] [web-service-out:ws] forged line\u001b[31m${'z'.repeat(5000)}`;
        helper.getNode('ws').receive({ call: { callId: forged, event: 'updated', agent: 'J\r\nX-Agent: 1' } });
        const logged = (): string[] =>
            helper
                .log()
                .args.map((args) => args[0] as { level?: number; msg?: unknown })
                .filter((entry) => entry.level === 20)
                .map((entry) => String(entry.msg));
        await until(
            () => logged().some((text) => text.includes('X-Agent')),
            () => logged().join('\n'),
            3000,
        );
        const line = logged().find((text) => text.includes('X-Agent'))!;
        assert.ok(!/[\n\r\u001b]/.test(line), line);
        assert.match(line, /of call c1\\n\[error\] \[web-service-out:ws\] forged line\\u001b\[31mzzz/);
        assert.ok(line.length <= 1000, String(line.length));
        assert.equal(receiver.received.length, 0);
    });
});

// Issue 18: a node whose authentication lacks its secret says which one on deploy.
describe('web service out: missing credentials', function () {
    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(() => helper.unload());

    for (const [settings, credentials, missing] of [
        [{ authType: 'bearer' }, {}, 'Token'],
        [{ authType: 'basic' }, { user: 'svc' }, 'Password'],
        [{ apiKeyHeader: 'X-API-Key' }, {}, 'API key'],
    ] as const) {
        it(`${JSON.stringify(settings)} without its secret: the status names the ${missing}, the error says what is missing`, async () => {
            freshUserDir();
            await helper.load(webServiceOut, flow('http://127.0.0.1:9', settings), { ws: credentials });
            const node = helper.getNode('ws');
            const status = node.status.lastCall.args[0];
            assert.equal(status.fill, 'red');
            // The helper loads no message catalog: the key stands for the text, which names the credential.
            assert.match(String(status.text), new RegExp(`^(missing credential: ${missing}|web-service-out\\.status\\.missingCredential)$`));
            const errors = helper
                .log()
                .args.map((args) => args[0] as { level?: number; msg?: unknown })
                .filter((entry) => entry.level === 20)
                .map((entry) => String(entry.msg));
            assert.ok(
                errors.some((text) => /is missing from the node's credentials/.test(text)),
                errors.join('\n'),
            );
        });
    }
});
