// The Test endpoint behind a real Node-RED process with admin authentication on: the test helper stubs
// permission checks out, so only a real runtime can show that they are enforced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sampleCall } from '../../src/call/sample-call';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { startNodeRed, type NodeRedProcess } from '../support/node-red-process';
import { startRecorder, type Recorder } from './web-service-out.recorder';

const SECRET = 'stored-token-never-shown';

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
        red = await startNodeRed({ settings: adminAuthSettings(['web-service-out'], { admin: '*', viewer: 'read' }) });
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
            await adminToken(red, 'viewer', 'read'),
        );
        // A known user without the permission is refused (403), not asked to log in again (401).
        assert.equal(viewer.status, 403);
        assert.equal(recorder.arrived.length, 0);
    });

    it('an admin tests a deployed node with its stored secret; the flow file never holds it', async () => {
        const admin = await adminToken(red, 'admin', '*');
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
