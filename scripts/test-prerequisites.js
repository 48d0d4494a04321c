#!/usr/bin/env node
// Second step of `npm test` (and of .ci/run): the system programs the tests start themselves, which npm cannot
// install: Debian's `chromium` (the editor tests drive it through playwright-core, which never downloads a browser)
// and `redis-server` (the shared-state tests run one of their own), with `redis-cli` (Debian's redis-tools, which
// redis-server depends on: the tests join the nodes of a Redis Cluster with it). Found on PATH, or installed with apt-get when
// this runs as root on a system with apt (a CI container, a fresh VM); otherwise it fails naming the command to run.
//
// `node scripts/test-prerequisites.js [--dry-run]`
//   --dry-run (or TEST_PREREQUISITES_DRY_RUN=1)  print the commands it would run, run none of them
//   CHROMIUM_PATH=/path/to/chrome                use that browser instead of Debian's chromium (as the tests do)
//   TEST_PREREQUISITES_AS_USER=1                 behave as if not root, so the "cannot install" path can be tried
//                                                on a machine where this runs as root
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

// The tests launch this path unless CHROMIUM_PATH names another (test/support/editor-browser.ts).
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The programs the tests need: Debian package, the executable the tests run, and how to show it works. */
const PREREQUISITES = [
    { name: 'chromium', debianPackage: 'chromium', override: 'CHROMIUM_PATH', versionArgs: ['--version'] },
    { name: 'redis-server', debianPackage: 'redis-server', versionArgs: ['--version'] },
    { name: 'redis-cli', debianPackage: 'redis-tools', versionArgs: ['--version'] },
];

function onPath(command, env) {
    for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, command);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not in this directory
        }
    }
    return undefined;
}

/**
 * Where each prerequisite is, or why it is not usable. CHROMIUM_PATH, when set, is the only browser considered:
 * a user who names a binary wants that one, not a silent fallback.
 */
function locate(env) {
    return PREREQUISITES.map((item) => {
        const chosen = item.override ? env[item.override] : undefined;
        if (chosen) {
            const usable = fs.existsSync(chosen) && isExecutable(chosen);
            return { ...item, found: usable ? chosen : undefined, problem: usable ? undefined : `${item.override}=${chosen} is not an executable file` };
        }
        const found = onPath(item.name, env);
        return { ...item, found };
    });
}

function isExecutable(file) {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** The plan for this machine: what to run (apt-get as root), or the message naming what the user must run. */
function plan(env, { isRoot }) {
    const located = locate(env);
    const broken = located.filter((item) => item.problem);
    if (broken.length > 0) return { located, fail: broken.map((item) => item.problem).join('\n') };
    const missing = located.filter((item) => !item.found);
    if (missing.length === 0) return { located, commands: [] };
    // redis-server brings redis-tools with it; naming both is harmless, and needed when only redis-cli is missing.
    const packages = [...new Set(missing.map((item) => item.debianPackage))];
    const aptGet = onPath('apt-get', env);
    const install = ['apt-get', 'install', '-y', '-qq', ...packages];
    if (aptGet && isRoot) {
        return { located, commands: [['apt-get', 'update', '-qq'], install] };
    }
    const names = missing.map((item) => item.name).join(' and ');
    const chromiumHint = missing.some((item) => item.override) ? '\nor set CHROMIUM_PATH to a Chromium or Chrome binary you have' : '';
    if (aptGet) {
        return {
            located,
            fail: `The tests need ${names}, and installing them takes root. Run:\n  sudo apt-get update && sudo ${install.join(' ')}${chromiumHint}`,
        };
    }
    return {
        located,
        fail: `The tests need ${names} (not on PATH), and this system has no apt-get. Install the packages ${packages.join(' ')} with its package manager${chromiumHint}`,
    };
}

/** Finds or installs the prerequisites; prints each command before it runs it. Returns the exit code. */
function ensureTestPrerequisites({ env = process.env, dryRun = false, isRoot, log = (line) => process.stdout.write(`${line}\n`) } = {}) {
    const root = isRoot ?? (env.TEST_PREREQUISITES_AS_USER !== '1' && typeof process.getuid === 'function' && process.getuid() === 0);
    const steps = plan(env, { isRoot: root });
    if (steps.fail) {
        log(steps.fail);
        return 1;
    }
    for (const command of steps.commands) {
        log(`+ DEBIAN_FRONTEND=noninteractive ${command.join(' ')}`);
        if (dryRun) continue;
        const result = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
        if (result.status !== 0) {
            log(`${command.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
            return 1;
        }
    }
    if (dryRun && steps.commands.length > 0) return 0;
    for (const item of locate(env)) {
        if (!item.found) {
            log(`${item.name} is still not on PATH after installing ${item.debianPackage}`);
            return 1;
        }
        if (item.override === 'CHROMIUM_PATH' && !env.CHROMIUM_PATH && item.found !== DEFAULT_CHROMIUM && !fs.existsSync(DEFAULT_CHROMIUM)) {
            log(`chromium is at ${item.found}, but the tests look for ${DEFAULT_CHROMIUM}. Run:\n  CHROMIUM_PATH=${item.found} npm test`);
            return 1;
        }
        const version = spawnSync(item.found, item.versionArgs, { encoding: 'utf8', env });
        log(`${item.name}: ${item.found} (${(version.stdout || version.stderr || '').trim().split('\n')[0] || 'version unknown'})`);
    }
    return 0;
}

module.exports = { ensureTestPrerequisites, plan, PREREQUISITES };

if (require.main === module) {
    const dryRun = process.argv.includes('--dry-run') || process.env.TEST_PREREQUISITES_DRY_RUN === '1';
    process.exitCode = ensureTestPrerequisites({ dryRun });
}
