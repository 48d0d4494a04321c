import type { TrackedCall, Trigger } from './call-tracker';

/**
 * The few operations SharedCallTracking needs from a shared engine. Every write is one atomic commit that checks
 * the versions read before it (check-and-set): no lock is held across a network wait, and an engine only has to
 * offer an atomic multi-key write (a Redis script; a PostgreSQL transaction would be another module).
 *
 * Times are the tracking instance's wall clock (ms since 1970): deadlines, leases and expiries all compare with it.
 */
export interface CallStateStore {
    /** The stored state of these calls; a call without a record is absent from the map. */
    read(callIds: readonly string[]): Promise<Map<string, StoredCall>>;
    /** Writes all of it or none of it: `conflict` when a version read earlier has changed since. */
    commit(commit: CallCommit): Promise<CommitOutcome>;
    /** Forgets a pending batch once its triggers were emitted. */
    acknowledge(batchId: string): Promise<void>;
    /** Pending batches whose lease ended by `now` (their instance died before emitting), each leased anew to the caller. */
    claimPending(now: number, leaseMs: number, limit: number): Promise<PendingBatch[]>;
    /** Calls whose recording deadline is due by `now`, each moved to `now + leaseMs` so other instances skip it meanwhile. */
    claimDue(now: number, leaseMs: number, limit: number): Promise<string[]>;
    /** Counts the calls held, after dropping index entries of calls the engine has expired. */
    count(now: number, expiry: CallExpiry): Promise<CallCounts>;
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
    now: number;
    expiry: CallExpiry;
}

export interface PendingBatch {
    batchId: string;
    /** The instance that committed it (for an operator reading the store). */
    instanceId: string;
    leaseUntil: number;
    /** As fired, snapshots included: a re-emission carries the same call, event and updateSeq. */
    triggers: Trigger[];
}

export type CommitOutcome = { committed: false } | { committed: true; evicted: CallEviction[] };

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
