import type { Node } from 'node-red';
import { logText } from '../../logging/log-text';

/** Repeated warnings of one kind (a failing disk, a flood of refused requests) reach the log once a minute at most. */
export const WARNING_INTERVAL_MS = 60_000;

/**
 * A node.warn that says a thing at most once per interval and then how many more like it were held back, so a flood
 * of bad input or a broken disk cannot flood the log too. The text is outside data more often than not: it is made
 * log-safe and cut to `maxLength`.
 */
export function rateLimitedWarning(node: Pick<Node, 'warn'>, maxLength = 400, intervalMs = WARNING_INTERVAL_MS): (message: string) => void {
    let lastWarning = Number.NEGATIVE_INFINITY;
    let suppressed = 0;
    return (message) => {
        const now = Date.now();
        if (now - lastWarning < intervalMs) {
            suppressed += 1;
            return;
        }
        const text = logText(message, maxLength);
        node.warn(suppressed ? `${text} (and ${suppressed} more like it)` : text);
        lastWarning = now;
        suppressed = 0;
    };
}
