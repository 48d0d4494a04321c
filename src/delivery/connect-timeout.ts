import type { Socket } from 'node:net';
import { buildConnector, errors } from 'undici';

/** How long a connection may take to open: undici's own default, kept. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** What undici's connector does, as it does it: returns the socket it opens, and calls back once it is open or failed. */
type Connect = (options: buildConnector.Options, callback: buildConnector.Callback) => Socket | undefined;

/**
 * undici's connector with its connect timeout on a plain Node timer. undici's own timer is cleared by marking it
 * and dropped from its list at the next tick, up to half a second later, holding the closure over the socket until
 * then; measured against a port that refuses connections, 32 at a time, that took each refused socket and what
 * hangs on it into the old generation: 2.3 KB a connection, against 0.8 KB with the timer off. clearTimeout lets go
 * at once.
 */
export function timedConnector(
    options: buildConnector.BuildOptions,
    timeoutMs = CONNECT_TIMEOUT_MS,
    connect: Connect = buildConnector({ ...options, timeout: 0 }) as unknown as Connect,
): buildConnector.connector {
    return (target, callback) => {
        let timer: NodeJS.Timeout | undefined = undefined;
        let settled = false;
        const socket = connect(target, (...args) => {
            settled = true;
            clearTimeout(timer);
            callback(...args);
        });
        // A connector may call back before it returns (a socket it could not even start): nothing to time then.
        if (settled || !socket) return;
        timer = setTimeout(() => {
            socket.destroy(
                new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${target.hostname}:${target.port}, timeout: ${timeoutMs}ms)`),
            );
        }, timeoutMs);
    };
}
