// The sink (bench/sink.ts) as the load client sees it: a process of its own, driven over IPC, whose progress messages
// say how many requests arrived so far.
import { fork } from 'node:child_process';
import path from 'node:path';
import type { SinkCommand, SinkMessage, SinkReport } from './sink';

export class Sink {
    received = 0;
    private progressWaiters: Array<() => void> = [];
    private replies: Array<(message: SinkMessage) => void> = [];

    private constructor(
        readonly child: ReturnType<typeof fork>,
        readonly port: number,
    ) {
        child.on('message', (message: SinkMessage) => {
            if (message.type === 'progress') {
                this.received = message.received;
                const waiters = this.progressWaiters;
                this.progressWaiters = [];
                for (const wake of waiters) wake();
            } else if (message.type === 'report' || message.type === 'ack') {
                this.replies.shift()?.(message);
            }
        });
    }

    static async start(): Promise<Sink> {
        const child = fork(path.join(__dirname, 'sink.ts'), [], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const port = await new Promise<number>((resolve, reject) => {
            child.once('error', reject);
            child.on('message', function listening(message: SinkMessage) {
                if (message.type === 'listening') {
                    child.off('message', listening);
                    resolve(message.port);
                }
            });
        });
        return new Sink(child, port);
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    get pid(): number {
        return this.child.pid!;
    }

    private ask(command: SinkCommand): Promise<SinkMessage> {
        return new Promise((resolve) => {
            this.replies.push(resolve);
            this.child.send(command);
        });
    }

    async reset(): Promise<void> {
        await this.ask({ cmd: 'reset' });
        this.received = 0;
    }

    async report(): Promise<SinkReport> {
        const message = await this.ask({ cmd: 'report' });
        if (message.type !== 'report') throw new Error(`sink answered ${message.type} to report`);
        return message.report;
    }

    async down(): Promise<void> {
        await this.ask({ cmd: 'down' });
    }

    async up(): Promise<void> {
        await this.ask({ cmd: 'up' });
    }

    /** Resolves at the next progress message (or after 50 ms, so a stalled sink cannot hang a caller). */
    nextProgress(): Promise<void> {
        return new Promise((resolve) => {
            const timer = setTimeout(resolve, 50);
            this.progressWaiters.push(() => {
                clearTimeout(timer);
                resolve();
            });
        });
    }

    /** Waits until `count` requests arrived this round, or `timeoutMs` passed; true if they did. */
    async waitFor(count: number, timeoutMs: number): Promise<boolean> {
        const deadline = performance.now() + timeoutMs;
        while (this.received < count) {
            if (performance.now() > deadline) return false;
            await this.nextProgress();
        }
        return true;
    }

    stop(): void {
        if (this.child.connected) this.child.send({ cmd: 'exit' } satisfies SinkCommand);
    }
}
