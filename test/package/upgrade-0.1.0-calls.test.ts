// An upgrade from 0.1.0 with a call between "complete" and its recording: the call state file 0.1.0 wrote and the
// flow it saved load unchanged, and the recording that arrives after the upgrade fires processed and updated.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { until } from '../support/wait';
import { startJsonReceiver, type JsonReceiver } from '../support/json-receiver';

const FIXTURES = path.resolve(__dirname, '../fixtures/0.1.0');

interface Received {
    callId: string;
    event: string;
    updateSeq?: number;
    answered?: boolean;
    recordingsMissing?: boolean;
    recordingLink?: string[];
}

describe('upgrade from 0.1.0: a call waiting for its recording', function () {
    this.timeout(60_000);
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

    it('restores the call from the 0.1.0 file and fires processed and updated when the recording comes', async () => {
        const [saved] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'call-event-in-flow.json'), 'utf8')) as Array<
            Record<string, unknown> & { id: string; z: string; path: string }
        >;
        const stateDirectory = path.join(userDir, 'ccaas-web-service', 'calls', saved.id);
        fs.mkdirSync(stateDirectory, { recursive: true });
        fs.copyFileSync(path.join(FIXTURES, 'calls.log'), path.join(stateDirectory, 'calls.log'));
        const flows = [
            { id: saved.z, type: 'tab', label: 'demo' },
            // Every property as 0.1.0 saved it; only the wire goes to this test's receiver.
            { ...saved, wires: [['deliver']] },
            {
                id: 'deliver',
                z: saved.z,
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
        await nodeRed.waitForLog(/\[call-event-in:demo-events\] restored the state of 1 call from /, 15_000);

        const post = async (events: object[]): Promise<number> => {
            const response = await fetch(`${nodeRed!.url}${saved.path}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(events),
                signal: AbortSignal.timeout(5000),
            });
            return response.status;
        };
        // The complete 0.1.0 recorded is still a duplicate: nothing fires again.
        assert.equal(await post([{ type: 'complete', callId: 'upgrade-call-1', eventId: 'u1-3', timestamp: 1764600065000, pendingRecordings: 1 }]), 202);
        assert.equal(
            await post([
                {
                    type: 'recording',
                    callId: 'upgrade-call-1',
                    eventId: 'u1-4',
                    timestamp: 1764600090000,
                    recordingUrl: 'https://rec.example.com/upgrade-call-1.wav',
                },
            ]),
            202,
        );
        await until(() => receiver.received.length >= 2, 'processed and updated', 10_000);
        const fired = receiver.received.map((call) => `${call.callId}:${call.event}`).sort();
        assert.deepEqual(fired, ['upgrade-call-1:processed', 'upgrade-call-1:updated']);
        const processed = receiver.received.find((call) => call.event === 'processed')!;
        assert.equal(processed.answered, true, 'the connected event 0.1.0 recorded is part of the call');
        assert.notEqual(processed.recordingsMissing, true, 'the recording came within the wait');
        assert.deepEqual(processed.recordingLink, ['https://rec.example.com/upgrade-call-1.wav']);
        assert.doesNotMatch(nodeRed.log(), /\[call-event-in:demo-events\].*(unreadable|dropped)/);
    });
});
