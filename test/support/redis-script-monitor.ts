// Counts what a real redis-server is sent, by command and by script name (EVALSHA and EVAL of the package's scripts),
// with MONITOR (./redis-monitor.ts): the round trips an operation costs, counted where they arrive. Given every
// primary of a Redis Cluster, it counts what all of them are sent.
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { CALL_STATE_SCRIPTS } from '../../src/store/redis/redis-call-state';
import { OUTBOX_SCRIPTS } from '../../src/store/redis/redis-outbox';
import { watchCommands, type MonitoredCommand } from './redis-monitor';
import { until } from './wait';

export interface ScriptMonitor {
    /**
     * Trips by name since the last reset: a script's name (`COMMIT`, `CLAIM`), else the command (`PING`). Every script
     * is loaded beforehand, so none costs a NOSCRIPT trip.
     */
    counts(): Map<string, number>;
    count(name: string): number;
    /** `name 3, other 1`, for assertion messages. */
    breakdown(): string;
    reset(): void;
    /** Resolves once MONITOR has shown everything that ran before this call (it streams in the order things ran). */
    caughtUp(): Promise<void>;
    stop(): void;
}

const PACKAGE_SCRIPTS = [...Object.entries(CALL_STATE_SCRIPTS), ...Object.entries(OUTBOX_SCRIPTS)];

function scriptNames(): Map<string, string> {
    return new Map(PACKAGE_SCRIPTS.map(([name, script]) => [script.sha, name]));
}

/** `observe` is shown each trip counted from the start on (as `counts()`), by its name, with what MONITOR said of it. */
export async function monitorScripts(urls: string | readonly string[], observe?: (name: string, command: MonitoredCommand) => void): Promise<ScriptMonitor> {
    const names = scriptNames();
    const counted = new Map<string, number>();
    const markers = new Set<string>();
    // Declared before the watches begin: a command may be shown while the other servers' watches are still starting.
    let marks = 0;
    let started = false;
    const watched = await Promise.all((typeof urls === 'string' ? [urls] : urls).map(watch));
    async function watch(url: string) {
        return { monitor: await watchCommands(url, count), probe: new Redis(url) };
    }
    function count(command: MonitoredCommand): void {
        const name = nameOf(command);
        if (name === undefined) return;
        counted.set(name, (counted.get(name) ?? 0) + 1);
        if (started) observe?.(name, command);
    }
    function nameOf({ source, args }: MonitoredCommand): string | undefined {
        // The commands a script runs are shown too, from "lua": only what came over a connection is a trip.
        if (source === 'lua') return undefined;
        const [command = '', first = ''] = args;
        const lower = command.toLowerCase();
        if (lower === 'echo' && first.startsWith('monitor-mark-')) {
            markers.add(first);
            return undefined;
        }
        if (lower === 'evalsha') return names.get(first) ?? `unknown script ${first}`;
        if (lower === 'eval') return names.get(createHash('sha1').update(Buffer.from(first, 'latin1')).digest('hex')) ?? `unknown EVAL ${first.slice(0, 200)}`;
        return lower.toUpperCase();
    }
    const caughtUp = async (): Promise<void> => {
        const marked = watched.map(() => `monitor-mark-${(marks += 1)}`);
        await Promise.all(watched.map((each, index) => each.probe.echo(marked[index]!)));
        await until(() => marked.every((marker) => markers.has(marker)), 'MONITOR caught up', 5000);
    };
    // Every script loaded on every server first: a server that had not run one yet answers its first EVALSHA with
    // NOSCRIPT and the EVAL that follows loads it, two trips where every later run costs one. Which shard a test's
    // keys land on changes with its node id, so without this a count depended on what earlier tests had run there.
    await Promise.all(watched.flatMap(({ probe }) => PACKAGE_SCRIPTS.map(([, script]) => probe.script('LOAD', script.lua))));
    // MONITOR answers OK before it streams: the first marker seen says it has begun.
    await caughtUp();
    counted.clear();
    started = true;
    return {
        counts: () => new Map(counted),
        count: (name) => counted.get(name) ?? 0,
        breakdown: () => [...counted].map(([name, count]) => `${name} ${count}`).join(', '),
        reset: () => counted.clear(),
        caughtUp,
        stop: () => {
            for (const { monitor, probe } of watched) {
                monitor.stop();
                probe.disconnect();
            }
        },
    };
}
