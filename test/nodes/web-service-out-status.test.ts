import assert from 'node:assert/strict';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { DeliveryStatus } from '../../src/nodes/web-service-out/status';
import { STATUS_INTERVAL_MS } from '../../src/nodes/shared/throttled-status';
import { until } from '../support/wait';

/** What the editor would be told, in order, and when. */
interface Shown {
    at: number;
    status: NodeStatus;
}

function statusUnderTest(): { status: DeliveryStatus; shown: Shown[]; queue: { queued: number } } {
    const shown: Shown[] = [];
    const queue = { queued: 0 };
    const node = { status: (status: NodeStatus) => shown.push({ at: Date.now(), status }) } as unknown as Node;
    // The texts are the catalog keys with their values, so what is asserted is which status was built from what.
    const RED = { _: (key: string, values?: object) => `${key.split('.').pop()} ${JSON.stringify(values ?? {})}` } as unknown as NodeAPI;
    const status = new DeliveryStatus(node, RED, {
        snapshot: () => ({ queued: queue.queued, queuedBytes: 0, full: false, inFlight: queue.queued }),
        get queuedCount() {
            return queue.queued;
        },
        refusing: false,
    });
    return { status, shown, queue };
}

/** One request through the queue, as the sender reports it: queued, then delivered. */
function oneRequest(under: ReturnType<typeof statusUnderTest>, statusCode: number): void {
    under.queue.queued += 1;
    under.status.refresh();
    under.queue.queued -= 1;
    under.status.delivered(statusCode, 3);
}

const text = (shown: Shown): string => String(shown.status.text ?? '');

describe('web service out status', () => {
    it('shows the first outcome at once, and a request that ended at once is never shown as queued', () => {
        const under = statusUnderTest();
        try {
            under.status.refresh();
            oneRequest(under, 201);
            assert.deepEqual(under.shown.at(-1)!.status.fill, 'green');
            assert.match(text(under.shown.at(-1)!), /^delivered \{"statusCode":201,"timeMs":3,"time":"\d\d:\d\d:\d\d"\}$/);
            assert.ok(!under.shown.some((shown) => /^queued/.test(text(shown))), JSON.stringify(under.shown));
        } finally {
            under.status.stop();
        }
    });

    it('a burst of outcomes reaches the editor at most once an interval, and the last outcome is what stays', async () => {
        const under = statusUnderTest();
        try {
            oneRequest(under, 200);
            const started = Date.now();
            // Two intervals' worth of requests, one every few milliseconds: at a few hundred a second.
            for (let index = 0; Date.now() - started < 2 * STATUS_INTERVAL_MS && index < 1000; index++) {
                oneRequest(under, 200 + (index % 2));
                await new Promise((resolve) => setTimeout(resolve, 3));
            }
            oneRequest(under, 299);
            await until(
                () => /"statusCode":299/.test(text(under.shown.at(-1)!)),
                () => JSON.stringify(under.shown.at(-1)),
                4 * STATUS_INTERVAL_MS,
            );
            // The first outcome, one show per interval of the burst (a timer may fire a little late), the last.
            assert.ok(under.shown.length >= 2 && under.shown.length <= 5, `${under.shown.length} shows: ${JSON.stringify(under.shown)}`);
            for (let index = 2; index < under.shown.length; index++) {
                const gap = under.shown[index].at - under.shown[index - 1].at;
                assert.ok(gap >= STATUS_INTERVAL_MS - 5, `shows ${gap} ms apart: ${JSON.stringify(under.shown)}`);
            }
            const count = under.shown.length;
            await new Promise((resolve) => setTimeout(resolve, 2 * STATUS_INTERVAL_MS));
            assert.equal(under.shown.length, count, 'nothing is shown once nothing changes');
        } finally {
            under.status.stop();
        }
    });

    it('a request still queued after an interval is shown as queued; its outcome follows an interval after that', async () => {
        const under = statusUnderTest();
        try {
            oneRequest(under, 200);
            await new Promise((resolve) => setTimeout(resolve, STATUS_INTERVAL_MS));
            under.queue.queued = 1;
            under.status.refresh();
            assert.equal(under.shown.length, 1, 'a request is not shown as queued at once');
            await until(
                () => under.shown.length === 2,
                () => JSON.stringify(under.shown),
                4 * STATUS_INTERVAL_MS,
            );
            assert.deepEqual(under.shown[1].status, { fill: 'blue', shape: 'dot', text: 'queued {"queued":1}' });
            under.queue.queued = 0;
            under.status.delivered(200, 9);
            assert.equal(under.shown.length, 2, 'the outcome waits for the interval since the last show');
            await until(
                () => under.shown.length === 3,
                () => JSON.stringify(under.shown),
                4 * STATUS_INTERVAL_MS,
            );
            assert.match(text(under.shown[2]), /^delivered \{"statusCode":200,"timeMs":9/);
            assert.ok(under.shown[2].at - under.shown[1].at >= STATUS_INTERVAL_MS - 5, JSON.stringify(under.shown));
        } finally {
            under.status.stop();
        }
    });
});
