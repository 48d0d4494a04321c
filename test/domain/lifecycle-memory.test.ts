import assert from 'node:assert/strict';
import type { RawEvent } from '../../src/call/raw-event';
import { ActivityOrder, type ActivityLinks } from '../../src/lifecycle/activity-order';
import { CallTracker, type TrackedCall } from '../../src/lifecycle/call-tracker';
import { eventKey, hasSeen, NO_SEEN_KEYS, SEEN_PER_CALL, seenFrom, seenList, withSeen } from '../../src/lifecycle/seen-event-keys';

const CALL = 'c0ffee00-0000-4000-8000-00000000memo';

const update = (eventId: string, callId = CALL): RawEvent => ({ type: 'update', callId, eventId });

/** Whether the tracker took the event in (a duplicate changes nothing, so it leaves no change to save). */
function taken(tracker: CallTracker, event: RawEvent): boolean {
    tracker.takeChanges();
    tracker.apply([event]);
    return tracker.takeChanges().changed.length === 1;
}

const storedBytes = (call: TrackedCall | undefined): number => Buffer.byteLength(JSON.stringify(call), 'utf8');

describe('call tracking memory: seen event keys', () => {
    it('a call remembers its last 256 event keys: the oldest goes for a new one, and is then new again', () => {
        const tracker = new CallTracker();
        for (let index = 0; index <= SEEN_PER_CALL; index += 1) assert.ok(taken(tracker, update(`e${index}`)));
        const record = tracker.get(CALL)!;
        assert.equal(record.seen.length, SEEN_PER_CALL);
        assert.equal(record.seen[0], eventKey(update('e1')), 'e0 was dropped, e1 is the oldest kept');
        assert.equal(record.seen[SEEN_PER_CALL - 1], eventKey(update(`e${SEEN_PER_CALL}`)));
        assert.equal(taken(tracker, update('e1')), false, 'e1 is still a duplicate');
        assert.equal(taken(tracker, update(`e${SEEN_PER_CALL}`)), false);
        assert.equal(taken(tracker, update('e0')), true, 'e0 fell out of the list');
        assert.equal(taken(tracker, update('e1')), true, 'taking e0 again dropped e1');
    });

    it('a full list keeps its byte estimate, which stays an upper bound of the stored JSON', () => {
        const tracker = new CallTracker();
        for (let index = 0; index < SEEN_PER_CALL; index += 1) tracker.apply([update(`e${index}`)]);
        const full = tracker.bytesOf(CALL)!;
        for (let index = 0; index < 10; index += 1) tracker.apply([update(`more-${index}`)]);
        assert.equal(tracker.bytesOf(CALL), full);
        assert.ok(storedBytes(tracker.get(CALL)) <= full, `stored ${storedBytes(tracker.get(CALL))}, estimated ${full}`);
        assert.equal(tracker.stats().bytes, full);
    });

    it('finds exactly the keys added, among the last 256, as a Set of them would', () => {
        let keys = NO_SEEN_KEYS;
        const fifo: string[] = [];
        for (let index = 0; index < 600; index += 1) {
            // Ids and whole events (without an id) of every kind, some repeated.
            const event: RawEvent = index % 3 === 0 ? { type: 'update', callId: CALL, tags: [`t${index % 50}`] } : update(`id-${index % 400}`);
            const key = eventKey(event);
            assert.equal(hasSeen(keys, key), fifo.includes(key), `event ${index}`);
            if (fifo.includes(key)) continue;
            keys = withSeen(keys, key);
            fifo.push(key);
            if (fifo.length > SEEN_PER_CALL) fifo.shift();
            assert.deepEqual(seenList(keys), fifo);
        }
        assert.equal(hasSeen(keys, eventKey(update('never sent'))), false);
    });

    it('a restored list keeps its last 256 distinct keys and leaves out strings no event key can be', () => {
        const keys = Array.from({ length: 300 }, (_, index) => eventKey(update(`r${index}`)));
        const stored = ['not a key', keys[0], ...keys, keys[299], `${keys[5]}x`, keys[5].slice(1)];
        const restored = seenList(seenFrom(stored));
        assert.deepEqual(restored, keys.slice(-SEEN_PER_CALL));
        assert.equal(new Set(restored).size, restored.length);
    });

    it('a tracker restored from its exported state still knows every remembered event as a duplicate', () => {
        const tracker = new CallTracker();
        for (let index = 0; index < 40; index += 1) tracker.apply([update(`e${index}`, `call-${index % 4}`)]);
        const restored = new CallTracker({}, JSON.parse(JSON.stringify(tracker.exportState())));
        for (let index = 0; index < 40; index += 1) assert.equal(taken(restored, update(`e${index}`, `call-${index % 4}`)), false);
        assert.equal(taken(restored, update('e40', 'call-0')), true);
    });
});

describe('call tracking memory: what calls share', () => {
    it('calls without tags, account codes or recordings carry one frozen empty list, and a call that gets one owns it', () => {
        const tracker = new CallTracker();
        const [plainA] = tracker.apply([{ type: 'presenting', callId: 'a' }]);
        const [plainB] = tracker.apply([{ type: 'presenting', callId: 'b' }]);
        assert.deepEqual(plainA.call.tags, []);
        assert.equal(plainA.call.tags, plainB.call.recordingLink, 'the same empty list');
        assert.ok(Object.isFrozen(plainA.call.tags));
        assert.throws(() => (plainA.call.tags as string[]).push('x'), TypeError);

        tracker.apply([{ type: 'update', callId: 'a', tags: ['vip'], accountCodes: ['won'] }]);
        const [tagged] = tracker.apply([{ type: 'connected', callId: 'a' }]);
        const [untagged] = tracker.apply([{ type: 'connected', callId: 'b' }]);
        assert.deepEqual([tagged.call.tags, tagged.call.accountCodes, tagged.call.recordingLink], [['vip'], ['won'], []]);
        assert.deepEqual([untagged.call.tags, untagged.call.accountCodes], [[], []]);
        tracker.apply([{ type: 'update', callId: 'b', tags: ['other'] }]);
        assert.deepEqual(tracker.get('a')?.tags, ['vip']);
        assert.deepEqual(tracker.get('b')?.tags, ['other']);
        assert.deepEqual(tracker.get('c'), undefined);
    });

    it('snapshots carry no undefined fields and no field left over from another call', () => {
        const tracker = new CallTracker();
        const [full] = tracker.apply([{ type: 'presenting', callId: 'full', callerName: 'Jane', agent: { name: 'John', extension: '154' }, startTime: 5 }]);
        const [bare] = tracker.apply([{ type: 'presenting', callId: 'bare', timestamp: 7 }]);
        for (const call of [full.call, bare.call]) for (const [field, value] of Object.entries(call)) assert.notEqual(value, undefined, field);
        assert.deepEqual(Object.keys(bare.call), ['callId', 'time', 'tags', 'accountCodes', 'recordingLink', 'event', 'answered', 'duration', 'eventSeq']);
        assert.equal(full.call.agent, 'John (154)');
    });

    it('a restored value stored without its time has none: it is saved without one, and any event replaces it', () => {
        const tracker = new CallTracker();
        tracker.apply([{ type: 'presenting', callId: CALL, timestamp: 100, group: 'Sales', callerName: 'Jane' }]);
        const record = tracker.get(CALL)!;
        delete record.valueTimes.group;
        const restored = new CallTracker({}, { version: 1, calls: [record] });
        const saved = restored.get(CALL)!;
        assert.deepEqual(saved.valueTimes, { callerName: 100 });
        assert.equal(JSON.stringify(saved).includes('null'), false);
        restored.apply([{ type: 'update', callId: CALL, timestamp: 1, group: 'Support', callerName: 'Older' }]);
        assert.deepEqual(restored.get(CALL)?.values, { callerName: 'Jane', group: 'Support' });
        assert.deepEqual(restored.get(CALL)?.valueTimes, { callerName: 100, group: 1 });
    });
});

describe('call tracking memory: eviction and activity order', () => {
    it('a state that lists a call twice restores its most recent record once', () => {
        const tracker = new CallTracker();
        tracker.apply([{ type: 'presenting', callId: 'twice', callerName: 'Old' }]);
        const older = tracker.get('twice')!;
        const newer: TrackedCall = { ...older, values: { callerName: 'New' }, lastActivity: older.lastActivity + 1 };
        const restored = new CallTracker({ maxCalls: 2 }, { version: 1, calls: [newer, older] });
        assert.equal(restored.size, 1);
        assert.equal(restored.get('twice')?.values.callerName, 'New');
        assert.equal(restored.stats().bytes, restored.bytesOf('twice'));
        for (const callId of ['x', 'y', 'z']) restored.apply([{ type: 'presenting', callId }]);
        assert.deepEqual([restored.size, restored.get('twice'), restored.stats().evictionExamined], [2, undefined, 2]);
    });

    it('at maxCalls every new call examines one call, when all are unfinished and when finished ones exist', () => {
        const maxCalls = 5000;
        const tracker = new CallTracker({ maxCalls });
        for (let index = 0; index < 4 * maxCalls; index += 1) tracker.apply([{ type: 'presenting', callId: `ringing-${index}` }]);
        const unfinishedOnly = tracker.stats();
        assert.equal(unfinishedOnly.unfinished, maxCalls);
        assert.equal(unfinishedOnly.evictions, 3 * maxCalls);
        assert.equal(unfinishedOnly.evictionExamined, unfinishedOnly.evictions);
        assert.equal(tracker.get(`ringing-${3 * maxCalls - 1}`), undefined);
        assert.equal(tracker.get(`ringing-${3 * maxCalls}`)?.callId, `ringing-${3 * maxCalls}`);

        // Finish every other call, then keep the tracker at its cap: finished calls go first, oldest first.
        for (let index = 3 * maxCalls; index < 4 * maxCalls; index += 2) tracker.apply([{ type: 'complete', callId: `ringing-${index}` }]);
        for (let index = 0; index < maxCalls; index += 1) tracker.apply([{ type: 'presenting', callId: `new-${index}` }]);
        const mixed = tracker.stats();
        assert.equal(mixed.evictions - unfinishedOnly.evictions, maxCalls);
        assert.equal(mixed.evictionExamined - unfinishedOnly.evictionExamined, maxCalls);
        assert.equal(mixed.unfinished, maxCalls, 'the finished half went, then the older unfinished half: only the new calls are left');
        assert.equal(tracker.get(`ringing-${4 * maxCalls - 1}`), undefined);
        assert.equal(tracker.get(`new-${maxCalls - 1}`)?.callId, `new-${maxCalls - 1}`);
    });

    it('the call an event touches becomes the most recent, so it is evicted last', () => {
        const tracker = new CallTracker({ maxCalls: 3 });
        for (const callId of ['a', 'b', 'c']) tracker.apply([{ type: 'presenting', callId }]);
        tracker.apply([{ type: 'update', callId: 'a', tags: ['x'] }]);
        tracker.apply([{ type: 'presenting', callId: 'd' }]);
        assert.deepEqual(
            ['a', 'b', 'c', 'd'].map((callId) => tracker.get(callId)?.callId),
            ['a', undefined, 'c', 'd'],
        );
        assert.equal(tracker.stats().evictionExamined, 1);
    });

    it('evicting for bytes passes over the call taking them in: two calls examined at most', () => {
        const tracker = new CallTracker({ maxBytes: 40_000 });
        let evictions = 0;
        for (let index = 0; index < 2000; index += 1) {
            tracker.apply([{ type: 'presenting', callId: `call-${index}`, callerName: 'x'.repeat(index % 7 === 0 ? 2000 : 10) }]);
            const stats = tracker.stats();
            assert.ok(stats.bytes <= 40_000);
            assert.ok(stats.evictionExamined <= 2 * stats.evictions);
            evictions = stats.evictions;
        }
        assert.ok(evictions > 1000, `${evictions} evictions`);
    });

    it('an activity order keeps its items oldest first through appends, moves and removals', () => {
        interface Item extends ActivityLinks<Item> {
            name: string;
        }
        const items = new Map<string, Item>();
        const order = new ActivityOrder<Item>();
        const names = (): string[] => {
            const seen: string[] = [];
            for (let item = order.oldest; item; item = item.newer) seen.push(item.name);
            return seen;
        };
        for (const name of ['a', 'b', 'c', 'd']) {
            const item: Item = { name, older: undefined, newer: undefined };
            items.set(name, item);
            order.append(item);
        }
        order.moveToEnd(items.get('a')!);
        order.moveToEnd(items.get('a')!);
        assert.deepEqual(names(), ['b', 'c', 'd', 'a']);
        order.remove(items.get('c')!);
        order.remove(items.get('b')!);
        assert.deepEqual(names(), ['d', 'a']);
        assert.equal(order.size, 2);
        order.remove(items.get('a')!);
        order.remove(items.get('d')!);
        assert.deepEqual([names(), order.size, order.oldest], [[], 0, undefined]);
        order.append(items.get('c')!);
        assert.deepEqual(names(), ['c']);
    });
});
