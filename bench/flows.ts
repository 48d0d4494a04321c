// The flows the benchmark deploys, as flow JSON: the nodes run with whatever defaults they have (a property left out
// here is the node's default), so the benchmark measures the package as users get it, delivery guarantees included.
// One exception: web service out's Concurrency is the number of connections the bench's own pools open (C's bare
// pool among them), so our client and the baseline send over as many connections.
import path from 'node:path';

/** Connections of every pool the load client opens, and web service out's Concurrency in these flows. */
export const BENCH_CONNECTIONS = 32;

/** The screen-pop job both pipelines do: every inbound call that rings is posted to the CRM as JSON. */
export const PATHS = { ours: '/bench/ours', core: '/bench/core', drain: '/bench/drain', redis: '/bench/redis' } as const;

// The body posted to the sink. `sent` is the hrtime stamp the event carried (in reportCallId), so the sink can time
// each request; the rest is what a CRM screen pop needs.
const OUR_TEMPLATE = `{
    "callId": "{{callId}}",
    "sent": "{{reportCallId}}",
    "event": "{{event}}",
    "direction": "{{direction}}",
    "caller": "{{callerName}}",
    "number": "{{externalNumber}}",
    "dnis": "{{dnis}}",
    "agent": "{{agent}}"
}`;

// The same body with the core template node (Mustache over msg.payload, the parsed request body).
const CORE_TEMPLATE = `{
    "callId": "{{payload.callId}}",
    "sent": "{{payload.reportCallId}}",
    "event": "{{payload.type}}",
    "direction": "{{payload.direction}}",
    "caller": "{{payload.callerName}}",
    "number": "{{payload.externalNumber}}",
    "dnis": "{{payload.dnis}}",
    "agent": "{{payload.agent.name}} ({{payload.agent.extension}})"
}`;

/** A body exactly like the template's, for the bare client (scenario C) and for web service out alone. */
export function crmBody(event: BenchEvent): Record<string, string> {
    return {
        callId: event.callId,
        sent: event.reportCallId,
        event: event.type,
        direction: event.direction,
        caller: event.callerName,
        number: event.externalNumber,
        dnis: event.dnis,
        agent: `${event.agent.name} (${event.agent.extension})`,
    };
}

export interface BenchEvent {
    type: 'presenting';
    callId: string;
    eventId: string;
    timestamp: number;
    reportCallId: string;
    direction: 'Inbound';
    callerName: string;
    externalNumber: string;
    dnis: string;
    startTime: number;
    agent: { name: string; extension: string };
    group: string;
}

/** A ringing inbound call, stamped with the hrtime of the moment it is sent. */
export function benchEvent(callId: string, sentNs: bigint): BenchEvent {
    const now = Date.now();
    return {
        type: 'presenting',
        callId,
        eventId: `${callId}-presenting`,
        timestamp: now,
        reportCallId: sentNs.toString(),
        direction: 'Inbound',
        callerName: 'Jane Example',
        externalNumber: '+15551234567',
        dnis: '+15557654321',
        startTime: now,
        agent: { name: 'John Doe', extension: '154' },
        group: 'Sales',
    };
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

/**
 * The web service out of A and W: msg.payload posted as JSON to the sink's CRM path, with the node's defaults but
 * for Concurrency.
 */
function crmOut(tab: string, sinkUrl: string, next: string[], timeoutSeconds?: number): FlowNode {
    return {
        id: `${tab}-out`,
        z: tab,
        type: 'web-service-out',
        name: 'CRM',
        method: 'POST',
        url: `${sinkUrl}/crm/calls`,
        bodyType: 'payload',
        contentType: 'application/json',
        authType: 'none',
        concurrency: BENCH_CONNECTIONS,
        ...(timeoutSeconds === undefined ? {} : { timeout: timeoutSeconds }),
        wires: [next],
    };
}

/** A: call event in -> criteria filter -> placeholder template (JSON) -> web service out. */
export function ourFlow(sinkUrl: string, tab = 'bench-ours', path: string = PATHS.ours, timeoutSeconds?: number): FlowNode[] {
    return [
        { id: tab, type: 'tab', label: `bench ${path}` },
        { id: `${tab}-in`, z: tab, type: 'call-event-in', path, source: 'raw', auth: 'none', events: ['presenting'], wires: [[`${tab}-filter`]] },
        {
            id: `${tab}-filter`,
            z: tab,
            type: 'criteria-filter',
            rules: [{ field: 'direction', op: 'eq', value: 'Inbound' }],
            match: 'all',
            outputs: 1,
            wires: [[`${tab}-template`]],
        },
        {
            id: `${tab}-template`,
            z: tab,
            type: 'placeholder-template',
            property: 'payload',
            format: 'json',
            output: 'parsed',
            template: OUR_TEMPLATE,
            wires: [[`${tab}-out`]],
        },
        crmOut(tab, sinkUrl, [], timeoutSeconds),
    ];
}

/**
 * The backlog drain's pipeline: A with a long timeout (a stalled sink keeps requests in flight) and an outbox that
 * takes the whole backlog (the default maxQueued of 10,000 would refuse most of it).
 */
export function drainFlow(sinkUrl: string, backlog: number): FlowNode[] {
    const flow = ourFlow(sinkUrl, 'bench-drain', PATHS.drain, 600);
    for (const node of flow) {
        if (node.type === 'web-service-out') Object.assign(node, { maxQueued: Math.max(10_000, backlog * 2), maxQueuedSize: 512 });
        if (node.type === 'call-event-in') node.maxCalls = Math.max(50_000, backlog * 2);
    }
    return flow;
}

/**
 * A with its call state and outbox in Redis (issue 17): the same nodes, Store set on call event in and web service
 * out. Every instance of a cluster deploys exactly this flow (the same node ids), so they share one call state and
 * one outbox.
 */
export function redisFlow(sinkUrl: string, redisUrl: string): FlowNode[] {
    const tab = 'bench-redis';
    const flow = ourFlow(sinkUrl, tab, PATHS.redis);
    for (const node of flow) if (node.type === 'call-event-in' || node.type === 'web-service-out') node.store = `${tab}-store`;
    return [...flow, { id: `${tab}-store`, type: 'ccaas-redis', url: redisUrl, prefix: 'bench' }];
}

/**
 * Web service out alone: a feeder node of the benchmark's own (bench/nodes/bench-feeder.js) keeps `window` messages
 * in flight (each success coming back out of web service out releases the next), so what is measured is the node and
 * Node-RED's message passing, not an inbound HTTP server nor a function node's sandbox. The inject node starts a
 * round; its payload says how many.
 */
export function outAloneFlow(sinkUrl: string, count: number, window: number): FlowNode[] {
    const tab = 'bench-out-alone';
    return [
        { id: tab, type: 'tab', label: 'bench web service out alone' },
        {
            id: `${tab}-start`,
            z: tab,
            type: 'inject',
            props: [{ p: 'payload' }, { p: 'start', v: 'true', vt: 'bool' }],
            payload: JSON.stringify({ count, window }),
            payloadType: 'json',
            repeat: '',
            once: false,
            wires: [[`${tab}-feeder`]],
        },
        { id: `${tab}-feeder`, z: tab, type: 'bench-feeder', wires: [[`${tab}-out`]] },
        crmOut(tab, sinkUrl, [`${tab}-feeder`]),
    ];
}

/** Node-RED settings that load the benchmark's own nodes (the feeder of scenario W). */
export const BENCH_NODES_SETTINGS = `nodesDir: ${JSON.stringify(path.join(__dirname, 'nodes'))},`;

/** B: the same job with core nodes: http in -> switch -> template -> http request -> http response. */
export function coreFlow(sinkUrl: string): FlowNode[] {
    const tab = 'bench-core';
    return [
        { id: tab, type: 'tab', label: 'bench core nodes' },
        { id: `${tab}-in`, z: tab, type: 'http in', url: PATHS.core, method: 'post', upload: false, swaggerDoc: '', wires: [[`${tab}-switch`]] },
        {
            id: `${tab}-switch`,
            z: tab,
            type: 'switch',
            property: 'payload.direction',
            propertyType: 'msg',
            rules: [{ t: 'eq', v: 'Inbound', vt: 'str' }],
            checkall: 'true',
            repair: false,
            outputs: 1,
            wires: [[`${tab}-template`]],
        },
        {
            id: `${tab}-template`,
            z: tab,
            type: 'template',
            field: 'payload',
            fieldType: 'msg',
            format: 'handlebars',
            syntax: 'mustache',
            template: CORE_TEMPLATE,
            output: 'json',
            wires: [[`${tab}-request`]],
        },
        {
            id: `${tab}-request`,
            z: tab,
            type: 'http request',
            method: 'POST',
            ret: 'txt',
            paytoqs: 'ignore',
            url: `${sinkUrl}/crm/calls`,
            tls: '',
            // Keep-alive, as a user tuning for throughput would set it: the fairest baseline.
            persist: true,
            proxy: '',
            insecureHTTPParser: false,
            authType: '',
            senderr: false,
            headers: [],
            wires: [[`${tab}-response`]],
        },
        { id: `${tab}-response`, z: tab, type: 'http response', statusCode: '', headers: {}, wires: [] },
    ];
}
