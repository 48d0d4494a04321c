// The call event endpoint in a real Node-RED with its default settings: httpAdminRoot and httpNodeRoot are both "/",
// so the editor's JSON parser sees every request first. The endpoint must still get the exact bytes, or signed
// requests could never verify (and, before the fix, requests hung).
import assert from 'node:assert/strict';
import { signWebhook } from '../../src/signing/standard-webhooks';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';

const SECRET = `whsec_${Buffer.from('a 32 byte key for the real test!').toString('base64')}`;

describe('call event in endpoint in a real Node-RED with default roots', function () {
    this.timeout(60_000);
    let nodeRed: NodeRedProcess;

    before(async () => {
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [] });
        const flows = [
            { id: 'tab', type: 'tab', label: 'endpoint' },
            { id: 'signed', z: 'tab', type: 'call-event-in', path: '/ccaas/signed', auth: 'standard-webhooks', tolerance: 300, events: [], wires: [[]], credentials: { secret: SECRET } },
            { id: 'open', z: 'tab', type: 'call-event-in', path: '/ccaas/open', auth: 'none', maxBody: 1, events: [], wires: [[]] },
        ];
        const deployed = await fetch(`${nodeRed.url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
        assert.equal(deployed.status, 204);
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
    });

    after(() => nodeRed?.stop());

    const post = (route: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${nodeRed.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(5000) });

    it('verifies a Standard Webhooks signature over the exact bytes sent (odd spacing kept)', async () => {
        const body = '[ {"type":"presenting",   "callId":"real-1"} ]';
        const response = await post('/ccaas/signed', body, { ...signWebhook(SECRET, 'msg_1', Date.now() / 1000, body) });
        assert.equal(response.status, 202);
        assert.deepEqual(await response.json(), { accepted: 1 });
        const tampered = await post('/ccaas/signed', body.replace('real-1', 'real-2'), { ...signWebhook(SECRET, 'msg_2', Date.now() / 1000, body) });
        assert.equal(tampered.status, 401);
    });

    it('answers 400 and 413 there too, and keeps the editor API working', async () => {
        assert.equal((await post('/ccaas/open', '{"type":"nope","callId":"x"}')).status, 400);
        assert.equal((await post('/ccaas/open', JSON.stringify({ type: 'update', callId: 'x', callerName: 'y'.repeat(5000) }))).status, 413);
        const flows = await fetch(`${nodeRed.url}/flows`);
        assert.equal(flows.status, 200);
    });
});
