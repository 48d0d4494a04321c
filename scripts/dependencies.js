#!/usr/bin/env node
// First step of `npm start` and `npm test`: on a fresh clone (or after a pull that changed package-lock.json) the
// packages are missing or stale, and the build would fail with "Cannot find module 'typescript'". This runs `npm ci`
// exactly then, and never when node_modules already holds what the lockfile pins: `npm ci` deletes node_modules
// first, which costs a minute and breaks a node_modules shared with other checkouts by hard links.
//
// Run directly: `node scripts/dependencies.js [--dry-run] [--dir DIR]`; --dry-run (or DEPENDENCIES_DRY_RUN=1) prints
// what it would run and runs nothing; --dir checks another project than this checkout (the script's own test).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');

/**
 * What node_modules lacks against package-lock.json: entries "name: wanted x, installed y". Optional packages are
 * skipped when absent, because npm installs only those of this platform (esbuild's 20-odd native builds).
 */
function missingPackages(projectDir = root) {
    const lockFile = path.join(projectDir, 'package-lock.json');
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
    const problems = [];
    const manifest = JSON.parse(fs.readFileSync(path.join(projectDir, 'package.json'), 'utf8'));
    const locked = lock.packages?.[''] ?? {};
    for (const field of ['dependencies', 'devDependencies']) {
        if (JSON.stringify(sorted(manifest[field])) !== JSON.stringify(sorted(locked[field]))) {
            problems.push(`package.json ${field} differ from package-lock.json (run npm install to update the lockfile)`);
        }
    }
    for (const [location, entry] of Object.entries(lock.packages ?? {})) {
        if (location === '' || entry.link) continue;
        let installed = null;
        try {
            installed = JSON.parse(fs.readFileSync(path.join(projectDir, location, 'package.json'), 'utf8')).version;
        } catch {
            if (entry.optional) continue;
        }
        if (installed !== entry.version)
            problems.push(`${location.replace(/^.*node_modules\//, '')}: wanted ${entry.version}, installed ${installed ?? 'none'}`);
    }
    return problems;
}

function sorted(record) {
    return Object.fromEntries(Object.entries(record ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

/** Runs `npm ci` when packages are missing or stale; prints why and the command. Returns false if npm ci failed. */
function ensureDependencies({ projectDir = root, dryRun = false, log = (line) => process.stdout.write(`${line}\n`) } = {}) {
    const problems = missingPackages(projectDir);
    if (problems.length === 0) return true;
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    log(`node_modules does not match package-lock.json (${shown})`);
    if (problems.some((problem) => problem.startsWith('package.json '))) {
        log('npm ci installs only what the lockfile pins; run: npm install');
        return false;
    }
    log('+ npm ci');
    if (dryRun) return true;
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: projectDir, stdio: 'inherit' });
    if (result.status !== 0) {
        log(`npm ci failed (${result.error?.message ?? `exit ${result.status}`}); run it yourself in ${projectDir}: npm ci`);
        return false;
    }
    return true;
}

module.exports = { missingPackages, ensureDependencies };

if (require.main === module) {
    const dryRun = process.argv.includes('--dry-run') || process.env.DEPENDENCIES_DRY_RUN === '1';
    const dirAt = process.argv.indexOf('--dir');
    const projectDir = dirAt > 0 ? path.resolve(process.argv[dirAt + 1]) : root;
    process.exitCode = ensureDependencies({ projectDir, dryRun }) ? 0 : 1;
}
