// Counts what a real redis-server is sent, by command and by script name (EVALSHA and EVAL of the package's scripts),
// with MONITOR: the round trips an operation costs, counted where they arrive. Given every primary of a Redis
// Cluster, it counts what all of them are sent.
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { CALL_STATE_SCRIPTS } from '../../src/store/redis/redis-call-state';
import { OUTBOX_SCRIPTS } from '../../src/store/redis/redis-outbox';
import { until } from './wait';

export interface ScriptMonitor {
    /** Trips by name since the last reset: a script's name (`COMMIT`, `CLAIM`), else the command (`PING`). */
    counts(): Map<string, number>;
    count(name: string): number;
    /** `name 3, other 1`, for assertion messages. */
    breakdown(): string;
    reset(): void;
    /** Resolves once MONITOR has shown everything that ran before this call (it streams in the order things ran). */
    caughtUp(): Promise<void>;
    stop(): void;
}

/**
 * An argument as it was sent, from MONITOR's quoted form of it (Redis escapes \\, \n, \r, \t, \a, \b and other
 * bytes as \xHH; ioredis has undone \" only), as a byte string: a script's text must hash to its SHA1 again.
 */
function sentBytes(shown: string): Buffer {
    const controls: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };
    const text = shown.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, code: string) =>
        code.length === 3 ? String.fromCharCode(parseInt(code.slice(1), 16)) : (controls[code] ?? code),
    );
    return Buffer.from(text, 'latin1');
}

function scriptNames(): Map<string, string> {
    const names = new Map<string, string>();
    for (const [name, script] of [...Object.entries(CALL_STATE_SCRIPTS), ...Object.entries(OUTBOX_SCRIPTS)]) names.set(script.sha, name);
    return names;
}

export async function monitorScripts(urls: string | readonly string[]): Promise<ScriptMonitor> {
    const names = scriptNames();
    const counted = new Map<string, number>();
    const markers = new Set<string>();
    const watched = await Promise.all((typeof urls === 'string' ? [urls] : urls).map(watch));
    let marks = 0;
    async function watch(url: string) {
        const client = new Redis(url);
        const monitor = await client.monitor();
        monitor.on('monitor', count);
        return { client, monitor, probe: new Redis(url) };
    }
    function count(_time: string, args: unknown[], source: string): void {
        // The commands a script runs are shown too, from "lua": only what came over a connection is a trip.
        if (source === 'lua') return;
        const [command = '', first = ''] = args.map(String);
        const lower = command.toLowerCase();
        if (lower === 'echo' && first.startsWith('monitor-mark-')) {
            markers.add(first);
            return;
        }
        let name = lower.toUpperCase();
        if (lower === 'evalsha') name = names.get(first) ?? `unknown script ${first}`;
        else if (lower === 'eval') name = names.get(createHash('sha1').update(sentBytes(first)).digest('hex')) ?? `unknown EVAL ${first.slice(0, 200)}`;
        counted.set(name, (counted.get(name) ?? 0) + 1);
    }
    const caughtUp = async (): Promise<void> => {
        const marked = watched.map(() => `monitor-mark-${(marks += 1)}`);
        await Promise.all(watched.map((each, index) => each.probe.echo(marked[index]!)));
        await until(() => marked.every((marker) => markers.has(marker)), 'MONITOR caught up', 5000);
    };
    // MONITOR answers OK before it streams: the first marker seen says it has begun.
    await caughtUp();
    counted.clear();
    return {
        counts: () => new Map(counted),
        count: (name) => counted.get(name) ?? 0,
        breakdown: () => [...counted].map(([name, count]) => `${name} ${count}`).join(', '),
        reset: () => counted.clear(),
        caughtUp,
        stop: () => {
            for (const { monitor, client, probe } of watched) {
                monitor.disconnect();
                client.disconnect();
                probe.disconnect();
            }
        },
    };
}
