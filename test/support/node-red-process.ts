// A real Node-RED started as its own process on 127.0.0.1, for tests that need the whole product: an installed
// package, the editor, restarts and kills.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface NodeRedProcess {
    url: string;
    port: number;
    userDir: string;
    /** The Node-RED process id, for reading its CPU and memory from /proc. */
    pid: number;
    /** Everything Node-RED printed so far. */
    log(): string;
    /** Resolves when a line matching `pattern` has been printed, rejects after `timeoutMs`. */
    waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
    stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
    /** An existing user directory; a new temporary one otherwise. */
    userDir?: string;
    flows?: object[];
    /** Extra lines of settings.js, inside the exported object. */
    settings?: string;
    port?: number;
    env?: NodeJS.ProcessEnv;
    nodeRedPath?: string;
    nodeBinary?: string;
    /** Options for the node binary before red.js, e.g. --cpu-prof. */
    nodeArgs?: string[];
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

export function temporaryDirectory(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `ccaas-${prefix}-`));
}

/** Node-RED could not listen on the port it was given: something took it after freePort found it free. */
class PortTakenError extends Error {}

export async function startNodeRed(options: StartOptions = {}): Promise<NodeRedProcess> {
    // freePort hands out a port of the ephemeral range, which an outgoing connection may take before Node-RED
    // listens on it: then Node-RED starts again on another (three tries), unless the caller chose the port.
    for (let attempt = 1; ; attempt++) {
        try {
            return await startNodeRedOnce(options, options.port ?? (await freePort()));
        } catch (err) {
            if (!(err instanceof PortTakenError) || options.port !== undefined || attempt >= 3) throw err;
        }
    }
}

async function startNodeRedOnce(options: StartOptions, port: number): Promise<NodeRedProcess> {
    const userDir = options.userDir ?? temporaryDirectory('user');
    fs.mkdirSync(userDir, { recursive: true });
    if (options.flows) fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows));
    const settingsFile = path.join(userDir, 'test-settings.js');
    fs.writeFileSync(
        settingsFile,
        `module.exports = {
    uiHost: '127.0.0.1',
    uiPort: ${port},
    flowFile: 'flows.json',
    credentialSecret: 'test-secret',
    telemetry: { enabled: false },
    editorTheme: { tours: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ${options.settings ?? ''}
};
`,
    );
    const redJs = options.nodeRedPath ?? require.resolve('node-red/red.js');
    const child: ChildProcess = spawn(
        options.nodeBinary ?? process.execPath,
        [...(options.nodeArgs ?? []), redJs, '--userDir', userDir, '--settings', settingsFile],
        {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, ...options.env },
        },
    );
    let output = '';
    const listeners = new Set<() => void>();
    const collect = (chunk: Buffer): void => {
        output += chunk.toString();
        for (const listener of listeners) listener();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    const waitForLog = (pattern: RegExp, timeoutMs = 30_000): Promise<void> =>
        new Promise((resolve, reject) => {
            const check = (): void => {
                if (pattern.test(output)) {
                    listeners.delete(check);
                    clearTimeout(timer);
                    resolve();
                }
            };
            const timer = setTimeout(() => {
                listeners.delete(check);
                reject(new Error(`Node-RED did not print ${pattern} within ${timeoutMs} ms; it printed:\n${output}`));
            }, timeoutMs);
            listeners.add(check);
            check();
        });

    const instance: NodeRedProcess = {
        url: `http://127.0.0.1:${port}`,
        port,
        userDir,
        pid: child.pid!,
        log: () => output,
        waitForLog,
        async stop(signal: NodeJS.Signals = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
        },
    };
    // Node-RED logs a port it cannot listen on and stays up without listening: seen, that ends the wait at once.
    let stopWatchingPort = (): void => undefined;
    const portTaken = new Promise<never>((_, reject) => {
        const check = (): void => {
            if (/\[error\] Error: port in use/.test(output)) reject(new PortTakenError(`port ${port} was taken before Node-RED listened on it`));
        };
        listeners.add(check);
        stopWatchingPort = () => listeners.delete(check);
    });
    try {
        // red.js starts the flows before it listens, so both lines are needed before the port answers.
        const started = (async () => {
            await waitForLog(/Started flows|Waiting for missing types/, 60_000);
            await waitForLog(/Server now running at/, 60_000);
        })();
        // Abandoned when the port was taken: its timeout must not surface as an unhandled rejection.
        started.catch(() => undefined);
        await Promise.race([started, portTaken]);
    } catch (err) {
        await instance.stop('SIGKILL');
        throw err;
    } finally {
        stopWatchingPort();
    }
    return instance;
}

/** A Node-RED user directory with this checkout installed as a package (a link, as `npm link` would make). */
export function userDirWithPackage(): string {
    const root = path.resolve(__dirname, '../..');
    const userDir = temporaryDirectory('installed');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const link = path.join(userDir, 'node_modules', pkg.name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(root, link, 'dir');
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, dependencies: { [pkg.name]: '*' } }));
    return userDir;
}
