#!/usr/bin/env node
// `npm start`: a local Node-RED (the dev dependency) on 127.0.0.1 with its own user directory in the checkout,
// this package linked into it, and the demo flow deployed. Nothing outside this machine is needed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.node-red');
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 1880);
const pkg = require(path.join(root, 'package.json'));

fs.mkdirSync(path.join(userDir, 'node_modules', '@ccaas'), { recursive: true });
const link = path.join(userDir, 'node_modules', pkg.name);
fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(root, link, 'dir');
fs.writeFileSync(
    path.join(userDir, 'package.json'),
    JSON.stringify({ name: 'node-red-project', private: true, dependencies: { [pkg.name]: `file:${root}` } }, null, 2),
);
fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `// Written by scripts/start-demo.js on each start.
module.exports = {
    uiHost: ${JSON.stringify(host)},
    uiPort: ${port},
    flowFile: 'flows.json',
    flowFilePretty: true,
    credentialSecret: 'ccaas-demo-only',
    // The update-notification question blocks the canvas on first load, and the check needs the internet.
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false },
};
`,
);
// The demo flow is rewritten on each start so it always matches the nodes of this checkout.
fs.copyFileSync(path.join(root, 'examples', 'demo.json'), path.join(userDir, 'flows.json'));

const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    stdio: ['inherit', 'pipe', 'inherit'],
});
let announced = false;
red.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (!announced && /Started flows/.test(String(chunk))) {
        announced = true;
        process.stdout.write(`\nThe demo is running. Open the editor at http://${host}:${port}/ and watch the debug sidebar.\n\n`);
    }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => red.kill(signal));
red.on('exit', (code) => process.exit(code ?? 0));
