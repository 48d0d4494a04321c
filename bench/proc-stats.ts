// CPU time and memory of another process, read from /proc as pidusage does, so the benchmark needs no dependency.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
    if (ticksPerSecond === undefined) {
        try {
            ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
        } catch {
            ticksPerSecond = 100;
        }
    }
    return ticksPerSecond;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
}

/** Resident memory now and at its peak since the process started, in MB. */
export function memoryMb(pid: number): { rss: number; peakRss: number } {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peakRss: kb('VmHWM') / 1024 };
}

export interface ProcessUsage {
    /** Mean CPU use over the window, in % of one core (200% is both cores of a 2-core machine). */
    cpuPercent: number;
    /** Highest resident memory seen during the window, sampled every 50 ms, in MB. */
    peakRssMb: number;
    /** CPU seconds used in the window: divided by the work done, a cost that a busy machine distorts less. */
    cpuSeconds: number;
}

/** Watches a process from start() to stop(): its CPU use over the window and its highest resident memory in it. */
export function watchProcess(pid: number): { stop(): ProcessUsage } {
    const startedCpu = cpuSeconds(pid);
    const started = performance.now();
    let peak = memoryMb(pid).rss;
    const timer = setInterval(() => {
        try {
            peak = Math.max(peak, memoryMb(pid).rss);
        } catch {
            // The process ended; the last sample stands.
        }
    }, 50);
    return {
        stop() {
            clearInterval(timer);
            const seconds = (performance.now() - started) / 1000;
            let cpu = 0;
            try {
                cpu = cpuSeconds(pid) - startedCpu;
                peak = Math.max(peak, memoryMb(pid).rss);
            } catch {
                // As above.
            }
            return { cpuPercent: seconds > 0 ? (100 * cpu) / seconds : 0, peakRssMb: peak, cpuSeconds: cpu };
        },
    };
}
