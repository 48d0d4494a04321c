import { randomUUID } from 'node:crypto';
import type { CallDirection } from '../call/call';
import type { RawEvent } from '../call/raw-event';

/** A raw event and how long after the previous step of the same call it happens. */
export interface CallStep {
    afterMs: number;
    event: RawEvent;
}

const AGENTS = [
    { name: 'John Doe', extension: '154' },
    { name: 'Maria Garcia', extension: '201' },
    { name: 'Wei Chen', extension: '312' },
    { name: 'Aisha Khan', extension: '118' },
    { name: 'Lars Nilsson', extension: '245' },
    { name: "Siobhan O'Neil", extension: '176' },
];
const GROUPS = ['Sales', 'Support', 'Billing', 'Retention'];
const CALLERS = [
    { name: 'Jane Roe', number: '8015550000', location: 'Salt Lake City, UT' },
    { name: 'Acme Corp', number: '2125550147', location: 'New York, NY' },
    { name: 'Renée Dubois', number: '5145550199', location: 'Montreal, QC' },
    { name: 'Bob "Bobby" Smith', number: '3125550123', location: 'Chicago, IL' },
    { name: 'Unknown', number: '4805550111', location: 'Phoenix, AZ' },
];
const DNIS = ['8005551234', '8005559876'];
const TAGS = ['VIP', 'Callback', 'Spanish', 'Escalated'];
const ACCOUNT_CODES = ['Opp Won', 'Large Sale', 'Processed in CRM', 'Follow-up', 'Complaint'];

/** A small seeded generator (mulberry32), so a simulation can be replayed exactly. */
export function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function pick<T>(random: () => number, items: readonly T[]): T {
    return items[Math.floor(random() * items.length)];
}

export interface CallLifeOptions {
    /** Base pause between two steps of a call, in ms; each pause varies around it. */
    paceMs: number;
    /** Wall-clock start of the call. */
    startTime: number;
    /** A fixed call id (the editor's simulate button uses a fresh one each time otherwise). */
    callId?: string;
    reportCallId?: string;
    /** Force the call to be answered (true) or missed (false); random otherwise. */
    answered?: boolean;
}

/**
 * One realistic call life: it rings an agent (sometimes a second one), is answered or missed, disconnects, has its
 * recording processed, and often gets account codes after the call, sometimes changed a second time.
 */
export function callLife(random: () => number, options: CallLifeOptions): CallStep[] {
    const callId = options.callId ?? randomUUID();
    const direction: CallDirection = random() < 0.75 ? 'Inbound' : random() < 0.7 ? 'Outbound' : 'Internal';
    const caller = pick(random, CALLERS);
    const group = pick(random, GROUPS);
    const answered = options.answered ?? random() < 0.8;
    const pause = (): number => Math.round(options.paceMs * (0.5 + random()));
    let time = options.startTime;
    let sequence = 0;
    const steps: CallStep[] = [];
    const add = (afterMs: number, event: Omit<RawEvent, 'callId' | 'eventId' | 'timestamp'>): void => {
        time += afterMs;
        sequence += 1;
        steps.push({ afterMs, event: { callId, eventId: `${callId}:${sequence}`, timestamp: time, ...event } as RawEvent });
    };
    const base = {
        reportCallId: options.reportCallId ?? String(40000 + Math.floor(random() * 60000)),
        direction,
        callerName: caller.name,
        externalNumber: caller.number,
        location: caller.location,
        dnis: pick(random, DNIS),
        startTime: options.startTime,
        group,
    };
    const firstAgent = pick(random, AGENTS);
    add(0, { type: 'presenting', ...base, agent: firstAgent, tags: random() < 0.3 ? [pick(random, TAGS)] : undefined });
    let agent = firstAgent;
    if (random() < 0.2) {
        agent = pick(
            random,
            AGENTS.filter((candidate) => candidate !== firstAgent),
        );
        add(pause(), { type: 'presenting', agent });
    }
    if (answered) add(pause(), { type: 'connected', agent });
    if (answered && random() < 0.3) add(pause(), { type: 'update', tags: [pick(random, TAGS)] });
    add(pause() * 3, { type: 'complete', agent, pendingRecordings: answered ? 1 : 0 });
    if (answered) {
        add(pause() * 2, { type: 'recording', recordingUrl: `https://recordings.example.com/calls/${callId}.wav` });
        if (random() < 0.7) {
            const codes = [pick(random, ACCOUNT_CODES)];
            add(pause(), { type: 'accountCodes', accountCodes: codes });
            if (random() < 0.3)
                add(pause(), {
                    type: 'accountCodes',
                    accountCodes: [
                        ...codes,
                        pick(
                            random,
                            ACCOUNT_CODES.filter((code) => !codes.includes(code)),
                        ),
                    ],
                });
        }
    }
    return steps;
}
