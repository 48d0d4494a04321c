// What a msg with `msg.action` asks of web service out: list its queued requests and dead letters, replay or discard
// dead letters, attempt a queued request now. Public API (flows automate "replay everything every morning" with it):
// keep the action names and the shapes of the answers.
import type { ActionResult, Sender } from '../../delivery/sender';
import { InputError } from '../../errors/coded-error';

export const ACTIONS = ['list', 'replay', 'replay-all', 'discard', 'discard-all', 'retry'] as const;
export type Action = (typeof ACTIONS)[number];

export function isActionMessage(msg: object): boolean {
    return (msg as { action?: unknown }).action !== undefined;
}

/** The action a msg names, or an InputError that names msg.action and what it may be. */
export function actionOf(msg: object): Action {
    const action = (msg as { action?: unknown }).action;
    if (typeof action === 'string' && (ACTIONS as readonly string[]).includes(action)) return action as Action;
    throw new InputError(`msg.action: ${JSON.stringify(action) ?? String(action)} is not one of ${ACTIONS.join(', ')}`);
}

function keyOf(msg: object, action: Action): string {
    const key = (msg as { key?: unknown }).key;
    if (typeof key === 'string' && key !== '') return key;
    const what = action === 'retry' ? 'a queued request' : 'a dead letter';
    throw new InputError(`msg.key: "${action}" needs the idempotency key of ${what} (msg.key), as "list" gives it in payload`);
}

/**
 * `msg.limit` of a "list": the most of each kind to answer with, oldest first, or undefined (all of them, as before
 * the limit existed). A number or a string of digits, since an inject node may give either.
 */
function limitOf(msg: object): number | undefined {
    const limit = (msg as { limit?: unknown }).limit;
    if (limit === undefined) return undefined;
    const value = typeof limit === 'string' && /^\d+$/.test(limit) ? Number(limit) : limit;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
    throw new InputError(`msg.limit: "list" takes a whole number of 1 or more (the most of each kind to list), not ${JSON.stringify(limit) ?? String(limit)}`);
}

/** The answer's payload and, when the action stopped part way (the queue full), the error to report with it. */
export interface ActionAnswer {
    payload: Record<string, unknown>;
    error?: Error;
}

function counted(name: 'replayed' | 'discarded', result: ActionResult): ActionAnswer {
    return { payload: { [name]: result.count }, ...(result.error ? { error: result.error } : {}) };
}

export async function runAction<C>(sender: Sender<C>, msg: object): Promise<ActionAnswer> {
    const action = actionOf(msg);
    switch (action) {
        case 'list': {
            const limit = limitOf(msg);
            const [queued, deadLetters] = await Promise.all([sender.queuedList(limit), sender.deadLetterList(limit)]);
            if (limit === undefined) return { payload: { queued, deadLetters } };
            // A page of a large backlog says how much it left out.
            const queuedCount = sender.snapshot()?.queued ?? queued.length;
            return { payload: { queued, deadLetters, queuedCount, deadLetterCount: await sender.deadLetterCount() } };
        }
        case 'replay-all':
            return counted('replayed', await sender.replay());
        case 'discard-all':
            return counted('discarded', await sender.discard());
        case 'replay':
        case 'discard': {
            const key = keyOf(msg, action);
            if (!(await sender.deadLetter(key)))
                throw new InputError(
                    `msg.key: no dead letter has the key ${JSON.stringify(key)} (it may have been replayed, discarded or dropped by its bounds)`,
                );
            return action === 'replay' ? counted('replayed', await sender.replay([key])) : counted('discarded', await sender.discard([key]));
        }
        case 'retry': {
            const key = keyOf(msg, action);
            return { payload: { retried: await sender.retryNow(key) } };
        }
    }
}
