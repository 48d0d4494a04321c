// The README's two commands on a fresh machine: `npm start` and `npm test` first run scripts/dependencies.js (npm ci
// when node_modules is missing or stale) and `npm test` then scripts/test-prerequisites.js (chromium, redis-server,
// redis-cli).
// The machine's own chromium cannot be uninstalled for this, so the scripts run with a PATH that hides it, in dry-run,
// and as a pretended non-root user.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporaryDirectory } from '../support/node-red-process';

const root = path.resolve(__dirname, '../..');
const PREREQUISITES = path.join(root, 'scripts', 'test-prerequisites.js');
const DEPENDENCIES = path.join(root, 'scripts', 'dependencies.js');

/** Runs a script with exactly this PATH (node itself is called by its absolute path) and these variables. */
function run(script: string, args: string[], env: Record<string, string>): { status: number | null; output: string } {
    const result = spawnSync(process.execPath, [script, ...args], {
        cwd: root,
        env: { HOME: process.env.HOME ?? '/tmp', ...env },
        encoding: 'utf8',
        timeout: 30_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A directory for PATH holding only links to the named programs of this machine. */
function binWith(...programs: string[]): string {
    const dir = temporaryDirectory('bin');
    for (const program of programs) {
        const found = (process.env.PATH ?? '')
            .split(path.delimiter)
            .map((entry) => path.join(entry, program))
            .find((file) => fs.existsSync(file));
        assert.ok(found, `${program} is on this machine's PATH`);
        fs.symlinkSync(found, path.join(dir, program));
    }
    return dir;
}

describe('fresh machine: the steps before npm start and npm test', function () {
    this.timeout(60_000);

    describe('scripts/test-prerequisites.js', () => {
        it('finds chromium, redis-server and redis-cli on PATH and prints where and which version', () => {
            const { status, output } = run(PREREQUISITES, [], { PATH: process.env.PATH! });
            assert.equal(status, 0, output);
            assert.match(output, /^chromium: \/\S+ \(Chromium \d+/m);
            assert.match(output, /^redis-server: \/\S+ \(Redis server v=\d+/m);
            assert.match(output, /^redis-cli: \/\S+ \(redis-cli \d+/m);
            assert.doesNotMatch(output, /apt-get/);
        });

        it('as root with apt-get but none of the programs on PATH: prints the apt-get commands it runs (dry run)', () => {
            const { status, output } = run(PREREQUISITES, ['--dry-run'], { PATH: binWith('apt-get') });
            assert.equal(status, 0, output);
            assert.deepEqual(output.trim().split('\n'), [
                '+ DEBIAN_FRONTEND=noninteractive apt-get update -qq',
                '+ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server redis-tools',
            ]);
        });

        it('installs only what is missing: with chromium on PATH, only the Redis packages; with redis-server too, redis-tools', () => {
            const { status, output } = run(PREREQUISITES, ['--dry-run'], { PATH: binWith('apt-get', 'chromium') });
            assert.equal(status, 0, output);
            assert.match(output, /apt-get install -y -qq redis-server redis-tools$/m);
            assert.doesNotMatch(output, /install[^\n]*chromium/);
            const cliOnly = run(PREREQUISITES, ['--dry-run'], { PATH: binWith('apt-get', 'chromium', 'redis-server') });
            assert.equal(cliOnly.status, 0, cliOnly.output);
            assert.match(cliOnly.output, /apt-get install -y -qq redis-tools$/m);
        });

        it('not root: fails naming the exact command to run, and CHROMIUM_PATH', () => {
            const { status, output } = run(PREREQUISITES, [], { PATH: binWith('apt-get'), TEST_PREREQUISITES_AS_USER: '1' });
            assert.equal(status, 1, output);
            assert.match(output, /^ {2}sudo apt-get update && sudo apt-get install -y -qq chromium redis-server redis-tools$/m);
            assert.match(output, /CHROMIUM_PATH/);
        });

        it('no apt-get: fails naming the packages to install', () => {
            const { status, output } = run(PREREQUISITES, [], { PATH: binWith() });
            assert.equal(status, 1, output);
            assert.match(output, /no apt-get\. Install the packages chromium redis-server redis-tools/);
        });

        it('CHROMIUM_PATH names the browser: used when it exists (chromium on PATH not needed), refused when it does not', () => {
            const chromium = path.join(binWith('chromium'), 'chromium');
            const used = run(PREREQUISITES, [], { PATH: binWith('redis-server', 'redis-cli'), CHROMIUM_PATH: chromium });
            assert.equal(used.status, 0, used.output);
            assert.match(used.output, new RegExp(`^chromium: ${chromium} \\(Chromium`, 'm'));
            const refused = run(PREREQUISITES, [], { PATH: process.env.PATH!, CHROMIUM_PATH: '/nonexistent/chrome' });
            assert.equal(refused.status, 1, refused.output);
            assert.match(refused.output, /CHROMIUM_PATH=\/nonexistent\/chrome is not an executable file/);
        });
    });

    describe('scripts/dependencies.js', () => {
        /** A project with a lockfile pinning one package, and what node_modules holds of it. */
        function project(installed: string | undefined, manifestDeps: Record<string, string> = { tiny: '^1.0.0' }): string {
            const dir = temporaryDirectory('project');
            fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', dependencies: manifestDeps }));
            fs.writeFileSync(
                path.join(dir, 'package-lock.json'),
                JSON.stringify({
                    name: 'p',
                    lockfileVersion: 3,
                    packages: {
                        '': { name: 'p', version: '1.0.0', dependencies: { tiny: '^1.0.0' } },
                        'node_modules/tiny': { version: '1.2.0' },
                        'node_modules/native-other-os': { version: '2.0.0', optional: true },
                    },
                }),
            );
            if (installed) {
                fs.mkdirSync(path.join(dir, 'node_modules', 'tiny'), { recursive: true });
                fs.writeFileSync(path.join(dir, 'node_modules', 'tiny', 'package.json'), JSON.stringify({ name: 'tiny', version: installed }));
            }
            return dir;
        }

        it('this checkout: node_modules matches the lockfile, so nothing runs', () => {
            const { status, output } = run(DEPENDENCIES, ['--dry-run'], { PATH: process.env.PATH! });
            assert.equal(status, 0, output);
            assert.equal(output, '');
        });

        it('a fresh clone (no node_modules) and a stale one run npm ci; an absent optional package does not', () => {
            const fresh = run(DEPENDENCIES, ['--dry-run', '--dir', project(undefined)], { PATH: process.env.PATH! });
            assert.equal(fresh.status, 0, fresh.output);
            assert.match(fresh.output, /tiny: wanted 1\.2\.0, installed none/);
            assert.match(fresh.output, /^\+ npm ci$/m);
            const stale = run(DEPENDENCIES, ['--dry-run', '--dir', project('1.1.0')], { PATH: process.env.PATH! });
            assert.match(stale.output, /tiny: wanted 1\.2\.0, installed 1\.1\.0/);
            assert.match(stale.output, /^\+ npm ci$/m);
            const current = run(DEPENDENCIES, ['--dry-run', '--dir', project('1.2.0')], { PATH: process.env.PATH! });
            assert.equal(current.output, '');
            assert.equal(current.status, 0);
        });

        it('package.json changed without the lockfile: says to run npm install instead of a failing npm ci', () => {
            const { status, output } = run(DEPENDENCIES, ['--dry-run', '--dir', project('1.2.0', { tiny: '^1.0.0', other: '^3.0.0' })], {
                PATH: process.env.PATH!,
            });
            assert.equal(status, 1, output);
            assert.match(output, /package\.json dependencies differ from package-lock\.json/);
            assert.match(output, /run: npm install$/m);
            assert.doesNotMatch(output, /\+ npm ci/);
        });
    });
});
