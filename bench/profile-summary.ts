// Where a --cpu-prof profile spent its time: self time per function and per package, heaviest first.
//   node -r tsx/cjs bench/profile-summary.ts FILE.cpuprofile [TOP]
import fs from 'node:fs';

interface ProfileNode {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
}

interface Profile {
    nodes: ProfileNode[];
    startTime: number;
    endTime: number;
    samples: number[];
    timeDeltas: number[];
}

function where(url: string): string {
    if (!url) return '(native)';
    const modules = url.lastIndexOf('node_modules/');
    if (modules >= 0) {
        const rest = url.slice(modules + 'node_modules/'.length).split('/');
        return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    }
    if (url.startsWith('node:')) return 'node core';
    const dist = url.indexOf('/dist/');
    return dist >= 0 ? `ours ${url.slice(dist + 1)}` : url;
}

const [file, topText] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const functions = new Map<string, number>();
const packages = new Map<string, number>();
for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const fn = `${frame.functionName || '(anonymous)'} ${where(frame.url)}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const pkg = frame.url ? where(frame.url).replace(/^ours .*/, 'ours') : frame.functionName;
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
}
const top = Number(topText ?? 30);
const show = (title: string, map: Map<string, number>): void => {
    console.log(`\n${title}`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
show('self time by package', packages);
show('self time by function', functions);
