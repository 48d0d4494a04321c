import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the CRM saw it: the trigger it carried, its idempotency key and the answer it got. */
export interface CrmAttempt {
    callId: string;
    /** `call-1:complete`, `call-1:updated#2`. */
    trigger: string;
    key: string;
    status: number;
    at: number;
}

export interface CrmSink {
    url: string;
    attempts: CrmAttempt[];
    /** Answer 200 when up, 503 when down. */
    up: boolean;
    /** Requests being answered now, and the most there ever were at once. */
    inFlight: number;
    maxInFlight: number;
    /** Delay before answering (ms), to keep requests in flight. */
    delayMs: number;
    delivered(): CrmAttempt[];
    close(): Promise<void>;
}

/**
 * The CRM of a cluster or kill test, on 127.0.0.1: bodies are `{"callId","event","updateSeq"}` as the test flows
 * render them; it can be switched down (503) and up, and slowed, to keep requests pending or in flight.
 */
export async function startCrmSink(): Promise<CrmSink> {
    const sink: CrmSink = {
        url: '',
        attempts: [],
        up: true,
        inFlight: 0,
        maxInFlight: 0,
        delayMs: 0,
        delivered: () => sink.attempts.filter((attempt) => attempt.status === 200),
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            sink.inFlight += 1;
            sink.maxInFlight = Math.max(sink.maxInFlight, sink.inFlight);
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { callId: string; event: string; updateSeq?: string };
            const answer = (): void => {
                sink.inFlight -= 1;
                const status = sink.up ? 200 : 503;
                sink.attempts.push({
                    callId: body.callId,
                    trigger: `${body.callId}:${body.event}${body.updateSeq ? `#${body.updateSeq}` : ''}`,
                    key: String(req.headers['idempotency-key']),
                    status,
                    at: Date.now(),
                });
                res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
            };
            if (sink.delayMs > 0) setTimeout(answer, sink.delayMs);
            else answer();
        });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`;
    return sink;
}
