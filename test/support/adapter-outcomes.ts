// What every adapter test checks of an outcome, written once: taken, refused with the answer a platform sees, or
// taken and not used.
import assert from 'node:assert/strict';
import type { AdapterOutcome } from '../../src/adapters/adapter';
import type { RawEvent } from '../../src/call/raw-event';

/** The events of an outcome that must have been taken. */
export function accepted(outcome: AdapterOutcome): RawEvent[] {
    assert.ok(outcome.ok, outcome.ok ? '' : `refused: ${outcome.error.message}`);
    return outcome.events;
}

/** A refusal: its status and message, after checking that the answer says the same as JSON, with code `input`. */
export function refused(outcome: AdapterOutcome): { status: number; message: string } {
    assert.ok(!outcome.ok, 'expected the request to be refused');
    assert.equal(outcome.answer.status, outcome.error.status);
    assert.deepEqual(outcome.answer.headers, { 'content-type': 'application/json' });
    assert.deepEqual(JSON.parse(outcome.answer.body), { error: outcome.error.message });
    assert.equal(outcome.error.code, 'input');
    return { status: outcome.error.status, message: outcome.error.message };
}

/** Why a request was answered 200 and nothing came of it (a platform disables a webhook that keeps failing). */
export function ignored(outcome: AdapterOutcome): string {
    assert.ok(outcome.ok, outcome.ok ? '' : `refused: ${outcome.error.message}`);
    assert.deepEqual(outcome.events, []);
    assert.equal(outcome.answer.status, 200);
    assert.equal(typeof outcome.ignored, 'string', 'the reason nothing came of it');
    return outcome.ignored!;
}

/** The events without their per-delivery ids, which tests assert on their own. */
export function withoutIds(events: RawEvent[]): Omit<RawEvent, 'eventId'>[] {
    return events.map(({ eventId: _eventId, ...rest }) => rest);
}
