#!/usr/bin/env node
// `npm run demo:cluster`: two Node-RED instances of one flow sharing a local Redis, behind a round-robin proxy, fed
// by the simulator (each event sent again until 202, as a platform does), posting to a stand-in CRM that counts
// what it gets. Kill either instance (its pid is printed) and watch the other carry on: the CRM's count goes on
// growing and no trigger is lost.
//
// `npm run demo:cluster -- --sentinel`: the same on a Redis primary, two replicas and three Sentinels, the flow's
// Redis in sentinel mode with minReplicas 1. Kill the primary (its pid and the command are printed, or
// --failover-after N does it N seconds into the play) and watch Sentinel promote a replica, call event in answer 503
// during the gap and 202 again after it, and the CRM's count go on.
//
// --play-for N stops playing calls after N seconds, waits for the CRM to get every trigger owed, prints the tally
// (triggers answered 202 against those the CRM received, and under how many idempotency keys) and ends; Ctrl-C
// prints the tally as it stands and ends. Without --play-for the demo plays until Ctrl-C.
//
// Everything listens on 127.0.0.1: the proxy (the address the simulator posts to) on PORT (default 1880), the
// instances on PORT+1 and PORT+2, the CRM on PORT+10, Redis on PORT+20 (sentinel mode: the primary on PORT+20, the
// replicas on PORT+21 and PORT+22, the Sentinels on PORT+30 to PORT+32). State lives in .node-red-cluster/
// (CLUSTER_DEMO_DIR overrides it).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const base = process.env.CLUSTER_DEMO_DIR ? path.resolve(process.env.CLUSTER_DEMO_DIR) : path.join(root, '.node-red-cluster');
const port = Number(process.env.PORT || 1880);
const ports = {
    proxy: port,
    instances: [port + 1, port + 2],
    crm: port + 10,
    redis: port + 20,
    replicas: [port + 21, port + 22],
    sentinels: [port + 30, port + 31, port + 32],
};
const { linkPackage } = require('./link-package');
const { ChildProcesses, onLines, running, until, waitForOutput } = require('./cluster-demo/child-processes');
const { CallPlayer } = require('./cluster-demo/call-player');
const { primaryPortNamed, startSentinelGroup, startStandaloneRedis } = require('./cluster-demo/redis-processes');
const { startStandInCrm } = require('./cluster-demo/stand-in-crm');

const RECORDING_WAIT_MINUTES = 1;
/** How long the end of a --play-for run waits for the CRM: past the 30 s lease of a trigger whose 202 was lost. */
const DRAIN_MS = 90_000;

function say(line) {
    process.stdout.write(`[cluster demo] ${line}\n`);
}

function options() {
    const usage = 'usage: npm run demo:cluster [-- [--sentinel [--failover-after SECONDS]] [--play-for SECONDS]]';
    let values;
    try {
        ({ values } = parseArgs({
            options: { sentinel: { type: 'boolean' }, 'failover-after': { type: 'string' }, 'play-for': { type: 'string' }, help: { type: 'boolean' } },
        }));
    } catch (err) {
        say(`${err.message}\n${usage}`);
        process.exit(2);
    }
    if (values.help) {
        say(usage);
        process.exit(0);
    }
    const seconds = (name) => {
        const text = values[name];
        if (text === undefined) return undefined;
        const number = Number(text);
        if (!Number.isFinite(number) || number <= 0) {
            say(`--${name}: must be a number of seconds above 0, not "${text}"\n${usage}`);
            process.exit(2);
        }
        return number;
    };
    const failoverAfter = seconds('failover-after');
    if (failoverAfter !== undefined && !values.sentinel) {
        say(`--failover-after kills the Redis primary of sentinel mode: add --sentinel\n${usage}`);
        process.exit(2);
    }
    return { sentinel: values.sentinel === true, failoverAfter, playFor: seconds('play-for') };
}

const settings = options();
const children = new ChildProcesses();
let player;
let crm;
const refusedByWebServiceOut = [];

async function stopAll(code) {
    if (children.stopping) return;
    await children.stopAll();
    process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
        if (children.stopping) return;
        if (player && crm) printTally('at the stop (a trigger still on its way counts as missing)');
        stopAll(0);
    });
}

if (spawnSync('redis-server', ['--version']).error) {
    say('redis-server is not installed: run `npm run test:prerequisites` (Debian: apt-get install -y redis-server), then try again.');
    process.exit(1);
}

function redisNode(group) {
    const common = { id: 'cluster-demo-redis', type: 'ccaas-redis', prefix: 'ccaas-demo' };
    if (!group) return { ...common, name: 'local Redis', url: `redis://127.0.0.1:${ports.redis}` };
    return {
        ...common,
        name: 'local Redis under Sentinel',
        mode: 'sentinel',
        url: '',
        sentinels: group.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
        masterName: group.masterName,
        // A 202 or done() waits for one replica to have the write, so the primary's death loses nothing acknowledged.
        minReplicas: 1,
        replicaWait: 1000,
    };
}

/**
 * Sentinel mode adds a Catch of web service out's refusals (a trigger on its way to the outbox in the instant the
 * primary died is refused with `store` and not sent), logged by the instance so the tally can name them.
 */
function refusalsLog(tab) {
    return [
        {
            id: 'cluster-demo-refused',
            type: 'catch',
            z: tab,
            name: 'refused by web service out',
            scope: ['cluster-demo-send'],
            uncaught: false,
            x: 190,
            y: 220,
            wires: [['cluster-demo-refused-log']],
        },
        {
            id: 'cluster-demo-refused-log',
            type: 'function',
            z: tab,
            name: 'log it',
            func: 'node.warn("refused by web service out: " + (msg.call ? msg.call.callId + " " + msg.call.event + " " : "") + msg.error.code + ": " + msg.error.message);\nreturn null;',
            outputs: 0,
            x: 450,
            y: 220,
            wires: [],
        },
    ];
}

function flows(group) {
    const tab = 'cluster-demo';
    return [
        { id: tab, type: 'tab', label: 'Cluster demo' },
        redisNode(group),
        {
            id: 'cluster-demo-events',
            type: 'call-event-in',
            z: tab,
            name: 'call events (shared in Redis)',
            path: '/ccaas/call-events',
            source: 'raw',
            events: [],
            auth: 'none',
            recordingWait: RECORDING_WAIT_MINUTES,
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
        ...(group ? refusalsLog(tab) : []),
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

function startInstance(name, instancePort, group) {
    const userDir = path.join(base, name);
    linkPackage(userDir, root);
    fs.writeFileSync(path.join(userDir, 'settings.js'), settingsFor(instancePort));
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows(group), null, 2));
    const child = children.spawn('node-red', process.execPath, [
        require.resolve('node-red/red.js'),
        '--userDir',
        userDir,
        '--settings',
        path.join(userDir, 'settings.js'),
    ]);
    const instance = { name, port: instancePort, child, up: false };
    child.once('exit', (code, signal) => {
        instance.up = false;
        if (!children.stopping) say(`instance ${name} (pid ${child.pid}) ended (${signal ?? code}); the proxy sends everything to the other one`);
    });
    onLines(child, (line) => {
        const refused = /refused by web service out: (.*)$/.exec(line);
        if (!refused) return;
        refusedByWebServiceOut.push(refused[1]);
        say(`instance ${name}: ${refused[0]}`);
    });
    return waitForOutput(child, /Server now running at/, `Node-RED instance ${name}`).then(() => {
        instance.up = true;
        return instance;
    });
}

/**
 * Round robin over the instances that answer; a request refused by a dead one goes to the next, each instance tried
 * once (counted from the request's own turn: requests side by side move the shared turn on meanwhile).
 */
function startProxy(instances) {
    let next = 0;
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            const first = next++;
            const tryInstance = (tried) => {
                const instance = instances[(first + tried) % instances.length];
                const forward = http.request({ host: '127.0.0.1', port: instance.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
                    res.writeHead(answer.statusCode ?? 502, answer.headers);
                    answer.pipe(res);
                });
                forward.on('error', () => {
                    if (res.headersSent) res.destroy();
                    else if (tried + 1 < instances.length) tryInstance(tried + 1);
                    else res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"no instance answers"}');
                });
                forward.end(body);
            };
            tryInstance(0);
        });
    });
    return new Promise((resolve) => server.listen(ports.proxy, '127.0.0.1', () => resolve(server)));
}

/** What the CRM got against what the 202s promised, for the calls of this run. */
function tally() {
    const owed = [...player.owed.keys()];
    const received = owed.filter((name) => crm.triggers.has(name));
    const missing = owed.filter((name) => !crm.triggers.has(name));
    const repeats = received.reduce((sum, name) => sum + crm.triggers.get(name).requests - 1, 0);
    const twoKeys = received.filter((name) => crm.triggers.get(name).keys.size > 1);
    const unowed = [...crm.triggers].filter(([name, trigger]) => player.callIds.has(trigger.callId) && !player.owed.has(name)).map(([name]) => name);
    return { owed, received, missing, repeats, twoKeys, unowed };
}

function printTally(note = '') {
    const { stats } = player;
    const { owed, received, missing, repeats, twoKeys, unowed } = tally();
    const refusals = Object.entries(stats.answers)
        .filter(([status]) => status !== '202')
        .map(([status, count]) => `${count} x ${status}`)
        .join(', ');
    say(
        `tally${note ? ` ${note}` : ''}: ${stats.calls} calls played, ${stats.taken} events answered 202` +
            ` (${stats.resent} resends after ${refusals || 'no refusal'}; ${stats.givenUp + stats.refusedForGood} events never taken)`,
    );
    say(
        `tally: triggers answered 202 ${owed.length}, received by the CRM ${received.length}, missing ${missing.length};` +
            ` ${repeats} repeated requests, ${twoKeys.length} triggers under a second idempotency key`,
    );
    for (const name of missing.slice(0, 10)) say(`tally: missing ${name}`);
    for (const name of twoKeys.slice(0, 10)) say(`tally: under ${crm.triggers.get(name).keys.size} keys: ${name}`);
    for (const name of unowed.slice(0, 10)) say(`tally: received but not owed by a 202: ${name}`);
    if (refusedByWebServiceOut.length > 0) say(`tally: ${refusedByWebServiceOut.length} triggers refused by web service out (store), not sent`);
}

async function startRedis() {
    if (!settings.sentinel) {
        await startStandaloneRedis(children, ports.redis, path.join(base, 'redis'));
        say(`redis-server on 127.0.0.1:${ports.redis} (append-only file in ${path.join(base, 'redis')})`);
        return undefined;
    }
    const dir = path.join(base, 'sentinel');
    say(`starting a Redis primary, two replicas and three Sentinels (fresh, in ${dir}) ...`);
    // Declared first: a Sentinel may report a step (a slow +sdown) before the group is handed back.
    let group;
    group = await startSentinelGroup(children, {
        dataPorts: [ports.redis, ...ports.replicas],
        sentinelPorts: ports.sentinels,
        dir,
        onEvent: (step, details) => sayFailoverStep(group, step, details),
    });
    const [primary, ...replicas] = group.servers;
    say(
        `Redis primary 127.0.0.1:${primary.port} (pid ${primary.child.pid}); replicas ${replicas.map((r) => `127.0.0.1:${r.port} (pid ${r.child.pid})`).join(', ')}`,
    );
    say(
        `Sentinels ${group.sentinels.map((s) => `127.0.0.1:${s.port} (pid ${s.child.pid})`).join(', ')} watch "${group.masterName}" (quorum 2, down after ${group.downAfterMs} ms)`,
    );
    for (const server of group.servers) {
        server.child.once('exit', (code, signal) => {
            if (children.stopping) return;
            server.endedAt = Date.now();
            say(`redis-server 127.0.0.1:${server.port} (pid ${server.child.pid}) ended (${signal ?? code})`);
        });
    }
    return group;
}

function sayFailoverStep(group, step, details) {
    const serverAt = (port) => group?.servers.find((server) => server.port === Number(port));
    const pidOf = (port) => (serverAt(port) ? ` (pid ${serverAt(port).child.pid})` : '');
    const words = details.split(' ');
    if (step === '+sdown') say(`Sentinel: a Sentinel no longer reaches the primary ${words[2]}:${words[3]} (+sdown)`);
    else if (step === '+odown') say(`Sentinel: the Sentinels agree the primary ${words[2]}:${words[3]} is down (+odown, ${words.slice(4).join(' ')})`);
    else if (step === '+selected-slave') say(`Sentinel: the leader picked the replica ${words[1]}${pidOf(words[3])} to promote (+selected-slave)`);
    else if (step === '+promoted-slave') say(`Sentinel: the replica ${words[1]} is promoted (+promoted-slave)`);
    else if (step === '+switch-master') {
        const killed = serverAt(words[2]);
        const gap = killed?.endedAt ? `, ${((Date.now() - killed.endedAt) / 1000).toFixed(1)} s after the primary ended` : '';
        say(`Sentinel: 127.0.0.1:${words[4]}${pidOf(words[4])} is the primary now, in place of ${words[1]}:${words[2]} (+switch-master${gap})`);
    } else if (step === '+slave-reconf-done') say(`Sentinel: the replica ${words[1]} follows the new primary (+slave-reconf-done)`);
}

function sayRefusalGap(gap) {
    if (!gap.over) say(`call event in answers ${gap.status} (${gap.answer.slice(0, 120)}): the simulator sends each event again until 202`);
    else say(`call event in answers 202 again, after ${gap.refusals} refused sends over ${(gap.ms / 1000).toFixed(1)} s`);
}

async function main() {
    fs.mkdirSync(base, { recursive: true });
    const group = await startRedis();
    crm = await startStandInCrm(ports.crm);
    const instances = await Promise.all([startInstance('a', ports.instances[0], group), startInstance('b', ports.instances[1], group)]);
    await startProxy(instances);
    for (const instance of instances) say(`instance ${instance.name}: editor http://127.0.0.1:${instance.port}/ (pid ${instance.child.pid})`);
    say(`round-robin proxy: http://127.0.0.1:${ports.proxy}/ccaas/call-events; stand-in CRM on 127.0.0.1:${ports.crm}`);
    say(`try: kill ${instances[0].child.pid}   (instance a) and watch the CRM count go on; Ctrl-C stops everything`);
    const primary = group?.servers[0];
    if (primary) {
        say(
            `try: kill -9 ${primary.child.pid}   (the Redis primary, 127.0.0.1:${primary.port}) and watch Sentinel promote a replica` +
                (settings.failoverAfter ? ` (the demo does it ${settings.failoverAfter} s into the play)` : ''),
        );
    }

    player = new CallPlayer({
        url: `http://127.0.0.1:${ports.proxy}/ccaas/call-events`,
        recordingWaitMs: RECORDING_WAIT_MINUTES * 60_000,
        giveUpMs: 60_000,
        onRefusal: sayRefusalGap,
    });
    let calls = 0;
    const play = () => {
        if (player.stopped) return;
        calls += 3;
        player.play({ calls: 3, rate: 1, paceMs: 400, seed: Date.now() }).catch((err) => say(`simulator: ${err.message}`));
    };
    play();
    const playing = setInterval(play, 5000);
    const status = setInterval(async () => {
        const state = instances.map((instance) => `${instance.name} ${instance.up ? 'up' : 'down'}`).join(', ');
        const named = group ? await primaryPortNamed(ports.sentinels) : undefined;
        const redis = group ? `; Redis primary ${named ? `127.0.0.1:${named}` : 'unknown'}` : '';
        say(`calls played ${calls}; CRM got ${crm.stats.requests} requests (${crm.stats.repeated} repeats); instances: ${state}${redis}`);
    }, 5000);

    if (primary && settings.failoverAfter) {
        setTimeout(() => {
            if (!running(primary.child)) return;
            say(`SIGKILL to the Redis primary 127.0.0.1:${primary.port} (pid ${primary.child.pid})`);
            primary.child.kill('SIGKILL');
        }, settings.failoverAfter * 1000);
    }
    if (!settings.playFor) return;
    await new Promise((resolve) => setTimeout(resolve, settings.playFor * 1000));
    clearInterval(playing);
    player.stop();
    say(`no new calls after ${settings.playFor} s; the calls under way play to their end ...`);
    await player.finished();
    say(`every call played; waiting (up to ${DRAIN_MS / 1000} s) for the CRM to get every trigger answered 202 ...`);
    await until(() => tally().missing.length === 0, 'the CRM to get every trigger', DRAIN_MS).catch((err) => say(err.message));
    clearInterval(status);
    printTally();
    const { missing, twoKeys } = tally();
    await stopAll(missing.length === 0 && twoKeys.length === 0 ? 0 : 1);
}

main().catch((err) => {
    say(err.message);
    stopAll(1);
});
