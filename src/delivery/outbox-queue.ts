import type { StoreError } from '../store/durable-store';
import type { Job, QueuedJob, QueueSnapshot } from './delivery-queue';
import type { OutboxEntry } from './outbox';

/** A request as the Sender hands it to a queue: the queue adds format, attempts, queuedAt and seq. */
export type NewRequest = Omit<OutboxEntry, 'format' | 'attempts' | 'queuedAt' | 'seq'>;

/**
 * The queue the Sender drives, whatever keeps its outbox: DeliveryQueue on the node's own file, SharedDeliveryQueue
 * in Redis for several instances. Another engine (PostgreSQL, say) is one more implementation of this.
 */
export interface OutboxQueue {
    /**
     * True when instances share the queue: `enqueue` resolves once the request is durable in the shared store,
     * and whichever instance makes the final attempt reports the outcome.
     */
    readonly shared: boolean;
    /**
     * Accepts a request, or refuses it with nothing queued (InputError, QueueFullError, StoreError). `register`
     * is called with the job as soon as it has its key, before this process can attempt or settle it, so the caller
     * can attach what it needs to report the outcome.
     */
    enqueue(input: NewRequest, register?: (job: Job) => void): Job | Promise<Job>;
    /** What the queue holds now. */
    snapshot(): QueueSnapshot;
    /** Every queued request (in flight included), for the deliveries list. */
    list(limit?: number): QueuedJob[] | Promise<QueuedJob[]>;
    /** Attempts the request with this idempotency key now when it waits for a retry; false when it does not. */
    retryNow(idempotencyKey: string): boolean | Promise<boolean>;
    /**
     * The clock the queue's times are on (an entry's queuedAt, the retry waits): this process's for the file outbox;
     * for the shared one Redis's, as of its last reply (this clock plus the difference seen then), so a time counted
     * from queuedAt (msg.delivery.totalMs, a dead letter's failedAt) does not take an instance's clock skew in.
     */
    now(): number;
    /**
     * The write failure of a queue whose own disk can fail and recover (the file outbox): while it is set, enqueue
     * refuses with a `store` error.
     */
    readonly writeFailure?: StoreError;
    /** Requests queued (in flight included), without the work of a whole snapshot: asked on every change. */
    readonly queuedCount: number;
    /** Stops starting attempts, lets those in flight end and records them; resolves with the jobs left queued. */
    close(): Promise<number>;
}
