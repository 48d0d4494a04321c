// Backlog drain: web service out with a backlog the sink was away for (stalled, then refusing), and its rate once
// the sink is back.
import { Pool } from 'undici';
import { benchEvent, PATHS } from '../flows';
import { freshDeploy } from '../node-red-control';
import { memoryMb, watchProcess } from '../proc-stats';
import { log } from '../progress';
import type { Bench } from '../setup';

export interface DrainResult {
    mode: 'stall' | 'refuse';
    description: string;
    backlog: number;
    injectedSeconds: number;
    /** Arrived at the sink after it came back, within the wait. */
    delivered: number;
    distinctCalls: number;
    /** From the sink coming back to the last request arriving. */
    drainSeconds: number;
    requestsPerSecond: number;
    nodeRedPeakRssMb: number;
    /** Node-RED's RSS holding the whole backlog, before the sink comes back (the peak comes later, while it drains). */
    nodeRedHeldRssMb: number;
}

/**
 * A backlog of requests built while the sink is away, then how fast it drains once the sink is back.
 * - stall: the sink process is stopped (SIGSTOP): connections open but nothing answers, as a hung service; the
 *   requests wait in web service out (timeout 600 s in this flow).
 * - refuse: the sink closes its port: connections refused, as a crashed service. Without retries every request
 *   fails at once and nothing is left to drain; with the durable outbox (issue 6) they wait and drain once it is up.
 */
export async function measureDrain(bench: Bench): Promise<DrainResult[]> {
    const { ours, sink, options } = bench;
    const flows = bench.flows.drain;
    const results: DrainResult[] = [];
    for (const mode of ['stall', 'refuse'] as const) {
        await freshDeploy(ours, flows);
        await sink.reset();
        if (mode === 'stall') process.kill(sink.pid, 'SIGSTOP');
        else await sink.down();
        const watch = watchProcess(ours.pid);
        const injectStarted = performance.now();
        const batch = 250;
        const sendNs = process.hrtime.bigint();
        const pool = new Pool(ours.url, { connections: 4 });
        try {
            const posts: Promise<void>[] = [];
            for (let first = 0; first < options.drainCount; first += batch) {
                const events = [];
                for (let i = first; i < Math.min(options.drainCount, first + batch); i++) events.push(benchEvent(`drain-${mode}-${i}`, sendNs));
                posts.push(
                    pool
                        .request({ path: PATHS.drain, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) })
                        .then(async (response) => {
                            await response.body.dump();
                            if (response.statusCode !== 202) throw new Error(`drain inject answered ${response.statusCode}`);
                        }),
                );
                if (posts.length >= 8) await posts.shift();
            }
            await Promise.all(posts);
        } finally {
            await pool.close();
        }
        const injectedSeconds = (performance.now() - injectStarted) / 1000;
        // Let Node-RED finish turning the events into pending requests before the sink comes back.
        await idle(ours.pid, 60_000);
        const heldRssMb = memoryMb(ours.pid).rss;
        const backAt = process.hrtime.bigint();
        if (mode === 'stall') process.kill(sink.pid, 'SIGCONT');
        else await sink.up();
        await sink.waitFor(options.drainCount, options.drainWaitSeconds * 1000);
        const report = await sink.report();
        const usage = watch.stop();
        const drainSeconds = report.lastAt ? Number(BigInt(report.lastAt) - backAt) / 1e9 : NaN;
        const result: DrainResult = {
            mode,
            description: mode === 'stall' ? 'sink process stopped (SIGSTOP), then continued' : 'sink port closed (connections refused), then reopened',
            backlog: options.drainCount,
            injectedSeconds: Math.round(injectedSeconds * 100) / 100,
            delivered: report.received,
            distinctCalls: report.distinctCalls,
            drainSeconds: Math.round(drainSeconds * 100) / 100,
            requestsPerSecond: report.received > 0 ? Math.round(report.received / drainSeconds) : 0,
            nodeRedPeakRssMb: Math.round(Math.max(usage.peakRssMb, heldRssMb)),
            nodeRedHeldRssMb: Math.round(heldRssMb),
        };
        results.push(result);
        log(`drain (${mode}): ${result.delivered}/${result.backlog} delivered in ${result.drainSeconds} s after the sink came back`);
    }
    return results;
}

/** Resolves when the process used under 10% of a core over 250 ms (or after `timeoutMs`). */
async function idle(pid: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
        const watch = watchProcess(pid);
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (watch.stop().cpuPercent < 10) return;
    }
}
