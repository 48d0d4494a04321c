// The call event endpoint in a real Node-RED with its default settings: httpAdminRoot and httpNodeRoot are both "/",
// so the editor's JSON parser sees every request first. The endpoint must still get the exact bytes, or signed
// requests could never verify (and, before the fix, requests hung).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import twilio from 'twilio';
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
            {
                id: 'signed',
                z: 'tab',
                type: 'call-event-in',
                path: '/ccaas/signed',
                auth: 'standard-webhooks',
                tolerance: 300,
                events: [],
                wires: [[]],
                credentials: { secret: SECRET },
            },
            { id: 'open', z: 'tab', type: 'call-event-in', path: '/ccaas/open', auth: 'none', maxBody: 1, events: [], wires: [[]] },
        ];
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(flows),
        });
        assert.equal(deployed.status, 204);
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
    });

    after(() => nodeRed?.stop());

    const post = (route: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${nodeRed.url}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
            signal: AbortSignal.timeout(5000),
        });

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

describe('Twilio callbacks to a real Node-RED with httpNodeRoot /hooks, signed by the twilio package', function () {
    this.timeout(60_000);
    const token = 'twilio-auth-token-for-tests';
    const body = readFileSync(join(__dirname, '..', 'fixtures', 'adapters', 'twilio', '4-parent-completed.txt')).toString();
    const signedFor = (url: string): string => twilio.getExpectedTwilioSignature(token, url, Object.fromEntries(new URLSearchParams(body)));
    let nodeRed: NodeRedProcess;

    before(async () => {
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [], settings: "httpNodeRoot: '/hooks'," });
        const flows = [
            { id: 'tab', type: 'tab', label: 'twilio' },
            {
                id: 'direct',
                z: 'tab',
                type: 'call-event-in',
                path: '/twilio/direct',
                source: 'twilio',
                events: [],
                wires: [[]],
                credentials: { platformSecret: token },
            },
            {
                id: 'proxied',
                z: 'tab',
                type: 'call-event-in',
                path: '/twilio/proxied',
                source: 'twilio',
                publicUrl: 'https://public.example.com',
                events: [],
                wires: [[]],
                credentials: { platformSecret: token },
            },
        ];
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(flows),
        });
        assert.equal(deployed.status, 204);
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
    });

    after(() => nodeRed?.stop());

    const postSigned = (route: string, signature: string) =>
        fetch(`${nodeRed.url}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
            body,
            signal: AbortSignal.timeout(5000),
        });

    it('posting straight to Node-RED, no Public base URL: verified from the request URL, httpNodeRoot included', async () => {
        const response = await postSigned('/hooks/twilio/direct?leg=1', signedFor(`${nodeRed.url}/hooks/twilio/direct?leg=1`));
        assert.equal(response.status, 200, await response.text());
        assert.equal((await postSigned('/hooks/twilio/direct', signedFor(`${nodeRed.url}/twilio/direct`))).status, 401, 'signed without httpNodeRoot');
    });

    it('behind a proxy, a Public base URL of just the origin: httpNodeRoot is added to it', async () => {
        const response = await postSigned('/hooks/twilio/proxied', signedFor('https://public.example.com/hooks/twilio/proxied'));
        assert.equal(response.status, 200, await response.text());
    });
});
