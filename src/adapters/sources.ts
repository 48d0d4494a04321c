import { ConfigError } from '../errors/coded-error';
import type { WebhookAdapter } from './adapter';
import { aircallAdapter } from './aircall';
import { customMappingAdapter, validateMapping } from './custom-mapping';
import { dialpadAdapter } from './dialpad';
import { twilioAdapter } from './twilio';

/** The `source` values of "call event in" other than `raw`, which the node reads itself. */
export const WEBHOOK_SOURCES = ['aircall', 'dialpad', 'twilio', 'custom'] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** Everything a source needs, as the node holds it: settings from the flow, `secret` from its credentials. */
export interface WebhookSourceConfig {
    source: WebhookSource;
    /** Aircall webhook token, Dialpad webhook secret, Twilio Auth Token, or the custom mapping's shared secret. */
    secret?: string;
    /** Aircall tags / Dialpad labels: account codes (default) or tags. */
    tagsAs?: 'accountCodes' | 'tags';
    /** Twilio: recordings to wait for on each completed call (default 0). */
    recordingsPerCall?: number;
    /** The custom mapping, for source `custom`. */
    mapping?: unknown;
}

/** One place that turns the node's settings into an adapter, refusing settings that cannot work. */
export function createWebhookAdapter(config: WebhookSourceConfig): WebhookAdapter {
    const secret = config.secret || undefined;
    switch (config.source) {
        case 'aircall':
            return aircallAdapter({ token: secret, tagsAs: config.tagsAs });
        case 'dialpad':
            return dialpadAdapter({ secret, labelsAs: config.tagsAs });
        case 'twilio':
            if (config.recordingsPerCall !== undefined && (!Number.isInteger(config.recordingsPerCall) || config.recordingsPerCall < 0)) {
                throw new ConfigError('Twilio: "recordingsPerCall" must be a whole number, 0 or more');
            }
            return twilioAdapter({ authToken: secret, recordingsPerCall: config.recordingsPerCall });
        case 'custom':
            return customMappingAdapter(validateMapping(config.mapping), { secret });
        default:
            throw new ConfigError(`unknown source ${JSON.stringify((config as { source: unknown }).source)}; use raw, ${WEBHOOK_SOURCES.join(', ')}`);
    }
}
