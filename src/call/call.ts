/**
 * The call snapshot every node of the package carries on `msg.call`. Field names are the placeholder names users
 * type in templates, so they are public API: never rename one.
 */
export type CallDirection = 'Internal' | 'Inbound' | 'Outbound' | 'Intersite';

export const CALL_DIRECTIONS: readonly CallDirection[] = ['Internal', 'Inbound', 'Outbound', 'Intersite'];

export type TriggerEventId = 'presenting' | 'connected' | 'complete' | 'processed' | 'updated';

export interface Call {
    callId: string;
    reportCallId?: string;
    direction?: CallDirection;
    callerName?: string;
    dnis?: string;
    externalNumber?: string;
    location?: string;
    /** Start time of the call, ms since 1970-01-01 UTC. */
    time?: number;
    /** Name and extension, e.g. "John Doe (154)". */
    agent?: string;
    agentName?: string;
    agentExtension?: string;
    group?: string;
    tags?: string[];
    accountCodes?: string[];
    /** One link per processed recording; rendered comma-delimited like the other lists. */
    recordingLink?: string[];
    event?: TriggerEventId;
    /** True once an agent answered the call (a "connected" event), false for a call that was never answered. */
    answered?: boolean;
    /** Seconds from the start of the call to its last event, when both are known. */
    duration?: number;
    /** Set on "Call and Recordings Processed" fired by the wait for a recording that never came. */
    recordingsMissing?: boolean;
    /** 1, 2, 3, ... on each "Call is Updated", so a receiver can tell repeated posts apart. */
    updateSeq?: number;
    /**
     * 1, 2, 3, ... on each "Call is Presenting" of the call, and separately on each "Call is Connected": a second
     * agent rung (or a transfer answered) is the second of its trigger, and its request gets a key of its own.
     */
    eventSeq?: number;
}

/** The product's "Agent" value: name and extension, e.g. "John Doe (154)", or whichever part is known. */
export function agentDisplayName(name: string | undefined, extension: string | undefined): string | undefined {
    if (name && extension) return `${name} (${extension})`;
    return name || extension || undefined;
}
