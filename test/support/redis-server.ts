// A real redis-server (Debian's package) started by a test on a free loopback port, in a folder of its own, with the
// append-only file fsynced on every write unless told otherwise: the shared-state tests restart it on the same folder
// to prove that what was acknowledged survives.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, temporaryDirectory } from './node-red-process';

export interface RedisServerOptions {
    /** `always` (default), `everysec`, or `off` for no persistence at all (no AOF, no RDB). */
    persistence?: 'always' | 'everysec' | 'off';
    /** Lines of redis.conf added to the command line's settings (`['requirepass s3cret']`). */
    config?: string[];
    port?: number;
    dir?: string;
    /**
     * Serve TLS only (no plain port), with this certificate and key (PEM files). Replication (and, with
     * `cluster-enabled yes`, the cluster bus) goes over TLS too, trusting `caFile` (default: the certificate itself,
     * as a self-signed one is its own CA).
     */
    tls?: RedisTlsFiles;
}

export interface RedisTlsFiles {
    certFile: string;
    keyFile: string;
    caFile?: string;
}

/** The redis.conf settings (as `name value` lines) that make a redis-server or Sentinel listen on TLS only. */
export function tlsConfigLines(tls: RedisTlsFiles, port: number): string[] {
    return [
        'port 0',
        `tls-port ${port}`,
        `tls-cert-file ${tls.certFile}`,
        `tls-key-file ${tls.keyFile}`,
        `tls-ca-cert-file ${tls.caFile ?? tls.certFile}`,
        // Clients (the nodes) show no certificate of their own; a replica or Sentinel connecting to a server checks
        // the server's against the CA.
        'tls-auth-clients no',
        'tls-replication yes',
    ];
}

/** redis-cli's arguments to reach a server that serves TLS with `tls` (none for a plain one). */
export function cliTlsArguments(tls: RedisTlsFiles | undefined): string[] {
    return tls ? ['--tls', '--cacert', tls.caFile ?? tls.certFile] : [];
}

export interface RedisServer {
    url: string;
    port: number;
    dir: string;
    /** Everything the server printed. */
    log(): string;
    /** Stops it (SIGTERM flushes the AOF; SIGKILL does not) and waits for the process to end. */
    stop(signal?: NodeJS.Signals): Promise<void>;
    /** Sends a signal without waiting for anything: SIGSTOP freezes it (connections stay open), SIGCONT wakes it. */
    signal(signal: NodeJS.Signals): void;
    /** Starts it again on the same port and folder, after a stop. */
    restart(): Promise<void>;
    /** redis-cli against it, for checks a test makes from outside the package. */
    cli(...args: string[]): string;
}

export function redisServerPath(): string {
    return process.env.REDIS_SERVER_PATH ?? 'redis-server';
}

function argumentsOf(options: RedisServerOptions, port: number, dir: string): string[] {
    const persistence = options.persistence ?? 'always';
    const cluster = (options.config ?? []).includes('cluster-enabled yes');
    const listen = options.tls
        ? [...tlsConfigLines(options.tls, port), ...(cluster ? ['tls-cluster yes'] : [])].flatMap((line) => {
              const [name, ...value] = line.split(' ');
              return [`--${name}`, ...value];
          })
        : ['--port', String(port)];
    const args = ['--bind', '127.0.0.1', ...listen, '--dir', dir, '--save', '', '--protected-mode', 'no'];
    if (persistence === 'off') args.push('--appendonly', 'no');
    else args.push('--appendonly', 'yes', '--appendfsync', persistence);
    for (const line of options.config ?? []) {
        const [name, ...value] = line.split(' ');
        args.push(`--${name}`, ...value);
    }
    return args;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = options.port ?? (await freePort());
    const dir = options.dir ?? temporaryDirectory('redis');
    fs.mkdirSync(dir, { recursive: true });
    let child: ChildProcess | undefined;
    let output = '';
    let exited: Promise<void> = Promise.resolve();

    const launch = async (): Promise<void> => {
        const started = spawn(redisServerPath(), argumentsOf(options, port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
        child = started;
        exited = new Promise((resolve) => started.once('exit', () => resolve()));
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port} within 10 s:\n${output}`)), 10_000);
            const collect = (chunk: Buffer): void => {
                output += chunk.toString();
                if (/Ready to accept connections/.test(output.slice(-4000))) {
                    clearTimeout(timer);
                    resolve();
                }
            };
            started.stdout!.on('data', collect);
            started.stderr!.on('data', collect);
            started.once('error', (err) => {
                clearTimeout(timer);
                reject(new Error(`redis-server could not be started (${err.message}); npm run test:prerequisites installs it`));
            });
            started.once('exit', (code, signal) => {
                clearTimeout(timer);
                reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
            });
        });
    };

    await launch();
    const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
        if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
    };
    return {
        url: `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
        port,
        dir,
        log: () => output,
        stop,
        signal(signal: NodeJS.Signals) {
            if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
        },
        async restart() {
            await stop();
            output += '\n--- restart ---\n';
            await launch();
        },
        cli(...args: string[]) {
            const auth = (options.config ?? []).find((line) => line.startsWith('requirepass '));
            const authArgs = auth ? ['-a', auth.slice('requirepass '.length), '--no-auth-warning'] : [];
            const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliTlsArguments(options.tls), ...authArgs, ...args], {
                encoding: 'utf8',
            });
            if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${result.stderr}`);
            return result.stdout.trim();
        },
    };
}

/** Removes a server's folder after its test (the folder holds the AOF a restart reads). */
export function removeRedisDir(server: RedisServer): void {
    fs.rmSync(path.resolve(server.dir), { recursive: true, force: true });
}
