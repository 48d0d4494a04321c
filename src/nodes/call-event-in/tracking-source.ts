// Where a call event in node keeps its call state: its own file under the user directory (the default), or a Redis
// shared with every instance running the same flow. Both give the node one CallTracking to take events with, a
// trouble text while it cannot, and a way to stop.
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { TrackerEviction, TrackerOptions } from '../../lifecycle/call-tracker';
import type { CallTracking } from '../../lifecycle/call-tracking';
import { openCallTracking, ReopeningCallTracking, type CallTrackingOpening } from '../../lifecycle/call-tracking-opening';
import { SharedCallTracking } from '../../lifecycle/shared-call-tracking';
import { errorText } from '../../errors/error-text';
import { logText } from '../../logging/log-text';
import type { ConnectionLease } from '../../store/redis/connection-share';
import { RedisCallState } from '../../store/redis/redis-call-state';
import { reportOpening, type RuntimeTexts } from './recovery-report';

export interface TrackingSource {
    /** Settles once the first attempt to open the state has ended, either way. */
    readonly ready: Promise<void>;
    /** The tracking to take events with; undefined while the state cannot be used. */
    current(): CallTracking | undefined;
    /** What is wrong with the store now, for the status and the 503 text; undefined when nothing is. */
    trouble(): string | undefined;
    /** A loss found on opening that the status keeps showing (records dropped, unreadable). */
    note(): string | undefined;
    /** Closes, after the work accepted so far is durable; a removed node deletes the state only it used. */
    stop(removed: boolean): Promise<void>;
}

export interface SourceNode {
    id: string;
    log(text: string): void;
    warn(text: string): void;
    error(text: string): void;
}

export interface SourceHooks {
    texts: RuntimeTexts;
    onEviction(eviction: TrackerEviction): void;
    /** The store opened, failed or changed state: the node shows its status again (and ticks, once open). */
    changed(opened: boolean): void;
}

/** The file store of today: the node's folder below the user directory, reopened every 30 s when it cannot open. */
export function fileTrackingSource(node: SourceNode, userDir: unknown, tracker: Partial<TrackerOptions>, hooks: SourceHooks): TrackingSource {
    const { text, counted } = hooks.texts;
    let trouble: string | undefined;
    let note: string | undefined;
    const reopening = new ReopeningCallTracking(() => openCallTracking({ userDir, nodeId: node.id, tracker: { ...tracker, onEviction: hooks.onEviction } }), {
        opened: (opening) => {
            trouble = undefined;
            note = reportOpening(node, opening, hooks.texts);
            hooks.changed(true);
        },
        failed: (err) => {
            const message = text('warnings.storeUnavailable', { problem: logText(errorText(err)) });
            // Said once per outage, not once per retry.
            if (trouble === undefined) node.error(message);
            trouble = message;
            hooks.changed(false);
        },
    });
    return {
        ready: reopening.ready,
        current: () => reopening.tracking,
        trouble: () => {
            const failing = reopening.tracking?.failure;
            return trouble ?? (failing === undefined ? undefined : text('warnings.notSaved', { problem: logText(errorText(failing)) }));
        },
        note: () => note,
        async stop(removed) {
            const opening: CallTrackingOpening | undefined = await reopening.stop();
            if (!opening) return;
            const unfinished = removed ? opening.tracking.unfinished : 0;
            await opening.tracking.close().catch((err: unknown) => node.error(text('warnings.notSavedOnClose', { problem: logText(errorText(err)) })));
            // A redeploy keeps the state for the node that replaces this one; only deleting the node deletes it.
            if (!removed || !opening.directory) return;
            await rm(opening.directory, { recursive: true, force: true });
            if (unfinished > 0) node.warn(counted('warnings.deletedUnfinished', unfinished));
        },
    };
}

/**
 * The call state in Redis, shared by the instances that run this flow. Nothing to open: the tracking works whenever
 * the connection does, and refuses (StoreError, so 503) while it does not; the connection reconnects by itself.
 */
export function sharedTrackingSource(node: SourceNode, lease: ConnectionLease, tracker: Partial<TrackerOptions>, hooks: SourceHooks): TrackingSource {
    const { text } = hooks.texts;
    const { connection } = lease;
    const tracking = new SharedCallTracking(new RedisCallState(connection, node.id), {
        ...tracker,
        instanceId: `${hostname()}:${process.pid}`,
        onEviction: hooks.onEviction,
        onUnreadable: (callId) => node.warn(text('warnings.unreadableShared', { callId: logText(callId) })),
    });
    const unavailable = (): string => text('warnings.redisUnavailable', { problem: logText(connection.problem ?? connection.state) });
    let wasReady = false;
    const stopWatching = connection.onChange(() => {
        const ready = connection.state === 'ready';
        if (ready && !wasReady) node.log(text('log.redisReady'));
        if (!ready && wasReady) node.warn(unavailable());
        wasReady = ready;
        hooks.changed(ready);
    });
    const ready = connection.ready().then(
        () => undefined,
        () => undefined,
    );
    return {
        ready,
        current: () => tracking,
        trouble: () => (connection.state === 'ready' ? undefined : unavailable()),
        note: () => undefined,
        async stop() {
            // The shared state outlives this node: other instances may still run it, and its keys expire by themselves.
            stopWatching();
            await tracking.close().catch((err: unknown) => node.error(text('warnings.notSavedOnClose', { problem: logText(errorText(err)) })));
            await lease.release();
        },
    };
}
