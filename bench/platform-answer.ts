#!/usr/bin/env node
// `npm run bench:answer`: how long call event in takes to answer a platform that disables an endpoint which answers
// slowly (Zoom and RingCentral allow about 3 seconds), against Node-RED's own `http in -> http response` in the same
// run and the same process. The README's Performance section quotes it.
//
//   node -r tsx/cjs bench/platform-answer.ts [--rate N] [--seconds N] [--burst N] [--smoke]
//
// Three parts: (1) each adapter's own cost per request, in this process (signature check and mapping, no HTTP);
// (2) signed Zoom call events paced at --rate per second for --seconds, into a real Node-RED whose call event in
// answers only once the call state is on disk (the file store, as a user gets it), and the same pace into the core
// flow; (3) a burst of --burst requests sent at once over 32 connections, to each. Node-RED runs in a process of its
// own; this process is the load client.
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'undici';
import type { WebhookAdapter } from '../src/adapters/adapter';
import { amazonConnectAdapter } from '../src/adapters/amazon-connect';
import { genesysCloudAdapter } from '../src/adapters/genesys-cloud';
import { ringcentralAdapter } from '../src/adapters/ringcentral';
import { zoomAdapter, zoomSignature } from '../src/adapters/zoom';
import { startNodeRed, userDirWithPackage } from '../test/support/node-red-process';

const SECRET = 'bench-zoom-secret-token';
const FIXTURES = path.resolve(__dirname, '../test/fixtures/adapters');
const PATHS = { zoom: '/bench/zoom', core: '/bench/core' } as const;
const CONNECTIONS = 32;

function option(name: string, fallback: number): number {
    const index = process.argv.indexOf(name);
    return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const smoke = process.argv.includes('--smoke');
const rate = option('--rate', smoke ? 20 : 100);
const seconds = option('--seconds', smoke ? 2 : 30);
const burst = option('--burst', smoke ? 64 : 1000);

const fixture = (platform: string, name: string): string => fs.readFileSync(path.join(FIXTURES, platform, name), 'utf8');
/** One Zoom Phone call: rung, answered, ended; the bodies of the fixtures with this call's id and times. */
const ZOOM_LIFE = ['1-phone.callee_ringing-mary.json', '4-phone.callee_answered.json', '6-phone.callee_ended.json'].map((name) =>
    JSON.parse(fixture('zoom', name)),
);

function zoomRequest(index: number): { body: string; headers: Record<string, string> } {
    const event = structuredClone(ZOOM_LIFE[index % ZOOM_LIFE.length]);
    event.payload.object.call_id = `bench-${Math.floor(index / ZOOM_LIFE.length)}`;
    event.event_ts = Date.now();
    const body = JSON.stringify(event);
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
        body,
        headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': zoomSignature(SECRET, timestamp, body) },
    };
}

interface Percentiles {
    count: number;
    failed: number;
    p50: number;
    p99: number;
    max: number;
}

function percentiles(values: number[], failed: number): Percentiles {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    return { count: values.length, failed, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

/** The time of every answer, from sending to the answer's end. */
async function send(
    pool: Pool,
    pathName: string,
    requests: Array<() => { body: string; headers: Record<string, string> }>,
    paceMs: number,
): Promise<Percentiles> {
    const times: number[] = [];
    let failed = 0;
    const started = performance.now();
    const pending = requests.map(async (make, index) => {
        const due = started + index * paceMs;
        if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
        const { body, headers } = make();
        const sent = performance.now();
        try {
            const response = await pool.request({ path: pathName, method: 'POST', headers, body });
            await response.body.dump();
            if (response.statusCode === 200) times.push(performance.now() - sent);
            else failed += 1;
        } catch {
            failed += 1;
        }
    });
    await Promise.all(pending);
    return percentiles(times, failed);
}

/** Each adapter's own cost: receive() of one documented request, many times, in this process. */
function adapterCost(): Array<{ platform: string; microseconds: number }> {
    const signedZoom = zoomRequest(1);
    const ringcentralBody = JSON.parse(fixture('ringcentral', '07-agent-answered.json'));
    ringcentralBody.body.eventTime = new Date().toISOString();
    const cases: Array<{ platform: string; adapter: WebhookAdapter; body: string; headers: Record<string, string> }> = [
        { platform: 'zoom', adapter: zoomAdapter({ secretToken: SECRET }), body: signedZoom.body, headers: signedZoom.headers },
        {
            platform: 'ringcentral',
            adapter: ringcentralAdapter({ verificationToken: SECRET }),
            body: JSON.stringify(ringcentralBody),
            headers: { 'content-type': 'application/json', 'verification-token': SECRET },
        },
        ...(['amazon-connect', 'genesys-cloud'] as const).map((platform) => {
            const first = fs
                .readdirSync(path.join(FIXTURES, platform))
                .filter((name) => name.endsWith('.json'))
                .sort()[0]!;
            const adapter = platform === 'amazon-connect' ? amazonConnectAdapter() : genesysCloudAdapter();
            return { platform, adapter, body: fixture(platform, first), headers: { 'content-type': 'application/json' } };
        }),
    ];
    const rounds = smoke ? 200 : 20_000;
    return cases.map(({ platform, adapter, body, headers }) => {
        const request = { headers, rawBody: Buffer.from(body) };
        const outcome = adapter.receive(request);
        if (!outcome.ok) throw new Error(`${platform}: the bench request is refused: ${outcome.error.message}`);
        const started = performance.now();
        for (let i = 0; i < rounds; i++) adapter.receive(request);
        return { platform, microseconds: ((performance.now() - started) * 1000) / rounds };
    });
}

const flows = [
    { id: 'answer', type: 'tab', label: 'platform answer' },
    { id: 'answer-zoom', z: 'answer', type: 'call-event-in', path: PATHS.zoom, source: 'zoom', credentials: { platformSecret: SECRET }, wires: [[]] },
    { id: 'answer-core-in', z: 'answer', type: 'http in', url: PATHS.core, method: 'post', upload: false, swaggerDoc: '', wires: [['answer-core-out']] },
    { id: 'answer-core-out', z: 'answer', type: 'http response', statusCode: '200', headers: {}, wires: [] },
];

const fixed = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : 'n/a');
const line = (label: string, p: Percentiles): string =>
    `${label.padEnd(34)} ${String(p.count).padStart(6)} ok ${String(p.failed).padStart(4)} failed   p50 ${fixed(p.p50).padStart(7)}   p99 ${fixed(p.p99).padStart(7)}   max ${fixed(p.max).padStart(7)} ms`;

async function main(): Promise<void> {
    const costs = adapterCost();
    const nodeRed = await startNodeRed({ userDir: userDirWithPackage(), flows });
    const pool = new Pool(nodeRed.url, { connections: CONNECTIONS });
    try {
        await nodeRed.waitForLog(/Started flows/);
        const paced = Math.round(rate * seconds);
        const zoomMakers = (count: number, offset: number) => Array.from({ length: count }, (_, i) => () => zoomRequest(offset + i));
        const coreMakers = (count: number) => Array.from({ length: count }, () => () => ({ body: '{}', headers: { 'content-type': 'application/json' } }));
        // A short warm-up of both routes, not counted.
        await send(pool, PATHS.zoom, zoomMakers(60, 10_000_000), 0);
        await send(pool, PATHS.core, coreMakers(60), 0);
        const zoomPaced = await send(pool, PATHS.zoom, zoomMakers(paced, 0), 1000 / rate);
        const corePaced = await send(pool, PATHS.core, coreMakers(paced), 1000 / rate);
        const zoomBurst = await send(pool, PATHS.zoom, zoomMakers(burst, 20_000_000), 0);
        const coreBurst = await send(pool, PATHS.core, coreMakers(burst), 0);

        console.log(`platform answer time on ${nodeRed.url}: ${rate}/s for ${seconds} s, then ${burst} at once over ${CONNECTIONS} connections`);
        for (const { platform, microseconds } of costs)
            console.log(`adapter ${platform.padEnd(15)} receive() ${microseconds.toFixed(1).padStart(7)} us per request`);
        console.log(line(`zoom -> call event in, ${rate}/s`, zoomPaced));
        console.log(line(`core http in -> http response`, corePaced));
        console.log(line(`zoom -> call event in, burst`, zoomBurst));
        console.log(line(`core http in -> http response`, coreBurst));
        console.log(
            `ratios (call event in / core): paced p99 ${fixed(zoomPaced.p99 / corePaced.p99)}x, burst p99 ${fixed(zoomBurst.p99 / coreBurst.p99)}x; ` +
                `worst answer ${fixed(Math.max(zoomPaced.max, zoomBurst.max))} ms of the platforms' 3000 ms`,
        );
        if (zoomPaced.failed + zoomBurst.failed + corePaced.failed + coreBurst.failed > 0) process.exitCode = 1;
    } finally {
        await pool.close();
        await nodeRed.stop();
    }
}

main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
});
