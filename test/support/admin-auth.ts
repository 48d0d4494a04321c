// A real Node-RED with admin authentication on, for the tests of who may call the package's admin routes (the test
// helper stubs permission checks out, so only a process of its own can show a 403).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { temporaryDirectory, type NodeRedProcess } from './node-red-process';

const ROOT = path.resolve(__dirname, '../..');
/** Every test user's password. */
const PASSWORD = 'pw';

/** A nodes directory whose node files load our TypeScript sources (tsx), with their editor files and catalogs: no build needed. */
export function sourceNodesDirectory(names: readonly string[]): string {
    const dir = temporaryDirectory('nodes');
    fs.mkdirSync(path.join(dir, 'locales', 'en-US'), { recursive: true });
    for (const name of names) {
        const source = path.join(ROOT, 'src/nodes', name, 'index.ts');
        fs.writeFileSync(
            path.join(dir, `${name}.js`),
            `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nmodule.exports = require(${JSON.stringify(source)});\n`,
        );
        fs.copyFileSync(path.join(ROOT, 'nodes', `${name}.html`), path.join(dir, `${name}.html`));
        for (const file of [`${name}.json`, `${name}.html`])
            fs.copyFileSync(path.join(ROOT, 'nodes/locales/en-US', file), path.join(dir, 'locales/en-US', file));
    }
    return dir;
}

/** settings.js lines: our nodes from source, and adminAuth with these users (username -> Node-RED permissions). */
export function adminAuthSettings(nodes: readonly string[], users: Record<string, string | string[]>): string {
    return `nodesDir: ${JSON.stringify(sourceNodesDirectory(nodes))},\n    ${adminAuthLine(users)}`;
}

/** The settings.js line of adminAuth with these users (username -> Node-RED permissions), all with the test password. */
export function adminAuthLine(users: Record<string, string | string[]>): string {
    // Node-RED's own bcrypt, to hash the password as adminAuth expects it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bcrypt = require(require.resolve('bcryptjs', { paths: [require.resolve('node-red')] })) as { hashSync(text: string, rounds: number): string };
    const hash = bcrypt.hashSync(PASSWORD, 4);
    const entries = Object.entries(users).map(([username, permissions]) => ({ username, password: hash, permissions }));
    return `adminAuth: { type: 'credentials', users: ${JSON.stringify(entries)} },`;
}

/** Logs a user in through the editor's own token endpoint and returns the bearer token. */
export async function adminToken(red: NodeRedProcess, username: string, scope: string): Promise<string> {
    const response = await fetch(`${red.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password: PASSWORD }).toString(),
    });
    assert.equal(response.status, 200, `login of ${username}`);
    return ((await response.json()) as { access_token: string }).access_token;
}
