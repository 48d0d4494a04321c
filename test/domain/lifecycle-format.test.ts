import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACKED_CALL_FORMAT, type TrackedCall, type Trigger } from '../../src/lifecycle/call-tracker';
import { DurableCallTracking } from '../../src/lifecycle/durable-call-tracking';
import { validateRawEvents } from '../../src/lifecycle/raw-event-validation';
import { openFileStore } from '../../src/store/file-store';

/**
 * A call's record exactly as 0.1.0 wrote it (made with that version's CallTracker): presenting, connected, one
 * recording before the disconnect, account codes from an event without an id (listed twice, as 0.1.0 kept them),
 * and a complete with an id of 72 characters waiting for two more recordings.
 */
const RECORD_0_1_0 = {
    callId: 'legacy-call',
    values: {
        direction: 'Inbound',
        callerName: 'Jane Roe',
        startTime: 1700000000000,
        agentName: 'John Doe',
        agentExtension: '154',
        group: 'Sales',
    },
    valueTimes: {
        direction: 1700000000000,
        callerName: 1700000000000,
        startTime: 1700000000000,
        agentName: 1700000000000,
        agentExtension: 1700000000000,
        group: 1700000000000,
    },
    tags: ['VIP'],
    accountCodes: ['Opp Won', 'Opp Won'],
    accountCodesAt: 1700000040000,
    recordings: [
        {
            url: 'https://rec/1.wav',
            at: 1700000030000,
        },
    ],
    processed: false,
    recordingsMissing: false,
    answered: true,
    updateSeq: 0,
    firstEventAt: 1700000000000,
    lastEventAt: 1700000060000,
    lastActivity: 1700000100000,
    seen: ['id:e1', 'id:e2', 'id:e3', 'sha1:WjTlHIeEPQy0V5wB89uVjWYKqxc=', 'id:a-very-long-event-id-of-the-old-version-with-more-than-forty-characters'],
    complete: {
        at: 1700000060000,
        pending: 2,
    },
    recordingDeadline: 1700001000000,
};

const ids = (triggers: Trigger[]): string[] => triggers.map((trigger) => trigger.event);

const directories: string[] = [];
after(() => {
    for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

/** A state folder holding one record put exactly as 0.1.0 put it. */
async function stateOf010(): Promise<string> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-010-'));
    directories.push(directory);
    const raw = await openFileStore<unknown>({ directory, name: 'calls' });
    await raw.put(RECORD_0_1_0.callId, JSON.parse(JSON.stringify(RECORD_0_1_0)));
    await raw.close();
    return directory;
}

async function open(directory: string, clock: { now: number }) {
    const store = await openFileStore<TrackedCall>({ directory, name: 'calls' });
    return DurableCallTracking.open(store, { recordingWaitMs: 15 * 60_000, now: () => clock.now });
}

const CALL = RECORD_0_1_0.callId;

describe('call state written by 0.1.0', () => {
    it('loads, keeps its duplicates duplicates, and fires processed and updated when the recordings come', async () => {
        const directory = await stateOf010();
        const clock = { now: 1_700_000_200_000 };
        const tracking = await open(directory, clock);
        assert.deepEqual([tracking.restored, tracking.unreadable], [1, []]);
        assert.equal(tracking.nextDeadline(), RECORD_0_1_0.recordingDeadline);

        // The platform resends what it sent before the upgrade: every one is recognised, with or without an id.
        const resent = validateRawEvents([
            { type: 'presenting', callId: CALL, eventId: 'e1', timestamp: 1_700_000_000_000 },
            { type: 'accountCodes', callId: CALL, timestamp: 1_700_000_040_000, accountCodes: ['Opp Won', 'Opp Won'] },
            { type: 'complete', callId: CALL, eventId: RECORD_0_1_0.seen[4].slice('id:'.length), timestamp: 1_700_000_060_000, pendingRecordings: 2 },
        ]);
        assert.deepEqual(tracking.apply(resent), []);

        const first = tracking.apply([{ type: 'recording', callId: CALL, eventId: 'r2', timestamp: 1_700_000_090_000, recordingUrl: 'https://rec/2.wav' }]);
        assert.deepEqual(first, [], 'one of the two pending recordings');
        const second = tracking.apply([{ type: 'recording', callId: CALL, eventId: 'r3', timestamp: 1_700_000_095_000, recordingUrl: 'https://rec/3.wav' }]);
        assert.deepEqual(ids(second), ['processed', 'updated']);
        const call = second[1].call;
        assert.deepEqual(call.recordingLink, ['https://rec/1.wav', 'https://rec/2.wav', 'https://rec/3.wav']);
        assert.deepEqual([call.tags, call.accountCodes], [['VIP'], ['Opp Won']]);
        assert.deepEqual(
            [call.agent, call.group, call.answered, call.time, call.duration, call.updateSeq],
            ['John Doe (154)', 'Sales', true, 1_700_000_000_000, 95, 1],
        );
        await tracking.save();
        await tracking.close();

        // Saved again, the record is of the new format and reads back the same.
        const raw = await openFileStore<TrackedCall>({ directory, name: 'calls' });
        const stored = (await raw.load()).get(CALL)!;
        await raw.close();
        assert.equal(stored.format, TRACKED_CALL_FORMAT);
        assert.equal(stored.processed, true);
        assert.ok(
            stored.seen.every((key) => key.length === 28),
            'every key hashed',
        );
        const again = await open(directory, clock);
        assert.deepEqual(again.apply(resent), [], 'still duplicates after the migrated record was rewritten');
        assert.deepEqual(
            ids(again.apply([{ type: 'accountCodes', callId: CALL, eventId: 'later', timestamp: 1_700_000_300_000, accountCodes: ['Large Sale'] }])),
            ['updated'],
        );
        await again.close();
    });

    it('a wait that ran out while the old version was stopped fires at the first tick, marked recordingsMissing', async () => {
        const directory = await stateOf010();
        const clock = { now: RECORD_0_1_0.recordingDeadline + 1 };
        const tracking = await open(directory, clock);
        const due = tracking.tick();
        assert.deepEqual(ids(due), ['processed', 'updated']);
        assert.equal(due[0].call.recordingsMissing, true);
        assert.deepEqual(due[1].call.recordingLink, ['https://rec/1.wav']);
        await tracking.close();
    });

    it('a record of an unknown future format is not half-used', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-future-'));
        directories.push(directory);
        const raw = await openFileStore<unknown>({ directory, name: 'calls' });
        await raw.put(CALL, { ...RECORD_0_1_0, format: TRACKED_CALL_FORMAT + 1 });
        await raw.close();
        const tracking = await open(directory, { now: 0 });
        assert.deepEqual([tracking.restored, tracking.unreadable], [0, [CALL]]);
        await tracking.close();
    });
});

describe('call state written by 0.3.0', () => {
    /** A copy of the call state 0.3.0 wrote for a call that rang its first agent (test/fixtures/0.3.0/README.md). */
    function stateOf030(): string {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-030-'));
        directories.push(directory);
        fs.copyFileSync(path.resolve(__dirname, '../fixtures/0.3.0/calls.log'), path.join(directory, 'calls.log'));
        return directory;
    }
    // The fixture was written with a clock a century ahead; this is a minute after its last activity.
    const clock = { now: 4_952_366_890_000 };

    it('counts on from the one Presenting it fired, so a second agent rung is eventSeq 2', async () => {
        const directory = stateOf030();
        const tracking = await open(directory, clock);
        assert.deepEqual([tracking.restored, tracking.unreadable], [1, []]);
        const ringFirst = { type: 'presenting', callId: 'upgrade-call-3', eventId: 'ring-first', timestamp: 4_952_000_000_000 } as const;
        assert.deepEqual(tracking.apply([ringFirst]), [], 'the ring 0.3.0 took is still a repeat');
        const second = tracking.apply([{ type: 'presenting', callId: 'upgrade-call-3', eventId: 'ring-second', timestamp: 4_952_000_020_000 }]);
        const answered = tracking.apply([{ type: 'connected', callId: 'upgrade-call-3', eventId: 'answer', timestamp: 4_952_000_030_000 }]);
        assert.deepEqual(
            [...second, ...answered].map((trigger) => [trigger.event, trigger.call.eventSeq]),
            [
                ['presenting', 2],
                ['connected', 1],
            ],
            'the call was not answered under 0.3.0: its first Connected is 1',
        );
        await tracking.save();
        await tracking.close();

        const raw = await openFileStore<TrackedCall>({ directory, name: 'calls' });
        const stored = (await raw.load()).get('upgrade-call-3')!;
        await raw.close();
        assert.deepEqual([stored.format, stored.presentings, stored.connections], [TRACKED_CALL_FORMAT, 2, 1], 'saved with its counts');
        const again = await open(directory, clock);
        const third = again.apply([{ type: 'presenting', callId: 'upgrade-call-3', eventId: 'transfer-ring', timestamp: 4_952_000_040_000 }]);
        assert.deepEqual(
            third.map((trigger) => trigger.call.eventSeq),
            [3],
        );
        await again.close();
    });

    it('an answered call of 0.3.0 counts one Connected too', async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-calls-030-'));
        directories.push(directory);
        const raw = await openFileStore<unknown>({ directory, name: 'calls' });
        // The shape 0.2.0 and 0.3.0 wrote: format 2, no counts.
        await raw.put(RECORD_0_1_0.callId, { ...JSON.parse(JSON.stringify(RECORD_0_1_0)), format: TRACKED_CALL_FORMAT, seen: [], complete: undefined });
        await raw.close();
        const tracking = await open(directory, { now: 1_700_000_200_000 });
        const triggers = tracking.apply([
            { type: 'presenting', callId: CALL, eventId: 'transfer-ring', timestamp: 1_700_000_050_000 },
            { type: 'connected', callId: CALL, eventId: 'transfer-answer', timestamp: 1_700_000_055_000 },
        ]);
        assert.deepEqual(
            triggers.map((trigger) => [trigger.event, trigger.call.eventSeq]),
            [
                ['presenting', 2],
                ['connected', 2],
            ],
        );
        await tracking.close();
    });
});
