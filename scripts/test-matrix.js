#!/usr/bin/env node
// Runs the domain and node tests once per supported runtime: Node-RED 4.1 (the dev dependency) on the Node that
// runs this script, and Node-RED 5 on Node 22. Node 22 and Node-RED 5 come from the npm registry into
// .matrix/node-red-5/ (its package-lock.json is committed, node_modules is git-ignored), so a clean clone and CI
// install exactly the same runtimes and nothing is downloaded from anywhere else.
//
//   node scripts/test-matrix.js             install what is missing, run every leg, fail if any leg fails
//   node scripts/test-matrix.js --install   (re)install every leg's runtime with npm ci, run nothing
//   node scripts/test-matrix.js --leg=node-red-5   run one leg
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// mocha expands these itself; the suites grow as nodes are added, so the matrix names folders, not files.
const SPECS = ['test/domain/**/*.test.ts', 'test/nodes/**/*.test.ts'];

const LEGS = [
    {
        name: 'node-red-4',
        title: "Node-RED 4.1 (dev dependency) on this machine's Node",
        nodeRedDir: path.join(root, 'node_modules', 'node-red'),
        nodeBinary: () => process.execPath,
        expect: { nodeRed: '4.1.', node: `v${process.versions.node.split('.')[0]}.` },
    },
    {
        name: 'node-red-5',
        title: 'Node-RED 5 on Node 22, from .matrix/node-red-5',
        installDir: path.join(root, '.matrix', 'node-red-5'),
        nodeRedDir: path.join(root, '.matrix', 'node-red-5', 'node_modules', 'node-red'),
        // The npm package "node" ships the platform's binary as bin/node (npm does not link a bin named node).
        nodeBinary: () => path.join(root, '.matrix', 'node-red-5', 'node_modules', 'node', 'bin', process.platform === 'win32' ? 'node.exe' : 'node'),
        expect: { nodeRed: '5.', node: 'v22.' },
    },
];

function parseArgs(argv) {
    const options = { install: false, legs: LEGS };
    for (const arg of argv) {
        if (arg === '--install') options.install = true;
        else if (arg.startsWith('--leg=')) {
            const names = arg.slice('--leg='.length).split(',');
            options.legs = LEGS.filter((leg) => names.includes(leg.name));
            const unknown = names.filter((name) => !LEGS.some((leg) => leg.name === name));
            if (unknown.length > 0) throw new Error(`unknown leg ${unknown.join(', ')}; legs are ${LEGS.map((leg) => leg.name).join(', ')}`);
        } else throw new Error(`unknown argument ${arg}`);
    }
    return options;
}

function install(leg) {
    console.log(`\n== ${leg.name}: npm ci --prefix ${path.relative(root, leg.installDir)}`);
    const result = spawnSync(npm, ['ci', '--prefix', leg.installDir, '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`${leg.name}: npm ci failed (exit ${result.status ?? result.signal})`);
}

function installed(leg) {
    return fs.existsSync(path.join(leg.nodeRedDir, 'package.json')) && fs.existsSync(leg.nodeBinary());
}

/** The runtime a leg actually uses, read from disk, so the summary says what was tested, not what was meant. */
function describeRuntime(leg) {
    const nodeVersion = spawnSync(leg.nodeBinary(), ['--version'], { encoding: 'utf8' }).stdout.trim();
    const nodeRedVersion = JSON.parse(fs.readFileSync(path.join(leg.nodeRedDir, 'package.json'), 'utf8')).version;
    if (!nodeVersion.startsWith(leg.expect.node) || !nodeRedVersion.startsWith(leg.expect.nodeRed)) {
        throw new Error(
            `${leg.name}: expected Node ${leg.expect.node}x and Node-RED ${leg.expect.nodeRed}x, found Node ${nodeVersion} and Node-RED ${nodeRedVersion}`,
        );
    }
    // The test helper must really drive that runtime, not silently fall back to the dev dependency.
    const probe = spawnSync(
        leg.nodeBinary(),
        ['--require', 'tsx/cjs', '--eval', "process.stdout.write(require('./test/support/node-red-runtime').helper._RED.version())"],
        { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_RED_PATH: leg.nodeRedDir } },
    );
    if (!probe.stdout.trim().startsWith(nodeRedVersion)) {
        throw new Error(`${leg.name}: the test helper runs Node-RED "${probe.stdout.trim()}", not ${nodeRedVersion}\n${probe.stderr}`);
    }
    return { node: nodeVersion, nodeRed: nodeRedVersion };
}

function runMocha(leg) {
    const mocha = require.resolve('mocha/bin/mocha.js', { paths: [root] });
    const env = { ...process.env, NODE_RED_PATH: leg.nodeRedDir };
    return new Promise((resolve) => {
        const child = spawn(leg.nodeBinary(), [mocha, ...SPECS], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        const tee = (stream) => (chunk) => {
            output += chunk.toString();
            stream.write(chunk);
        };
        child.stdout.on('data', tee(process.stdout));
        child.stderr.on('data', tee(process.stderr));
        child.on('close', (code, signal) => {
            // mocha's own summary lines; the exit code decides pass or fail, the counts are for the report.
            const count = (word) => Number((output.match(new RegExp(`^\\s*(\\d+) ${word}`, 'm')) ?? [])[1] ?? 0);
            resolve({ code: code ?? 1, signal, passing: count('passing'), failing: count('failing'), pending: count('pending') });
        });
    });
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    for (const leg of options.legs) {
        if (leg.installDir && (options.install || !installed(leg))) install(leg);
    }
    if (options.install) return 0;
    const results = [];
    for (const leg of options.legs) {
        const runtime = describeRuntime(leg);
        console.log(`\n== ${leg.name}: ${leg.title}: Node ${runtime.node}, Node-RED ${runtime.nodeRed}`);
        results.push({ leg, runtime, ...(await runMocha(leg)) });
    }
    console.log('\n== test matrix');
    for (const { leg, runtime, code, signal, passing, failing, pending } of results) {
        const verdict = code === 0 ? 'pass' : `FAIL (${signal ?? `exit ${code}`})`;
        console.log(
            `${leg.name.padEnd(12)} Node ${runtime.node.padEnd(9)} Node-RED ${runtime.nodeRed.padEnd(8)} ${passing} passing, ${failing} failing, ${pending} pending: ${verdict}`,
        );
    }
    return results.every((result) => result.code === 0) ? 0 : 1;
}

// The benchmark and its smoke test find Node-RED 5 through the legs, so the matrix stays the one place that knows them.
module.exports = { LEGS, installed };

if (require.main === module) {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (err) => {
            console.error(`test-matrix: ${err.message}`);
            process.exitCode = 1;
        },
    );
}
