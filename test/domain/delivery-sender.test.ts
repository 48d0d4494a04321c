// The sender of web service out on its own: the state policy of its outbox (memory without a user directory,
// refuse and try again when it cannot be opened) and the 0.1.0 entries it resumes, against a real loopback server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { deliveryHeaders } from '../../src/delivery/delivery-headers';
import { idempotencyKey } from '../../src/delivery/idempotency';
import { Sender, type SenderOptions, type SettledRequest, type StoreProblem } from '../../src/delivery/sender';
import type { CodedError } from '../../src/errors/coded-error';
import { compileRequest } from '../../src/request/build-request';
import { openFileStore } from '../../src/store/file-store';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { failingWrites } from '../support/failing-writes';
import { until } from '../support/wait';

interface Receiver {
    url: string;
    keys: string[];
    close(): Promise<void>;
}

/** Answers 200, or 503 to the calls named in `failing` (by the URL's last part). */
async function startReceiver(failing: string[] = []): Promise<Receiver> {
    const keys: string[] = [];
    const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            keys.push(String(req.headers['idempotency-key']));
            const status = failing.includes(String(req.url).split('/').pop()!) ? 503 : 200;
            res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        keys,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}

function senderOf(url: string, userDir: unknown, reopenMs?: number, extra: Partial<SenderOptions<string>> = {}) {
    const delivered: SettledRequest<string>[] = [];
    const failed: CodedError[] = [];
    const problems: StoreProblem[] = [];
    const sender = new Sender<string>({
        nodeId: 'ws',
        userDir,
        reopenMs,
        schedule: [],
        concurrency: 2,
        maxQueued: 100,
        maxQueuedBytes: 1024 * 1024,
        profile: {
            builder: compileRequest({ url: `${url}/calls/{{callId}}`, method: 'POST', bodyType: 'payload', contentType: 'application/json' }),
            decorate: deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: [] }),
            timeoutMs: 2000,
        },
        events: {
            delivered: (request) => delivered.push(request),
            failed: (_request, error) => failed.push(error),
            changed: () => {},
            storeProblem: (problem) => problems.push(problem),
        },
        ...extra,
    });
    return { sender, delivered, failed, problems };
}

const call = (id: string) => ({ callId: id, event: 'updated', updateSeq: 1 });

describe('delivery sender: the outbox state policy', () => {
    let receiver: Receiver;
    beforeEach(async () => {
        receiver = await startReceiver();
    });
    afterEach(() => receiver.close());

    it('without a user directory the outbox is in memory, said once, and requests are delivered', async () => {
        const { sender, delivered, problems } = senderOf(receiver.url, undefined);
        await sender.send({ call: call('a'), payload: { a: 1 } }, 'first');
        await sender.send({ call: call('b'), payload: { b: 1 } }, 'second');
        await until(() => delivered.length === 2, 'two deliveries');
        assert.deepEqual(problems, [{ kind: 'memory' }]);
        assert.equal(sender.shared, false, 'done() comes when the request settles');
        assert.deepEqual(delivered.map((request) => request.context).sort(), ['first', 'second']);
        assert.equal(await sender.close(true), 0);
    });

    it("keeps a call's order across the opening: sends made before the outbox opens go first, later ones queue at once after them", async () => {
        const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-sender-'));
        const { sender, delivered } = senderOf(receiver.url, userDir);
        try {
            const calls = Array.from({ length: 30 }, (_, index) => ({ callId: 'one-call', event: 'updated', updateSeq: index + 1 }));
            const accepted: Promise<void>[] = [];
            // Ten while the outbox is still opening, the rest one per turn of the event loop as it opens and after.
            for (const [index, each] of calls.entries()) {
                accepted.push(sender.send({ call: each, payload: { seq: index + 1 } }, `seq ${index + 1}`));
                if (index >= 10) await new Promise((turn) => setImmediate(turn));
            }
            await Promise.all(accepted);
            await until(() => delivered.length === calls.length, 'every request delivered');
            assert.deepEqual(
                receiver.keys,
                calls.map((each) => idempotencyKey('ws', each)),
                'the receiver got them in the order they were sent',
            );
            assert.equal(await sender.close(true), 0);
        } finally {
            await sender.close(false);
            fs.rmSync(userDir, { recursive: true, force: true });
        }
    });

    it('an outbox that cannot be opened refuses each request with a store error, and accepts again once it opens', async () => {
        const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-sender-'));
        // A file where the outbox folder would go: mkdir fails, as on a read-only user directory.
        const blocker = path.join(userDir, 'ccaas-web-service');
        fs.writeFileSync(blocker, 'not a folder');
        const { sender, delivered, problems } = senderOf(receiver.url, userDir, 50);
        try {
            await assert.rejects(
                sender.send({ call: call('a') }, 'refused'),
                (err: CodedError) => err.code === 'store' && /^outbox unavailable \(/.test(err.message),
            );
            assert.equal(sender.refusing, true);
            assert.equal(receiver.keys.length, 0, 'a refused request is never sent');
            fs.rmSync(blocker);
            await until(() => !sender.refusing, 'the outbox opened again');
            await sender.send({ call: call('b') }, 'accepted');
            await until(() => delivered.length === 1, 'the delivery after the reopen');
            assert.equal(delivered[0]!.context, 'accepted');
            const kinds = problems.map((problem) => problem.kind);
            assert.equal(kinds.filter((kind) => kind === 'unavailable').length, 1, 'the failing tries are said once, not every 50 ms');
            assert.equal(kinds.at(-1), 'reopened');
            assert.equal(await sender.close(true), 0);
            assert.equal(fs.existsSync(nodeStateDirectory(userDir, 'outbox', 'ws')), false, 'a removed node leaves no outbox');
        } finally {
            await sender.close(false);
            fs.rmSync(userDir, { recursive: true, force: true });
        }
    });

    it('after a write fails it refuses new requests with a store error, keeps what it took, and accepts again once writes work', async () => {
        await receiver.close();
        receiver = await startReceiver(['b']);
        const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-sender-'));
        const { fileSystem: outboxFileSystem, disk } = failingWrites();
        // b waits a minute for its retry: it is still queued when the sender closes.
        const { sender, delivered, problems } = senderOf(receiver.url, userDir, undefined, { outboxFileSystem, schedule: [60_000] });
        try {
            await sender.send({ call: call('a') }, 'a');
            await until(() => delivered.length === 1, 'a delivered');

            disk.failing = true;
            // Taken as the disk fails: it is attempted, and the outbox keeps it for its repair.
            await sender.send({ call: call('b') }, 'b');
            await until(() => sender.refusing, 'the sender refusing');
            assert.equal(sender.notWritable, true);
            await assert.rejects(
                sender.send({ call: call('c') }, 'refused'),
                (err: CodedError) => err.code === 'store' && /^the outbox cannot record requests \(.*ENOSPC/.test(err.message),
            );
            await until(() => receiver.keys.length === 2, 'b attempted');

            disk.failing = false;
            await until(() => !sender.refusing, 'the outbox repaired', 10_000);
            await sender.send({ call: call('c') }, 'c');
            await until(() => delivered.length === 2, 'c delivered');
            assert.deepEqual(
                delivered.map((request) => request.context),
                ['a', 'c'],
            );
            const kinds = problems.map((problem) => problem.kind);
            assert.deepEqual(kinds, ['not-writable', 'writable'], 'the outage is said once, and its end');
            assert.deepEqual(
                receiver.keys,
                ['a', 'b', 'c'].map((id) => idempotencyKey('ws', call(id))),
                'each sent once, under its key; the refused one never',
            );
            assert.equal(await sender.close(false), 1, 'b still waits for its retry');

            // What the repair wrote: b, taken while the disk was failing, with the note of its failed attempt.
            const store = await openFileStore<Record<string, unknown>>({ directory: nodeStateDirectory(userDir, 'outbox', 'ws'), name: 'outbox' });
            const stored = [...(await store.load()).values()];
            await store.close();
            assert.deepEqual(
                stored.map((value) => value.idempotencyKey ?? `note of ${String(value.attempts)} attempt`),
                [idempotencyKey('ws', call('b')), 'note of 1 attempt'],
            );
        } finally {
            await sender.close(false);
            fs.rmSync(userDir, { recursive: true, force: true });
        }
    });

    it('resumes an entry written without a format (0.1.0) under its stored idempotency key, and counts its attempts on', async () => {
        const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-sender-'));
        try {
            const store = await openFileStore<unknown>({ directory: nodeStateDirectory(userDir, 'outbox', 'ws'), name: 'outbox' });
            await store.put('0', {
                call: call('old'),
                payload: { old: true },
                idempotencyKey: 'msg_stored_by_0_1_0',
                attempts: 3,
                queuedAt: Date.now() - 1000,
                seq: 0,
            });
            await store.close();
            const { sender, delivered, problems } = senderOf(receiver.url, userDir);
            await until(() => delivered.length === 1, 'the resumed delivery');
            assert.deepEqual(receiver.keys, ['msg_stored_by_0_1_0']);
            assert.equal(delivered[0]!.entry.format, 2);
            assert.equal(delivered[0]!.attempts, 4);
            assert.equal(delivered[0]!.context, undefined, 'a resumed request has no msg of this start');
            assert.deepEqual(problems, []);
            await sender.close(false);
        } finally {
            fs.rmSync(userDir, { recursive: true, force: true });
        }
    });
});
