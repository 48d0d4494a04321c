// The constants the editors read from the runtime (resources/ccaas-editor.js), behind a real Node-RED process with
// admin authentication on: the test helper stubs permission checks out, so only a real runtime shows them enforced.
import assert from 'node:assert/strict';
import { DELIVERY_SETTING_MAXIMA } from '../../src/delivery/delivery-queue';
import { queueSettingsOf } from '../../src/nodes/web-service-out/config';
import { HEADER_NAME } from '../../src/request/build-request';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { startNodeRed, type NodeRedProcess } from '../support/node-red-process';

describe('editor admin routes: constants and the web service out check (real Node-RED)', function () {
    this.timeout(90_000);
    let red: NodeRedProcess;

    before(async () => {
        red = await startNodeRed({ settings: adminAuthSettings(['placeholder-template'], { viewer: 'read', editor: ['read', 'web-service-out.write'] }) });
    });
    after(async () => {
        await red?.stop();
    });

    it('refuses a request without a token', async () => {
        const anonymous = await fetch(`${red.url}/ccaas-web-service/editor-constants`);
        assert.equal(anonymous.status, 401);
    });

    it('gives a reader the runtime rules themselves, and the header pattern the editor builds from them judges as the runtime does', async () => {
        const response = await fetch(`${red.url}/ccaas-web-service/editor-constants`, {
            headers: { authorization: `Bearer ${await adminToken(red, 'viewer', 'read')}` },
        });
        assert.equal(response.status, 200);
        const constants = (await response.json()) as { headerName: string; deliveryMaxima: Record<string, number> };
        assert.deepEqual(constants, { headerName: HEADER_NAME.source, deliveryMaxima: DELIVERY_SETTING_MAXIMA });
        // The bounds the editor checks are the ones deploy enforces.
        for (const [property, max] of Object.entries(constants.deliveryMaxima)) {
            assert.doesNotThrow(() => queueSettingsOf({ [property]: max }), property);
            assert.throws(() => queueSettingsOf({ [property]: max + 1 }), new RegExp(`^${property}: `));
        }
        const editorPattern = new RegExp(constants.headerName);
        for (const name of ['X-API-Key', 'Idempotency-Key', 'x~y', 'Bad Header', 'a:b', '', 'Ä']) {
            assert.equal(editorPattern.test(name), HEADER_NAME.test(name), name);
        }
    });

    const check = (body: object, bearer?: string) =>
        fetch(`${red.url}/ccaas-web-service/web-service-out/check`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
            body: JSON.stringify(body),
        });

    it('checks Target URL and retries for a user with web-service-out.write only, answering what the deploy would say', async () => {
        const question = { url: 'https://{{dnis}}.crm.example.com/calls', authType: 'none', retries: '1s, soon' };
        assert.equal((await check(question)).status, 401);
        // A known user without the permission is refused (403), not asked to log in again (401).
        assert.equal((await check(question, await adminToken(red, 'viewer', 'read'))).status, 403);
        const answer = await check(question, await adminToken(red, 'editor', ''));
        assert.equal(answer.status, 200);
        assert.deepEqual(await answer.json(), {
            problems: [
                {
                    field: 'url',
                    problem:
                        '"https://{{dnis}}.crm.example.com/calls": placeholders are not allowed in the scheme, host or port, so call data can never redirect the request',
                },
                { field: 'retries', problem: '"soon" is not a duration like 30s, 2m or 1h' },
            ],
        });
    });

    it('refuses a check body over the admin bound with 413, naming the route', async () => {
        const answer = await check({ url: `https://crm.example.com/${'x'.repeat(300 * 1024)}` }, await adminToken(red, 'editor', ''));
        assert.equal(answer.status, 413);
        assert.match(((await answer.json()) as { error: string }).error, /\/ccaas-web-service\/web-service-out\/check: the request body is/);
    });
});
