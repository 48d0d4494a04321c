// Vendor-documented webhook fixtures played through "call event in" over real HTTP: the platform adapters and the
// trigger semantics together, as a user wires them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import type { NodeAPI } from 'node-red';
import twilio from 'twilio';
import { twilioSignature } from '../../src/adapters/twilio';
import { freshUserDir, helper, servedNodeModule } from '../support/node-red-runtime';

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
        const life = [
            '1-call.created.json',
            '2-call.ringing_on_agent.json',
            '3-call.answered.json',
            '4-call.hungup.json',
            '5-call.ended.json',
            '6-call.tagged.json',
            '7-call.commented.json',
            '8-call.untagged.json',
        ];
        for (const name of life) {
            const response = await fetch(`${base}/ccaas/call-events`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: fixture('aircall', name).toString(),
            });
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
        const life = [
            '1-ringing.json',
            '2-connected.json',
            '3-hangup-operator-leg.json',
            '4-hangup-entry-point.json',
            '5-recording.json',
            '6-dispositions.json',
            '7-hold.json',
        ];
        for (const name of life) {
            const response = await fetch(`${base}/ccaas/call-events`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: fixture('dialpad', name).toString(),
            });
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
        assert.ok(
            out.every((msg) => msg.call.agent === 'John Doe' && msg.call.group === 'Support'),
            'a supervisor on hold never replaces the agent',
        );
    });

    it('Twilio: signed status callbacks of a <Dial>ed call give the exact triggers and empty TwiML answers', async () => {
        const token = 'twilio-auth-token-for-tests';
        await load({ source: 'twilio', publicUrl: 'https://example.com', recordingsPerCall: 1 }, token);
        const life = [
            '1-child-ringing.txt',
            '2-child-in-progress.txt',
            '3-child-completed.txt',
            '4-parent-completed.txt',
            '6-recording-in-progress.txt',
            '5-recording-completed.txt',
        ];
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
        assert.deepEqual(
            out.map((msg) => msg.event),
            ['presenting', 'connected', 'complete', 'processed', 'updated'],
        );
        assert.equal(out[3].call.callId, 'CA1111111111aaaaaaaaaaaaaaaaaaaaaa');
        assert.equal(out[3].call.agentName, 'alice');
        assert.equal((out[3].call.recordingLink as string[]).length, 1);
        const unsigned = await fetch(`${base}/ccaas/call-events?source=twilio`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: fixture('twilio', '1-child-ringing.txt').toString(),
        });
        assert.equal(unsigned.status, 401);
    });

    describe("Twilio posting straight to Node-RED, signed by Twilio's own helper library", () => {
        const token = 'twilio-auth-token-for-tests';
        const body = fixture('twilio', '4-parent-completed.txt').toString();
        const signedFor = (url: string): string => twilio.getExpectedTwilioSignature(token, url, Object.fromEntries(new URLSearchParams(body)));
        const postSigned = (url: string, signature: string) =>
            fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body });

        // The earlier test tracked this call already: a new user directory starts with no state.
        beforeEach(() => freshUserDir());

        it('no proxy, no Public base URL: the URL is rebuilt from the request', async () => {
            await load({ source: 'twilio' }, token);
            const url = `${base}/ccaas/call-events?source=twilio`;
            assert.equal((await postSigned(url, signedFor(url))).status, 200);
            assert.deepEqual(
                out.map((msg) => msg.event),
                ['complete', 'processed', 'updated'],
            );
            assert.equal((await postSigned(url, signedFor(url.replace('127.0.0.1', 'localhost')))).status, 401, 'signed for another host');
        });

        describe('with httpNodeRoot /hooks', () => {
            let httpNode: express.Express | undefined;
            const register = (RED: NodeAPI): void => {
                httpNode = RED.httpNode as unknown as express.Express;
                callEventIn.register(RED);
            };
            afterEach(() => helper.settings({}));

            async function loadUnderHooks(props: Record<string, unknown>): Promise<string> {
                helper.settings({ httpNodeRoot: '/hooks', userDir: helper.settings().userDir });
                await helper.load(
                    register,
                    [
                        { id: 'tab', type: 'tab' },
                        { id: 'in', z: 'tab', type: 'call-event-in', path: '/ccaas/call-events', wires: [['out']], ...props },
                        { id: 'out', z: 'tab', type: 'helper' },
                    ],
                    { in: { platformSecret: token } },
                );
                out = [];
                helper.getNode('out').on('input', (msg: Out) => out.push(msg));
                // Mounted as Node-RED mounts httpNode under httpNodeRoot.
                const root = express();
                root.use('/hooks', httpNode!);
                server = http.createServer(root);
                await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
                return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
            }

            it('without a Public base URL', async () => {
                const origin = await loadUnderHooks({ source: 'twilio' });
                const url = `${origin}/hooks/ccaas/call-events`;
                assert.equal((await postSigned(url, signedFor(url))).status, 200);
                assert.equal(out.length, 3);
            });

            it('with a Public base URL of just the origin, as a proxy in front would need', async () => {
                const origin = await loadUnderHooks({ source: 'twilio', publicUrl: 'https://public.example.com' });
                const signature = signedFor('https://public.example.com/hooks/ccaas/call-events');
                assert.equal((await postSigned(`${origin}/hooks/ccaas/call-events`, signature)).status, 200);
                assert.equal(out.length, 3);
                assert.equal((await postSigned(`${origin}/hooks/ccaas/call-events`, signedFor('https://public.example.com/ccaas/call-events'))).status, 401);
            });
        });
    });
});
