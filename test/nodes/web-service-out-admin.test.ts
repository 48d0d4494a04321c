// The Test endpoint behind a real Node-RED process with admin authentication on: the test helper stubs
// permission checks out, so only a real runtime can show that they are enforced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sampleCall } from '../../src/call/sample-call';
import { startNodeRed, temporaryDirectory, type NodeRedProcess } from '../support/node-red-process';
import { startRecorder, type Recorder } from './web-service-out.recorder';

const ROOT = path.resolve(__dirname, '../..');
const SECRET = 'stored-token-never-shown';

/** A nodes directory whose node file loads our TypeScript source, so no build is needed. */
function nodesDirectory(): string {
    const dir = temporaryDirectory('nodes');
    fs.mkdirSync(path.join(dir, 'locales', 'en-US'), { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'web-service-out.js'),
        `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nmodule.exports = require(${JSON.stringify(path.join(ROOT, 'src/nodes/web-service-out/index.ts'))});\n`,
    );
    fs.copyFileSync(path.join(ROOT, 'nodes/web-service-out.html'), path.join(dir, 'web-service-out.html'));
    for (const file of ['web-service-out.json', 'web-service-out.html']) {
        fs.copyFileSync(path.join(ROOT, 'nodes/locales/en-US', file), path.join(dir, 'locales/en-US', file));
    }
    return dir;
}

async function token(red: NodeRedProcess, username: string, scope: string): Promise<string> {
    const response = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: 'pw' }).toString(),
    });
    assert.equal(response.status, 200, `login of ${username}`);
    return ((await response.json()) as { access_token: string }).access_token;
}

function post(red: NodeRedProcess, route: string, body: object, bearer?: string, extra: Record<string, string> = {}): Promise<Response> {
    return fetch(`${red.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...extra },
        body: JSON.stringify(body),
    });
}

describe('web service out Test endpoint with admin auth (real Node-RED)', function () {
    this.timeout(90_000);
    let red: NodeRedProcess;
    let recorder: Recorder;

    before(async () => {
        recorder = await startRecorder();
        // Node-RED's own bcrypt, to hash the test users' password as adminAuth expects it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const bcrypt = require(require.resolve('bcryptjs', { paths: [require.resolve('node-red')] })) as { hashSync(text: string, rounds: number): string };
        const hash = bcrypt.hashSync('pw', 4);
        red = await startNodeRed({
            settings: `nodesDir: ${JSON.stringify(nodesDirectory())},
    adminAuth: { type: 'credentials', users: [
        { username: 'admin', password: ${JSON.stringify(hash)}, permissions: '*' },
        { username: 'viewer', password: ${JSON.stringify(hash)}, permissions: 'read' },
    ] },`,
        });
    });
    after(async () => {
        await red?.stop();
        await recorder?.close();
    });

    const config = () => ({ url: `${recorder.url}/admin/{{callId}}`, method: 'POST', bodyType: 'none', authType: 'bearer' });

    it('refuses the Test without a token and for a user without web-service-out.write', async () => {
        const anonymous = await post(red, '/web-service-out/test', { config: config(), credentials: { token: 't' }, send: false });
        assert.equal(anonymous.status, 401);
        const viewer = await post(
            red,
            '/web-service-out/test',
            { config: config(), credentials: { token: 't' }, send: false },
            await token(red, 'viewer', 'read'),
        );
        // A known user without the permission is refused (403), not asked to log in again (401).
        assert.equal(viewer.status, 403);
        assert.equal(recorder.arrived.length, 0);
    });

    it('an admin tests a deployed node with its stored secret; the flow file never holds it', async () => {
        const admin = await token(red, 'admin', '*');
        const deployed = await post(
            red,
            '/flows',
            [
                { id: 'tab', type: 'tab', label: 't' },
                {
                    id: 'ws1',
                    z: 'tab',
                    type: 'web-service-out',
                    ...config(),
                    params: [],
                    headers: [],
                    form: [],
                    timeout: 5,
                    wires: [[]],
                    credentials: { token: SECRET },
                },
            ],
            admin,
            { 'Node-RED-Deployment-Type': 'full' },
        );
        assert.ok(deployed.ok, await deployed.text());
        // The deploy is answered once the flows are updated; the new nodes start just after.
        await red.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
        const answer = await post(
            red,
            '/web-service-out/test',
            { id: 'ws1', config: config(), credentials: { token: '__PWRD__' }, call: sampleCall(), send: true },
            admin,
        );
        assert.equal(answer.status, 200);
        const result = (await answer.json()) as { request: { url: string; headers: Record<string, string> }; response: { statusCode: number } };
        assert.equal(result.response.statusCode, 200);
        assert.equal(result.request.headers.Authorization, 'Bearer ***');
        const arrived = recorder.arrived[0];
        assert.equal(arrived.headers.authorization, `Bearer ${SECRET}`);
        assert.equal(arrived.requestLine, `POST /admin/${sampleCall().callId} HTTP/1.1`);
        const flowFile = fs.readFileSync(path.join(red.userDir, 'flows.json'), 'utf8');
        assert.match(flowFile, /web-service-out/);
        assert.ok(!flowFile.includes(SECRET));
        assert.ok(!red.log().includes(SECRET));
    });
});
