import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, temporaryDirectory, type NodeRedProcess } from '../support/node-red-process';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// Node-RED's own notices on a first start in a plain user directory, whatever is installed.
const RUNTIME_NOTICES = [/Projects disabled/, /Encrypted credentials not found/];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('npm pack, installed into a plain Node-RED user directory', function () {
    this.timeout(180_000);
    let tarball: string;
    let userDir: string;
    let nodeRed: NodeRedProcess | undefined;

    before(() => {
        const packDir = temporaryDirectory('pack');
        const output = execFileSync(npm, ['pack', '--json', '--pack-destination', packDir], {
            cwd: root,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
        });
        const [packed] = JSON.parse(output) as Array<{ filename: string; files: Array<{ path: string }> }>;
        tarball = path.join(packDir, packed.filename);
        userDir = temporaryDirectory('plain-user');
        fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
        execFileSync(npm, ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: userDir, stdio: 'ignore' });
    });

    after(async () => {
        await nodeRed?.stop();
    });

    it('the tarball holds every file the runtime and the editor need', () => {
        const installed = path.join(userDir, 'node_modules', pkg.name);
        for (const [type, file] of Object.entries(pkg['node-red'].nodes as Record<string, string>)) {
            const base = path.join(installed, file.replace(/\.js$/, ''));
            for (const ext of ['.js', '.html']) assert.ok(fs.existsSync(base + ext), `${type}: ${base + ext}`);
            const dir = path.dirname(base);
            const name = path.basename(base);
            assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${name}.json`)), `${type}: message catalog`);
            assert.ok(fs.existsSync(path.join(dir, 'locales', 'en-US', `${name}.html`)), `${type}: help`);
        }
        assert.ok(fs.readdirSync(path.join(installed, 'dist', 'nodes', 'icons')).length > 0, 'icons');
        assert.ok(
            fs.readdirSync(path.join(installed, 'examples')).some((file) => file.endsWith('.json')),
            'examples',
        );
        assert.ok(fs.existsSync(path.join(installed, 'resources', 'ccaas-editor.js')), "the dialogs' shared editor script");
        assert.ok(fs.existsSync(path.join(installed, 'resources', 'deliveries-sidebar.js')), 'the deliveries sidebar');
        assert.ok(!fs.existsSync(path.join(installed, 'src')), 'TypeScript sources stay out of the package');
        assert.ok(!fs.existsSync(path.join(installed, 'test')), 'tests stay out of the package');
    });

    it('Node-RED loads every node with no warning or error', async () => {
        nodeRed = await startNodeRed({ userDir });
        const response = await fetch(`${nodeRed.url}/nodes`, { headers: { Accept: 'application/json' } });
        const sets = (await response.json()) as Array<{ id: string; module: string; enabled: boolean; err?: string; types: string[] }>;
        const ours = sets.filter((set) => set.module === pkg.name);
        assert.deepEqual(ours.flatMap((set) => set.types).sort(), Object.keys(pkg['node-red'].nodes).sort());
        for (const set of ours) {
            assert.equal(set.enabled, true, set.id);
            assert.equal(set.err, undefined, `${set.id}: ${set.err}`);
        }
        const problems = nodeRed
            .log()
            .split('\n')
            .filter((line) => /\[(warn|error)\]/.test(line))
            .filter((line) => !RUNTIME_NOTICES.some((notice) => notice.test(line)));
        assert.deepEqual(problems, []);
        const icon = await fetch(`${nodeRed.url}/icons/${pkg.name}/placeholder-template.svg`);
        assert.equal(icon.status, 200);
        // The script every dialog loads with <script src="resources/<package>/ccaas-editor.js">.
        const script = await fetch(`${nodeRed.url}/resources/${pkg.name}/ccaas-editor.js`);
        assert.equal(script.status, 200);
        assert.match(await script.text(), /runtimeAnswer/);
        // And the deliveries sidebar tab, loaded by web service out's editor file.
        const sidebar = await fetch(`${nodeRed.url}/resources/${pkg.name}/deliveries-sidebar.js`);
        assert.equal(sidebar.status, 200);
        assert.match(await sidebar.text(), /RED\.sidebar\.addTab/);
    });
});
