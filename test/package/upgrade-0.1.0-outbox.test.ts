// An upgrade from 0.1.0 with requests still in the outbox: the flow of that version (example 01, its CRM_URL set) and the
// outbox.log its web service out wrote while the CRM was down load in this version, and every stored request
// arrives once, under the idempotency key 0.1.0 gave it, so a CRM that saw an attempt before can tell a repeat.
//
// test/fixtures/0.1.0/outbox.log was written by 0.1.0 itself (commit 02f372e, in the node test runtime of that
// version): its web service out node "recording-link-send" of "01 Recording link to a CRM.json" (the copy beside
// it, wires cut), bearer token set, the CRM unreachable (the example's crm.example.com does not resolve on the test
// machine) and the default retries, got three messages (calls call-1..3, event CallEnded, updateSeq 1..3, payload
// { callId, n }, topic "recording") and was stopped after its first failed attempts, so the log holds each entry
// twice (accepted, then attempts: 1).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { idempotencyKey } from '../../src/delivery/idempotency';
import { openFileStore } from '../../src/store/file-store';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';

const FIXTURES = path.resolve(__dirname, '../fixtures/0.1.0');
const NODE_ID = 'recording-link-send';
/** The keys as 0.1.0 stored them (read from the fixture). */
const STORED_KEYS = ['msg_18d3f7156a851e21fa5a30c4ec9b0803', 'msg_2d842db7bb7c257f3d688b69801555da', 'msg_1adeb19f77a601eb29271d4344a4cb1d'];

interface Arrival {
    key: string;
    path: string;
    authorization: string;
    body: { callId?: string; n?: number };
}

describe('upgrade from 0.1.0: requests left in the outbox', function () {
    this.timeout(60_000);
    let nodeRed: NodeRedProcess | undefined;
    let server: http.Server;
    const arrivals: Arrival[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on('data', (chunk: Buffer) => chunks.push(chunk));
            req.on('end', () => {
                arrivals.push({
                    key: String(req.headers['idempotency-key']),
                    path: String(req.url),
                    authorization: String(req.headers.authorization),
                    body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'),
                });
                res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    after(async () => {
        await nodeRed?.stop();
        await new Promise((resolve) => server.close(resolve));
    });

    it('every request 0.1.0 left in its outbox arrives once, under its 0.1.0 idempotency key', async () => {
        const userDir = userDirWithPackage();
        // The flow as 0.1.0 saved it, with its tab's CRM_URL set to this test's CRM, as its user sets it; the token
        // in plain flows_cred.json (credentialSecret: false).
        const crm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/calls`;
        const flows = JSON.parse(fs.readFileSync(path.join(FIXTURES, '01 Recording link to a CRM.json'), 'utf8')) as {
            type: string;
            env?: { name: string; value: string }[];
        }[];
        for (const variable of flows.find((node) => node.type === 'tab')!.env!) if (variable.name === 'CRM_URL') variable.value = crm;
        fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
        fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify({ [NODE_ID]: { token: 'kept-since-0.1.0' } }));
        const outbox = nodeStateDirectory(userDir, 'outbox', NODE_ID);
        fs.mkdirSync(outbox, { recursive: true });
        fs.copyFileSync(path.join(FIXTURES, 'outbox.log'), path.join(outbox, 'outbox.log'));

        nodeRed = await startNodeRed({ userDir, settings: 'credentialSecret: false,' });
        const red = nodeRed;
        await until(
            () => arrivals.length >= 3,
            () => `${JSON.stringify(arrivals)}\n${red.log()}`,
            20_000,
        );
        const log = red.log();
        await red.stop();
        nodeRed = undefined;

        assert.deepEqual(arrivals.map((arrival) => arrival.key).sort(), [...STORED_KEYS].sort());
        assert.equal(new Set(arrivals.map((arrival) => arrival.key)).size, 3, 'each stored request arrives once');
        for (const arrival of arrivals) {
            const n = arrival.body.n!;
            assert.deepEqual(arrival.body, { callId: `call-${n}`, n }, 'the payload 0.1.0 stored is the body');
            assert.equal(
                arrival.key,
                idempotencyKey(NODE_ID, { callId: `call-${n}`, event: 'CallEnded', updateSeq: n }),
                'the key this version would give it too',
            );
            assert.equal(arrival.authorization, 'Bearer kept-since-0.1.0');
            assert.equal(arrival.path, '/calls');
        }
        assert.doesNotMatch(log, /could not be read|dropped/);
        const left = await openFileStore<unknown>({ directory: outbox, name: 'outbox' });
        assert.equal((await left.load()).size, 0, 'delivered requests left the outbox');
        await left.close();
    });
});
