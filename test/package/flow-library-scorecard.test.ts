// The Flow Library scorecard (`node-red-dev validate`), checked offline: the real tool needs the Flow Library
// catalogue and the npm registry, which CI cannot reach. Each check mirrors one of the tool's package, dependency
// or node rules (node-red/node-red-dev-cli src/libs/check*.js), with the facts the tool would fetch read from what
// is installed or locked here instead; the README and LICENSE checks are the Flow Library's listing guidance.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

interface Semver {
    satisfies(version: string, range: string): boolean;
    minVersion(range: string): { version: string } | null;
    intersects(range1: string, range2: string): boolean;
    validRange(range: string): string | null;
}
// The scorecard tool uses semver too; no types are installed for it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as Semver;

const root = path.resolve(__dirname, '../..');
const pkg = readJson(path.join(root, 'package.json'));
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

interface Runtime {
    label: string;
    nodeRed: string;
    nodeRedEngines: string;
    /** The Node that runs this leg of the test matrix. */
    node: string;
}

function readJson(file: string): Record<string, any> {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Node-RED 4.1 is the dev dependency, run on the machine's Node. */
function nodeRed4(): Runtime {
    const installed = readJson(require.resolve('node-red/package.json'));
    return { label: 'Node-RED 4 (dev dependency)', nodeRed: installed.version, nodeRedEngines: installed.engines.node, node: process.versions.node };
}

/**
 * Node-RED 5 and Node 22 as the committed lock of the matrix's second leg pins them: exactly what
 * `npm run test:matrix` installs and tests, readable without installing it.
 */
function nodeRed5(): Runtime {
    const lockFile = path.join(root, '.matrix', 'node-red-5', 'package-lock.json');
    assert.ok(fs.existsSync(lockFile), `${lockFile} is missing: the matrix pins Node-RED 5 there`);
    const locked = readJson(lockFile).packages as Record<string, { version: string; engines?: Record<string, string> }>;
    const nodeRed = locked['node_modules/node-red'];
    const node = locked['node_modules/node'];
    assert.ok(nodeRed?.engines?.node && node, 'the matrix lock pins node-red (with its engines) and node');
    return { label: 'Node-RED 5 (.matrix/node-red-5)', nodeRed: nodeRed.version, nodeRedEngines: nodeRed.engines.node, node: node.version };
}

const runtimes = [nodeRed4(), nodeRed5()];
const [oldestNodeRed, latestNodeRed] = runtimes;

interface NodeTypeDefinition {
    type: string;
    category: string;
    file: string;
}

/** Every type registered in a node's editor file, with its palette category (config nodes are 'config'). */
function registeredTypes(htmlFile: string): NodeTypeDefinition[] {
    const html = fs.readFileSync(htmlFile, 'utf8');
    const registrations = [...html.matchAll(/registerType\(\s*['"]([^'"]+)['"]\s*,/g)];
    return registrations.map((match, index) => {
        const definition = html.slice(match.index, registrations[index + 1]?.index ?? html.length);
        const category = /\bcategory\s*:\s*['"]([^'"]+)['"]/.exec(definition)?.[1] ?? '';
        return { type: match[1], category, file: path.relative(root, htmlFile) };
    });
}

/** package.json maps each type to dist/nodes/<node>.js; its editor source is nodes/<node>.html. */
function ourNodeTypes(): NodeTypeDefinition[] {
    const files = new Set(Object.values(pkg['node-red'].nodes as Record<string, string>).map((file) => path.basename(file, '.js')));
    return [...files].flatMap((name) => {
        const html = path.join(root, 'nodes', `${name}.html`);
        assert.ok(fs.existsSync(html), `${path.relative(root, html)}: the editor file of a node package.json lists`);
        return registeredTypes(html);
    });
}

/** Core node types of every Node-RED installed here (the dev dependency, and the matrix's Node-RED 5 once installed). */
function coreNodeTypes(): Set<string> {
    const installs = [path.dirname(require.resolve('@node-red/nodes/package.json'))];
    const matrixNodes = path.join(root, '.matrix', 'node-red-5', 'node_modules', '@node-red', 'nodes');
    if (fs.existsSync(matrixNodes)) installs.push(matrixNodes);
    const types = new Set<string>();
    for (const install of installs) {
        const core = path.join(install, 'core');
        for (const group of fs.readdirSync(core)) {
            const dir = path.join(core, group);
            if (!fs.statSync(dir).isDirectory()) continue;
            for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.html'))) {
                for (const { type } of registeredTypes(path.join(dir, file))) types.add(type);
            }
        }
    }
    return types;
}

function exampleFiles(dir = path.join(root, 'examples')): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        return entry.isDirectory() ? exampleFiles(full) : [full];
    });
}

/** Markdown headings of the README, lower-cased, without emphasis or code marks. */
function headings(markdown: string): string[] {
    return [...markdown.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((match) => match[1].replace(/[*_`]/g, '').trim().toLowerCase());
}

/** The README text under the first heading matching `pattern`, up to the next heading of the same or higher level. */
function section(pattern: RegExp): string | undefined {
    const lines = readme.split('\n');
    const start = lines.findIndex((line) => /^#{1,6}\s/.test(line) && pattern.test(line));
    if (start < 0) return undefined;
    const level = /^#+/.exec(lines[start])![0].length;
    const end = lines.findIndex((line, index) => index > start && new RegExp(`^#{1,${level}}\\s`).test(line));
    return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

function paletteLabel(type: string, htmlFile: string): string {
    const catalog = path.join(root, 'nodes', 'locales', 'en-US', `${path.basename(htmlFile, '.html')}.json`);
    const label = fs.existsSync(catalog) ? readJson(catalog)[type]?.paletteLabel : undefined;
    return typeof label === 'string' ? label : type.replace(/-/g, ' ');
}

describe('Flow Library scorecard (node-red-dev validate, offline)', () => {
    describe('package', () => {
        it('declares a license', () => {
            assert.equal(typeof pkg.license, 'string');
            assert.ok(pkg.license.length > 0);
        });

        it('gives a repository or a bugs URL', () => {
            const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
            const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : (pkg.bugs?.url ?? pkg.bugs?.email);
            assert.ok(repository || bugs, 'repository.url or bugs.url');
            if (repository) assert.match(repository, /^(git\+)?(https?|git|ssh):\/\/|^git@[\w.-]+:/, 'a repository URL git can clone');
        });

        it('has a scoped name (required of packages created since December 2021)', () => {
            assert.match(pkg.name, /^@[a-z\d][\w.-]+\/[a-z\d][\w.-]*$/);
        });

        it('has node-red among its keywords', () => {
            assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.includes('node-red'), `keywords: ${JSON.stringify(pkg.keywords)}`);
        });

        it('declares node-red.version, satisfied by the current Node-RED 4 and 5 releases', () => {
            const declared = pkg['node-red']?.version;
            assert.ok(typeof declared === 'string' && semver.validRange(declared), `node-red.version: ${declared}`);
            for (const runtime of runtimes) {
                assert.ok(semver.satisfies(runtime.nodeRed, declared), `${runtime.label} ${runtime.nodeRed} does not satisfy node-red.version ${declared}`);
            }
        });

        it('declares engines.node, compatible with the Node of every supported Node-RED', () => {
            const declared = pkg.engines?.node;
            assert.ok(typeof declared === 'string' && semver.validRange(declared), `engines.node: ${declared}`);
            // The tool's rule: the lowest Node the latest Node-RED runs on must be one the package accepts.
            const latestFloor = semver.minVersion(latestNodeRed.nodeRedEngines)!.version;
            assert.ok(
                semver.satisfies(latestFloor, declared),
                `Node ${latestFloor}, the floor of Node-RED ${latestNodeRed.nodeRed} (${latestNodeRed.nodeRedEngines}), is outside engines.node ${declared}`,
            );
            // And towards the oldest supported Node-RED: the lowest Node the package accepts must run that Node-RED.
            const ourFloor = semver.minVersion(declared)!.version;
            assert.ok(
                semver.satisfies(ourFloor, oldestNodeRed.nodeRedEngines),
                `Node ${ourFloor}, the floor of engines.node ${declared}, cannot run Node-RED ${oldestNodeRed.nodeRed} (${oldestNodeRed.nodeRedEngines})`,
            );
            for (const runtime of runtimes) {
                assert.ok(
                    semver.intersects(declared, runtime.nodeRedEngines),
                    `no Node satisfies both engines.node ${declared} and Node-RED ${runtime.nodeRed}'s ${runtime.nodeRedEngines}`,
                );
            }
        });

        it('has at most 6 runtime dependencies', () => {
            const dependencies = Object.keys(pkg.dependencies ?? {});
            assert.ok(dependencies.length <= 6, `${dependencies.length} dependencies: ${dependencies.join(', ')}`);
        });
    });

    describe('declared ranges say exactly what the test matrix runs', () => {
        it('engines.node admits the Node of each matrix leg and no untested Node major', () => {
            const declared = pkg.engines.node as string;
            for (const runtime of runtimes)
                assert.ok(semver.satisfies(runtime.node, declared), `${runtime.label} runs on Node ${runtime.node}, outside engines.node ${declared}`);
            const testedMajors = new Set(runtimes.map((runtime) => Number(runtime.node.split('.')[0])));
            for (let major = 0; major <= 40; major++) {
                if (testedMajors.has(major)) continue;
                assert.ok(!semver.intersects(declared, `${major}.x`), `engines.node ${declared} admits Node ${major}, which the matrix does not run`);
            }
        });

        it('node-red.version admits no Node-RED line the matrix does not run', () => {
            const declared = pkg['node-red'].version as string;
            const testedLines = runtimes.map((runtime) => runtime.nodeRed.split('.').slice(0, 2).join('.'));
            // Node-RED 5 is tested at its latest 5.x; below 5, only the 4.x minor the matrix runs is claimed.
            assert.ok(!semver.intersects(declared, `<${testedLines[0]}.0`), `node-red.version ${declared} admits Node-RED below ${testedLines[0]}`);
            assert.ok(
                !semver.intersects(declared, `>=${Number(testedLines[1].split('.')[0]) + 1}.0.0`),
                `node-red.version ${declared} admits a Node-RED major after ${testedLines[1]}`,
            );
        });
    });

    describe('nodes', () => {
        it('every node type package.json lists is registered by its editor file', () => {
            assert.deepEqual(
                ourNodeTypes()
                    .map((definition) => definition.type)
                    .sort(),
                Object.keys(pkg['node-red'].nodes).sort(),
            );
        });

        it("node type names do not clash with Node-RED's core nodes", () => {
            const core = coreNodeTypes();
            assert.ok(core.has('inject') && core.has('http request'), 'the core node types were read');
            const clashes = ourNodeTypes()
                .filter(({ type }) => core.has(type))
                .map(({ type, file }) => `${type} (${file})`);
            assert.deepEqual(clashes, []);
        });

        it('the examples use every non-config node type', () => {
            const files = exampleFiles();
            assert.ok(files.length > 0, 'examples/ holds at least one flow');
            const used = new Set<string>();
            for (const file of files) {
                const flow: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
                assert.ok(Array.isArray(flow), `${path.relative(root, file)} is a flow export (an array of nodes)`);
                for (const node of flow as Array<{ type?: unknown }>) if (typeof node.type === 'string') used.add(node.type);
            }
            const missing = ourNodeTypes()
                .filter(({ category, type }) => category !== 'config' && !used.has(type))
                .map(({ type }) => type);
            assert.deepEqual(missing, [], `node types no example uses: ${missing.join(', ')}`);
        });
    });

    describe('README and LICENSE', () => {
        it('README has an Install section with the npm install command', () => {
            const install = section(/^#{1,6}\s+install/i);
            assert.ok(install !== undefined, 'an "Install" heading');
            assert.match(install, new RegExp(`npm install ${pkg.name.replace(/[/@.-]/g, '\\$&')}`));
        });

        it('README has a usage section for each node', () => {
            const titles = headings(readme);
            const missing = ourNodeTypes()
                .map(({ type, file }) => [type, paletteLabel(type, path.join(root, file))])
                .filter((names) => !names.some((name) => titles.includes(name.toLowerCase())))
                .map(([type]) => type);
            assert.deepEqual(missing, [], `no README heading for: ${missing.join(', ')}`);
        });

        it('README has an Examples section naming every example flow', () => {
            const examples = section(/^#{1,6}\s+.*examples?\b/i);
            assert.ok(examples !== undefined, 'an "Examples" heading');
            const unnamed = exampleFiles()
                .map((file) => path.relative(root, file).split(path.sep).join('/'))
                .filter((file) => !examples.includes(path.basename(file)));
            assert.deepEqual(unnamed, [], `example flows the Examples section does not mention: ${unnamed.join(', ')}`);
        });

        it('README has a Screenshots section whose images exist', () => {
            const screenshots = section(/^#{1,6}\s+screenshots?\b/i);
            assert.ok(screenshots !== undefined, 'a "Screenshots" heading');
            const images = [...screenshots.matchAll(/!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]+src=["']([^"']+)["']/g)].map((match) => match[1] ?? match[2]);
            assert.ok(images.length > 0, 'at least one image in the Screenshots section');
            // The Flow Library renders the README from npm: relative images must be files of this repository.
            const missing = images.filter((src) => !/^https?:\/\//.test(src) && !fs.existsSync(path.join(root, src)));
            assert.deepEqual(missing, []);
        });

        it('README has a Changelog with an entry for the current version', () => {
            const changelog = section(/^#{1,6}\s+change\s*log/i);
            assert.ok(changelog !== undefined, 'a "Changelog" heading');
            assert.ok(changelog.includes(pkg.version), `a changelog entry for ${pkg.version}`);
        });

        it('LICENSE is the license package.json declares', () => {
            const file = path.join(root, 'LICENSE');
            assert.ok(fs.existsSync(file), 'a LICENSE file');
            const text = fs.readFileSync(file, 'utf8');
            const markers: Record<string, RegExp[]> = {
                'Apache-2.0': [/Apache License/, /Version 2\.0/],
                MIT: [/MIT License|Permission is hereby granted, free of charge/],
                'BSD-3-Clause': [/Redistribution and use in source and binary forms/],
                ISC: [/Permission to use, copy, modify, and\/or distribute/],
            };
            assert.ok(markers[pkg.license], `a known license id: ${pkg.license}`);
            for (const marker of markers[pkg.license]) assert.match(text, marker);
        });
    });
});
