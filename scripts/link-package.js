// The demos' user directories get this checkout as their installed package: a link, as `npm link` would make, and
// a package.json that names it, so Node-RED's palette manager sees it as installed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function linkPackage(userDir, root) {
    const pkg = require(path.join(root, 'package.json'));
    fs.mkdirSync(path.join(userDir, 'node_modules', '@ccaas'), { recursive: true });
    const link = path.join(userDir, 'node_modules', pkg.name);
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(root, link, 'dir');
    fs.writeFileSync(
        path.join(userDir, 'package.json'),
        JSON.stringify({ name: 'node-red-project', private: true, dependencies: { [pkg.name]: `file:${root}` } }, null, 2),
    );
}

module.exports = { linkPackage };
