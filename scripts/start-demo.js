#!/usr/bin/env node
// `npm start`: a local Node-RED (the dev dependency) on 127.0.0.1 with its own user directory in the checkout,
// this package linked into it, and a demo that runs offline: the example flows pointed at a stand-in CRM served by
// the same Node-RED, fed with realistic calls by the simulator. Nothing outside this machine is needed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
// DEMO_USER_DIR lets the demo's own test run it without touching a developer's .node-red/.
const userDir = process.env.DEMO_USER_DIR ? path.resolve(process.env.DEMO_USER_DIR) : path.join(root, '.node-red');
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 1880);
const base = `http://${host}:${port}`;
const { simulateCalls } = require(path.join(root, 'dist', 'simulator', 'simulate.js'));
const { linkPackage } = require('./link-package');

linkPackage(userDir, root);
fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `// Written by scripts/start-demo.js on each start.
module.exports = {
    uiHost: ${JSON.stringify(host)},
    uiPort: ${port},
    flowFile: 'flows.json',
    flowFilePretty: true,
    // The demo's only credentials are the stand-in CRM's made-up tokens, kept readable in flows_cred.json.
    credentialSecret: false,
    // The update-notification question blocks the canvas on first load, and the check needs the internet.
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false },
};
`,
);

/** A stand-in CRM in the same Node-RED: it answers every example's request, as a real CRM would. */
function standInCrm() {
    const tab = 'demo-crm';
    const answer = {
        id: 'demo-crm-answer',
        type: 'change',
        z: tab,
        name: 'record created',
        rules: [
            { t: 'set', p: 'payload', pt: 'msg', to: '{"ok":true,"id":$string($millis())}', tot: 'jsonata' },
            { t: 'set', p: 'statusCode', pt: 'msg', to: '201', tot: 'num' },
        ],
        x: 380,
        y: 140,
        wires: [['demo-crm-response']],
    };
    const methods = ['post', 'put', 'get'].map((method, index) => ({
        id: `demo-crm-${method}`,
        type: 'http in',
        z: tab,
        name: '',
        url: '/crm/:example',
        method,
        upload: false,
        x: 150,
        y: 100 + index * 40,
        wires: [['demo-crm-answer']],
    }));
    // Salesforce's REST path below the instance URL the stand-in token endpoint hands out: an origin, this Node-RED.
    const salesforce = {
        id: 'demo-crm-sobjects',
        type: 'http in',
        z: tab,
        name: '',
        url: '/services/data/:version/sobjects/:object',
        method: 'post',
        upload: false,
        x: 150,
        y: 220,
        wires: [['demo-crm-answer']],
    };
    // The OAuth 2.0 provider of the examples that use one: every token request gets a token for an hour.
    const token = [
        {
            id: 'demo-crm-token-in',
            type: 'http in',
            z: tab,
            name: '',
            url: '/crm-oauth/:example/token',
            method: 'post',
            upload: false,
            x: 150,
            y: 300,
            wires: [['demo-crm-token']],
        },
        {
            id: 'demo-crm-token',
            type: 'change',
            z: tab,
            name: 'access token',
            rules: [
                {
                    t: 'set',
                    p: 'payload',
                    pt: 'msg',
                    to: `{"access_token":"demo-access-" & $string($millis()),"token_type":"Bearer","expires_in":3600,"instance_url":"${base}"}`,
                    tot: 'jsonata',
                },
            ],
            x: 380,
            y: 300,
            wires: [['demo-crm-response']],
        },
    ];
    return [
        {
            id: tab,
            type: 'tab',
            label: 'Stand-in CRM',
            info: 'Plays the CRMs of the examples, so the demo needs no account: every request gets 201 and a JSON answer.',
        },
        { id: 'demo-crm-comment', type: 'comment', z: tab, name: 'The CRMs of the examples, served by this Node-RED', info: '', x: 230, y: 40, wires: [] },
        ...methods,
        salesforce,
        ...token,
        answer,
        {
            id: 'demo-crm-response',
            type: 'http response',
            z: tab,
            name: '',
            statusCode: '',
            headers: { 'content-type': 'application/json' },
            x: 570,
            y: 140,
            wires: [],
        },
    ];
}

const examples = fs
    .readdirSync(path.join(root, 'examples'))
    .filter((file) => /^\d\d .*\.json$/.test(file))
    .map((file) => JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')));
const credentials = {};
// The demo tab's own call event in first: its debug node shows every trigger of the calls played into it.
const endpoints = [`${base}/ccaas/demo/call-events`];
const flows = [...JSON.parse(fs.readFileSync(path.join(root, 'examples', 'demo.json'), 'utf8')), ...standInCrm()];
for (const flow of examples) {
    const slug = flow
        .find((node) => node.type === 'call-event-in')
        .path.split('/')
        .pop();
    endpoints.push(`${base}/ccaas/examples/${slug}`);
    for (const node of flow) {
        if (node.type === 'tab' && node.env) node.env = node.env.map((variable) => ({ ...variable, value: `${base}/crm/${slug}` }));
        if (node.type === 'web-service-out')
            credentials[node.id] = { token: 'demo-token', user: 'demo@example.com/token', password: 'demo-password', apiKey: 'demo-key' };
        if (node.type === 'ccaas-oauth2') {
            node.tokenUrl = `${base}/crm-oauth/${slug}/token`;
            credentials[node.id] = { clientId: 'demo-client', clientSecret: 'demo-secret', refreshToken: 'demo-refresh-token' };
        }
        flows.push(node);
    }
}
// Rewritten on each start, so the demo always matches the nodes and examples of this checkout.
fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(credentials, null, 2));

/** Plays a few calls into every example at start, then one call per example every 20 s for an hour at most. */
async function feedCalls() {
    const playRound = (calls) =>
        Promise.all(endpoints.map((url, index) => simulateCalls({ url, calls, rate: 1, paceMs: 600, seed: Date.now() + index, maxSeconds: 60 })));
    await playRound(2);
    for (let round = 0; round < 180 && !red.killed; round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        await playRound(1);
    }
}

const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    stdio: ['inherit', 'pipe', 'inherit'],
});
let announced = false;
red.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (!announced && /Server now running/.test(String(chunk))) {
        announced = true;
        process.stdout.write(
            `\nThe demo is running. Open the editor at ${base}/ and watch the debug sidebar:\n` +
                `each example tab sends its requests to the stand-in CRM as simulated calls arrive.\n` +
                `Play more calls with the button on any "call event in" node, or: node dist/simulator/cli.js --url ${endpoints[0]}\n\n`,
        );
        feedCalls().catch((err) => process.stderr.write(`demo simulator: ${err.message}\n`));
    }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => red.kill(signal));
red.on('exit', (code) => process.exit(code ?? 0));
