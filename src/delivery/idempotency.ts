import { createHash, randomUUID } from 'node:crypto';

/** The header the key goes in unless the node names another (empty: not sent). */
export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * The key a receiver drops duplicates by: the same for every attempt of one request, across restarts, takeovers and
 * replays, and different for every trigger of a call: each "Call is Updated" has its own `updateSeq`, and each
 * "Call is Presenting" or "Call is Connected" its own `eventSeq` (a second agent rung is a second screen pop, not a
 * repeat of the first). The first of each trigger keeps the key 0.3.0 gave it, so a call whose triggers were fired
 * before an upgrade and are fired again from the stored state after it (at least once) still repeats its key. The
 * node id is part of it because two nodes sending the same trigger to one service send two different requests,
 * which a receiver that checks a key against the request it first came with (Stripe does) would otherwise refuse.
 * Hashed, so call data of any shape makes a short value any header can carry.
 *
 * A call without a trigger event (a hand-made msg.call) has nothing stable to derive from: it gets a random key,
 * which the outbox keeps, so it is still stable across attempts and restarts.
 */
export function idempotencyKey(nodeId: string, call: object): string {
    const { callId, event, updateSeq, eventSeq } = call as { callId?: unknown; event?: unknown; updateSeq?: unknown; eventSeq?: unknown };
    if (typeof event !== 'string' || callId === undefined || callId === null) return `msg_${randomUUID().replace(/-/g, '')}`;
    const parts: unknown[] = [nodeId, String(callId), event, updateSeq ?? null];
    // Only a later occurrence adds its number: the first one's key is the one it always had.
    if (typeof eventSeq === 'number' && eventSeq > 1) parts.push(eventSeq);
    const digest = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
    return `msg_${digest.slice(0, 32)}`;
}
