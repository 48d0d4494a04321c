// Memory per tracked call: N calls in flight (rung and answered, not yet complete) in the CallTracker that
// "call event in" keeps, measured in a process of its own with the garbage collector forced before each reading.
// The byte bound is lifted so the count is what is measured. Run with --expose-gc; prints one JSON line.
import { CallTracker } from '../src/lifecycle/call-tracker';

declare const gc: () => void;

export interface TrackerMemory {
    calls: number;
    heapMb: number;
    rssMb: number;
    bytesPerCall: number;
    /** The tracker's own estimate of each call's stored JSON, which its byte bound counts. */
    estimatedBytesPerCall: number;
    ingestMs: number;
}

function settle(): void {
    for (let i = 0; i < 3; i++) gc();
}

function measure(calls: number): TrackerMemory {
    const tracker = new CallTracker({ maxCalls: calls, maxBytes: Number.POSITIVE_INFINITY });
    settle();
    const before = process.memoryUsage();
    const started = performance.now();
    const base = Date.now() - 60_000;
    for (let i = 0; i < calls; i++) {
        const callId = `4f1c2a9e-1b7d-4c3e-9f5a-${String(i).padStart(12, '0')}`;
        const startTime = base + i;
        tracker.ingest({
            type: 'presenting',
            callId,
            eventId: `${callId}:presenting`,
            timestamp: startTime,
            reportCallId: `R${100_000_000 + i}`,
            direction: 'Inbound',
            callerName: 'Jane Example',
            externalNumber: `+1555${String(i).padStart(7, '0')}`,
            dnis: '+15557654321',
            startTime,
            group: 'Sales',
        });
        tracker.ingest({
            type: 'connected',
            callId,
            eventId: `${callId}:connected`,
            timestamp: startTime + 5000,
            agent: { name: 'John Doe', extension: String(100 + (i % 900)) },
        });
    }
    const ingestMs = performance.now() - started;
    settle();
    const after = process.memoryUsage();
    if (tracker.size !== calls) throw new Error(`tracked ${tracker.size} calls, not ${calls}`);
    const heap = after.heapUsed - before.heapUsed;
    return {
        calls,
        heapMb: heap / 2 ** 20,
        rssMb: (after.rss - before.rss) / 2 ** 20,
        bytesPerCall: Math.round(heap / calls),
        estimatedBytesPerCall: Math.round(tracker.stats().bytes / calls),
        ingestMs: Math.round(ingestMs),
    };
}

if (typeof gc !== 'function') throw new Error('run with --expose-gc');
console.log(JSON.stringify(measure(Number(process.argv[2] ?? 100_000))));
