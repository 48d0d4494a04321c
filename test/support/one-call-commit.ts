import type { CallCommit } from '../../src/lifecycle/call-state-store';
import type { TrackedCall } from '../../src/lifecycle/call-tracker';

/** A commit of one new call, as SharedCallTracking makes it. */
export function oneCallCommit(callId: string): CallCommit {
    const now = Date.now();
    return {
        writes: [
            {
                kind: 'put',
                callId,
                expected: undefined,
                version: `v-${callId}`,
                // Only the fields the store indexes by: the store keeps the record as JSON without reading the rest.
                record: { callId, lastActivity: now, processed: false } as unknown as TrackedCall,
                expiresAt: now + 60_000,
            },
        ],
        maxCalls: 1000,
        maxBytes: 1_000_000,
        now,
        expiry: { finishedMs: 60_000, unfinishedMs: 60_000 },
    };
}
