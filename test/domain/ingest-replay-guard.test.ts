import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplayGuard } from '../../src/ingest/replay-guard';

describe('Standard Webhooks replay guard', () => {
    it('refuses an id seen within the window, takes it again once the window has passed', () => {
        const guard = new ReplayGuard(300);
        assert.equal(guard.seenBefore('msg_1', 1000), false);
        assert.equal(guard.seenBefore('msg_1', 1200), true);
        // A timestamp accepted at 1000 is at least 700 - 300 s old by 1601: the timestamp check refuses it then.
        assert.equal(guard.seenBefore('msg_1', 1601), false);
    });

    it('forgets an id on request, so the sender can retry a request that was not accepted', () => {
        const guard = new ReplayGuard(300);
        guard.seenBefore('msg_1', 1000);
        guard.forget('msg_1');
        assert.equal(guard.seenBefore('msg_1', 1001), false);
    });

    it('never holds more than its cap or ids older than twice the tolerance, whatever the arrivals', () => {
        fc.assert(
            fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30 })), { maxLength: 200 }), (arrivals) => {
                const guard = new ReplayGuard(10, 16);
                let now = 0;
                const takenAt = new Map<string, number>();
                for (const [id, step] of arrivals) {
                    now += step;
                    const name = `msg_${id}`;
                    const replay = guard.seenBefore(name, now);
                    // A replay is only ever reported for an id really taken within the last 2 x tolerance.
                    if (replay) assert.ok(takenAt.has(name) && now - takenAt.get(name)! <= 20);
                    else takenAt.set(name, now);
                    assert.ok(guard.size <= 16);
                }
            }),
            { numRuns: 200 },
        );
    });

    it('a flood of distinct ids keeps the count at the cap', () => {
        const guard = new ReplayGuard(300, 1000);
        for (let index = 0; index < 5000; index += 1) guard.seenBefore(`msg_${index}`, 1000);
        assert.equal(guard.size, 1000);
        assert.equal(guard.seenBefore('msg_4999', 1000), true, 'the newest are kept');
        assert.equal(guard.seenBefore('msg_0', 1000), false, 'the oldest went first');
    });
});
