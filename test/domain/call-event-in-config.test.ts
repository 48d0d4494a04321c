import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/errors/coded-error';
import { DEFAULT_TRACKER_OPTIONS } from '../../src/lifecycle/call-tracker';
import { DEFAULT_EVENT_LIMITS } from '../../src/lifecycle/event-limits';
import { callEventInOptions, type CallEventInProperties } from '../../src/nodes/call-event-in/config';

const saved010 = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../fixtures/0.1.0/call-event-in-flow.json'), 'utf8')) as CallEventInProperties[])[0];

function refusal(config: CallEventInProperties, credentials = {}): string {
    try {
        callEventInOptions(config, credentials);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
        return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(config)}`);
}

describe('call event in options (config.ts)', () => {
    it('a node saved by 0.1.0, without the input limits, gets every default', () => {
        const options = callEventInOptions(saved010);
        assert.equal(options.path, '/ccaas/demo/call-events');
        assert.equal(options.wanted, undefined, 'no event ticked means all five');
        assert.deepEqual(options.limits, DEFAULT_EVENT_LIMITS);
        assert.deepEqual(options.tracker, {
            recordingWaitMs: 15 * 60_000,
            retentionMs: 60 * 60_000,
            maxCalls: 50_000,
            maxBytes: DEFAULT_TRACKER_OPTIONS.maxBytes,
            limits: DEFAULT_EVENT_LIMITS,
        });
        assert.equal(options.maxBodyBytes, 1024 * 1024);
        assert.deepEqual(options.auth, { type: 'none' });
        assert.equal(options.adapter, undefined);
        assert.equal(options.publicUrl, undefined);
    });

    it('an empty node gets the same defaults as one saved with them', () => {
        const empty = callEventInOptions({});
        const full = callEventInOptions(saved010);
        assert.deepEqual({ ...empty, path: full.path }, full);
    });

    it('reads the units the dialog shows: minutes, KiB and MiB', () => {
        const options = callEventInOptions({
            recordingWait: '0.5',
            retention: 2,
            maxCalls: '10',
            maxStateSize: 1,
            maxBody: 2,
            maxCallSize: 8,
            maxEvents: 3,
            maxFieldLength: 40,
            maxListMembers: 5,
            maxCallListMembers: 6,
        });
        assert.equal(options.tracker.recordingWaitMs, 30_000);
        assert.equal(options.tracker.retentionMs, 120_000);
        assert.equal(options.tracker.maxCalls, 10);
        assert.equal(options.tracker.maxBytes, 1024 * 1024);
        assert.equal(options.maxBodyBytes, 2048);
        assert.deepEqual(options.limits, {
            ...DEFAULT_EVENT_LIMITS,
            maxEvents: 3,
            maxTextLength: 40,
            maxListMembers: 5,
            maxCallListMembers: 6,
            maxCallBytes: 8192,
        });
        assert.equal(options.tracker.limits, options.limits, 'the per-call bounds reach the tracker');
    });

    it('takes the ticked events as a list or as the comma text of older flows', () => {
        assert.deepEqual([...callEventInOptions({ events: ['processed', 'updated'] }).wanted!], ['processed', 'updated']);
        assert.deepEqual([...callEventInOptions({ events: 'complete, processed' }).wanted!], ['complete', 'processed']);
        assert.match(refusal({ events: ['presenting', 'ringing'] as never }), /^events: "ringing" is not one of /);
    });

    it('names the property and the value of each bad number', () => {
        assert.equal(refusal({ recordingWait: 'soon' }), 'recording wait: "soon" is not a positive number');
        assert.equal(refusal({ retention: -1 }), 'retention: "-1" is not a positive number');
        assert.equal(refusal({ maxBody: 0 }), 'body limit: "0" is not a positive number');
        assert.equal(refusal({ maxEvents: 2.5 }), 'maxEvents (events per request): "2.5" is not a whole number');
        assert.equal(refusal({ maxStateSize: 'Infinity' }), 'maxStateSize (tracked state memory, MiB): "Infinity" is not a positive number');
    });

    it('builds the authentication from the credentials, and refuses one without its secret', () => {
        assert.deepEqual(callEventInOptions({ auth: 'header' }, { secret: 's3' }).auth, { type: 'header', headerName: 'X-Webhook-Secret', secret: 's3' });
        assert.deepEqual(callEventInOptions({ auth: 'header', authHeader: 'X-Key' }, { secret: 's3' }).auth, {
            type: 'header',
            headerName: 'X-Key',
            secret: 's3',
        });
        const signed = callEventInOptions({ auth: 'standard-webhooks', tolerance: '60' }, { secret: 'whsec_x' }).auth;
        assert.equal(signed.type === 'standard-webhooks' && signed.toleranceSeconds, 60);
        assert.equal(refusal({ auth: 'header' }), 'authentication: a shared secret is required');
        assert.equal(refusal({ auth: 'standard-webhooks' }), 'authentication: a webhook secret ("whsec_...") is required');
        assert.equal(refusal({ auth: 'basic' as never }), 'authentication: "basic" is not none, header or standard-webhooks');
    });

    it('builds the platform adapter, and names a bad source or mapping', () => {
        assert.ok(callEventInOptions({ source: 'aircall' }).adapter);
        const mapping = JSON.stringify({ callId: 'id', eventType: 'kind', eventTypes: { ring: 'presenting' } });
        assert.ok(callEventInOptions({ source: 'custom', mapping }).adapter);
        assert.match(refusal({ source: 'custom' }), /^custom mapping: "callId" needs /, 'no mapping is an empty one, and says what it lacks');
        assert.match(refusal({ source: 'pbx' as never }), /^source: "pbx" is not raw, /);
        assert.match(refusal({ source: 'custom', mapping: '{not json' }), /^mapping: not JSON \(/);
    });

    it('builds the four platforms of 0.4.0 by their source values, a node of 0.3.0 (no names) included', () => {
        for (const source of ['amazon-connect', 'genesys-cloud', 'ringcentral', 'zoom'] as const) {
            assert.equal(callEventInOptions({ source }).adapter?.source, source);
        }
        assert.match(refusal({ source: 'amazon-connect', names: '{"arn:1": 7}' }), /^names: "arn:1" must map to a non-empty string$/);
        assert.match(refusal({ source: 'genesys-cloud', names: '[1]' }), /^names: expected a JSON object of id to name/);
        assert.match(refusal({ source: 'zoom', names: '{not json' }), /^names: not JSON \(/);
        // Only the sources that name things by id read the table: a stale one left on another source is no error.
        assert.ok(callEventInOptions({ source: 'twilio', names: '{not json' }).adapter);
    });

    it('passes a public URL on, and treats the empty one 0.1.0 saved as none', () => {
        assert.equal(callEventInOptions({ publicUrl: 'https://public.example.com' }).publicUrl, 'https://public.example.com');
        assert.equal(callEventInOptions({ publicUrl: '' }).publicUrl, undefined);
    });
});
