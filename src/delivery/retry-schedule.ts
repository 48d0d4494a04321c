import { ConfigError } from '../errors/coded-error';

/**
 * The waits between attempts when the node's `retries` is not set: about 1 s first, then growing until the last
 * attempt comes some 20 hours after the first, like the webhook senders receivers already know (Stripe, Svix).
 * A CRM down for a night still gets every request; one down for good stops costing anything within a day.
 */
export const DEFAULT_RETRIES = '1s, 5s, 30s, 2m, 10m, 1h, 3h, 6h, 10h';

/** Each wait is moved by up to this fraction either way, so requests that failed together do not retry together. */
export const JITTER = 0.2;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const STEP = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/i;

/**
 * Parses the node's `retries`: the waits before the 2nd, 3rd, ... attempt, as a comma-separated list of durations
 * (`1s, 5s, 30s, 2m, 1h`; a bare number is seconds, so `0.05` is 50 ms). Empty or `none` means one attempt only;
 * undefined (a flow saved before the property existed) means the default schedule.
 */
export function parseRetries(value: unknown): number[] {
    if (value === undefined || value === null) return parseRetries(DEFAULT_RETRIES);
    if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError('retries: must be a list of durations like "1s, 5s, 30s, 2m"');
    const text = String(value).trim();
    if (text === '' || /^none$/i.test(text)) return [];
    return text.split(/\s*,\s*/).map((step) => {
        const parsed = STEP.exec(step);
        if (!parsed) throw new ConfigError(`retries: "${step}" is not a duration like 30s, 2m or 1h`);
        const ms = Number(parsed[1]) * UNIT_MS[(parsed[2] ?? 's').toLowerCase()]!;
        if (ms > 7 * 24 * 3_600_000) throw new ConfigError(`retries: "${step}" is longer than a week`);
        return Math.round(ms);
    });
}

/** The scheduled wait with jitter; `random` is in [0, 1). */
export function jittered(delayMs: number, random: () => number = Math.random): number {
    return Math.max(0, Math.round(delayMs * (1 + JITTER * (2 * random() - 1))));
}

/** "30 s", "2 min", "1 h 30 min": for status and messages. */
export function formatWait(ms: number): string {
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    const seconds = Math.round(ms / 1000);
    if (seconds < 120) return `${seconds} s`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 120) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
}
