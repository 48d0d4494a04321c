/**
 * Waits until `check()` holds, polling every `pollMs`; fails naming `what` after `timeoutMs` (a function is asked only
 * then, for a state worth printing). Tests wait for what happens in another process or timer this way, always
 * bounded in time.
 */
export async function until(check: () => boolean, what: string | (() => string), timeoutMs = 5000, pollMs = 10): Promise<void> {
    const started = Date.now();
    while (!check()) {
        if (Date.now() - started > timeoutMs) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
}
