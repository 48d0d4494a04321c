// Zoom Contact Center voice engagements played over real HTTP into "call event in" (source zoom), signed as Zoom
// signs them, each life in the order its fixtures are numbered (out of order where the life is): the exact triggers
// and the call data they carry.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zoomSignature } from '../../src/adapters/zoom';
import { servedCallEventIn, type TriggerMessage } from '../support/served-call-event-in';

const FIXTURES = join(__dirname, '..', 'fixtures', 'adapters', 'zoom');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));
/** The files of one life, in delivery order: `<prefix>-<n>-contact_center.<event>.json`. */
const life = (prefix: string): string[] =>
    readdirSync(FIXTURES)
        .filter((name) => new RegExp(`^${prefix}-\\d+-contact_center\\.`).test(name))
        .sort((a, b) => Number(a.slice(prefix.length + 1).split('-')[0]) - Number(b.slice(prefix.length + 1).split('-')[0]));

const SECRET = 'zoom-secret-token-for-tests';
const PATH = '/ccaas/zoom-events';
/** Reservations name their agent only by id. */
const NAMES = JSON.stringify({ uJoHn7Q9yK3bT1nS2pLwAA: 'John Doe', uMaRy0Q9yK3bT1nS2pLwAA: 'Mary Major' });

describe('call event in with Zoom Contact Center webhooks', () => {
    const endpoint = servedCallEventIn();
    let base: string;
    let out: TriggerMessage[];

    async function load(properties: Record<string, unknown> = {}): Promise<void> {
        ({ base, out } = await endpoint.load({ path: PATH, source: 'zoom', names: NAMES, ...properties }, { platformSecret: SECRET }));
    }

    /** Posts as Zoom does: signed now, over the exact bytes sent; resolves to the status and the JSON answer. */
    async function post(body: Buffer): Promise<{ status: number; body: unknown }> {
        const timestamp = String(Math.floor(Date.now() / 1000));
        const response = await fetch(`${base}${PATH}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(SECRET, timestamp, body) },
            body: new Uint8Array(body),
        });
        return { status: response.status, body: await response.json() };
    }

    /** Plays a life; returns what each request was answered. */
    async function play(names: string[]): Promise<unknown[]> {
        const answers: unknown[] = [];
        for (const name of names) {
            const { status, body } = await post(fixture(name));
            assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
            answers.push((body as { received: number }).received);
        }
        return answers;
    }

    const triggers = (): unknown[][] => out.map((msg) => [msg.event, msg.call.agent ?? null, msg.call.group ?? null, msg.call.accountCodes]);

    it('an answered call with a disposition: the exact triggers, Processed at once though Recordings per call is 1', async () => {
        await load({ recordingsPerCall: 1 });
        const names = life('cc');
        assert.equal(names.length, 7);
        assert.deepEqual(await play(names), [1, 1, 1, 1, 1, 1, 0], 'recording_completed carries no link: nothing taken');
        assert.deepEqual(triggers(), [
            ['presenting', 'John Doe', 'Support', []],
            ['connected', 'John Doe', 'Support', []],
            ['complete', 'John Doe', 'Support', ['Resolved']],
            ['processed', 'John Doe', 'Support', ['Resolved']],
            ['updated', 'John Doe', 'Support', ['Resolved']],
        ]);
        const processed = out[3]!.call;
        assert.equal(processed.callId, 'Ng7kQ2xVr4TfW9bLp3sHcA');
        assert.equal(processed.direction, 'Inbound');
        assert.equal(processed.callerName, 'Jane Roe');
        assert.equal(processed.externalNumber, '+18015550000');
        assert.equal(processed.dnis, '+18015551234');
        assert.equal(processed.answered, true);
        assert.equal(processed.time, Date.parse('2024-11-25T15:00:00.000Z'), "engagement_started's date_time_ms");
        assert.equal(processed.duration, 335);
        assert.deepEqual(processed.recordingLink, []);
        assert.equal(processed.recordingsMissing, undefined, 'nothing was waited for, so nothing is missing');
        // Zoom's retry of a delivery already taken fires nothing again.
        assert.equal((await post(fixture(names[2]!))).status, 200);
        assert.equal(out.length, 5);
    });

    it('a first reservation that times out: Presenting for each agent rung, Connected for the one who answered', async () => {
        await load();
        assert.deepEqual(await play(life('cc-timeout')), [1, 1, 1, 1, 1, 1, 1]);
        assert.deepEqual(triggers(), [
            ['presenting', 'Mary Major', 'Support', []],
            ['presenting', 'John Doe', 'Support', []],
            ['connected', 'John Doe', 'Support', []],
            ['complete', 'John Doe', 'Support', []],
            ['processed', 'John Doe', 'Support', []],
            ['updated', 'John Doe', 'Support', []],
        ]);
        assert.equal(out.at(-1)!.call.answered, true);
    });

    it('a transfer to an agent of another queue: Presenting and Connected again, for the new agent and queue', async () => {
        await load();
        assert.deepEqual(await play(life('cc-transfer')), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert.deepEqual(triggers(), [
            ['presenting', 'John Doe', 'Support', []],
            ['connected', 'John Doe', 'Support', []],
            ['presenting', 'Mary Major', 'Billing', []],
            ['connected', 'Mary Major', 'Billing', []],
            // John leaving after the transfer leaves the call Mary's; her disposition is the account code.
            ['complete', 'Mary Major', 'Billing', ['Billing question']],
            ['processed', 'Mary Major', 'Billing', ['Billing question']],
            ['updated', 'Mary Major', 'Billing', ['Billing question']],
        ]);
        const processed = out[5]!.call;
        assert.equal(processed.externalNumber, '+18015550000');
        assert.equal(processed.answered, true);
    });

    it('an abandoned call: Presenting, then Complete and Processed never answered', async () => {
        await load();
        assert.deepEqual(await play(life('cc-abandoned')), [1, 1, 1, 1, 1]);
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.answered]),
            [
                ['presenting', false],
                ['complete', false],
                ['processed', false],
                ['updated', false],
            ],
        );
        const processed = out[2]!.call;
        assert.equal(processed.agent, 'Mary Major', 'the agent it rang');
        assert.equal(processed.group, 'Support');
        assert.equal(processed.duration, 16, '15.5 s from engagement_started to engagement_ended');
    });

    it('a life delivered out of order: the late start sets the time, a late agent leaving and an older disposition change nothing', async () => {
        await load();
        assert.deepEqual(await play(life('cc-late')), [1, 1, 1, 1, 1, 1, 1]);
        assert.deepEqual(
            out.map((msg) => [msg.event, msg.call.agent, msg.call.updateSeq ?? null, msg.call.accountCodes, msg.call.time]),
            [
                // Before engagement_started arrives, the call's time is its first event.
                ['presenting', 'John Doe', null, [], 1732561203000],
                ['connected', 'John Doe', null, [], 1732561200000],
                ['complete', 'John Doe', null, [], 1732561200000],
                ['processed', 'John Doe', null, [], 1732561200000],
                ['updated', 'John Doe', 1, [], 1732561200000],
                // The disposition after processing is an update; the one chosen before it, delivered after, is not.
                ['updated', 'John Doe', 2, ['Sale'], 1732561200000],
            ],
        );
        const last = out.at(-1)!.call;
        assert.equal(last.direction, 'Inbound');
        assert.equal(last.dnis, '+18015551234');
        assert.equal(last.externalNumber, '+18015550000');
        assert.equal(last.answered, true);
    });

    it('a chat engagement: every event answered 200, no trigger', async () => {
        await load();
        const names = life('cc-chat');
        assert.equal(names.length, 4);
        assert.deepEqual(await play(names), [0, 0, 0, 0]);
        assert.deepEqual(out, []);
    });

    it('a malformed engagement event is refused 400 naming the field, and fires nothing', async () => {
        await load();
        const body = Buffer.from(
            JSON.stringify({ event: 'contact_center.engagement_user_answered', event_ts: Date.now(), payload: { object: { channel: 'voice' } } }),
        );
        assert.deepEqual(await post(body), {
            status: 400,
            body: { error: 'Zoom: contact_center.engagement_user_answered has no "payload.object.engagement_id"' },
        });
        assert.deepEqual(out, []);
    });
});
