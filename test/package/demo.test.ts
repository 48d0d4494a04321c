// `npm start` is the first thing a newcomer runs: this starts the very script it runs and checks, through the
// editor's own status channel, that the demo's example flows send their requests and the stand-in CRM answers them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WebSocket } from 'undici';
import { freePort, temporaryDirectory } from '../support/node-red-process';

const root = path.resolve(__dirname, '../..');

interface NodeStatus {
    fill?: string;
    text?: string;
}

function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
            if (check()) {
                clearInterval(poll);
                resolve();
            } else if (Date.now() - started > timeoutMs) {
                clearInterval(poll);
                reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
            }
        }, 100);
    });
}

describe('npm start: the offline demo', function () {
    this.timeout(150_000);
    let demo: ChildProcess | undefined;
    let output = '';
    let socket: WebSocket | undefined;
    let base = '';
    const statuses = new Map<string, NodeStatus>();
    const debugMessages: { id: string; topic: string; msg: string }[] = [];

    before(async () => {
        const port = await freePort();
        base = `http://127.0.0.1:${port}`;
        demo = spawn(process.execPath, [path.join(root, 'scripts', 'start-demo.js')], {
            env: { ...process.env, PORT: String(port), DEMO_USER_DIR: temporaryDirectory('demo') },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await waitFor(() => /The demo is running/.test(output), 'the demo to announce itself', 60_000);
        socket = new WebSocket(`ws://127.0.0.1:${port}/comms`);
        await new Promise<void>((resolve, reject) => {
            socket!.addEventListener('open', () => resolve());
            socket!.addEventListener('error', () => reject(new Error('the editor comms socket did not open')));
        });
        socket.addEventListener('message', (event) => {
            for (const message of JSON.parse(String(event.data)) as { topic: string; data: Record<string, unknown> }[]) {
                if (message.topic.startsWith('status/')) statuses.set(message.topic.slice('status/'.length), message.data as NodeStatus);
                if (message.topic === 'debug')
                    debugMessages.push({ id: String(message.data.id), topic: String(message.data.topic ?? ''), msg: String(message.data.msg) });
            }
        });
        socket.send(JSON.stringify({ subscribe: 'status/#' }));
        socket.send(JSON.stringify({ subscribe: 'debug' }));
    });

    after(async () => {
        socket?.close();
        if (demo && demo.exitCode === null) {
            const exited = new Promise((resolve) => demo!.once('exit', resolve));
            demo.kill('SIGTERM');
            await exited;
        }
    });

    it('the simulated calls reach the stand-in CRM through the example flows, with no error', async () => {
        const sent = (id: string) => /^201 /.test(statuses.get(id)?.text ?? '');
        // Every simulated call rings an agent and, once processed, updates its account codes.
        await waitFor(() => sent('slack-send') && sent('account-codes-send'), 'examples 03 and 04 to get 201 from the stand-in CRM', 90_000);
        const failed = [...statuses].filter(([, status]) => status.fill === 'red');
        assert.deepEqual(failed, [], 'no node shows an error status');
        assert.doesNotMatch(output, /\[error\]/, 'Node-RED logged no error');
    });

    it("the demo tab's call event in shows every trigger of the simulated calls", async () => {
        const labels = ['Call is Presenting', 'Call is Connected', 'Call is Complete', 'Call and Recordings Processed', 'Call is Updated'];
        const seen = () => new Set(debugMessages.filter((message) => message.id === 'demo-triggers').map((message) => message.topic));
        await waitFor(() => labels.every((label) => seen().has(label)), 'the five triggers in the debug sidebar', 60_000);
    });

    it('the stand-in CRM answers as a CRM would', async () => {
        const answer = await fetch(`${base}/crm/anything`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
        assert.equal(answer.status, 201);
        const body = (await answer.json()) as { ok: boolean; id: string };
        assert.equal(body.ok, true);
        assert.match(body.id, /^\d+$/);
    });

    it("the demo tab's inject renders the call into each body format in the debug sidebar", async () => {
        const injected = await fetch(`${base}/inject/demo-call`, { method: 'POST' });
        assert.equal(injected.status, 200);
        await waitFor(() => debugMessages.some((message) => message.msg.includes('JR')), 'the rendered bodies in the debug sidebar', 20_000);
        const rendered = debugMessages.filter((message) => message.msg.includes('JR')).map((message) => message.msg);
        // The caller name carries quotes: each format escapes them its own way.
        assert.ok(
            rendered.some((text) => text.includes('&quot;JR&quot;')),
            `an XML body: ${rendered.join(' | ')}`,
        );
        assert.ok(
            rendered.some((text) => text.includes('%22JR%22')),
            `a form body: ${rendered.join(' | ')}`,
        );
    });
});
