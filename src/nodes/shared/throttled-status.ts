import type { Node, NodeStatus } from 'node-red';

/** How often at most a per-message status reaches the editor. */
export const STATUS_INTERVAL_MS = 250;

/**
 * A node status that changes on every message, shown at most every STATUS_INTERVAL_MS: the first change at once,
 * the last one of a burst when the interval ends. Each node.status() goes through the runtime's event bus to every
 * open editor, and the text is often translated; at hundreds of messages a second that cost more than the message's
 * own work (measured with bench/run.ts --profile), while nobody can read a status that changes faster anyway.
 * The status is built only when it is shown.
 */
export function throttledStatus(node: Node, intervalMs = STATUS_INTERVAL_MS): { set(status: () => NodeStatus): void; stop(): void } {
    let pending: (() => NodeStatus) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
        timer = undefined;
        if (!pending) return;
        const next = pending;
        pending = undefined;
        node.status(next());
        timer = setTimeout(flush, intervalMs);
    };
    return {
        set(status) {
            pending = status;
            if (!timer) flush();
        },
        stop() {
            clearTimeout(timer);
            timer = undefined;
            pending = undefined;
        },
    };
}
