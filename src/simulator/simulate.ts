import { randomUUID } from 'node:crypto';
import type { RawEvent } from '../call/raw-event';
import { signWebhook } from '../signing/standard-webhooks';
import { callLife, seededRandom } from './call-lives';

export interface SimulationOptions {
    url: string;
    /** How many calls to play. */
    calls: number;
    /** New calls started per second. */
    rate: number;
    seed?: number;
    /** Base pause between two steps of one call, in ms. */
    paceMs?: number;
    /** The simulation stops starting calls and sending events after this long. */
    maxSeconds?: number;
    /** A shared-secret header, e.g. { name: 'X-Webhook-Secret', value: '...' }. */
    secretHeader?: { name: string; value: string };
    /** A Standard Webhooks secret ("whsec_..."): every request is signed with it. */
    webhookSecret?: string;
    /** Called for each event sent, with the endpoint's answer. */
    onSent?: (event: RawEvent, status: number | string, answer: string) => void;
}

export interface SimulationSummary {
    calls: number;
    events: number;
    /** How many answers of each status (or error code) came back. */
    answers: Record<string, number>;
    /** Events not sent because the time limit was reached first. */
    unsent: number;
    elapsedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function post(options: SimulationOptions, event: RawEvent): Promise<{ status: number | string; answer: string }> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.secretHeader) headers[options.secretHeader.name] = options.secretHeader.value;
    if (options.webhookSecret) Object.assign(headers, signWebhook(options.webhookSecret, randomUUID(), Date.now() / 1000, body));
    try {
        const response = await fetch(options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        return { status: response.status, answer: await response.text() };
    } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        return { status: cause?.code ?? (err as Error).name, answer: (err as Error).message };
    }
}

/**
 * Plays realistic call lives against a "call event in" endpoint: calls start at `rate` per second, each call's
 * events follow at its own pace, and everything stops at `calls` or `maxSeconds`, whichever comes first.
 */
export async function simulateCalls(options: SimulationOptions): Promise<SimulationSummary> {
    const started = Date.now();
    const deadline = started + (options.maxSeconds ?? 300) * 1000;
    const random = seededRandom(options.seed ?? started);
    const summary: SimulationSummary = { calls: 0, events: 0, answers: {}, unsent: 0, elapsedMs: 0 };
    const lives: Promise<void>[] = [];
    for (let index = 0; index < options.calls && Date.now() < deadline; index += 1) {
        const steps = callLife(random, { paceMs: options.paceMs ?? 400, startTime: Date.now() });
        summary.calls += 1;
        lives.push(
            (async () => {
                for (const [position, step] of steps.entries()) {
                    await sleep(step.afterMs);
                    if (Date.now() >= deadline) {
                        summary.unsent += steps.length - position;
                        return;
                    }
                    const { status, answer } = await post(options, { ...step.event, timestamp: Date.now() });
                    summary.events += 1;
                    summary.answers[String(status)] = (summary.answers[String(status)] ?? 0) + 1;
                    options.onSent?.(step.event, status, answer);
                }
            })(),
        );
        await sleep(1000 / options.rate);
    }
    await Promise.all(lives);
    summary.elapsedMs = Date.now() - started;
    return summary;
}
