import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openFileStore } from '../../src/store/file-store';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'store', 'acknowledging-writer.ts');
const PROJECT = path.join(__dirname, '..', '..');

interface Acknowledged {
    puts: Set<string>;
    deletes: Set<string>;
    compactions: number;
    exit: { code: number | null; signal: NodeJS.Signals | null };
}

/** Runs the writer until `killAfter` puts are acknowledged, then kills it with SIGKILL. */
function writeUntilKilled(directory: string, first: number, killAfter: number): Promise<Acknowledged> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE, directory, String(first)], {
            cwd: PROJECT,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const puts = new Set<string>();
        const deletes = new Set<string>();
        let compactions = 0;
        let pending = '';
        let stderr = '';
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`the writer did not reach ${killAfter} acknowledgements in time; stderr: ${stderr}`));
        }, 20_000);
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.on('data', (chunk: Buffer) => {
            pending += chunk.toString();
            const lines = pending.split('\n');
            pending = lines.pop()!;
            for (const line of lines) {
                const [what, key] = line.split(' ');
                if (what === 'put') puts.add(key!);
                if (what === 'delete') deletes.add(key!);
                if (what === 'compactions') compactions = Number(key);
            }
            if (puts.size >= killAfter && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        });
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            resolve({ puts, deletes, compactions, exit: { code, signal } });
        });
    });
}

describe('file store: SIGKILL', function () {
    this.timeout(90_000);

    it('every acknowledged put and delete survives a kill in mid-stream, three kills in a row', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-store-kill-'));
        try {
            const expectedPresent = new Map<string, number>();
            const expectedAbsent = new Set<string>();
            let first = 0;
            let compactions = 0;
            for (const killAfter of [150, 600, 1500]) {
                const run = await writeUntilKilled(directory, first, killAfter);
                assert.equal(run.exit.signal, 'SIGKILL', 'killed, not finished');
                assert.ok(run.puts.size >= killAfter);
                compactions += run.compactions;
                for (const key of run.puts) {
                    const index = Number(key.slice(1));
                    if (index % 5 === 0) expectedPresent.set(key, index);
                }
                for (const key of run.deletes) expectedAbsent.add(key);

                const store = await openFileStore<{ index: number; padding: string }>({ directory });
                const entries = await store.load();
                for (const [key, index] of expectedPresent) {
                    assert.deepEqual(entries.get(key), { index, padding: 'x'.repeat(index % 97) }, `acknowledged ${key}`);
                }
                for (const key of expectedAbsent) assert.equal(entries.has(key), false, `acknowledged delete of ${key}`);
                // Anything else there was in flight at the kill (its put or delete unacknowledged), never invented.
                const highest = Math.max(...[...run.puts].map((key) => Number(key.slice(1))));
                for (const key of entries.keys()) assert.ok(Number(key.slice(1)) <= highest + 16, key);
                assert.match(store.recovery.summary, /^recovered \d+ entr(y|ies)/);
                await store.close();
                first = highest + 100;
            }
            assert.ok(expectedPresent.size >= 400, `${expectedPresent.size} kept entries checked`);
            assert.ok(expectedAbsent.size >= 1500, `${expectedAbsent.size} deleted entries checked`);
            assert.ok(compactions > 0, 'the kills hit a store that was compacting as it went');
        } finally {
            fs.rmSync(directory, { recursive: true, force: true });
        }
    });
});
