#!/usr/bin/env node
// ccaas-simulate: plays realistic calls against a "call event in" endpoint and prints what happened.
import { parseArgs } from 'node:util';
import { simulateCalls } from './simulate';

const USAGE = `usage: ccaas-simulate --url <endpoint> [--calls 10] [--rate 2] [--pace 400] [--max-seconds 120]
                      [--seed N] [--secret-header Name=value] [--webhook-secret whsec_...] [--quiet]
  --url             the "call event in" endpoint, e.g. http://127.0.0.1:1880/ccaas/call-events
  --calls           how many calls to play (default 10)
  --rate            calls started per second (default 2)
  --pace            base pause between two events of a call, in ms (default 400)
  --max-seconds     stop sending after this long, whatever is left (default 120)
  --seed            replay the same calls
  --secret-header   send a shared secret header
  --webhook-secret  sign every request (Standard Webhooks)
  --quiet           print only the summary`;

function number(value: string | undefined, fallback: number, name: string): number {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`);
    return parsed;
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            url: { type: 'string' },
            calls: { type: 'string' },
            rate: { type: 'string' },
            pace: { type: 'string' },
            'max-seconds': { type: 'string' },
            seed: { type: 'string' },
            'secret-header': { type: 'string' },
            'webhook-secret': { type: 'string' },
            quiet: { type: 'boolean' },
            help: { type: 'boolean' },
        },
    });
    if (values.help || !values.url) {
        console.log(USAGE);
        return values.help ? 0 : 2;
    }
    let secretHeader: { name: string; value: string } | undefined;
    if (values['secret-header']) {
        const [name, ...rest] = values['secret-header'].split('=');
        secretHeader = { name, value: rest.join('=') };
    }
    const summary = await simulateCalls({
        url: values.url,
        calls: Math.floor(number(values.calls, 10, 'calls')),
        rate: number(values.rate, 2, 'rate'),
        paceMs: number(values.pace, 400, 'pace'),
        maxSeconds: number(values['max-seconds'], 120, 'max-seconds'),
        seed: values.seed === undefined ? undefined : Number(values.seed),
        secretHeader,
        webhookSecret: values['webhook-secret'],
        onSent: values.quiet
            ? undefined
            : (event, status, answer) => console.log(`${event.type.padEnd(12)} call ${event.callId.slice(0, 8)} -> ${status} ${answer.slice(0, 120)}`),
    });
    const answers = Object.entries(summary.answers)
        .map(([status, count]) => `${count} x ${status}`)
        .join(', ');
    console.log(
        `${summary.calls} calls, ${summary.events} events sent in ${(summary.elapsedMs / 1000).toFixed(1)} s: ${answers || 'none'}` +
            (summary.unsent ? `; ${summary.unsent} not sent (time limit)` : ''),
    );
    const failed = Object.keys(summary.answers).some((status) => !/^2\d\d$/.test(status));
    return failed || summary.unsent > 0 ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (err) => {
        console.error(`ccaas-simulate: ${(err as Error).message}`);
        process.exit(2);
    },
);
