// The cluster demo's child processes (Node-RED instances, redis-server, Sentinels): started with their output
// piped, waited for by what they print, and all stopped when the demo ends, however it ends. A redis-server does
// not die with its parent, so one left running would hold its port and its files until someone noticed.
'use strict';
const { spawn } = require('node:child_process');

const running = (child) => child.exitCode === null && child.signalCode === null;
const exited = (child) => (running(child) ? new Promise((resolve) => child.once('exit', resolve)) : Promise.resolve());

class ChildProcesses {
    constructor() {
        /** Stopped in groups, in this order: what uses Redis first, then the Sentinels, then the data servers. */
        this.groups = new Map();
        this.stopping = false;
        // The last resort (an exception, process.exit from elsewhere): no child outlives the demo.
        process.on('exit', () => {
            for (const child of this.all()) if (running(child)) child.kill('SIGKILL');
        });
    }

    all() {
        return [...this.groups.values()].flat();
    }

    /** Spawns `command` with its output piped, in `group` (stopped in the order the groups were first used). */
    spawn(group, command, args) {
        const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        if (!this.groups.has(group)) this.groups.set(group, []);
        this.groups.get(group).push(child);
        return child;
    }

    /** SIGTERM, group by group, each given 10 s to end before a SIGKILL. */
    async stopAll() {
        this.stopping = true;
        for (const children of this.groups.values()) {
            const alive = children.filter(running);
            for (const child of alive) child.kill('SIGTERM');
            let timer;
            const patience = new Promise((resolve) => (timer = setTimeout(resolve, 10_000)));
            await Promise.race([Promise.all(alive.map(exited)), patience]);
            clearTimeout(timer);
            for (const child of alive.filter(running)) child.kill('SIGKILL');
            await Promise.all(alive.map(exited));
        }
    }
}

/** Calls `onLine` with each line the child prints, on stdout or stderr. */
function onLines(child, onLine) {
    for (const stream of [child.stdout, child.stderr]) {
        let rest = '';
        stream.on('data', (chunk) => {
            const lines = (rest + chunk.toString()).split('\n');
            rest = lines.pop();
            for (const line of lines) onLine(line);
        });
    }
}

/** Resolves once the child has printed something matching `pattern`; rejects if it exits first or takes a minute. */
function waitForOutput(child, pattern, what) {
    return new Promise((resolve, reject) => {
        let output = '';
        const collect = (chunk) => {
            output += chunk.toString();
            if (pattern.test(output)) {
                finish();
                resolve();
            }
        };
        const ended = (code, signal) => {
            finish();
            reject(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${output}`));
        };
        const timer = setTimeout(() => {
            finish();
            reject(new Error(`${what} did not start within 60 s:\n${output}`));
        }, 60_000);
        function finish() {
            clearTimeout(timer);
            child.stdout.off('data', collect);
            child.stderr.off('data', collect);
            child.off('exit', ended);
        }
        child.stdout.on('data', collect);
        child.stderr.on('data', collect);
        child.once('exit', ended);
    });
}

/** Polls `check` (sync or async) every 100 ms until it is true; rejects after `timeoutMs`, saying what was awaited. */
async function until(check, what, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await Promise.resolve(check()).catch(() => false)) return;
        if (Date.now() > deadline) throw new Error(`${typeof what === 'function' ? what() : what}: not within ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

module.exports = { ChildProcesses, onLines, running, until, waitForOutput };
