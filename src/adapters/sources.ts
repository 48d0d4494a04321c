import { ConfigError } from '../errors/coded-error';
import type { WebhookAdapter } from './adapter';
import { aircallAdapter } from './aircall';
import { amazonConnectAdapter } from './amazon-connect';
import { customMappingAdapter, validateMapping } from './custom-mapping';
import { dialpadAdapter } from './dialpad';
import { genesysCloudAdapter } from './genesys-cloud';
import type { NameTable } from './name-table';
import { ringcentralAdapter } from './ringcentral';
import { twilioAdapter } from './twilio';
import { zoomAdapter } from './zoom';

/** The `source` values of "call event in" other than `raw`, which the node reads itself (public flow JSON). */
export const WEBHOOK_SOURCES = ['aircall', 'dialpad', 'twilio', 'amazon-connect', 'genesys-cloud', 'ringcentral', 'zoom', 'custom'] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** The sources whose events name agents, queues or codes by id, so that the node's `names` table applies to them. */
export const SOURCES_WITH_NAMES: ReadonlySet<WebhookSource> = new Set(['amazon-connect', 'genesys-cloud', 'ringcentral', 'zoom']);

/** Everything a source needs, as the node holds it: settings from the flow, `secret` from its credentials. */
export interface WebhookSourceConfig {
    source: WebhookSource;
    /**
     * Aircall webhook token, Dialpad webhook secret, Twilio Auth Token, RingCentral verification token, Zoom secret
     * token, or the custom mapping's shared secret. Amazon Connect and Genesys Cloud take none: their EventBridge
     * API destination authenticates with the node's own Authentication (an API key header or Basic).
     */
    secret?: string;
    /** Aircall tags / Dialpad labels: account codes (default) or tags. */
    tagsAs?: 'accountCodes' | 'tags';
    /** Twilio and Zoom: recordings to wait for on each completed call (default 0). */
    recordingsPerCall?: number;
    /** The custom mapping, for source `custom`. */
    mapping?: unknown;
    /** The SOURCES_WITH_NAMES: names for the ids and ARNs their events carry. */
    names?: NameTable;
}

/** One place that turns the node's settings into an adapter, refusing settings that cannot work. */
export function createWebhookAdapter(config: WebhookSourceConfig): WebhookAdapter {
    const secret = config.secret || undefined;
    if (config.recordingsPerCall !== undefined && (!Number.isInteger(config.recordingsPerCall) || config.recordingsPerCall < 0)) {
        throw new ConfigError(`${config.source}: "recordingsPerCall" must be a whole number, 0 or more`);
    }
    switch (config.source) {
        case 'aircall':
            return aircallAdapter({ token: secret, tagsAs: config.tagsAs });
        case 'dialpad':
            return dialpadAdapter({ secret, labelsAs: config.tagsAs });
        case 'twilio':
            return twilioAdapter({ authToken: secret, recordingsPerCall: config.recordingsPerCall });
        case 'amazon-connect':
            return amazonConnectAdapter({ names: config.names });
        case 'genesys-cloud':
            return genesysCloudAdapter({ names: config.names });
        case 'ringcentral':
            return ringcentralAdapter({ verificationToken: secret, names: config.names });
        case 'zoom':
            return zoomAdapter({ secretToken: secret, recordingsPerCall: config.recordingsPerCall, names: config.names });
        case 'custom':
            return customMappingAdapter(validateMapping(config.mapping), { secret });
        default:
            throw new ConfigError(`unknown source ${JSON.stringify((config as { source: unknown }).source)}; use raw, ${WEBHOOK_SOURCES.join(', ')}`);
    }
}
