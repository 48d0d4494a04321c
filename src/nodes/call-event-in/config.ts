import type { WebhookAdapter } from '../../adapters/adapter';
import { parseNameTable } from '../../adapters/name-table';
import { createWebhookAdapter, SOURCES_WITH_NAMES, WEBHOOK_SOURCES, type WebhookSource } from '../../adapters/sources';
import type { TriggerEventId } from '../../call/call';
import { isTriggerEventId } from '../../call/trigger-events';
import { ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import type { EndpointAuth } from '../../ingest/event-endpoint';
import { ReplayGuard } from '../../ingest/replay-guard';
import { DEFAULT_TRACKER_OPTIONS, type TrackerOptions } from '../../lifecycle/call-tracker';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../../lifecycle/event-limits';
import { storeIdOf } from '../shared/redis-store';

/** The node's properties as the flow JSON holds them (every one may be absent in a flow saved by 0.1.0). */
export interface CallEventInProperties {
    path?: string;
    events?: TriggerEventId[] | string;
    source?: 'raw' | WebhookSource;
    auth?: EndpointAuth['type'];
    authHeader?: string;
    /** Seconds a Standard Webhooks timestamp may be off. */
    tolerance?: number | string;
    /** KiB. */
    maxBody?: number | string;
    /** Minutes "processed" waits for a pending recording. */
    recordingWait?: number | string;
    /** Minutes a processed call is kept for later account-code changes. */
    retention?: number | string;
    maxCalls?: number | string;
    /** Twilio signs the URL it calls: the public one, when Node-RED sits behind a proxy. */
    publicUrl?: string;
    tagsAs?: 'accountCodes' | 'tags';
    recordingsPerCall?: number | string;
    /** The custom source's mapping, as JSON text. */
    mapping?: string;
    /** The SOURCES_WITH_NAMES: id (or ARN) to name, as JSON text; absent in flows of 0.3.0 and before. */
    names?: string;
    /** Input limits (absent in flows saved by 0.1.0: the defaults apply). */
    maxEvents?: number | string;
    /** Characters of a text field other than the ids. */
    maxFieldLength?: number | string;
    maxListMembers?: number | string;
    maxCallListMembers?: number | string;
    /** KiB of one call's stored record. */
    maxCallSize?: number | string;
    /** MiB of all tracked call state. */
    maxStateSize?: number | string;
    /** The id of a ccaas-redis node sharing the call state with other instances; empty (or absent) for the file store. */
    store?: string;
}

export interface CallEventInCredentials {
    /** The endpoint's shared secret or Standard Webhooks secret. */
    secret?: string;
    /** The platform's own secret (Aircall token, Dialpad secret, Twilio auth token, RingCentral verification token, Zoom secret token). */
    platformSecret?: string;
}

export interface CallEventInOptions {
    /** The endpoint path as typed; empty when the node takes msg input only. */
    path: string;
    /** The triggers to send; undefined means all five. */
    wanted?: Set<TriggerEventId>;
    limits: EventLimits;
    /** Without the warning hooks: the node adds its own. */
    tracker: Omit<Partial<TrackerOptions>, 'onWarning' | 'onEviction'>;
    maxBodyBytes: number;
    auth: EndpointAuth;
    adapter?: WebhookAdapter;
    publicUrl?: string;
    /** The ccaas-redis node holding the call state; undefined for the file store under the user directory. */
    store?: string;
}

const KIB = 1024;
const MIB = 1024 * 1024;
const MINUTE_MS = 60_000;
export const DEFAULT_MAX_BODY_KIB = 1024;
export const DEFAULT_AUTH_HEADER = 'X-Webhook-Secret';
export const DEFAULT_TOLERANCE_SECONDS = 300;

function positive(value: unknown, fallback: number, name: string): number {
    if (value === undefined || value === null || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new ConfigError(`${name}: "${String(value)}" is not a positive number`);
    return parsed;
}

function wholePositive(value: unknown, fallback: number, name: string): number {
    const parsed = positive(value, fallback, name);
    if (!Number.isInteger(parsed)) throw new ConfigError(`${name}: "${String(value)}" is not a whole number`);
    return parsed;
}

/** The input limits from the node's properties; the property names are the ones the flow JSON holds. */
function eventLimitsOf(config: CallEventInProperties): EventLimits {
    return {
        ...DEFAULT_EVENT_LIMITS,
        maxEvents: wholePositive(config.maxEvents, DEFAULT_EVENT_LIMITS.maxEvents, 'maxEvents (events per request)'),
        maxTextLength: wholePositive(config.maxFieldLength, DEFAULT_EVENT_LIMITS.maxTextLength, 'maxFieldLength (text field length)'),
        maxListMembers: wholePositive(config.maxListMembers, DEFAULT_EVENT_LIMITS.maxListMembers, 'maxListMembers (list members per event)'),
        maxCallListMembers: wholePositive(config.maxCallListMembers, DEFAULT_EVENT_LIMITS.maxCallListMembers, 'maxCallListMembers (list members per call)'),
        maxCallBytes: Math.floor(positive(config.maxCallSize, DEFAULT_EVENT_LIMITS.maxCallBytes / KIB, 'maxCallSize (call record size, KiB)') * KIB),
    };
}

function selectedEvents(value: CallEventInProperties['events']): Set<TriggerEventId> | undefined {
    const ids = Array.isArray(value) ? value : typeof value === 'string' && value.trim() ? value.split(',').map((id) => id.trim()) : [];
    for (const id of ids) if (!isTriggerEventId(id)) throw new ConfigError(`events: "${id}" is not one of presenting, connected, complete, processed, updated`);
    return ids.length > 0 ? new Set(ids as TriggerEventId[]) : undefined;
}

function authOf(config: CallEventInProperties, credentials: CallEventInCredentials): EndpointAuth {
    const authType = config.auth ?? 'none';
    if (authType === 'none') return { type: 'none' };
    if (authType === 'header') {
        if (!credentials.secret) throw new ConfigError('authentication: a shared secret is required');
        return { type: 'header', headerName: config.authHeader || DEFAULT_AUTH_HEADER, secret: credentials.secret };
    }
    if (authType === 'standard-webhooks') {
        if (!credentials.secret) throw new ConfigError('authentication: a webhook secret ("whsec_...") is required');
        const toleranceSeconds = positive(config.tolerance, DEFAULT_TOLERANCE_SECONDS, 'tolerance');
        return { type: 'standard-webhooks', secret: credentials.secret, toleranceSeconds, replays: new ReplayGuard(toleranceSeconds) };
    }
    throw new ConfigError(`authentication: "${String(authType)}" is not none, header or standard-webhooks`);
}

function adapterOf(config: CallEventInProperties, credentials: CallEventInCredentials): WebhookAdapter | undefined {
    const source = config.source ?? 'raw';
    if (source === 'raw') return undefined;
    if (!(WEBHOOK_SOURCES as readonly string[]).includes(source)) throw new ConfigError(`source: "${source}" is not raw, ${WEBHOOK_SOURCES.join(', ')}`);
    let mapping: unknown;
    if (source === 'custom') {
        try {
            mapping = JSON.parse(config.mapping || '{}');
        } catch (err) {
            throw new ConfigError(`mapping: not JSON (${errorText(err)})`);
        }
    }
    return createWebhookAdapter({
        source,
        secret: credentials.platformSecret || undefined,
        tagsAs: config.tagsAs,
        recordingsPerCall: config.recordingsPerCall === undefined || config.recordingsPerCall === '' ? undefined : Number(config.recordingsPerCall),
        mapping,
        names: SOURCES_WITH_NAMES.has(source) ? parseNameTable(config.names) : undefined,
    });
}

/**
 * The node's options from its flow JSON and credentials, validated; the one place their defaults live. Throws a
 * ConfigError naming the property and the problem.
 */
export function callEventInOptions(config: CallEventInProperties, credentials: CallEventInCredentials = {}): CallEventInOptions {
    const wanted = selectedEvents(config.events);
    const limits = eventLimitsOf(config);
    const tracker = {
        recordingWaitMs: positive(config.recordingWait, DEFAULT_TRACKER_OPTIONS.recordingWaitMs / MINUTE_MS, 'recording wait') * MINUTE_MS,
        retentionMs: positive(config.retention, DEFAULT_TRACKER_OPTIONS.retentionMs / MINUTE_MS, 'retention') * MINUTE_MS,
        maxCalls: Math.floor(positive(config.maxCalls, DEFAULT_TRACKER_OPTIONS.maxCalls, 'max calls')),
        maxBytes: Math.floor(positive(config.maxStateSize, DEFAULT_TRACKER_OPTIONS.maxBytes / MIB, 'maxStateSize (tracked state memory, MiB)') * MIB),
        // The per-call bounds (list members per call, call record size) go to the tracker too.
        limits,
    };
    const maxBodyBytes = Math.floor(positive(config.maxBody, DEFAULT_MAX_BODY_KIB, 'body limit') * KIB);
    const auth = authOf(config, credentials);
    const adapter = adapterOf(config, credentials);
    const store = storeIdOf(config);
    return {
        path: config.path ?? '',
        wanted,
        limits,
        tracker,
        maxBodyBytes,
        auth,
        adapter,
        publicUrl: config.publicUrl || undefined,
        ...(store ? { store } : {}),
    };
}
