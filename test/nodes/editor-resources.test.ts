// The constants the editors read from the runtime (resources/ccaas-editor.js), behind a real Node-RED process with
// admin authentication on: the test helper stubs permission checks out, so only a real runtime shows them enforced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_RETRIES } from '../../src/delivery/retry-schedule';
import { HEADER_NAME } from '../../src/request/build-request';
import { PROVIDER_ORIGIN } from '../../src/request/url-template';
import { startNodeRed, temporaryDirectory, type NodeRedProcess } from '../support/node-red-process';

const ROOT = path.resolve(__dirname, '../..');

/** A nodes directory whose node file loads our TypeScript source, so no build is needed. */
function nodesDirectory(): string {
    const dir = temporaryDirectory('nodes');
    fs.mkdirSync(path.join(dir, 'locales', 'en-US'), { recursive: true });
    fs.writeFileSync(
        path.join(dir, 'placeholder-template.js'),
        `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nmodule.exports = require(${JSON.stringify(path.join(ROOT, 'src/nodes/placeholder-template.ts'))});\n`,
    );
    fs.copyFileSync(path.join(ROOT, 'nodes/placeholder-template.html'), path.join(dir, 'placeholder-template.html'));
    return dir;
}

async function token(red: NodeRedProcess, username: string): Promise<string> {
    const response = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope: 'read', username, password: 'pw' }).toString(),
    });
    assert.equal(response.status, 200, `login of ${username}`);
    return ((await response.json()) as { access_token: string }).access_token;
}

describe('editor constants admin route (real Node-RED)', function () {
    this.timeout(90_000);
    let red: NodeRedProcess;

    before(async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const hash = (require(require.resolve('bcryptjs', { paths: [require.resolve('node-red')] })) as { hashSync(text: string, rounds: number): string }).hashSync('pw', 4);
        red = await startNodeRed({
            settings: `nodesDir: ${JSON.stringify(nodesDirectory())},
    adminAuth: { type: 'credentials', users: [{ username: 'viewer', password: ${JSON.stringify(hash)}, permissions: 'read' }] },`,
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
        const constants = (await response.json()) as { headerName: string; defaultRetries: string; providerOrigin: string };
        assert.deepEqual(constants, { headerName: HEADER_NAME.source, defaultRetries: DEFAULT_RETRIES, providerOrigin: PROVIDER_ORIGIN });
        const editorPattern = new RegExp(constants.headerName);
        for (const name of ['X-API-Key', 'Idempotency-Key', 'x~y', 'Bad Header', 'a:b', '', 'Ä']) {
            assert.equal(editorPattern.test(name), HEADER_NAME.test(name), name);
        }
    });
});
