/**
 * A raw call event as the platform (or an adapter for another platform) delivers it to "call event in". This
 * format is public API, documented in the README and the node help.
 */
export type RawEventType = 'presenting' | 'connected' | 'complete' | 'recording' | 'accountCodes' | 'update';

export const RAW_EVENT_TYPES: readonly RawEventType[] = ['presenting', 'connected', 'complete', 'recording', 'accountCodes', 'update'];

export interface RawEvent {
    type: RawEventType;
    /** The call's UUID. */
    callId: string;
    /** Duplicates of the same id are ignored. */
    eventId?: string;
    /** When the event happened, ms since 1970-01-01 UTC; orders events that arrive out of order. */
    timestamp?: number;
    reportCallId?: string;
    direction?: 'Internal' | 'Inbound' | 'Outbound' | 'Intersite';
    callerName?: string;
    dnis?: string;
    externalNumber?: string;
    location?: string;
    /** Start time of the call, ms since 1970-01-01 UTC. */
    startTime?: number;
    agent?: { name?: string; extension?: string };
    group?: string;
    /** Added to the call's tags. */
    tags?: string[];
    /** The whole new list of account codes. */
    accountCodes?: string[];
    /** On `complete`: how many recordings are still being processed (default 0). */
    pendingRecordings?: number;
    /** On `recording`: the link to the processed recording. */
    recordingUrl?: string;
}
