// Flow JSON of a web service out node -> the options it runs with. The one place its property defaults live: a
// flow saved before a property existed (0.1.0 has no retries, concurrency, rate, idempotency header or bounds)
// gets the default, which is what that version did.
import type { NodeDef } from 'node-red';
import { parseDeadLetterSettings, type DeadLetterSettings } from '../../delivery/dead-letters';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_QUEUED, DEFAULT_MAX_QUEUED_BYTES, DELIVERY_SETTING_MAXIMA, MIB } from '../../delivery/delivery-queue';
import { DEFAULT_TIMEOUT_MS } from '../../delivery/http-transport';
import { DEFAULT_IDEMPOTENCY_HEADER } from '../../delivery/idempotency';
import { parseRetries } from '../../delivery/retry-schedule';
import { ConfigError } from '../../errors/coded-error';
import type { RequestConfig, RequestCredentials } from '../../request/request-config';
import { compileUrl } from '../../request/url-template';

export interface WebServiceOutConfig extends NodeDef, Partial<RequestConfig> {
    /** Seconds. */
    timeout?: number | string;
    /** Id of a core tls-config node. */
    tls?: string;
    /** A second output that receives each failed message (besides the error a Catch node sees). */
    failureOutput?: boolean;
    /** Waits between attempts, e.g. "1s, 5s, 30s, 2m"; empty: no retries; missing: the default schedule. */
    retries?: string;
    /** Requests in flight at once. */
    concurrency?: number | string;
    /** Requests started per second at most; empty: no limit. */
    rate?: number | string;
    /** Header carrying the idempotency key; empty: not sent; missing: Idempotency-Key. */
    idempotencyHeader?: string;
    /** Requests kept queued at most; missing or empty: 10,000. */
    maxQueued?: number | string;
    /** MiB of queued outbox entries at most; missing or empty: 64. */
    maxQueuedSize?: number | string;
    /** The id of a ccaas-redis node sharing the outbox with other instances; empty or missing: the file store. */
    store?: string;
    /** Requests that failed for good kept to be replayed; 0: none; missing or empty: 1,000. */
    deadLetters?: number | string;
    /** Days a dead letter is kept; missing or empty: 7. */
    deadLetterDays?: number | string;
}

export type Credentials = RequestCredentials & { signingSecret?: string };

export const SECRET_FIELDS = ['user', 'password', 'token', 'apiKey', 'signingSecret'] as const;

/** How the node's queue runs, from the flow's properties. */
export interface QueueSettings {
    schedule: number[];
    concurrency: number;
    ratePerSecond?: number;
    maxQueued: number;
    maxQueuedBytes: number;
}

export function timeoutMsOf(value: unknown): number {
    if (value === undefined || value === null || value === '') return DEFAULT_TIMEOUT_MS;
    const seconds = Number(value);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`timeout: "${String(value)}" is not a positive number of seconds`);
    return Math.round(seconds * 1000);
}

/** A whole number from 1 to `max`, or `fallback` when the flow does not set it (a flow saved before it existed). */
function boundOf(name: string, value: unknown, fallback: number, max: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > max) throw new ConfigError(`${name}: "${String(value)}" is not a whole number from 1 to ${max}`);
    return count;
}

function rateOf(value: unknown): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const rate = Number(value);
    if (!Number.isFinite(rate) || rate <= 0) throw new ConfigError(`rate: "${String(value)}" is not a positive number of requests per second`);
    return rate;
}

/** The queue's settings; throws a ConfigError naming the first property that cannot work. */
export function queueSettingsOf(config: Partial<WebServiceOutConfig>): QueueSettings {
    return {
        schedule: parseRetries(config.retries),
        concurrency: boundOf('concurrency', config.concurrency, DEFAULT_CONCURRENCY, DELIVERY_SETTING_MAXIMA.concurrency),
        ratePerSecond: rateOf(config.rate),
        maxQueued: boundOf('maxQueued', config.maxQueued, DEFAULT_MAX_QUEUED, DELIVERY_SETTING_MAXIMA.maxQueued),
        maxQueuedBytes: boundOf('maxQueuedSize', config.maxQueuedSize, DEFAULT_MAX_QUEUED_BYTES / MIB, DELIVERY_SETTING_MAXIMA.maxQueuedSize) * MIB,
    };
}

/** How many dead letters the node keeps and for how long; throws a ConfigError naming the property. */
export function deadLetterSettingsOf(config: Partial<WebServiceOutConfig>): DeadLetterSettings {
    return parseDeadLetterSettings(config.deadLetters, config.deadLetterDays);
}

export function idempotencyHeaderOf(config: Partial<WebServiceOutConfig>): string {
    return config.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER;
}

/** The origin a URL template sends to, or undefined when the URL does not compile. */
export function originOf(url: unknown): string | undefined {
    try {
        return compileUrl(typeof url === 'string' ? url : '', { providerOrigin: true }).origin;
    } catch {
        return undefined;
    }
}

/** The profile's own header names, which the delivery headers must not repeat. */
export function profileHeaders(config: Partial<WebServiceOutConfig>): string[] {
    const names = Array.isArray(config.headers) ? config.headers.map((row) => String(row?.name ?? '').trim()) : [];
    if (config.apiKeyHeader) names.push(config.apiKeyHeader.trim());
    if (config.authType === 'basic' || config.authType === 'bearer' || config.authType === 'oauth2') names.push('Authorization');
    return names.filter(Boolean);
}
