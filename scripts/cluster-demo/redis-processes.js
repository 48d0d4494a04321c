// The Redis of the cluster demo: one redis-server (standalone), or a primary, two replicas and three Sentinels
// (sentinel mode), all on 127.0.0.1. Two replicas, because with minReplicas 1 the promoted primary still needs one
// to confirm each write; three Sentinels, so two of them (the quorum) can agree the primary is gone.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Redis = require('ioredis');
const { onLines, until, waitForOutput } = require('./child-processes');

const MASTER_NAME = 'ccaas-demo';
/** Sentinel's defaults are 30 s and 3 min, right for a network that hiccups; a demo wants to see it within seconds. */
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 3000;

function redisArgs(port, dir, extra) {
    return ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', ...extra];
}

/** One redis-server with its append-only file fsynced on every write, as the standalone demo always ran it. */
async function startStandaloneRedis(children, port, dir) {
    fs.mkdirSync(dir, { recursive: true });
    const child = children.spawn('redis', 'redis-server', redisArgs(port, dir, ['--appendonly', 'yes', '--appendfsync', 'always']));
    await waitForOutput(child, /Ready to accept connections/, 'redis-server');
    return child;
}

/** A short-lived client for the demo's own questions (INFO, SENTINEL ...): never retries, never queues. */
async function ask(port, ...command) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
    client.on('error', () => undefined);
    try {
        await client.connect();
        return await client.call(...command);
    } finally {
        client.disconnect();
    }
}

const onlineReplicas = async (port) => ((await ask(port, 'INFO', 'replication')).match(/^slave\d+:.*state=online/gm) ?? []).length;

/** SENTINEL MASTER's flat [field, value, ...] reply as a Map. */
async function masterFields(sentinelPort) {
    const reply = await ask(sentinelPort, 'SENTINEL', 'MASTER', MASTER_NAME);
    const fields = new Map();
    for (let index = 0; index + 1 < reply.length; index += 2) fields.set(reply[index], reply[index + 1]);
    return fields;
}

/**
 * Starts the replication group under Sentinel, from empty servers (a primary's data of an earlier run may be older
 * than what a replica promoted in that run had), and resolves once a failover could happen: both replicas in sync
 * and every Sentinel knowing the other two and the replicas. `onEvent` gets each failover step a Sentinel reports.
 */
async function startSentinelGroup(children, { dataPorts, sentinelPorts, dir, onEvent }) {
    fs.rmSync(dir, { recursive: true, force: true });
    const servers = [];
    for (const [index, port] of dataPorts.entries()) {
        const serverDir = path.join(dir, `redis-${index + 1}`);
        fs.mkdirSync(serverDir, { recursive: true });
        // everysec on every server plus minReplicas 1: an acknowledged write survives the death of any one server.
        const persistence = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
        const replicaOf = index === 0 ? [] : ['--replicaof', '127.0.0.1', String(dataPorts[0])];
        const child = children.spawn('redis', 'redis-server', redisArgs(port, serverDir, [...persistence, ...replicaOf]));
        await waitForOutput(child, /Ready to accept connections/, `redis-server on port ${port}`);
        servers.push({ port, child });
    }
    await until(async () => (await onlineReplicas(dataPorts[0])) === dataPorts.length - 1, 'the replicas in sync with the primary', 30_000);

    const sentinels = [];
    for (const [index, port] of sentinelPorts.entries()) {
        const sentinelDir = path.join(dir, `sentinel-${index + 1}`);
        fs.mkdirSync(sentinelDir, { recursive: true });
        const conf = path.join(sentinelDir, 'sentinel.conf');
        // Sentinel rewrites its file with what it learns (replicas, other Sentinels, the current primary).
        fs.writeFileSync(
            conf,
            [
                `port ${port}`,
                'bind 127.0.0.1',
                `dir ${sentinelDir}`,
                `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${dataPorts[0]} 2`,
                `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
                `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
                `sentinel parallel-syncs ${MASTER_NAME} 1`,
            ].join('\n') + '\n',
        );
        const child = children.spawn('sentinel', 'redis-server', [conf, '--sentinel']);
        await waitForOutput(child, /\+monitor master/, `Sentinel on port ${port}`);
        onLines(child, (line) => reportFailoverStep(line, onEvent));
        sentinels.push({ port, child });
    }
    await until(
        async () => {
            const views = await Promise.all(sentinelPorts.map(masterFields));
            return views.every((fields) => fields.get('num-other-sentinels') === '2' && fields.get('num-slaves') === String(dataPorts.length - 1));
        },
        'the Sentinels knowing each other and the replicas',
        30_000,
    );
    return { masterName: MASTER_NAME, servers, sentinels, downAfterMs: DOWN_AFTER_MS };
}

/** The primary's port as the first Sentinel that answers names it, or undefined when none does. */
async function primaryPortNamed(sentinelPorts) {
    for (const port of sentinelPorts) {
        const reply = await ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME).catch(() => null);
        if (Array.isArray(reply) && reply.length === 2) return Number(reply[1]);
    }
    return undefined;
}

const seenSteps = new Set();

/**
 * A Sentinel's log line, when it is a step of a failover, as `onEvent(step, text)`; each step once, although every
 * Sentinel logs the switch. Lines look like `12:X 07 Dec 2026 12:00:01.234 # +odown master ccaas-demo 127.0.0.1 1900 #quorum 2/2`.
 */
function reportFailoverStep(line, onEvent) {
    const match = /[#*] ([+-][a-z-]+) (.*)$/.exec(line);
    if (!match) return;
    const [, step, details] = match;
    if (!['+sdown', '+odown', '+selected-slave', '+promoted-slave', '+switch-master', '+slave-reconf-done'].includes(step)) return;
    if (step === '+sdown' && !details.startsWith('master ')) return;
    const once = `${step} ${details.replace(/ #.*$/, '')}`;
    if (seenSteps.has(once)) return;
    seenSteps.add(once);
    onEvent(step, details);
}

module.exports = { primaryPortNamed, startSentinelGroup, startStandaloneRedis };
