// Event-loop delay and GC of a Node-RED process: bench/loop-delay.ts, preloaded into the process, writes a summary
// of each period when signalled; this is the side that signals it and reads the summaries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoopDelaySummary } from './loop-delay';

/** bench/loop-delay.ts as plain JS in a temporary file: Node-RED runs without tsx, so it cannot preload a .ts. */
export function compiledLoopDelay(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('typescript') as typeof import('typescript');
    const source = fs.readFileSync(path.join(__dirname, 'loop-delay.ts'), 'utf8');
    const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-bench-')), 'loop-delay.js');
    fs.writeFileSync(file, js);
    return file;
}

/** Reads a process's loop-delay summaries: `mark()` starts a period, `read()` ends it and returns its summary. */
export class LoopDelayProbe {
    private seq = 0;

    constructor(
        readonly pid: number,
        readonly file: string,
    ) {}

    private async signal(): Promise<LoopDelaySummary | undefined> {
        process.kill(this.pid, 'SIGWINCH');
        const deadline = performance.now() + 5000;
        while (performance.now() < deadline) {
            try {
                const summary = JSON.parse(fs.readFileSync(this.file, 'utf8')) as LoopDelaySummary;
                if (summary.seq > this.seq) {
                    this.seq = summary.seq;
                    return summary;
                }
            } catch {
                // Not written yet.
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        return undefined;
    }

    async mark(): Promise<void> {
        await this.signal();
    }

    read(): Promise<LoopDelaySummary | undefined> {
        return this.signal();
    }
}

/** The round whose loop-delay p99 is the median of the rounds (one real round, not a blend of several). */
export function medianLoopDelay(rounds: Array<LoopDelaySummary | undefined>): LoopDelaySummary | undefined {
    const known = rounds.filter((round): round is LoopDelaySummary => round !== undefined).sort((a, b) => a.delayMs.p99 - b.delayMs.p99);
    return known[Math.floor((known.length - 1) / 2)];
}
