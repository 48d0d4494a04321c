// What the node shows under it: the queue while it holds requests, else the last outcome or a notice about the outbox.
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import type { QueueSnapshot } from '../../delivery/delivery-queue';
import { formatWait } from '../../delivery/retry-schedule';
// While requests are queued the status changes with every attempt; the editor is told at most this often.
import { STATUS_INTERVAL_MS } from '../shared/throttled-status';

export interface StatusSource {
    snapshot(): QueueSnapshot | undefined;
    /** Requests queued now: asked on every change, so it must not cost what a snapshot does. */
    readonly queuedCount: number;
    readonly refusing: boolean;
    /** The outbox is shared in Redis: refusing then means Redis is away, not a file that will not open. */
    readonly shared?: boolean;
    /** Refusing because the outbox's disk refuses writes, not because it could not be opened. */
    readonly notWritable?: boolean;
}

function clock(at: number): string {
    return new Date(at).toTimeString().slice(0, 8);
}

/**
 * The last outcome as it happened; its text is made only when the status is shown. Under load hundreds of requests
 * end between two shows, and translating and formatting each one's text cost more CPU than its HTTP exchange.
 */
type Outcome = { delivered: true; statusCode: number; timeMs: number; at: number } | { delivered: false; what: string; at: number };

export class DeliveryStatus {
    private lastOutcome: Outcome | undefined;
    /** A lasting condition of the outbox (recovered with losses, kept in memory), shown while the queue is empty. */
    notice: string | undefined;
    private timer: NodeJS.Timeout | undefined;
    /**
     * Until when a change waits for the next show. Statuses shown before the first outcome (a deploy, a notice) do
     * not count: nothing changes fast then, and the first outcome is shown at once.
     */
    private quietUntil = 0;

    constructor(
        private readonly node: Node,
        private readonly RED: NodeAPI,
        private readonly source: StatusSource,
    ) {}

    text(key: string, values?: Record<string, string | number>): string {
        return this.RED._(`web-service-out.runtime.status.${key}`, values);
    }

    delivered(statusCode: number, timeMs: number): void {
        this.lastOutcome = { delivered: true, statusCode, timeMs, at: Date.now() };
        this.refresh();
    }

    failed(what: string): void {
        this.lastOutcome = { delivered: false, what, at: Date.now() };
        this.refresh();
    }

    private outcomeStatus(outcome: Outcome): NodeStatus {
        const time = clock(outcome.at);
        if (outcome.delivered)
            return { fill: 'green', shape: 'dot', text: this.text('delivered', { statusCode: outcome.statusCode, timeMs: outcome.timeMs, time }) };
        return { fill: 'red', shape: 'ring', text: this.text('failed', { what: outcome.what, time }) };
    }

    /**
     * The outcome of a request at a quiet node is shown at once (it is what the user looks for); otherwise the status
     * reaches the editor at most every STATUS_INTERVAL_MS, and a request that ends within that interval is never shown
     * as queued. At a few hundred events a second, showing every outcome (its text translated each time) cost more
     * CPU than the request's own exchange and lengthened every other event's wait (bench/run.ts --profile).
     */
    refresh(): void {
        const wait = this.quietUntil - Date.now();
        if (this.source.queuedCount === 0 && wait <= 0) {
            this.show();
            return;
        }
        // A show is due already: it reads the state as it is then.
        if (this.timer) return;
        this.timer = setTimeout(() => this.show(), this.source.queuedCount === 0 ? wait : STATUS_INTERVAL_MS);
    }

    stop(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
    }

    private show(): void {
        this.stop();
        if (this.lastOutcome) this.quietUntil = Date.now() + STATUS_INTERVAL_MS;
        this.node.status(this.current());
    }

    private current(): NodeStatus {
        if (this.source.refusing) {
            const key = this.source.shared ? 'redisUnavailable' : this.source.notWritable ? 'outboxNotWritable' : 'outboxUnavailable';
            return { fill: 'red', shape: 'ring', text: this.text(key) };
        }
        const snapshot = this.source.snapshot();
        if (!snapshot || snapshot.queued === 0) {
            if (this.notice) return { fill: 'yellow', shape: 'ring', text: this.notice };
            return this.lastOutcome ? this.outcomeStatus(this.lastOutcome) : {};
        }
        const { queued, inFlight, nextRetryAt } = snapshot;
        if (snapshot.full) return { fill: 'red', shape: 'dot', text: this.RED._('web-service-out.status.queueFull', { queued }) };
        if (nextRetryAt === undefined) return { fill: 'blue', shape: 'dot', text: this.text('queued', { queued }) };
        if (inFlight === 0) return { fill: 'yellow', shape: 'dot', text: this.text('retryingIn', { queued, wait: formatWait(nextRetryAt - Date.now()) }) };
        return { fill: 'yellow', shape: 'dot', text: this.text('sendingRetrying', { queued, inFlight }) };
    }
}
