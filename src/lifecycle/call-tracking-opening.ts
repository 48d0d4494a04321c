import { errorText } from '../errors/error-text';
import { openNodeStore, type OpenNodeStoreOptions } from '../store/node-store';
import type { TrackedCall, TrackerOptions } from './call-tracker';
import { DurableCallTracking } from './durable-call-tracking';

/** What opening a call event in node's call state found: the node turns it into warnings, a log line and its status. */
export interface CallTrackingOpening {
    tracking: DurableCallTracking;
    /** Where the state is kept; undefined when it is kept in memory only (no user directory). */
    directory?: string;
    durable: boolean;
    restored: number;
    /** Set when the store's recovery dropped records (a torn last write, damage): their triggers may be missing. */
    dropped?: { records: number; kind: string; summary: string };
    /** Keys whose record was not a call's state: left out and deleted. */
    unreadable: string[];
}

export interface CallTrackingRequest {
    userDir: unknown;
    nodeId: string;
    tracker: Partial<TrackerOptions>;
}

/** Opens a node's call state through the one state policy (openNodeStore) and restores the tracker from it. */
export async function openCallTracking(request: CallTrackingRequest, storeOptions?: OpenNodeStoreOptions): Promise<CallTrackingOpening> {
    const { store, directory, durable } = await openNodeStore<TrackedCall>(
        { userDir: request.userDir, kind: 'calls', nodeId: request.nodeId, name: 'calls' },
        storeOptions,
    );
    let tracking: DurableCallTracking;
    try {
        // In memory the tracker's own state is the only copy: a memory store beside it would double the memory the
        // maxBytes bound is meant to cap, and could never be read back anyway.
        if (!durable) await store.close();
        tracking = await DurableCallTracking.open(durable ? store : undefined, request.tracker);
    } catch (err) {
        await store.close().catch(() => undefined);
        throw err;
    }
    const { dropped, summary } = store.recovery;
    return {
        tracking,
        directory,
        durable,
        restored: tracking.restored,
        dropped: dropped ? { records: dropped.records, kind: dropped.kind, summary } : undefined,
        unreadable: tracking.unreadable,
    };
}

/** How long a node waits before it tries again to open a call state store that could not be opened. */
export const REOPEN_INTERVAL_MS = 30_000;

export interface ReopeningCallTrackingHooks {
    opened(opening: CallTrackingOpening): void;
    failed(err: unknown): void;
}

/**
 * A node's call tracking that keeps trying to open its store until it can, so a disk that was full or a folder that
 * was not writable recovers without a redeploy; until then `tracking` is undefined and the node refuses what it
 * cannot record. `ready` settles after the first attempt.
 */
export class ReopeningCallTracking {
    private current: CallTrackingOpening | undefined;
    private problem: string | undefined;
    private attempt: Promise<void>;
    private retry: ReturnType<typeof setTimeout> | undefined;
    private closed = false;
    /** Attempts made to open the store: the first one and every retry. */
    attempts = 0;

    constructor(
        private readonly open: () => Promise<CallTrackingOpening>,
        private readonly hooks: ReopeningCallTrackingHooks,
        private readonly retryMs = REOPEN_INTERVAL_MS,
    ) {
        this.attempt = this.tryOpen();
    }

    /** Settles once the attempt under way (the first one, at start) has succeeded or failed. */
    get ready(): Promise<void> {
        return this.attempt;
    }

    get tracking(): DurableCallTracking | undefined {
        return this.current?.tracking;
    }

    /** Why there is no tracking (the last attempt's error), undefined while opening and once open. */
    get failure(): string | undefined {
        return this.problem;
    }

    private async tryOpen(): Promise<void> {
        this.attempts += 1;
        let opening: CallTrackingOpening;
        try {
            opening = await this.open();
        } catch (err) {
            this.problem = errorText(err);
            if (this.closed) return;
            this.hooks.failed(err);
            this.retry = setTimeout(() => {
                this.attempt = this.tryOpen();
            }, this.retryMs);
            return;
        }
        // Opened while stopping: still handed to stop()'s caller, who closes it (and deletes it with the node).
        this.current = opening;
        this.problem = undefined;
        if (!this.closed) this.hooks.opened(opening);
    }

    /**
     * Stops retrying and hands over what was opened, if anything, for the caller to close (it needs the count of
     * unfinished calls, the folder to delete with the node, and a close error of its own).
     */
    async stop(): Promise<CallTrackingOpening | undefined> {
        this.closed = true;
        clearTimeout(this.retry);
        await this.attempt;
        const opening = this.current;
        this.current = undefined;
        return opening;
    }
}
