// Vendor-documented webhook fixtures played through "call event in" over real HTTP: the platform adapters and the
// trigger semantics together, as a user wires them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { twilioSignature } from '../../src/adapters/twilio';
import { helper, servedNodeModule } from '../support/node-red-runtime';

const callEventIn = servedNodeModule('call-event-in');
const fixture = (platform: string, name: string): Buffer => readFileSync(join(__dirname, '..', 'fixtures', 'adapters', platform, name));

interface Out {
    topic: string;
    event: string;
    call: Record<string, unknown>;
}

describe('call event in with platform webhooks', () => {
    let server: http.Server;
    let base: string;
    let out: Out[];

    before(() => helper.startServer());
    after(() => helper.stopServer());

    async function load(props: Record<string, unknown>, platformSecret: string): Promise<void> {
        await helper.load(
            callEventIn.register,
            [
                { id: 'tab', type: 'tab' },
                { id: 'in', z: 'tab', type: 'call-event-in', path: '/ccaas/call-events', wires: [['out']], ...props },
                { id: 'out', z: 'tab', type: 'helper' },
            ],
            { in: { platformSecret } },
        );
        out = [];
        helper.getNode('out').on('input', (msg: Out) => out.push(msg));
        ({ server, base } = await callEventIn.serve());
    }

    afterEach(async () => {
        await new Promise((resolve) => server?.close(resolve));
        await helper.unload();
    });

    it('Aircall: a call life from its documented webhooks gives the exact triggers, tags standing in for account codes', async () => {
        await load({ source: 'aircall' }, '45XXYYZZa08');
        const life = ['1-call.created.json', '2-call.ringing_on_agent.json', '3-call.answered.json', '4-call.hungup.json', '5-call.ended.json', '6-call.tagged.json', '7-call.commented.json', '8-call.untagged.json'];
        for (const name of life) {
            const response = await fetch(`${base}/ccaas/call-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fixture('aircall', name).toString() });
            assert.equal(response.status, 200, name);
        }
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting', 'connected', 'complete', 'processed', 'updated', 'updated', 'updated'],
        );
        const processed = out[3].call;
        assert.equal(processed.callId, '812345678');
        assert.equal(processed.direction, 'Inbound');
        assert.deepEqual(processed.recordingLink, ['https://assets.aircall.io/calls/812345678/recording']);
        assert.deepEqual(out.map((msg) => msg.call.updateSeq).slice(4), [1, 2, 3]);
        assert.notDeepEqual(out[5].call.accountCodes, out[4].call.accountCodes, 'tagging changed the account codes');
        const forged = await fetch(`${base}/ccaas/call-events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: fixture('aircall', '3-call.answered.json').toString().replace('45XXYYZZa08', 'forged'),
        });
        assert.equal(forged.status, 401);
    });

    it('Dialpad: call state events of a call-center call give the exact triggers, dispositions as account codes', async () => {
        await load({ source: 'dialpad' }, '');
        const life = ['1-ringing.json', '2-connected.json', '3-hangup-operator-leg.json', '4-hangup-entry-point.json', '5-recording.json', '6-dispositions.json', '7-hold.json'];
        for (const name of life) {
            const response = await fetch(`${base}/ccaas/call-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fixture('dialpad', name).toString() });
            assert.equal(response.status, 200, name);
        }
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.updateSeq ?? null, msg.call.accountCodes]),
            [
                ['presenting', null, []],
                ['connected', null, []],
                ['complete', null, []],
                ['processed', null, []],
                ['updated', 1, []],
                ['updated', 2, ['Opp Won', 'Large Sale']],
            ],
        );
        assert.ok(out.every((msg) => msg.call.agent === 'John Doe' && msg.call.group === 'Support'), 'a supervisor on hold never replaces the agent');
    });

    it('Twilio: signed status callbacks of a <Dial>ed call give the exact triggers and empty TwiML answers', async () => {
        const token = 'twilio-auth-token-for-tests';
        await load({ source: 'twilio', publicUrl: 'https://example.com', recordingsPerCall: 1 }, token);
        const life = ['1-child-ringing.txt', '2-child-in-progress.txt', '3-child-completed.txt', '4-parent-completed.txt', '6-recording-in-progress.txt', '5-recording-completed.txt'];
        for (const name of life) {
            const body = fixture('twilio', name);
            const signature = twilioSignature(token, 'https://example.com/ccaas/call-events?source=twilio', new URLSearchParams(body.toString()));
            const response = await fetch(`${base}/ccaas/call-events?source=twilio`, {
                method: 'POST',
                headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
                body: body.toString(),
            });
            assert.equal(response.status, 200, name);
            assert.match(await response.text(), /<Response><\/Response>/);
        }
        assert.deepEqual(out.map((msg) => msg.event), ['presenting', 'connected', 'complete', 'processed', 'updated']);
        assert.equal(out[3].call.callId, 'CA1111111111aaaaaaaaaaaaaaaaaaaaaa');
        assert.equal(out[3].call.agentName, 'alice');
        assert.equal((out[3].call.recordingLink as string[]).length, 1);
        const unsigned = await fetch(`${base}/ccaas/call-events?source=twilio`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fixture('twilio', '1-child-ringing.txt').toString() });
        assert.equal(unsigned.status, 401);
    });
});
