import type { RawEvent } from '../call/raw-event';
import type { Trigger } from './call-tracker';

/**
 * What call event in needs from its call state, whether the state lives on this process's disk (DurableCallTracking)
 * or is shared by every instance of a cluster (SharedCallTracking): one code path in the node for both.
 */
export interface CallTracking {
    /**
     * Takes in a batch of validated events, all or none (LimitExceededError before anything is applied). Calls
     * emit(triggers) once with the triggers fired, in order, and resolves once the state is durable (202/done).
     */
    take(events: readonly RawEvent[], emit: (triggers: Trigger[]) => void): Promise<void>;
    /** Fires what is due (recording waits that ended), emitting as take does; for the shared one: cluster-wide. */
    tick(emit: (triggers: Trigger[]) => void): Promise<void>;
    /** Calls tracked (the shared one: a count refreshed by tick, so it may lag). */
    readonly size: number;
    /** Calls tracked that have not been processed yet (the shared one: refreshed by tick). */
    readonly unfinished: number;
    /** The store failure in force, if any: the node then says the store is the problem, not the request. */
    readonly failure: unknown;
    close(): Promise<void>;
}
