// A real Node-RED killed with SIGKILL while calls are between "complete" and their last recording, then started
// again on the same user directory: every trigger still due fires, exactly once, and nothing fires twice.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';
import { startJsonReceiver, type JsonReceiver } from '../support/json-receiver';

interface Received {
    callId: string;
    event: string;
    updateSeq?: number;
    recordingsMissing?: boolean;
    recordingLink: string[];
    accountCodes: string[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests for different triggers travel in parallel, so they are compared as a sorted list. */
const tally = (received: Received[]): string[] => received.map((call) => `${call.callId}:${call.event}`).sort();

describe('call event in: a SIGKILL between complete and the recordings', function () {
    this.timeout(90_000);
    let nodeRed: NodeRedProcess | undefined;
    let receiver: JsonReceiver<Received>;
    let userDir: string;

    before(async () => {
        receiver = await startJsonReceiver<Received>();
        userDir = userDirWithPackage();
    });

    after(async () => {
        await nodeRed?.stop();
        await receiver?.close();
        if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    });

    const post = async (route: string, events: object[]): Promise<void> => {
        const response = await fetch(`${nodeRed!.url}${route}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(events),
            signal: AbortSignal.timeout(5000),
        });
        assert.equal(response.status, 202, `${route}: ${await response.text()}`);
    };

    it('fires processed and updated after the restart for every call still due, and nothing twice', async () => {
        const flows = [
            { id: 'tab', type: 'tab', label: 'calls' },
            // Recordings posted after the restart: the wait is long enough never to end during the test.
            { id: 'waits', z: 'tab', type: 'call-event-in', path: '/ccaas/waits', events: [], recordingWait: 10, wires: [['deliver']] },
            // Recordings that never come: the 6 s wait ends while Node-RED is down or just after it is back.
            { id: 'gives-up', z: 'tab', type: 'call-event-in', path: '/ccaas/gives-up', events: [], recordingWait: 0.1, wires: [['deliver']] },
            {
                id: 'deliver',
                z: 'tab',
                type: 'http request',
                method: 'POST',
                ret: 'txt',
                paytoqs: 'ignore',
                url: receiver.url,
                tls: '',
                persist: false,
                proxy: '',
                authType: '',
                senderr: false,
                headers: [],
                wires: [[]],
            },
        ];
        nodeRed = await startNodeRed({ userDir, flows });

        const t = 1_732_482_000_000;
        await post('/ccaas/waits', [
            { type: 'presenting', callId: 'one-recording', eventId: 'o1', timestamp: t, agent: { name: 'Ann', extension: '101' }, startTime: t },
            { type: 'connected', callId: 'one-recording', eventId: 'o2', timestamp: t + 1000 },
            { type: 'complete', callId: 'one-recording', eventId: 'o3', timestamp: t + 60_000, pendingRecordings: 1 },
            { type: 'presenting', callId: 'two-recordings', eventId: 't1', timestamp: t },
            { type: 'connected', callId: 'two-recordings', eventId: 't2', timestamp: t + 1000 },
            { type: 'complete', callId: 'two-recordings', eventId: 't3', timestamp: t + 60_000, pendingRecordings: 2 },
            { type: 'recording', callId: 'two-recordings', eventId: 't4', timestamp: t + 70_000, recordingUrl: 'https://rec.example.com/t-a.wav' },
            { type: 'presenting', callId: 'processed-before', eventId: 'p1', timestamp: t },
            { type: 'connected', callId: 'processed-before', eventId: 'p2', timestamp: t + 1000 },
            { type: 'complete', callId: 'processed-before', eventId: 'p3', timestamp: t + 60_000, accountCodes: ['Lead'] },
        ]);
        await post('/ccaas/gives-up', [
            { type: 'presenting', callId: 'missed-no-recording', eventId: 'm1', timestamp: t },
            { type: 'complete', callId: 'missed-no-recording', eventId: 'm2', timestamp: t + 20_000, pendingRecordings: 1 },
            { type: 'presenting', callId: 'answered-no-recording', eventId: 'a1', timestamp: t },
            { type: 'connected', callId: 'answered-no-recording', eventId: 'a2', timestamp: t + 1000 },
            { type: 'complete', callId: 'answered-no-recording', eventId: 'a3', timestamp: t + 30_000, pendingRecordings: 1 },
        ]);
        const beforeKill = [
            'answered-no-recording:complete',
            'answered-no-recording:connected',
            'answered-no-recording:presenting',
            'missed-no-recording:complete',
            'missed-no-recording:presenting',
            'one-recording:complete',
            'one-recording:connected',
            'one-recording:presenting',
            'processed-before:complete',
            'processed-before:connected',
            'processed-before:presenting',
            'processed-before:processed',
            'processed-before:updated',
            'two-recordings:complete',
            'two-recordings:connected',
            'two-recordings:presenting',
        ];
        await until(() => receiver.received.length >= beforeKill.length, 'the triggers before the kill', 10_000);
        await pause(200);
        assert.deepEqual(tally(receiver.received), beforeKill);

        await nodeRed.stop('SIGKILL');
        const killedAt = receiver.received.length;
        for (const id of ['waits', 'gives-up']) {
            assert.ok(fs.existsSync(path.join(userDir, 'ccaas-web-service', 'calls', id, 'calls.log')), `the state of ${id} is on disk`);
        }

        nodeRed = await startNodeRed({ userDir });
        await nodeRed.waitForLog(/\[call-event-in:waits\] restored the state of 3 calls from /, 10_000);
        await nodeRed.waitForLog(/\[call-event-in:gives-up\] restored the state of 2 calls from /, 10_000);
        await post('/ccaas/waits', [
            // Sent again by a platform that never saw an answer: still duplicates after the restart.
            { type: 'complete', callId: 'one-recording', eventId: 'o3', timestamp: t + 60_000, pendingRecordings: 1 },
            { type: 'complete', callId: 'processed-before', eventId: 'p3', timestamp: t + 60_000, accountCodes: ['Lead'] },
            { type: 'recording', callId: 'one-recording', eventId: 'o4', timestamp: t + 90_000, recordingUrl: 'https://rec.example.com/o.wav' },
            { type: 'recording', callId: 'two-recordings', eventId: 't5', timestamp: t + 95_000, recordingUrl: 'https://rec.example.com/t-b.wav' },
            { type: 'accountCodes', callId: 'processed-before', eventId: 'p4', timestamp: t + 120_000, accountCodes: ['Lead', 'Won'] },
        ]);

        const afterRestart = [
            'answered-no-recording:processed',
            'answered-no-recording:updated',
            'missed-no-recording:processed',
            'missed-no-recording:updated',
            'one-recording:processed',
            'one-recording:updated',
            'processed-before:updated',
            'two-recordings:processed',
            'two-recordings:updated',
        ];
        await until(() => receiver.received.length >= killedAt + afterRestart.length, 'the triggers after the restart', 20_000);
        // Long enough for a second firing of the ended waits (the node ticks every second) to show up.
        await pause(2500);
        const after = receiver.received.slice(killedAt);
        assert.deepEqual(tally(after), afterRestart);

        const find = (callId: string, event: string): Received => after.find((call) => call.callId === callId && call.event === event)!;
        assert.deepEqual(find('one-recording', 'updated').recordingLink, ['https://rec.example.com/o.wav']);
        assert.equal(find('one-recording', 'updated').updateSeq, 1);
        assert.equal(find('one-recording', 'processed').recordingsMissing, undefined);
        assert.deepEqual(find('two-recordings', 'processed').recordingLink, ['https://rec.example.com/t-a.wav', 'https://rec.example.com/t-b.wav']);
        assert.deepEqual(find('processed-before', 'updated').accountCodes, ['Lead', 'Won']);
        assert.equal(find('processed-before', 'updated').updateSeq, 2, 'the update count goes on from before the kill');
        for (const callId of ['missed-no-recording', 'answered-no-recording']) {
            assert.equal(find(callId, 'processed').recordingsMissing, true);
            assert.equal(find(callId, 'updated').recordingsMissing, true);
            assert.equal(find(callId, 'updated').updateSeq, 1);
        }
    });
});
