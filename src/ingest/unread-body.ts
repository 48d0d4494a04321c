import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long a sender whose body was refused unread (a 413) may go on sending after the answer, before its connection
 * is closed. Node reads an unread body to its end to keep the connection alive, which a sender streaming without end
 * would make last until the server's request timeout (5 minutes by default).
 */
export const UNREAD_BODY_LINGER_MS = 5000;

/**
 * Ends the connection of a request answered before its body was read to the end, once the sender has had
 * `lingerMs` after the answer to finish: a connection closed at once would be reset over the unread bytes, and a
 * client still writing would lose the answer. A sender that finishes in time keeps its connection.
 */
export function closeUnfinishedRequest(req: IncomingMessage, res: ServerResponse, lingerMs = UNREAD_BODY_LINGER_MS): void {
    const linger = (): void => {
        if (req.complete) return;
        const timer = setTimeout(() => req.socket.destroy(), lingerMs);
        timer.unref();
        // On the request, not its socket: a kept-alive socket would gather one listener per refused request.
        const stop = (): void => clearTimeout(timer);
        req.once('end', stop);
        req.once('close', stop);
    };
    if (res.writableFinished) linger();
    else res.once('finish', linger);
}
