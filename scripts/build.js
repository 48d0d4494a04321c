#!/usr/bin/env node
// Builds the package: compiles src/ to dist/ and places each node's editor file, message catalogs and icons
// beside its compiled runtime file, because Node-RED looks for all three next to the .js it loads.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const distNodes = path.join(dist, 'nodes');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
    stdio: 'inherit',
});
fs.mkdirSync(distNodes, { recursive: true });
for (const entry of fs.readdirSync(path.join(root, 'nodes'))) {
    fs.cpSync(path.join(root, 'nodes', entry), path.join(distNodes, entry), { recursive: true });
}
fs.cpSync(path.join(root, 'icons'), path.join(distNodes, 'icons'), { recursive: true });
// A node that grew into a folder (src/nodes/<node>/index.ts) keeps its runtime entry dist/nodes/<node>.js, the path
// package.json names and next to which Node-RED looks for the node's editor file and catalogs.
for (const entry of fs.readdirSync(distNodes, { withFileTypes: true })) {
    if (!entry.isDirectory() || !fs.existsSync(path.join(distNodes, entry.name, 'index.js'))) continue;
    fs.writeFileSync(path.join(distNodes, `${entry.name}.js`), `'use strict';\nmodule.exports = require('./${entry.name}/index.js');\n`);
}
