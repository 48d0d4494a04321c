// The outbox file keeps its bound on disk: a receiver that answers 503 to everything, a queue filled to its
// maxQueuedSize with 8 KB requests, and every request retried forty times. Before, each retry wrote the whole request
// again and the log grew to four times maxQueuedSize before it was rewritten; now a retry writes a note of its
// attempts and the log is rewritten before it would pass maxQueuedSize x OUTBOX_LOG_SLACK.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { deliveryHeaders } from '../../src/delivery/delivery-headers';
import { OUTBOX_LOG_SLACK, Sender } from '../../src/delivery/sender';
import type { CodedError } from '../../src/errors/coded-error';
import { compileRequest } from '../../src/request/build-request';
import { openFileStore } from '../../src/store/file-store';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { until } from '../support/wait';

const MAX_QUEUED_BYTES = 256 * 1024;
const RETRIES = 40;

describe('outbox on disk: within maxQueuedSize x 1.25 after any number of retries', function () {
    this.timeout(60_000);
    let server: http.Server;
    let url: string;
    let answered = 0;

    before(async () => {
        server = http.createServer((req, res) => {
            req.resume();
            req.on('end', () => {
                answered += 1;
                res.writeHead(503).end();
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('a full queue of 8 KB requests retried forty times each never takes more than the bound', async () => {
        const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-disk-bound-'));
        const logPath = path.join(nodeStateDirectory(userDir, 'outbox', 'ws'), 'outbox.log');
        const bound = MAX_QUEUED_BYTES * OUTBOX_LOG_SLACK;
        let largest = 0;
        const measure = () => {
            if (fs.existsSync(logPath)) largest = Math.max(largest, fs.statSync(logPath).size);
        };
        const failed: CodedError[] = [];
        const sender = new Sender<string>({
            nodeId: 'ws',
            userDir,
            schedule: Array.from({ length: RETRIES }, () => 1),
            concurrency: 4,
            maxQueued: 10_000,
            maxQueuedBytes: MAX_QUEUED_BYTES,
            profile: {
                builder: compileRequest({ url: `${url}/calls/{{callId}}`, method: 'POST', bodyType: 'payload', contentType: 'application/json' }),
                decorate: deliveryHeaders({ idempotencyHeader: 'Idempotency-Key', profileHeaders: [] }),
                timeoutMs: 2000,
            },
            events: {
                delivered: () => undefined,
                failed: (_request, error) => failed.push(error),
                // Every change of the queue (an attempt settled, a retry recorded) is a moment to look at the file.
                changed: measure,
                storeProblem: () => undefined,
            },
        });
        try {
            const note = 'x'.repeat(8 * 1024);
            let accepted = 0;
            // Filled until the queue refuses: the outbox then holds all that maxQueuedSize lets it.
            for (let index = 0; index < 1000; index++) {
                const sent = await sender.send({ call: { callId: `call-${index}`, event: 'updated', updateSeq: 1 }, payload: { note } }, `r${index}`).then(
                    () => true,
                    (err: CodedError) => {
                        assert.equal(err.code, 'queue-full', err.message);
                        return false;
                    },
                );
                if (!sent) break;
                accepted += 1;
                measure();
            }
            assert.ok(accepted >= 25, `the queue took ${accepted} requests of 8 KB`);
            await until(
                () => failed.length === accepted,
                () => `every request given up after its retries (${failed.length} of ${accepted})`,
                45_000,
            );
            measure();
            assert.equal(answered, accepted * (RETRIES + 1), 'each request was attempted 41 times');
            assert.ok(largest > MAX_QUEUED_BYTES * 0.8, `the outbox was nearly full (${largest} bytes at most)`);
            assert.ok(largest <= bound, `the outbox log took ${largest} bytes, more than ${bound} (maxQueuedSize x ${OUTBOX_LOG_SLACK})`);
        } finally {
            await sender.close(false);
        }
        // Nothing is left for the next start: the entries and their notes are gone.
        const store = await openFileStore<unknown>({ directory: path.dirname(logPath), name: 'outbox' });
        assert.equal((await store.load()).size, 0);
        await store.close();
        fs.rmSync(userDir, { recursive: true, force: true });
    });
});
