import type { TrackedCall, Trigger } from './call-tracker';

/**
 * The few operations SharedCallTracking needs from a shared engine. Every write is one atomic commit that checks
 * the versions read before it (check-and-set): no lock is held across a network wait, and an engine only has to
 * offer an atomic multi-key write (a Redis script; a PostgreSQL transaction would be another module).
 *
 * Times are the store's own clock (ms since 1970; Redis's TIME), never an instance's: instances whose clocks
 * disagree by minutes still agree on when a deadline is due, a lease has ended or a call has expired. `read` says
 * what the store's clock showed, for the times a batch writes; the other operations read the clock themselves
 * unless given `now` (a test's clock, moved by hand).
 */
export interface CallStateStore {
    /** The stored state of these calls (a call without a record is absent from the map), and the store's clock. */
    read(callIds: readonly string[]): Promise<StoredCalls>;
    /**
     * Writes all of it or none of it: not committed when a version read earlier has changed since (with the calls'
     * state as it is now, when the engine can say it on the same trip, so the caller need not read again).
     */
    commit(commit: CallCommit): Promise<CommitOutcome>;
    /** Forgets pending batches once their triggers were emitted. */
    acknowledge(batchIds: readonly string[]): Promise<void>;
    /**
     * Pending batches whose lease ended by now (their instance died before emitting), each leased anew to the caller;
     * `acknowledged` are forgotten first (the caller's own, emitted since its last trip), so none of them is taken.
     */
    claimPending(leaseMs: number, limit: number, now?: number, acknowledged?: readonly string[]): Promise<PendingBatch[]>;
    /** Calls whose recording deadline is due by now, each moved to now + leaseMs so other instances skip it meanwhile. */
    claimDue(leaseMs: number, limit: number, now?: number): Promise<string[]>;
    /** Counts the calls held, after dropping index entries of calls the engine has expired. */
    count(expiry: CallExpiry, now?: number): Promise<CallCounts>;
}

export interface StoredCalls {
    /** The store's clock when it read them (ms since 1970). */
    now: number;
    calls: Map<string, StoredCall>;
}

/** A call's record as stored: `record` is unparsed so a damaged one is dropped by the caller, never half-used. */
export interface StoredCall {
    version: string;
    record: unknown;
}

export interface CallExpiry {
    /** A processed call is forgotten this long after its last activity. */
    finishedMs: number;
    /** An unprocessed call is forgotten this long after its last activity. */
    unfinishedMs: number;
}

export type CallWrite =
    /** Only the version is checked (the batch read the call and did not change it); `deadline` restores a claimed one. */
    | { kind: 'keep'; callId: string; expected: string | undefined; deadline?: number }
    | { kind: 'put'; callId: string; expected: string | undefined; version: string; record: TrackedCall; expiresAt: number }
    | { kind: 'delete'; callId: string; expected: string | undefined };

export interface CallCommit {
    writes: CallWrite[];
    /** The triggers the commit fires, kept until acknowledged so a crash before they are emitted does not lose them. */
    pending?: PendingBatch;
    /** The cluster-wide bound on calls: beyond it the commit forgets the least recently active, finished ones first. */
    maxCalls: number;
    /** The same for the bytes of the stored records; the calls the commit writes are never the ones forgotten. */
    maxBytes: number;
    /** The time the batch was applied at, on the store's clock (read's `now`): the cutoffs count from it. */
    now: number;
    /**
     * When `now` is this instance's estimate of the store's clock rather than a time the store gave: the commit is
     * refused (not committed, with the current state and clock) when `now` is further than this from the store's.
     */
    clockToleranceMs?: number;
    expiry: CallExpiry;
    /** Batches emitted since the last trip, forgotten by the same trip whether or not the commit goes through. */
    acknowledged?: readonly string[];
}

export interface PendingBatch {
    batchId: string;
    /** The instance that committed it (for an operator reading the store). */
    instanceId: string;
    /** When another instance may take the batch over (the store's clock). */
    leaseUntil: number;
    /** As fired, snapshots included: a re-emission carries the same call, event and updateSeq. */
    triggers: Trigger[];
}

export type CommitOutcome =
    /** `current`: the calls' state and the store's clock as the commit found them, when the engine tells them. */
    | { committed: false; current?: StoredCalls }
    /** `now`: the store's clock when it committed, when the engine tells it. */
    | { committed: true; evicted: CallEviction[]; now?: number };

/** A call the commit forgot to hold a bound. */
export interface CallEviction {
    callId: string;
    processed: boolean;
    reason: 'calls' | 'bytes';
}

export interface CallCounts {
    calls: number;
    unfinished: number;
    /** Bytes of the stored records (their JSON). */
    bytes: number;
}
