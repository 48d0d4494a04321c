// Every example of examples/, deployed into a real Node-RED with the package installed, its target pointed at a
// loopback server playing the CRM, and calls played into it: each CRM must receive exactly what the example promises.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { RawEvent } from '../../src/call/raw-event';
import { simulateCalls } from '../../src/simulator/simulate';
import { startRecorder, type Arrived, type Recorder } from '../nodes/web-service-out.recorder';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { startProvider, type Provider } from '../support/oauth2-provider';

const EXAMPLES = path.resolve(__dirname, '../../examples');
const CORE_TYPES = new Set(['tab', 'comment', 'debug', 'inject', 'http in', 'http response', 'change', 'catch', 'function', 'switch']);
const OUR_TYPES = new Set(Object.keys(JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'))['node-red'].nodes));

interface FlowNode {
    id: string;
    type: string;
    z?: string;
    env?: Array<{ name: string; value: string; type: string }>;
    path?: string;
    authType?: string;
    apiKeyHeader?: string;
    credentials?: Record<string, string>;
    tokenUrl?: string;
    grant?: string;
    url?: string;
}

const examples = fs
    .readdirSync(EXAMPLES)
    .filter((file) => /^\d\d .*\.json$/.test(file))
    .map((file) => ({ file, flow: JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')) as FlowNode[] }));

const slugOf = (flow: FlowNode[]): string =>
    flow
        .find((node) => node.type === 'call-event-in')!
        .path!.split('/')
        .pop()!;

// Salesforce's Task goes to the instance_url of its token, which here is the loopback CRM's origin: it arrives under
// Salesforce's REST path, where every other example's request arrives under the example's slug.
const SALESFORCE_TASKS = '/services/data/v60.0/sobjects/Task';
const slugOfTarget = (target: string): string => (target.startsWith('/services/data/') ? 'salesforce' : target.slice(1).split(/[/?]/)[0]!);

/** An example whose web service out takes the scheme and host from its token answer needs no target URL variable. */
const targetFromProvider = (flow: FlowNode[]): boolean => flow.some((node) => node.type === 'web-service-out' && node.url?.startsWith('{{oauth.instanceUrl}}'));

/** A loopback OAuth 2.0 provider for each example's OAuth 2.0 configuration, answering as the real one does. */
async function startProviders(crm: { url: string }, which = examples): Promise<Map<string, Provider>> {
    const providers = new Map<string, Provider>();
    for (const config of which.flatMap(({ flow }) => flow).filter((node) => node.type === 'ccaas-oauth2')) {
        const provider = await startProvider();
        if (new URL(config.tokenUrl!).host === 'login.salesforce.com') {
            // Salesforce answers a refresh with the org's instance_url and neither expires_in nor, unless the
            // connected app enables rotation, a new refresh token; a connected app requires its secret by default.
            provider.instanceUrl = crm.url;
            provider.rotatesRefreshToken = false;
            provider.sendsExpiresIn = false;
            provider.refreshNeedsSecret = true;
        }
        providers.set(config.id, provider);
    }
    return providers;
}

/**
 * Every example as deployed by a test: targets on the loopback CRM (under the example's slug), each OAuth 2.0
 * configuration on its loopback provider with the credentials it accepts, web service out credentials from `secrets`.
 */
function loopbackFlows(
    crm: { url: string },
    providers: Map<string, Provider>,
    secrets: (node: FlowNode, slug: string) => Record<string, string>,
    which = examples,
): FlowNode[] {
    return which.flatMap(({ flow }) => {
        const slug = slugOf(flow);
        return flow.map((node) => {
            const copy: FlowNode = structuredClone(node);
            if (copy.type === 'tab') copy.env = copy.env!.map((variable) => ({ ...variable, value: `${crm.url}/${slug}` }));
            if (copy.type === 'web-service-out') copy.credentials = secrets(copy, slug);
            if (copy.type === 'ccaas-oauth2') {
                const provider = providers.get(copy.id)!;
                copy.tokenUrl = provider.tokenUrl;
                copy.credentials = {
                    clientId: provider.clientId,
                    clientSecret: provider.clientSecret,
                    ...(copy.grant === 'refresh_token' ? { refreshToken: provider.refreshToken } : {}),
                };
            }
            return copy;
        });
    });
}

// Three scripted calls: answered inbound Sales with recording and account codes changing after processing;
// a missed inbound Support call; an answered outbound Billing call with a recording and no codes.
function scriptedCalls(): RawEvent[][] {
    const at = (n: number) => 1_732_482_000_000 + n * 1000;
    const a = 'call-a-1111';
    const b = 'call-b-2222';
    const c = 'call-c-3333';
    const agent = { name: 'John Doe', extension: '154' };
    return [
        [
            {
                type: 'presenting',
                callId: a,
                eventId: 'a1',
                timestamp: at(0),
                direction: 'Inbound',
                callerName: 'Jane "JR" Roe & Co',
                externalNumber: '8015550000',
                location: 'Salt Lake City, UT',
                dnis: '8005551234',
                group: 'Sales',
                agent,
                startTime: at(0),
                reportCallId: '40213',
            },
            { type: 'connected', callId: a, eventId: 'a2', timestamp: at(5), agent },
            { type: 'accountCodes', callId: a, eventId: 'a3', timestamp: at(30), accountCodes: ['Opp Won'] },
            { type: 'complete', callId: a, eventId: 'a4', timestamp: at(60), pendingRecordings: 1 },
            { type: 'recording', callId: a, eventId: 'a5', timestamp: at(90), recordingUrl: 'https://rec.example.com/a.wav' },
            { type: 'accountCodes', callId: a, eventId: 'a6', timestamp: at(120), accountCodes: ['Opp Won', 'Large Sale'] },
            { type: 'accountCodes', callId: a, eventId: 'a7', timestamp: at(130), accountCodes: ['Large Sale', 'Opp Won'] },
            { type: 'accountCodes', callId: a, eventId: 'a8', timestamp: at(140), accountCodes: ['Large Sale'] },
        ],
        [
            {
                type: 'presenting',
                callId: b,
                eventId: 'b1',
                timestamp: at(0),
                direction: 'Inbound',
                callerName: 'Bob Smith',
                externalNumber: '3125550123',
                group: 'Support',
                agent: { name: 'Wei Chen', extension: '312' },
                startTime: at(0),
            },
            { type: 'complete', callId: b, eventId: 'b2', timestamp: at(20) },
        ],
        [
            {
                type: 'presenting',
                callId: c,
                eventId: 'c1',
                timestamp: at(0),
                direction: 'Outbound',
                callerName: 'Acme Corp',
                externalNumber: '2125550147',
                group: 'Billing',
                agent,
                startTime: at(0),
            },
            { type: 'connected', callId: c, eventId: 'c2', timestamp: at(3), agent },
            { type: 'complete', callId: c, eventId: 'c3', timestamp: at(40), pendingRecordings: 1 },
            { type: 'recording', callId: c, eventId: 'c4', timestamp: at(70), recordingUrl: 'https://rec.example.com/c.wav' },
        ],
    ];
}

const json = (request: Arrived): Record<string, any> => JSON.parse(request.body.toString('utf8'));

describe('examples: each CRM receives what its example promises', function () {
    this.timeout(120_000);
    let nodeRed: NodeRedProcess;
    let crm: Recorder;
    // The OAuth 2.0 providers of examples 05 and 10, in place of Salesforce and the Microsoft identity platform.
    let providers: Map<string, Provider>;
    const received = (slug: string): Arrived[] => crm.arrived.filter((request) => slugOfTarget(request.target) === slug);

    before(async () => {
        crm = await startRecorder();
        providers = await startProviders(crm);
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [] });
        const flows = loopbackFlows(crm, providers, (node, slug) => ({
            ...(node.authType === 'bearer' ? { token: `token-${slug}` } : {}),
            ...(node.authType === 'basic' ? { user: 'agent@example.com/token', password: `password-${slug}` } : {}),
            ...(node.apiKeyHeader ? { apiKey: `key-${slug}` } : {}),
        }));
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(flows),
        });
        assert.equal(deployed.status, 204, await deployed.text());
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
        for (const { flow } of examples) {
            for (const call of scriptedCalls()) {
                for (const event of call) {
                    const response = await fetch(`${nodeRed.url}/ccaas/examples/${slugOf(flow)}`, {
                        method: 'POST',
                        headers: { 'content-type': 'application/json' },
                        body: JSON.stringify(event),
                    });
                    assert.equal(response.status, 202);
                }
            }
        }
        const expected = 2 + 2 + 5 + 5 + 2 + 3 + 1 + 3 + 2 + 3;
        const started = Date.now();
        while (crm.arrived.length < expected && Date.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 50));
        // Anything beyond the promised requests would arrive within this pause too.
        await new Promise((resolve) => setTimeout(resolve, 500));
    });

    after(async () => {
        await nodeRed?.stop();
        await crm?.close();
        for (const provider of providers?.values() ?? []) await provider.stop();
    });

    it('every example is valid flow JSON of known node types, on its own tab, with a comment saying what to fill in', () => {
        assert.equal(examples.length, 10);
        for (const { file, flow } of examples) {
            const tabs = flow.filter((node) => node.type === 'tab');
            assert.equal(tabs.length, 1, file);
            for (const node of flow) {
                assert.ok(CORE_TYPES.has(node.type) || OUR_TYPES.has(node.type), `${file}: ${node.type}`);
                if (node.type !== 'tab') assert.equal(node.z, tabs[0].id, `${file}: ${node.id} on the tab`);
            }
            const comment = flow.find((node) => node.type === 'comment') as FlowNode & { info: string };
            assert.match(comment.info, /\*\*Fill in:\*\*/, file);
            // One place for the target URL: the tab's variable, or the provider's instance_url.
            assert.equal(tabs[0].env!.length, targetFromProvider(flow) ? 0 : 1, `${file}: one place for the target URL`);
            assert.ok(!JSON.stringify(flow).includes('"credentials"'), `${file}: no secrets in the flow`);
        }
        assert.doesNotMatch(nodeRed.log(), /Waiting for missing types|\[error\]/);
    });

    it('01 recording link: one POST per recorded call, bearer token, the recording link in the JSON body', () => {
        const requests = received('recording-link');
        assert.deepEqual(
            requests.map((request) => [request.method, request.target, request.headers.authorization]),
            [
                ['POST', '/recording-link', 'Bearer token-recording-link'],
                ['POST', '/recording-link', 'Bearer token-recording-link'],
            ],
        );
        assert.deepEqual(requests.map(json), [
            { callId: 'call-a-1111', reportCallId: '40213', agent: 'John Doe (154)', recordingLink: 'https://rec.example.com/a.wav', recordingsMissing: false },
            { callId: 'call-c-3333', reportCallId: '', agent: 'John Doe (154)', recordingLink: 'https://rec.example.com/c.wav', recordingsMissing: false },
        ]);
    });

    it('02 CRM record: only inbound Sales/Support calls, when they complete', () => {
        const bodies = received('crm-record').map(json);
        assert.deepEqual(
            bodies.map((body) => [body.callId, body.direction, body.group]),
            [
                ['call-a-1111', 'Inbound', 'Sales'],
                ['call-b-2222', 'Inbound', 'Support'],
            ],
        );
        assert.equal(bodies[0].caller, 'Jane "JR" Roe & Co');
        assert.equal(bodies[0].startedAt, 1_732_482_000_000);
    });

    it('03 account codes: repeated PUTs told apart by updateSeq and the idempotency key, unchanged sets not sent', () => {
        const requests = received('account-codes');
        assert.deepEqual(
            requests
                .map((request) => [
                    request.method,
                    `${json(request).callId}:${json(request).updateSeq}`,
                    request.headers['x-api-key'],
                    json(request).accountCodes,
                ])
                .sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
            [
                ['PUT', 'call-a-1111:1', 'key-account-codes', 'Opp Won'],
                ['PUT', 'call-a-1111:2', 'key-account-codes', 'Opp Won, Large Sale'],
                ['PUT', 'call-a-1111:3', 'key-account-codes', 'Large Sale'],
                ['PUT', 'call-b-2222:1', 'key-account-codes', ''],
                ['PUT', 'call-c-3333:1', 'key-account-codes', ''],
            ],
        );
        // One key per update: a receiver that drops keys it has seen still applies every update once.
        const keys = requests.map((request) => request.headers['idempotency-key']);
        assert.ok(
            keys.every((key) => typeof key === 'string' && key.length >= 16),
            `keys: ${keys.join(', ')}`,
        );
        assert.equal(new Set(keys).size, requests.length);
    });

    it('04 Slack: a message when each call rings and when it is answered', () => {
        const texts = received('slack').map((request) => json(request).text as string);
        assert.equal(texts.length, 5);
        assert.ok(
            texts.includes(':telephone_receiver: Ringing John Doe (154): Jane "JR" Roe & Co 8015550000 (Salt Lake City, UT) for Sales'),
            texts.join('\n'),
        );
        assert.equal(texts.filter((text) => text.startsWith(':white_check_mark: John Doe (154) answered')).length, 2);
    });

    it('05 Salesforce: a Task per answered call, sent to the instance_url of the token from one refresh, with the duration when known', () => {
        const provider = providers.get('salesforce-oauth2')!;
        // The refresh token flow with client auth Body, as Salesforce's token endpoint takes it.
        assert.equal(provider.seen.length, 1, 'one token for every Task: Salesforce gives no lifetime, so it is kept until a 401');
        assert.deepEqual(provider.seen[0]!.form, {
            grant_type: 'refresh_token',
            refresh_token: 'refresh-token-0',
            client_id: provider.clientId,
            client_secret: provider.clientSecret,
        });
        assert.equal(provider.seen[0]!.headers.authorization, undefined);
        const requests = received('salesforce');
        assert.deepEqual(
            requests.map((request) => [request.method, request.target, request.headers.authorization]),
            [
                ['POST', SALESFORCE_TASKS, `Bearer ${provider.issued[0]}`],
                ['POST', SALESFORCE_TASKS, `Bearer ${provider.issued[0]}`],
            ],
        );
        const bodies = requests.map(json);
        assert.deepEqual(
            bodies.map((body) => [body.CallObject, body.CallType, body.TaskSubtype, body.CallDurationInSeconds]),
            [
                ['call-a-1111', 'Inbound', 'Call', 60],
                ['call-c-3333', 'Outbound', 'Call', 40],
            ],
        );
    });

    it('06 HubSpot: a call engagement per processed call', () => {
        const bodies = received('hubspot').map(json);
        // A call without a recording leaves hs_call_recording_url out: HubSpot takes a URL there, and "" is none.
        assert.deepEqual(bodies.map((body) => [body.properties.hs_call_recording_url, body.properties.hs_call_status]).sort(), [
            [undefined, 'COMPLETED'],
            ['https://rec.example.com/a.wav', 'COMPLETED'],
            ['https://rec.example.com/c.wav', 'COMPLETED'],
        ]);
    });

    it('07 Zendesk: a ticket for the missed inbound call only, with basic auth', () => {
        const requests = received('zendesk');
        assert.equal(requests.length, 1);
        assert.equal(requests[0].headers.authorization, `Basic ${Buffer.from('agent@example.com/token:password-zendesk').toString('base64')}`);
        assert.equal(json(requests[0]).ticket.subject, 'Missed call from Bob Smith 3125550123');
    });

    it('08 legacy CRM: form-encoded posts, a caller name with & kept inside its field', () => {
        const forms = received('legacy-form').map((request) => {
            assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
            return Object.fromEntries(new URLSearchParams(request.body.toString()));
        });
        assert.equal(forms.length, 3);
        const a = forms.find((form) => form.call_id === 'call-a-1111')!;
        assert.deepEqual(a, {
            call_id: 'call-a-1111',
            report_id: '40213',
            caller: 'Jane "JR" Roe & Co',
            phone: '8015550000',
            agent_ext: '154',
            codes: 'Opp Won',
            source: 'ccaas',
        });
    });

    it('09 lookup: a GET with percent-encoded URL parameters when a call is answered', () => {
        const requests = received('lookup');
        assert.deepEqual(
            requests.map((request) => request.method),
            ['GET', 'GET'],
        );
        const query = new URLSearchParams(requests.find((request) => request.query.includes('call-a-1111'))!.query);
        assert.deepEqual(Object.fromEntries(query), { phone: '8015550000', name: 'Jane "JR" Roe & Co', agent: '154', callId: 'call-a-1111' });
    });

    it('10 Dynamics 365: a phone call activity per completed call, both nodes sending the one token of the shared configuration', () => {
        const provider = providers.get('dynamics-oauth2')!;
        const requests = received('dynamics');
        assert.equal(provider.seen.length, 1);
        assert.equal(provider.seen[0]!.form.scope, 'https://yourorg.crm.dynamics.com/.default');
        assert.equal(provider.seen[0]!.form.client_secret, provider.clientSecret);
        for (const request of requests) {
            assert.equal(request.headers.authorization, `Bearer ${provider.issued[0]}`);
            assert.equal(request.headers['odata-version'], '4.0');
        }
        assert.deepEqual(requests.map((request) => [json(request).phonenumber, json(request).directioncode]).sort(), [
            ['2125550147', true],
            ['3125550123', false],
            ['8015550000', false],
        ]);
    });

    it('the simulator through example 02: every inbound Sales or Support call it completes becomes one CRM record', async () => {
        const before = received('crm-record').length;
        const completed = new Map<string, RawEvent>();
        const firsts = new Map<string, RawEvent>();
        await simulateCalls({
            url: `${nodeRed.url}/ccaas/examples/crm-record`,
            calls: 12,
            rate: 40,
            paceMs: 5,
            seed: 11,
            maxSeconds: 30,
            onSent: (event) => {
                if (!firsts.has(event.callId)) firsts.set(event.callId, event);
                if (event.type === 'complete') completed.set(event.callId, event);
            },
        });
        const wanted = [...completed.keys()].filter(
            (callId) => firsts.get(callId)!.direction === 'Inbound' && ['Sales', 'Support'].includes(firsts.get(callId)!.group!),
        );
        const started = Date.now();
        while (received('crm-record').length < before + wanted.length && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(
            received('crm-record')
                .slice(before)
                .map((request) => json(request).callId)
                .sort(),
            wanted.sort(),
        );
    });
});

// Platforms leave fields out: no start time, no DNIS, no agent on a missed call, no recording, no caller name, no
// tags or account codes. Whatever is missing, each example must still send a request its target accepts.
type CallPart =
    | 'reportCallId'
    | 'direction'
    | 'callerName'
    | 'dnis'
    | 'externalNumber'
    | 'location'
    | 'startTime'
    | 'timestamp'
    | 'agent'
    | 'agentName'
    | 'agentExtension'
    | 'group'
    | 'tags'
    | 'accountCodes'
    | 'recording';
const OPTIONAL_PARTS: readonly CallPart[] = [
    'reportCallId',
    'direction',
    'callerName',
    'dnis',
    'externalNumber',
    'location',
    'startTime',
    'timestamp',
    'agent',
    'agentName',
    'agentExtension',
    'group',
    'tags',
    'accountCodes',
    'recording',
];

// What each example's criteria filter asks of the call: without it the call is rightly left out, so a variant
// lacking one of these is not expected to reach that CRM.
const CRITERIA_NEEDS: Record<string, readonly CallPart[]> = {
    'recording-link': ['recording'],
    'crm-record': ['direction', 'group'],
    salesforce: ['direction'],
    zendesk: ['direction'],
    lookup: ['externalNumber'],
};

/** An answered call (recorded, with account codes) and a missed one, both inbound Sales, lacking `missing`. */
function callsLacking(variant: string, missing: ReadonlySet<CallPart>): RawEvent[][] {
    const at = (n: number) => 1_732_482_000_000 + n * 1000;
    const agentOf = (name: string, extension: string): RawEvent['agent'] | undefined => {
        if (missing.has('agent')) return undefined;
        const agent: NonNullable<RawEvent['agent']> = {};
        if (!missing.has('agentName')) agent.name = name;
        if (!missing.has('agentExtension')) agent.extension = extension;
        return agent;
    };
    const trim = (event: RawEvent): RawEvent => {
        const copy: Record<string, unknown> = { ...event };
        for (const part of missing) if (part in copy && part !== 'agent' && part !== 'accountCodes') delete copy[part];
        if (copy.agent === undefined) delete copy.agent;
        return copy as unknown as RawEvent;
    };
    const presenting = (callId: string, eventId: string, agent: RawEvent['agent']): RawEvent => ({
        type: 'presenting',
        callId,
        eventId,
        timestamp: at(0),
        direction: 'Inbound',
        callerName: 'Jane "JR" Roe & Co',
        externalNumber: '8015550000',
        location: 'Salt Lake City, UT',
        dnis: '8005551234',
        group: 'Sales',
        agent,
        startTime: at(0),
        reportCallId: '40213',
        tags: ['VIP'],
    });
    const answered = `${variant}-answered`;
    const missed = `${variant}-missed`;
    const agent = agentOf('John Doe', '154');
    const answeredCall: RawEvent[] = [
        presenting(answered, 'a1', agent),
        { type: 'connected', callId: answered, eventId: 'a2', timestamp: at(5), agent },
        ...(missing.has('accountCodes')
            ? []
            : [{ type: 'accountCodes', callId: answered, eventId: 'a3', timestamp: at(30), accountCodes: ['Opp Won'] } as RawEvent]),
        { type: 'complete', callId: answered, eventId: 'a4', timestamp: at(60), ...(missing.has('recording') ? {} : { pendingRecordings: 1 }) },
        ...(missing.has('recording')
            ? []
            : [{ type: 'recording', callId: answered, eventId: 'a5', timestamp: at(90), recordingUrl: 'https://rec.example.com/a.wav' } as RawEvent]),
    ];
    // A missed call has no agent on it, whatever the variant.
    const missedCall: RawEvent[] = [presenting(missed, 'b1', undefined), { type: 'complete', callId: missed, eventId: 'b2', timestamp: at(20) }];
    return [answeredCall.map(trim), missedCall.map(trim)];
}

/** Walks a parsed JSON body: no null anywhere; the named keys, where present, are numbers. */
function assertJsonValues(value: unknown, numericKeys: readonly string[], where: string, key = ''): void {
    assert.notEqual(value, null, `${where}: ${key || 'the body'} is null`);
    if (Array.isArray(value)) value.forEach((item, index) => assertJsonValues(item, numericKeys, where, `${key}[${index}]`));
    else if (typeof value === 'object') for (const [name, item] of Object.entries(value as object)) assertJsonValues(item, numericKeys, where, name);
    else if (numericKeys.includes(key))
        assert.ok(typeof value === 'number' && Number.isFinite(value), `${where}: ${key} must be a number, got ${JSON.stringify(value)}`);
    else assert.ok(['string', 'boolean', 'number'].includes(typeof value), `${where}: ${key} is ${typeof value}`);
}

/** What each target takes: the body parses in its format, numbers are numbers (or absent), required text is there. */
const ACCEPTS: Record<string, (request: Arrived, where: string) => void> = {
    'recording-link': (request, where) => {
        const body = json(request);
        assertJsonValues(body, [], where);
        assert.match(body.recordingLink, /^https:\/\//, where);
        assert.equal(typeof body.recordingsMissing, 'boolean', where);
    },
    'crm-record': (request, where) => assertJsonValues(json(request), ['startedAt'], where),
    'account-codes': (request, where) => {
        const body = json(request);
        assertJsonValues(body, ['updateSeq'], where);
        assert.equal(typeof body.updateSeq, 'number', `${where}: the receiver keeps the highest updateSeq`);
    },
    slack: (request, where) => {
        const body = json(request);
        assertJsonValues(body, [], where);
        // Slack refuses an empty text, and a user should never read "Ringing : ()".
        assert.match(body.text, /^:(telephone_receiver|white_check_mark): \S/, where);
        assert.doesNotMatch(body.text, /\(\)| {2}|: $| for $/, where);
    },
    salesforce: (request, where) => {
        assert.equal(request.target, SALESFORCE_TASKS, where);
        const body = json(request);
        assertJsonValues(body, ['CallDurationInSeconds'], where);
        assert.ok(['Inbound', 'Outbound', 'Internal'].includes(body.CallType), `${where}: CallType is a Salesforce picklist value`);
    },
    hubspot: (request, where) => {
        const body = json(request);
        assertJsonValues(body, [], where);
        const properties = body.properties as Record<string, string>;
        // HubSpot takes hs_timestamp as ms since 1970 (a string of digits) and the recording as a URL; "" is neither.
        if ('hs_timestamp' in properties) assert.match(properties.hs_timestamp, /^\d+$/, where);
        if ('hs_call_recording_url' in properties) assert.match(properties.hs_call_recording_url, /^https:\/\//, where);
        assert.equal(properties.hs_call_status, 'COMPLETED', where);
    },
    zendesk: (request, where) => {
        const body = json(request);
        assertJsonValues(body, [], where);
        // Zendesk requires a subject and a non-empty comment body.
        assert.match(body.ticket.subject, /^Missed call from \S/, where);
        assert.doesNotMatch(body.ticket.comment.body, /\(DNIS \)| {2}|, \./, where);
    },
    'legacy-form': (request, where) => {
        assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded', where);
        const form = new URLSearchParams(request.body.toString('utf8'));
        assert.deepEqual([...form.keys()], ['call_id', 'report_id', 'caller', 'phone', 'agent_ext', 'codes', 'source'], where);
        assert.ok(!request.body.toString('utf8').includes('null') && !request.body.toString('utf8').includes('undefined'), where);
    },
    lookup: (request, where) => {
        assert.equal(request.body.length, 0, where);
        const query = new URLSearchParams(request.query);
        assert.deepEqual([...query.keys()], ['phone', 'name', 'agent', 'callId'], where);
        assert.match(query.get('phone')!, /^\d+$/, where);
        assert.ok(![...query.values()].some((value) => value === 'null' || value === 'undefined'), where);
    },
    dynamics: (request, where) => {
        const body = json(request);
        assertJsonValues(body, [], where);
        // Dataverse types directioncode as a boolean and refuses a string there; its Web API speaks OData 4.0.
        assert.equal(typeof body.directioncode, 'boolean', where);
        assert.equal(typeof body.phonenumber, 'string', where);
        assert.match(body.subject, /\S/, where);
        assert.equal(request.headers['odata-version'], '4.0', where);
    },
};

describe('examples: calls that lack optional fields still make requests each target accepts', function () {
    this.timeout(180_000);
    let nodeRed: NodeRedProcess;
    let crm: Recorder;
    let providers: Map<string, Provider>;
    // Each variant's requests, by example slug.
    const byVariant = new Map<string, Map<string, Arrived[]>>();
    const variants: Array<{ name: string; missing: ReadonlySet<CallPart> }> = [
        ...OPTIONAL_PARTS.map((part) => ({ name: `no-${part}`, missing: new Set([part]) })),
        { name: 'nothing-optional', missing: new Set(OPTIONAL_PARTS) },
        // Everything missing except what the criteria filters ask for, so every example's body is built from it.
        {
            name: 'only-what-criteria-need',
            missing: new Set(OPTIONAL_PARTS.filter((part) => !['direction', 'group', 'externalNumber', 'recording'].includes(part))),
        },
    ];

    before(async () => {
        crm = await startRecorder();
        providers = await startProviders(crm);
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [] });
        const flows = loopbackFlows(crm, providers, () => ({ token: 't', user: 'u', password: 'p', apiKey: 'k' }));
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(flows),
        });
        assert.equal(deployed.status, 204, await deployed.text());
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
        for (const variant of variants) {
            const from = crm.arrived.length;
            for (const { flow } of examples) {
                for (const call of callsLacking(variant.name, variant.missing)) {
                    for (const event of call) {
                        const response = await fetch(`${nodeRed.url}/ccaas/examples/${slugOf(flow)}`, {
                            method: 'POST',
                            headers: { 'content-type': 'application/json' },
                            body: JSON.stringify(event),
                        });
                        assert.equal(response.status, 202, `${variant.name}: ${await response.text()}`);
                    }
                }
            }
            // The variant's requests are in once the count stops growing (bounded: 50 polls of 100 ms after the last).
            let seen = -1;
            for (let polls = 0; polls < 50 && seen !== crm.arrived.length; polls += 1) {
                seen = crm.arrived.length;
                await new Promise((resolve) => setTimeout(resolve, seen === from ? 200 : 400));
            }
            const requests = new Map<string, Arrived[]>();
            for (const request of crm.arrived.slice(from)) {
                const slug = slugOfTarget(request.target);
                requests.set(slug, [...(requests.get(slug) ?? []), request]);
            }
            byVariant.set(variant.name, requests);
        }
    });

    after(async () => {
        await nodeRed?.stop();
        await crm?.close();
        for (const provider of providers?.values() ?? []) await provider.stop();
    });

    for (const { flow, file } of examples) {
        const slug = slugOf(flow);
        // An example on OAuth 2.0 sends only tokens its provider issued.
        const oauth2 = flow.find((node) => node.type === 'ccaas-oauth2');
        it(`${file.replace(/\.json$/, '')}: a request the target accepts for each missing field and for all of them`, () => {
            const checked: string[] = [];
            for (const variant of variants) {
                const requests = byVariant.get(variant.name)?.get(slug) ?? [];
                const leftOutByCriteria = (CRITERIA_NEEDS[slug] ?? []).some((part) => variant.missing.has(part));
                if (!leftOutByCriteria) assert.ok(requests.length > 0, `${variant.name}: no request reached the ${slug} CRM\n${nodeRed.log().slice(-2000)}`);
                requests.forEach((request, index) => {
                    const where = `${slug} ${variant.name} #${index + 1}`;
                    ACCEPTS[slug]!(request, where);
                    if (oauth2)
                        assert.ok(
                            providers
                                .get(oauth2.id)!
                                .issued.map((token) => `Bearer ${token}`)
                                .includes(String(request.headers.authorization)),
                            `${where}: a token of its provider`,
                        );
                });
                if (requests.length > 0) checked.push(variant.name);
            }
            assert.ok(checked.includes('only-what-criteria-need'), `${slug}: checked ${checked.join(', ')}`);
        });
    }

    it('no node logged an error for any of these calls (a body that does not render is logged, not sent)', () => {
        assert.doesNotMatch(nodeRed.log(), /\[error\]/);
    });
});

interface SalesforceInstance {
    url: string;
    /** Every Task request, in order, with the answer it got. */
    tasks: Array<{ target: string; authorization: string; status: number; callObject: string }>;
    close(): Promise<void>;
}

/** A Salesforce org's REST API on 127.0.0.1: creates a Task for a token of a live session, answers 401 otherwise. */
async function startSalesforceInstance(liveSession: (token: string) => boolean): Promise<SalesforceInstance> {
    const tasks: SalesforceInstance['tasks'] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const authorization = String(req.headers.authorization ?? '');
            const live = authorization.startsWith('Bearer ') && liveSession(authorization.slice('Bearer '.length));
            const status = live ? 201 : 401;
            tasks.push({ target: req.url ?? '', authorization, status, callObject: JSON.parse(Buffer.concat(chunks).toString('utf8')).CallObject });
            res.writeHead(status, { 'content-type': 'application/json' });
            // Salesforce's answers, as its REST API documents them.
            res.end(
                JSON.stringify(
                    live
                        ? { id: `00T${String(tasks.length).padStart(15, '0')}`, success: true, errors: [] }
                        : [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
                ),
            );
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        tasks,
        close: () => {
            server.closeAllConnections();
            return new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

// Salesforce gives a token no lifetime: it lasts until the session times out, and then the org answers 401. The
// example promises that the next Task still arrives: one refresh, one more attempt.
describe('examples: 05 Salesforce when the session of its token times out', function () {
    this.timeout(120_000);
    const salesforce = examples.filter(({ flow }) => slugOf(flow) === 'salesforce');
    const expired = new Set<string>();
    let nodeRed: NodeRedProcess;
    let instance: SalesforceInstance;
    let providers: Map<string, Provider>;
    let provider: Provider;

    before(async () => {
        instance = await startSalesforceInstance((token) => provider.issued.includes(token) && !expired.has(token));
        providers = await startProviders(instance, salesforce);
        provider = providers.get('salesforce-oauth2')!;
        nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows: [] });
        const deployed = await fetch(`${nodeRed.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
            body: JSON.stringify(loopbackFlows(instance, providers, () => ({}), salesforce)),
        });
        assert.equal(deployed.status, 204, await deployed.text());
        await nodeRed.waitForLog(/Started flows[\s\S]*Updated flows[\s\S]*Started flows/);
    });

    after(async () => {
        await nodeRed?.stop();
        await instance?.close();
        await provider?.stop();
    });

    /** Plays one scripted call and waits (at most 10 s) until the instance has answered `count` Task requests. */
    async function play(call: RawEvent[], count: number): Promise<void> {
        for (const event of call) {
            const response = await fetch(`${nodeRed.url}/ccaas/examples/salesforce`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify(event),
            });
            assert.equal(response.status, 202);
        }
        const started = Date.now();
        while (instance.tasks.length < count && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
        // A request beyond the expected ones would arrive within this pause too.
        await new Promise((resolve) => setTimeout(resolve, 300));
    }

    it('a 401 for the timed-out session gets one new token from the same refresh token, and the Task is sent once more', async () => {
        const [answered, , outbound] = scriptedCalls();
        await play(answered!, 1);
        assert.equal(provider.issued.length, 1);
        expired.add(provider.issued[0]!);
        await play(outbound!, 3);
        assert.deepEqual(instance.tasks, [
            { target: SALESFORCE_TASKS, authorization: `Bearer ${provider.issued[0]}`, status: 201, callObject: 'call-a-1111' },
            { target: SALESFORCE_TASKS, authorization: `Bearer ${provider.issued[0]}`, status: 401, callObject: 'call-c-3333' },
            { target: SALESFORCE_TASKS, authorization: `Bearer ${provider.issued[1]}`, status: 201, callObject: 'call-c-3333' },
        ]);
        // Salesforce does not rotate the refresh token unless the connected app enables it: both refreshes use the one entered.
        assert.deepEqual(
            provider.seen.map((seen) => [seen.form.grant_type, seen.form.refresh_token]),
            [
                ['refresh_token', 'refresh-token-0'],
                ['refresh_token', 'refresh-token-0'],
            ],
        );
        assert.doesNotMatch(nodeRed.log(), /\[error\]/);
    });
});
