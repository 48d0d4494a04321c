// Preloaded into a Node-RED process under test (`node --require <this, compiled> red.js`): what its event loop went
// through, so a latency percentile can be told apart into loop stalls and the GC pauses among them.
//
// It records the event-loop delay (perf_hooks.monitorEventLoopDelay, sampled every millisecond) and every GC pause
// (PerformanceObserver 'gc'). On SIGWINCH it writes a summary of the time since the previous SIGWINCH (or the start)
// to the file named by CCAAS_LOOP_DELAY_FILE and starts a new period; on exit it writes the last period. The bench
// sends SIGWINCH before a latency round (discarding what came before) and after it (reading the round's summary).
// Not SIGUSR2: red.js stops Node-RED on it (nodemon's restart signal). SIGWINCH is ignored by default and a process
// without a terminal never gets it otherwise.
//
// It is plain Node (no TypeScript-only syntax beyond types) and imports only node:, so the bench can compile it with
// a transpile-only pass and preload it without tsx.
import fs from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface LoopDelaySummary {
    /** Counts the summaries written, so a reader knows the one it waits for has come. */
    seq: number;
    /** Length of the period summarised. */
    seconds: number;
    /** Event-loop delay beyond the 1 ms sampling interval, in ms. */
    delayMs: { p50: number; p90: number; p99: number; max: number; mean: number };
    gc: { count: number; totalMs: number; maxMs: number; byKind: Record<string, { count: number; totalMs: number; maxMs: number }> };
    /** CPU the process used in the period (user + system), in ms. */
    cpuMs: number;
}

const file = process.env.CCAAS_LOOP_DELAY_FILE;

const KINDS: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

if (file) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    let gc: LoopDelaySummary['gc'] = { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
    let seq = 0;
    let periodStarted = performance.now();
    let periodCpu = process.cpuUsage();

    const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
            const kind = KINDS[entry.detail?.kind ?? -1] ?? 'other';
            const of = (gc.byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
            for (const tally of [gc, of]) {
                tally.count += 1;
                tally.totalMs += entry.duration;
                tally.maxMs = Math.max(tally.maxMs, entry.duration);
            }
        }
    });
    observer.observe({ entryTypes: ['gc'] });

    // The histogram holds ns of delay including the sampling interval itself; what is beyond it is the stall.
    const ms = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - 1) * 1000) / 1000;
    const round = (value: number): number => Math.round(value * 1000) / 1000;

    const writeSummary = (): void => {
        const cpu = process.cpuUsage(periodCpu);
        const summary: LoopDelaySummary = {
            seq: ++seq,
            seconds: round((performance.now() - periodStarted) / 1000),
            delayMs: {
                p50: ms(histogram.percentile(50)),
                p90: ms(histogram.percentile(90)),
                p99: ms(histogram.percentile(99)),
                max: ms(histogram.max),
                mean: ms(histogram.mean),
            },
            gc: {
                count: gc.count,
                totalMs: round(gc.totalMs),
                maxMs: round(gc.maxMs),
                byKind: Object.fromEntries(
                    Object.entries(gc.byKind).map(([kind, t]) => [kind, { count: t.count, totalMs: round(t.totalMs), maxMs: round(t.maxMs) }]),
                ),
            },
            cpuMs: round((cpu.user + cpu.system) / 1000),
        };
        // Written whole and renamed, so a reader never sees half a summary.
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(summary));
        fs.renameSync(`${file}.tmp`, file);
        histogram.reset();
        gc = { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
        periodStarted = performance.now();
        periodCpu = process.cpuUsage();
    };

    process.on('SIGWINCH', writeSummary);
    process.on('exit', writeSummary);
}
