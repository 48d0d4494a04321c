// The call-tracking state of call event in kept in <userDir>/ccaas-web-service/calls/<node id>, through redeploys
// (node closed and started again), deletion and a damaged log, in node-red-node-test-helper's runtime.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { helper, servedNodeModule, statusNode } from '../support/node-red-runtime';
import { until } from '../support/wait';

const callEventIn = servedNodeModule('call-event-in');

interface Out {
    event: string;
    call: { callId: string; updateSeq?: number; recordingsMissing?: boolean; recordingLink: string[] };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('call event in node: durable call-tracking state', () => {
    let userDir: string;
    let stateDirectory: string;
    let server: http.Server | undefined;
    let base: string;
    let out: Out[];
    let statuses: Array<{ fill: string; text: string }>;

    before(() => helper.startServer());
    after(() => helper.stopServer());

    beforeEach(() => {
        userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-state-'));
        stateDirectory = path.join(userDir, 'ccaas-web-service', 'calls', 'in');
        helper.settings({ userDir });
    });

    afterEach(async () => {
        await stopServing();
        await helper.unload();
        helper.settings({});
        fs.rmSync(userDir, { recursive: true, force: true });
    });

    async function stopServing(): Promise<void> {
        const serving = server;
        server = undefined;
        if (serving) await new Promise((resolve) => serving.close(resolve));
    }

    const nodes = (props: Record<string, unknown> = {}): object[] => [
        { id: 'tab', type: 'tab' },
        { id: 'in', z: 'tab', type: 'call-event-in', path: '/ccaas/call-events', events: [], recordingWait: 10, wires: [['out']], ...props },
        { id: 'out', z: 'tab', type: 'helper' },
        { id: 'watch', z: 'tab', type: 'status', scope: ['in'], wires: [['statuses']] },
        { id: 'statuses', z: 'tab', type: 'helper' },
    ];

    /** Starts the flow (a deploy, or Node-RED starting) and serves its endpoint. */
    async function start(props: Record<string, unknown> = {}): Promise<void> {
        await helper.load([callEventIn.register, statusNode], nodes(props));
        out = [];
        statuses = [];
        helper.getNode('out').on('input', (msg: Out) => out.push(msg));
        helper.getNode('statuses').on('input', (msg: { status: { fill: string; text: string } }) => statuses.push(msg.status));
        ({ server, base } = await callEventIn.serve());
    }

    /** Stops the flow the way a redeploy or a Node-RED stop does: the node closes, not removed. */
    async function stop(): Promise<void> {
        await stopServing();
        await helper.unload();
    }

    const post = (body: object): Promise<Response> =>
        fetch(`${base}/ccaas/call-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const warnings = (): string[] =>
        helper
            .log()
            .args.map((args) => args[0] as { id?: string; level?: number; msg?: unknown })
            .filter((entry) => entry.id === 'in' && entry.level === 30)
            .map((entry) => String(entry.msg));

    const triggers = (): string[] => out.map((msg) => `${msg.call.callId}:${msg.event}`);

    it('keeps the state through a redeploy: processed and updated fire when the recording comes afterwards', async () => {
        await start();
        const response = await post([
            { type: 'connected', callId: 'c1', eventId: 'c1-1', timestamp: 1000 },
            { type: 'complete', callId: 'c1', eventId: 'c1-2', timestamp: 2000, pendingRecordings: 1 },
        ]);
        assert.equal(response.status, 202);
        assert.deepEqual(triggers(), ['c1:connected', 'c1:complete']);
        assert.ok(fs.statSync(path.join(stateDirectory, 'calls.log')).size > 0, 'the state is in the user directory before the 202');
        await stop();
        assert.ok(fs.existsSync(path.join(stateDirectory, 'calls.log')), 'a redeploy keeps the state');

        await start();
        assert.equal((await post({ type: 'complete', callId: 'c1', eventId: 'c1-2', timestamp: 2000, pendingRecordings: 1 })).status, 202);
        assert.deepEqual(triggers(), [], 'the complete seen before the redeploy is a duplicate');
        assert.equal((await post({ type: 'recording', callId: 'c1', eventId: 'c1-3', timestamp: 3000, recordingUrl: 'https://rec/1.wav' })).status, 202);
        assert.deepEqual(triggers(), ['c1:processed', 'c1:updated']);
        assert.deepEqual(out[1].call.recordingLink, ['https://rec/1.wav']);
        assert.equal(out[1].call.updateSeq, 1);
        await until(() => statuses.some((status) => status.fill === 'green' && /^1 calls · \d+ ev\/s$/.test(status.text)), 'the status');
    });

    it('a recording wait that ends while the node is stopped fires as soon as it is back, once', async () => {
        await start({ recordingWait: 0.01 });
        assert.equal((await post({ type: 'complete', callId: 'c2', eventId: 'c2-1', pendingRecordings: 1 })).status, 202);
        await stop();
        await pause(800);
        await start({ recordingWait: 0.01 });
        await until(() => out.length === 2, 'processed after the wait');
        assert.deepEqual(triggers(), ['c2:processed', 'c2:updated']);
        assert.equal(out[0].call.recordingsMissing, true);
        await pause(1200);
        assert.equal(out.length, 2, 'and only once');
    });

    it('deleting the node deletes its state, with a warning for the calls not yet processed', async () => {
        await start();
        await post([
            { type: 'complete', callId: 'waiting', eventId: 'w', pendingRecordings: 1 },
            { type: 'complete', callId: 'finished', eventId: 'f' },
        ]);
        assert.ok(fs.existsSync(stateDirectory));
        await stopServing();
        await helper.setFlows(
            [
                { id: 'tab', type: 'tab' },
                { id: 'out', z: 'tab', type: 'helper' },
            ],
            'full',
        );
        assert.equal(fs.existsSync(stateDirectory), false);
        assert.ok(
            warnings().includes('node deleted with 1 call not yet processed: their state is deleted and their remaining triggers will not fire'),
            warnings().join('\n'),
        );
    });

    it('a torn last write: the intact calls are restored, and the node warns and shows what it dropped', async () => {
        await start();
        await post({ type: 'complete', callId: 'kept', eventId: 'k', pendingRecordings: 1 });
        await post({ type: 'complete', callId: 'torn', eventId: 't', pendingRecordings: 1 });
        await stop();
        const log = path.join(stateDirectory, 'calls.log');
        fs.truncateSync(log, fs.statSync(log).size - 10);

        await start();
        await until(() => statuses.some((status) => status.fill === 'yellow'), 'the status');
        const shown = statuses.find((status) => status.fill === 'yellow')!;
        assert.match(shown.text, /^1 calls · 0 ev\/s · dropped 1 torn record$/);
        assert.ok(
            warnings().some((warning) => new RegExp(`^call state in .*calls.in: recovered 1 entry, dropped 1 torn record at byte \\d+;`).test(warning)),
            warnings().join('\n'),
        );
        await post({ type: 'recording', callId: 'kept', eventId: 'k-r', recordingUrl: 'https://rec/k.wav' });
        assert.deepEqual(triggers(), ['kept:processed', 'kept:updated']);
    });

    it('without a user directory: the calls are kept in memory, and the node says once that a restart loses them', async () => {
        helper.settings({});
        await start();
        assert.equal((await post({ type: 'complete', callId: 'm1', eventId: 'm1-1', pendingRecordings: 1 })).status, 202);
        assert.equal((await post({ type: 'recording', callId: 'm1', eventId: 'm1-2', recordingUrl: 'https://rec/m.wav' })).status, 202);
        assert.deepEqual(triggers(), ['m1:complete', 'm1:processed', 'm1:updated']);
        const said = warnings().filter(
            (warning) => warning === 'Node-RED has no user directory: call tracking is kept in memory only and does not survive a restart',
        );
        assert.equal(said.length, 1, warnings().join('\n'));
        assert.ok(!fs.existsSync(path.join(userDir, 'ccaas-web-service')), 'nothing written where no user directory was given');
        await until(() => statuses.some((status) => status.fill === 'green' && /^1 calls · \d+ ev\/s$/.test(status.text)), 'the status');
    });

    it('a call forgotten at the tracking bound is warned about, naming the field to raise as the dialog labels it', async () => {
        await start({ maxCalls: 1 });
        assert.equal((await post({ type: 'presenting', callId: 'first', eventId: 'f1' })).status, 202);
        assert.equal((await post({ type: 'presenting', callId: 'second', eventId: 's1' })).status, 202);
        assert.ok(
            warnings().includes(
                'tracking limit of 1 calls reached: forgot unfinished call first before it was processed (raise "Max tracked calls" if calls are being cut short)',
            ),
            warnings().join('\n'),
        );
    });

    it('a store that cannot be opened: events are not acknowledged (503) and the node says why', async () => {
        fs.mkdirSync(path.dirname(stateDirectory), { recursive: true });
        fs.writeFileSync(stateDirectory, 'not a folder');
        await start();
        const response = await post({ type: 'presenting', callId: 'c3' });
        assert.equal(response.status, 503);
        assert.match(((await response.json()) as { error: string }).error, /^call state store unavailable: /);
        assert.deepEqual(out, []);
        await until(() => statuses.some((status) => status.fill === 'red'), 'the red status');
    });
});

describe('state folders: any node id maps to a folder of its own', () => {
    const userDir = path.join(os.tmpdir(), 'ccaas-ids');
    const kindFolder = path.join(userDir, 'ccaas-web-service', 'calls');
    const isStrictChild = (folder: string): boolean =>
        path.dirname(folder) === kindFolder && path.basename(folder) !== '' && !['.', '..'].includes(path.basename(folder));
    const hostileIds = [
        '..',
        '.',
        '',
        'a/../..',
        '../../etc',
        'a/b',
        'a_b',
        'a\\b',
        'a\u0000b',
        '~x61',
        'x'.repeat(5000),
        'x'.repeat(5001),
        'Ωmega',
        '\ud800',
        '\ufffd',
        '.hidden',
    ];

    it('node ids of 0.1.0 (16 hex digits, older ones with a dot) keep the folder they had', () => {
        for (const id of ['3f0e6c1b2a4d5e6f', '3f0e6c1b.2a4d5e', 'in', 'web-service_out.1'])
            assert.equal(nodeStateDirectory(userDir, 'calls', id), path.join(kindFolder, id));
    });

    it('any string is a strict child of the kind folder, with a name a file system takes', () => {
        for (const id of hostileIds) {
            const folder = nodeStateDirectory(userDir, 'calls', id);
            assert.ok(isStrictChild(folder), `${JSON.stringify(id)} -> ${folder}`);
            assert.ok(Buffer.byteLength(path.basename(folder)) <= 255);
        }
        fc.assert(
            fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (id) => {
                const folder = nodeStateDirectory(userDir, 'calls', id);
                return isStrictChild(folder) && Buffer.byteLength(path.basename(folder)) <= 255 && !/[/\\\u0000]/.test(path.basename(folder));
            }),
            { numRuns: 300 },
        );
    });

    it('distinct ids get distinct folders, also ids the old replacement folded together', () => {
        const folders = new Set(hostileIds.map((id) => nodeStateDirectory(userDir, 'calls', id)));
        assert.equal(folders.size, hostileIds.length);
        fc.assert(
            fc.property(
                fc.string({ unit: 'binary', maxLength: 60 }),
                fc.string({ unit: 'binary', maxLength: 60 }),
                (a, b) => a === b || nodeStateDirectory(userDir, 'calls', a) !== nodeStateDirectory(userDir, 'calls', b),
            ),
            { numRuns: 300 },
        );
    });

    describe('in the runtime', () => {
        let runtimeUserDir: string;
        before(() => helper.startServer());
        after(() => helper.stopServer());
        beforeEach(() => {
            runtimeUserDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-ids-'));
            helper.settings({ userDir: runtimeUserDir });
        });
        afterEach(async () => {
            await helper.unload();
            helper.settings({});
            fs.rmSync(runtimeUserDir, { recursive: true, force: true });
        });

        it('deleting a node with a hostile id removes its own folder and nothing else', async () => {
            const node = (id: string) => ({ id, z: 'tab', type: 'call-event-in', path: '', events: [], wires: [[]] });
            await helper.load(callEventIn.register, [{ id: 'tab', type: 'tab' }, node('..'), node('a/b'), node('a_b')]);
            for (const id of ['..', 'a/b', 'a_b']) {
                helper.getNode(id).receive({ payload: { type: 'update', callId: `call-of-${id}` } });
                const log = path.join(nodeStateDirectory(runtimeUserDir, 'calls', id), 'calls.log');
                await until(() => fs.existsSync(log) && fs.statSync(log).size > 0, `the state of node ${id}`);
            }
            const kind = path.join(runtimeUserDir, 'ccaas-web-service', 'calls');
            assert.equal(fs.readdirSync(kind).length, 3);
            await helper.setFlows([{ id: 'tab', type: 'tab' }, node('a_b')], 'full');
            assert.deepEqual(fs.readdirSync(kind), ['a_b']);
            assert.ok(fs.existsSync(path.join(runtimeUserDir, 'ccaas-web-service')), 'the package folder is still there');
            assert.ok(fs.readdirSync(runtimeUserDir).length > 0);
        });
    });
});
