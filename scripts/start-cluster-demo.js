#!/usr/bin/env node
// `npm run demo:cluster`: two Node-RED instances of one flow sharing a local redis-server, behind a round-robin
// proxy, fed by the simulator, posting to a stand-in CRM that counts what it gets. Kill either instance (its pid is
// printed) and watch the other carry on: the CRM's count goes on growing and no trigger is lost.
//
// Everything listens on 127.0.0.1: the proxy (the address the simulator posts to) on PORT (default 1880), the
// instances on PORT+1 and PORT+2, the CRM on PORT+10, Redis on PORT+20. State lives in .node-red-cluster/.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const base = process.env.CLUSTER_DEMO_DIR ? path.resolve(process.env.CLUSTER_DEMO_DIR) : path.join(root, '.node-red-cluster');
const port = Number(process.env.PORT || 1880);
const ports = { proxy: port, instances: [port + 1, port + 2], crm: port + 10, redis: port + 20 };
const { simulateCalls } = require(path.join(root, 'dist', 'simulator', 'simulate.js'));
const { linkPackage } = require('./link-package');
const children = [];

function say(line) {
    process.stdout.write(`[cluster demo] ${line}\n`);
}

function stopAll(code) {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

if (spawnSync('redis-server', ['--version']).error) {
    say('redis-server is not installed: run `npm run test:prerequisites` (Debian: apt-get install -y redis-server), then try again.');
    process.exit(1);
}

function waitForOutput(child, pattern, what) {
    return new Promise((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s:\n${output}`)), 60_000);
        const collect = (chunk) => {
            output += chunk.toString();
            if (pattern.test(output)) {
                clearTimeout(timer);
                resolve();
            }
        };
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`${what} exited (${code}) before it was ready:\n${output}`));
        });
    });
}

/**
 * The stand-in CRM: 201 for every request, counting requests and repeats: a request whose idempotency key and body
 * it has had before. (The key alone repeats by design when a call rings a second agent: both are Call is
 * Presenting of one call; their bodies name different agents.)
 */
function startCrm() {
    const seen = new Set();
    const stats = { requests: 0, repeated: 0 };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => {
            stats.requests += 1;
            const request = `${req.headers['idempotency-key']} ${Buffer.concat(chunks).toString('utf8')}`;
            if (seen.has(request)) stats.repeated += 1;
            seen.add(request);
            res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
    });
    return new Promise((resolve) => server.listen(ports.crm, '127.0.0.1', () => resolve(stats)));
}

function flows() {
    const tab = 'cluster-demo';
    return [
        { id: tab, type: 'tab', label: 'Cluster demo' },
        { id: 'cluster-demo-redis', type: 'ccaas-redis', name: 'local Redis', url: `redis://127.0.0.1:${ports.redis}`, prefix: 'ccaas-demo' },
        {
            id: 'cluster-demo-events',
            type: 'call-event-in',
            z: tab,
            name: 'call events (shared in Redis)',
            path: '/ccaas/call-events',
            source: 'raw',
            events: [],
            auth: 'none',
            recordingWait: 1,
            retention: 60,
            maxCalls: 50000,
            store: 'cluster-demo-redis',
            x: 190,
            y: 100,
            wires: [['cluster-demo-send', 'cluster-demo-debug']],
        },
        {
            id: 'cluster-demo-send',
            type: 'web-service-out',
            z: tab,
            name: 'stand-in CRM (shared outbox)',
            method: 'POST',
            url: `http://127.0.0.1:${ports.crm}/crm`,
            params: [],
            headers: [],
            form: [],
            bodyType: 'custom',
            contentType: 'application/json',
            body: '{\n    "callId": "{{callId}}",\n    "event": "{{event}}",\n    "agent": "{{agent}}",\n    "updateSeq": "{{updateSeq}}"\n}',
            authType: 'none',
            timeout: 5,
            retries: '1s, 5s, 30s, 2m',
            concurrency: 8,
            store: 'cluster-demo-redis',
            x: 500,
            y: 100,
            wires: [[]],
        },
        { id: 'cluster-demo-debug', type: 'debug', z: tab, name: 'triggers', active: true, complete: 'call', x: 450, y: 160, wires: [] },
    ];
}

function settingsFor(instancePort) {
    return `// Written by scripts/start-cluster-demo.js on each start.
module.exports = {
    uiHost: '127.0.0.1',
    uiPort: ${instancePort},
    flowFile: 'flows.json',
    credentialSecret: false,
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false },
};
`;
}

function startInstance(name, instancePort) {
    const userDir = path.join(base, name);
    linkPackage(userDir, root);
    fs.writeFileSync(path.join(userDir, 'settings.js'), settingsFor(instancePort));
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows(), null, 2));
    const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const instance = { name, port: instancePort, child, up: false };
    child.once('exit', (code, signal) => {
        instance.up = false;
        say(`instance ${name} (pid ${child.pid}) ended (${signal ?? code}); the proxy sends everything to the other one`);
    });
    return waitForOutput(child, /Server now running at/, `Node-RED instance ${name}`).then(() => {
        instance.up = true;
        return instance;
    });
}

/** Round robin over the instances that answer; a request refused by a dead one goes to the next. */
function startProxy(instances) {
    let next = 0;
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            const tryInstance = (left) => {
                const instance = instances[next++ % instances.length];
                const forward = http.request({ host: '127.0.0.1', port: instance.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
                    res.writeHead(answer.statusCode ?? 502, answer.headers);
                    answer.pipe(res);
                });
                forward.on('error', () => {
                    if (left > 1) tryInstance(left - 1);
                    else res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"no instance answers"}');
                });
                forward.end(body);
            };
            tryInstance(instances.length);
        });
    });
    return new Promise((resolve) => server.listen(ports.proxy, '127.0.0.1', () => resolve(server)));
}

async function main() {
    fs.mkdirSync(path.join(base, 'redis'), { recursive: true });
    const redis = spawn(
        'redis-server',
        [
            '--bind',
            '127.0.0.1',
            '--port',
            String(ports.redis),
            '--dir',
            path.join(base, 'redis'),
            '--appendonly',
            'yes',
            '--appendfsync',
            'always',
            '--save',
            '',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(redis);
    await waitForOutput(redis, /Ready to accept connections/, 'redis-server');
    say(`redis-server on 127.0.0.1:${ports.redis} (append-only file in ${path.join(base, 'redis')})`);
    const crm = await startCrm();
    const instances = await Promise.all([startInstance('a', ports.instances[0]), startInstance('b', ports.instances[1])]);
    await startProxy(instances);
    for (const instance of instances) say(`instance ${instance.name}: editor http://127.0.0.1:${instance.port}/ (pid ${instance.child.pid})`);
    say(`round-robin proxy: http://127.0.0.1:${ports.proxy}/ccaas/call-events; stand-in CRM on 127.0.0.1:${ports.crm}`);
    say(`try: kill ${instances[0].child.pid}   (instance a) and watch the CRM count go on; Ctrl-C stops everything`);

    const url = `http://127.0.0.1:${ports.proxy}/ccaas/call-events`;
    let calls = 0;
    const play = () => {
        calls += 3;
        simulateCalls({ url, calls: 3, rate: 1, paceMs: 400, seed: Date.now(), maxSeconds: 60 }).catch((err) => say(`simulator: ${err.message}`));
    };
    play();
    setInterval(play, 5000);
    setInterval(() => {
        const state = instances.map((instance) => `${instance.name} ${instance.up ? 'up' : 'down'}`).join(', ');
        say(`calls played ${calls}; CRM got ${crm.requests} requests (${crm.repeated} repeats); instances: ${state}`);
    }, 5000);
}

main().catch((err) => {
    say(err.message);
    stopAll(1);
});
