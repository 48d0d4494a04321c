// The cluster demo's platform: plays the simulator's call lives into the proxy and, as a contact-center platform
// does, sends each event again until it is answered 202 (a 503 while no Redis primary answers, or no answer at all,
// is "try again", not "taken"). The library's simulateCalls sends each event once, which is right for a load test
// but would make the demo's tally count events the cluster never took.
//
// It also keeps what the cluster owes the CRM: the events answered 202 run, in the order they were taken, through
// the package's own trigger rules (a local CallTracker), so the tally compares the CRM's requests with the triggers
// those 202s promised, not with a guess.
'use strict';
const path = require('node:path');
const { triggerName } = require('./trigger-name');

const root = path.resolve(__dirname, '..', '..');
const { callLife, seededRandom } = require(path.join(root, 'dist', 'simulator', 'call-lives.js'));
const { CallTracker } = require(path.join(root, 'dist', 'lifecycle', 'call-tracker.js'));

const RESEND_AFTER_MS = 250;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class CallPlayer {
    /**
     * `recordingWaitMs` is the flow's Recording wait, so the local trigger rules fire a processing without its
     * recording when the cluster does; `giveUpMs` bounds the resends of one event; `onRefusal(gap)` is told when
     * answers other than 202 start and when a 202 ends them.
     */
    constructor({ url, recordingWaitMs, giveUpMs, onRefusal }) {
        this.url = url;
        this.giveUpMs = giveUpMs;
        this.onRefusal = onRefusal;
        this.tracker = new CallTracker({ recordingWaitMs, retentionMs: 60 * 60_000, maxCalls: 50_000 });
        /** trigger name -> callId: every trigger the events answered 202 fire. */
        this.owed = new Map();
        this.callIds = new Set();
        this.stats = { calls: 0, taken: 0, resent: 0, givenUp: 0, refusedForGood: 0, answers: {} };
        this.lives = new Set();
        this.stopped = false;
        this.gap = undefined;
        // A recording that never comes: the cluster fires the processing at the deadline, so the tally does too.
        this.ticker = setInterval(() => this.owe(this.tracker.tick()), 1000);
        this.ticker.unref();
    }

    /** Starts `calls` call lives, `rate` a second; resolves when they are started (not finished). */
    async play({ calls, rate, paceMs, seed }) {
        const random = seededRandom(seed);
        for (let index = 0; index < calls && !this.stopped; index += 1) {
            const life = this.live(callLife(random, { paceMs, startTime: Date.now() }));
            this.lives.add(life);
            life.finally(() => this.lives.delete(life));
            await sleep(1000 / rate);
        }
    }

    /** No new call is started; the lives under way play to their end. */
    stop() {
        this.stopped = true;
    }

    /** Resolves when every call life started so far has played to its end. */
    async finished() {
        while (this.lives.size > 0) await Promise.all([...this.lives]);
    }

    async live(steps) {
        this.stats.calls += 1;
        this.callIds.add(steps[0].event.callId);
        for (const step of steps) {
            await sleep(step.afterMs);
            // One body for every resend of the event, as a platform's retry carries the same event.
            const event = { ...step.event, timestamp: Date.now() };
            if (!(await this.sendUntilTaken(event))) return;
            this.owe(this.tracker.apply([event]));
        }
    }

    owe(triggers) {
        for (const trigger of triggers) this.owed.set(triggerName({ ...trigger.call, event: trigger.event }), trigger.call.callId);
    }

    /** true once answered 202; false when refused for good (a 4xx) or still not taken after giveUpMs. */
    async sendUntilTaken(event) {
        const body = JSON.stringify(event);
        const started = Date.now();
        for (let attempt = 0; ; attempt += 1) {
            if (attempt > 0) this.stats.resent += 1;
            const { status, answer } = await this.post(body);
            this.stats.answers[status] = (this.stats.answers[status] ?? 0) + 1;
            if (status === 202) {
                this.answered();
                this.stats.taken += 1;
                return true;
            }
            this.refused(status, answer);
            if (typeof status === 'number' && status >= 400 && status < 500) {
                this.stats.refusedForGood += 1;
                return false;
            }
            if (Date.now() - started > this.giveUpMs) {
                this.stats.givenUp += 1;
                return false;
            }
            await sleep(RESEND_AFTER_MS);
        }
    }

    async post(body) {
        try {
            const response = await fetch(this.url, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body,
                signal: AbortSignal.timeout(15_000),
            });
            return { status: response.status, answer: await response.text() };
        } catch (err) {
            return { status: err.cause?.code ?? err.name, answer: err.message };
        }
    }

    refused(status, answer) {
        if (this.gap) {
            this.gap.refusals += 1;
            return;
        }
        this.gap = { since: Date.now(), refusals: 1, status, answer };
        this.onRefusal?.({ ...this.gap, over: false });
    }

    answered() {
        if (!this.gap) return;
        const gap = this.gap;
        this.gap = undefined;
        this.onRefusal?.({ ...gap, over: true, ms: Date.now() - gap.since });
    }
}

module.exports = { CallPlayer };
