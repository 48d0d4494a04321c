import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCallTracking, ReopeningCallTracking, type CallTrackingOpening } from '../../src/lifecycle/call-tracking-opening';
import { nodeStateDirectory } from '../../src/store/node-state-directory';
import { until } from '../support/wait';

describe('opening call tracking (lifecycle)', () => {
    let userDir: string;
    beforeEach(() => {
        userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccaas-opening-'));
    });
    afterEach(() => fs.rmSync(userDir, { recursive: true, force: true }));

    it('without a user directory: in memory, not durable, nothing to report', async () => {
        const opening = await openCallTracking({ userDir: undefined, nodeId: 'n', tracker: {} });
        assert.equal(opening.durable, false);
        assert.equal(opening.directory, undefined);
        assert.deepEqual([opening.restored, opening.dropped, opening.unreadable], [0, undefined, []]);
        opening.tracking.apply([{ type: 'presenting', callId: 'c1' }]);
        await opening.tracking.save();
        assert.equal(opening.tracking.size, 1);
        await opening.tracking.close();
    });

    it("restores the calls from the node's folder and reports what recovery dropped", async () => {
        const first = await openCallTracking({ userDir, nodeId: 'n', tracker: {} });
        assert.equal(first.directory, nodeStateDirectory(userDir, 'calls', 'n'));
        first.tracking.apply([{ type: 'complete', callId: 'kept', eventId: 'k', pendingRecordings: 1 }]);
        await first.tracking.save();
        first.tracking.apply([{ type: 'complete', callId: 'torn', eventId: 't', pendingRecordings: 1 }]);
        await first.tracking.save();
        await first.tracking.close();
        const log = path.join(first.directory!, 'calls.log');
        fs.truncateSync(log, fs.statSync(log).size - 10);

        const again = await openCallTracking({ userDir, nodeId: 'n', tracker: {} });
        assert.equal(again.restored, 1);
        assert.equal(again.dropped?.records, 1);
        assert.equal(again.dropped?.kind, 'torn');
        assert.match(again.dropped!.summary, /dropped 1 torn record/);
        await again.tracking.close();
    });

    it('a store that cannot open is tried again until it opens, without a restart', async () => {
        const directory = nodeStateDirectory(userDir, 'calls', 'n');
        fs.mkdirSync(path.dirname(directory), { recursive: true });
        fs.writeFileSync(directory, 'not a folder');
        const failures: string[] = [];
        const opened: CallTrackingOpening[] = [];
        const reopening = new ReopeningCallTracking(
            () => openCallTracking({ userDir, nodeId: 'n', tracker: {} }),
            { opened: (opening) => opened.push(opening), failed: (err) => failures.push(String(err)) },
            20,
        );
        await reopening.ready;
        assert.equal(reopening.tracking, undefined);
        assert.equal(failures.length, 1);
        assert.ok(reopening.failure, 'the reason is kept for the status and the 503');
        await until(() => reopening.attempts >= 3, 'two retries');
        assert.equal(opened.length, 0);

        fs.rmSync(directory);
        await until(() => opened.length === 1, 'the store opened');
        assert.ok(reopening.tracking);
        assert.equal(reopening.failure, undefined);
        const attempts = reopening.attempts;
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(reopening.attempts, attempts, 'no retry once open');
        const stopped = await reopening.stop();
        assert.equal(stopped, opened[0]);
        await stopped!.tracking.close();
    });

    it('stopping ends the retries, and hands over a store that opened while stopping', async () => {
        const directory = nodeStateDirectory(userDir, 'calls', 'n');
        fs.mkdirSync(path.dirname(directory), { recursive: true });
        fs.writeFileSync(directory, 'not a folder');
        const reopening = new ReopeningCallTracking(
            () => openCallTracking({ userDir, nodeId: 'n', tracker: {} }),
            { opened: () => undefined, failed: () => undefined },
            20,
        );
        await reopening.ready;
        assert.equal(await reopening.stop(), undefined);
        const attempts = reopening.attempts;
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(reopening.attempts, attempts, 'no retry after stop');

        fs.rmSync(directory);
        const hooks: string[] = [];
        const late = new ReopeningCallTracking(
            () => openCallTracking({ userDir, nodeId: 'n', tracker: {} }),
            { opened: () => hooks.push('opened'), failed: () => hooks.push('failed') },
            20,
        );
        const stopped = await late.stop();
        assert.ok(stopped, 'the caller gets it to close (and to delete with the node)');
        assert.deepEqual(hooks, [], 'a stopping node is not told it opened');
        await stopped.tracking.close();
    });
});
