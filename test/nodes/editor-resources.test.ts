// The constants the editors read from the runtime (resources/ccaas-editor.js), behind a real Node-RED process with
// admin authentication on: the test helper stubs permission checks out, so only a real runtime shows them enforced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HEADER_NAME } from '../../src/request/build-request';
import { startNodeRed, temporaryDirectory, type NodeRedProcess } from '../support/node-red-process';

const ROOT = path.resolve(__dirname, '../..');

/** A nodes directory whose node file loads our TypeScript source, so no build is needed. */
function nodesDirectory(): string {
    const dir = temporaryDirectory('nodes');
    fs.mkdirSync(path.join(dir, 'locales', 'en-US'), { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'placeholder-template.js'),
        `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nmodule.exports = require(${JSON.stringify(path.join(ROOT, 'src/nodes/placeholder-template/index.ts'))});\n`,
    );
    fs.copyFileSync(path.join(ROOT, 'nodes/placeholder-template.html'), path.join(dir, 'placeholder-template.html'));
    return dir;
}

async function token(red: NodeRedProcess, username: string, scope = 'read'): Promise<string> {
    const response = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: 'pw' }).toString(),
    });
    assert.equal(response.status, 200, `login of ${username}`);
    return ((await response.json()) as { access_token: string }).access_token;
}

describe('editor admin routes: constants and the web service out check (real Node-RED)', function () {
    this.timeout(90_000);
    let red: NodeRedProcess;

    before(async () => {
        // Node-RED's own bcrypt, to hash the test users' password as adminAuth expects it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const bcrypt = require(require.resolve('bcryptjs', { paths: [require.resolve('node-red')] })) as { hashSync(text: string, rounds: number): string };
        const hash = bcrypt.hashSync('pw', 4);
        red = await startNodeRed({
            settings: `nodesDir: ${JSON.stringify(nodesDirectory())},
    adminAuth: { type: 'credentials', users: [
        { username: 'viewer', password: ${JSON.stringify(hash)}, permissions: 'read' },
        { username: 'editor', password: ${JSON.stringify(hash)}, permissions: ['read', 'web-service-out.write'] },
    ] },`,
        });
    });
    after(async () => {
        await red?.stop();
    });

    it('refuses a request without a token', async () => {
        const anonymous = await fetch(`${red.url}/ccaas-web-service/editor-constants`);
        assert.equal(anonymous.status, 401);
    });

    it('gives a reader the runtime rules themselves, and the header pattern the editor builds from them judges as the runtime does', async () => {
        const response = await fetch(`${red.url}/ccaas-web-service/editor-constants`, { headers: { authorization: `Bearer ${await token(red, 'viewer')}` } });
        assert.equal(response.status, 200);
        const constants = (await response.json()) as { headerName: string };
        assert.deepEqual(constants, { headerName: HEADER_NAME.source });
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
        assert.equal((await check(question, await token(red, 'viewer'))).status, 403);
        const answer = await check(question, await token(red, 'editor', ''));
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
        const answer = await check({ url: `https://crm.example.com/${'x'.repeat(300 * 1024)}` }, await token(red, 'editor', ''));
        assert.equal(answer.status, 413);
        assert.match(((await answer.json()) as { error: string }).error, /\/ccaas-web-service\/web-service-out\/check: the request body is/);
    });
});
