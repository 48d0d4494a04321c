// The parts measured by a bench script in a process of its own, so nothing else of the run is in its heap or its CPU
// time: call tracker memory (bench/tracker-memory.ts) and axios's own cost (bench/axios-alone.ts).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { AxiosAlone } from '../axios-alone';
import type { TrackerMemory } from '../tracker-memory';

const benchDir = path.resolve(__dirname, '..');
const root = path.resolve(benchDir, '..');

/** axios's own cost per request, over an adapter that answers at once (bench/axios-alone.ts), in a process of its own. */
export function axiosAloneCost(requests: number): AxiosAlone {
    return ownProcessResult<AxiosAlone>('axios-alone.ts', [String(requests)]);
}

export function trackerMemory(calls: number): TrackerMemory {
    return ownProcessResult<TrackerMemory>('tracker-memory.ts', [String(calls)], ['--expose-gc']);
}

/** Runs one of the bench's scripts in a process of its own and reads the JSON line it prints last. */
function ownProcessResult<T>(script: string, args: string[], nodeArgs: string[] = []): T {
    const run = spawnSync(process.execPath, [...nodeArgs, '--require', 'tsx/cjs', path.join(benchDir, script), ...args], { cwd: root, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${script} failed:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}
