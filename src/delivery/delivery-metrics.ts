// What the deliveries of web service out nodes did, as counts and as Prometheus text (exposition format 0.0.4).
// Written by hand: eleven families with fixed labels need the format, not a client library and its registry.

/** Upper bounds (seconds) of the latency histogram: from acceptance of a message to its delivery. */
export const DELIVERY_SECONDS_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

/** The Content-Type of what prometheusText returns. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const PREFIX = 'ccaas_web_service_out_';

export interface DeliveryCounts {
    delivered: number;
    retried: number;
    failed: number;
    deadLettered: number;
    deadLettersDropped: number;
    replayed: number;
}

export interface MetricsSummary extends DeliveryCounts {
    p50Ms?: number;
    p95Ms?: number;
}

/** What a node reports at the time of a scrape besides its counters. */
export interface NodeGauges {
    queued: number;
    inFlight: number;
    oldestQueuedSeconds: number;
    deadLetters: number;
}

/** The counts of one node's deliveries since it started; nothing here is persisted, as Prometheus expects of counters. */
export class DeliveryMetrics {
    private readonly tally: DeliveryCounts = { delivered: 0, retried: 0, failed: 0, deadLettered: 0, deadLettersDropped: 0, replayed: 0 };
    private readonly cumulative: number[] = DELIVERY_SECONDS_BUCKETS.map(() => 0);
    private observed = 0;
    // Milliseconds rather than seconds: whole-ms latencies then add up exactly, and the sum divides once when read.
    private sumMs = 0;

    /**
     * A request was delivered, `totalMs` after its message was accepted. The delivery always counts; a latency that
     * is negative or not finite is left out of the histogram (so its `_count` may trail `delivered_total`): the
     * acceptance time is a wall-clock time, possibly taken on another instance, and a clock step or skew says nothing
     * about how long the delivery took. Clamping it to 0 would drag the percentiles down with made-up values.
     */
    delivered(totalMs: number): void {
        this.tally.delivered++;
        if (!Number.isFinite(totalMs) || totalMs < 0) return;
        const seconds = totalMs / 1000;
        for (let index = 0; index < DELIVERY_SECONDS_BUCKETS.length; index++) {
            if (seconds <= DELIVERY_SECONDS_BUCKETS[index]!) this.cumulative[index]!++;
        }
        this.observed++;
        this.sumMs += totalMs;
    }

    /** An attempt failed and the request waits for another. */
    retried(): void {
        this.tally.retried++;
    }

    /** A request failed for good (last attempt failed, or a final answer). */
    failed(): void {
        this.tally.failed++;
    }

    /** A request that failed for good was kept as a dead letter. */
    deadLettered(): void {
        this.tally.deadLettered++;
    }

    /** Dead letters dropped by their bounds (count or age). */
    deadLettersDropped(count: number): void {
        this.add('deadLettersDropped', count);
    }

    /** A dead letter was replayed (sent through the queue again). */
    replayed(count: number): void {
        this.add('replayed', count);
    }

    /**
     * Plain numbers for the sidebar's summary. The percentiles are whole milliseconds (the buckets are far coarser)
     * and undefined while the histogram holds nothing.
     */
    summary(): MetricsSummary {
        const summary: MetricsSummary = { ...this.tally };
        const p50 = this.quantileSeconds(0.5);
        const p95 = this.quantileSeconds(0.95);
        if (p50 !== undefined) summary.p50Ms = Math.round(p50 * 1000);
        if (p95 !== undefined) summary.p95Ms = Math.round(p95 * 1000);
        return summary;
    }

    /** For the renderer. Copies, so that a reader cannot change the counts. */
    get counts(): Readonly<DeliveryCounts> {
        return { ...this.tally };
    }

    /** Cumulative counts per bound of DELIVERY_SECONDS_BUCKETS (the `+Inf` bucket is `count`). */
    get histogram(): Readonly<{ buckets: readonly number[]; count: number; sumSeconds: number }> {
        return { buckets: [...this.cumulative], count: this.observed, sumSeconds: this.sumMs / 1000 };
    }

    // A counter must never go down, and a bad count from a caller must not break a delivery: anything but a positive
    // whole number is ignored.
    private add(key: 'deadLettersDropped' | 'replayed', count: number): void {
        if (Number.isSafeInteger(count) && count > 0) this.tally[key] += count;
    }

    /**
     * The estimate Prometheus's histogram_quantile would give for these buckets, so that the sidebar and a dashboard
     * agree: find the bucket whose cumulative count first reaches the rank, and interpolate linearly between its lower
     * bound (the previous bound, 0 for the first) and its upper bound, as if its observations were spread evenly.
     * A rank that falls in the `+Inf` bucket has no upper bound to interpolate to, so it is capped at the largest
     * finite bound: the estimate then reads "at least this".
     */
    private quantileSeconds(q: number): number | undefined {
        if (this.observed === 0) return undefined;
        const rank = q * this.observed;
        const index = this.cumulative.findIndex((count) => count >= rank);
        if (index === -1) return DELIVERY_SECONDS_BUCKETS.at(-1);
        const lower = index === 0 ? 0 : DELIVERY_SECONDS_BUCKETS[index - 1]!;
        const below = index === 0 ? 0 : this.cumulative[index - 1]!;
        const upper = DELIVERY_SECONDS_BUCKETS[index]!;
        return lower + (upper - lower) * ((rank - below) / (this.cumulative[index]! - below));
    }
}

const COUNTERS: ReadonlyArray<readonly [keyof DeliveryCounts, string, string]> = [
    ['delivered', 'delivered_total', 'Requests delivered to the web service.'],
    ['retried', 'retried_total', 'Failed attempts after which the request waits for another.'],
    ['failed', 'failed_total', 'Requests that failed for good.'],
    ['deadLettered', 'dead_lettered_total', 'Requests that failed for good and were kept as dead letters.'],
    ['deadLettersDropped', 'dead_letters_dropped_total', 'Dead letters dropped by the bound on their number or age.'],
    ['replayed', 'replayed_total', 'Dead letters sent through the queue again.'],
];

const GAUGES: ReadonlyArray<readonly [keyof NodeGauges, string, string]> = [
    ['queued', 'queued_requests', 'Requests waiting in the queue for their next attempt.'],
    ['inFlight', 'in_flight_requests', 'Requests being sent at the time of the scrape.'],
    ['oldestQueuedSeconds', 'oldest_queued_seconds', 'How long the oldest waiting request has been accepted, in seconds.'],
    ['deadLetters', 'dead_letters', 'Dead letters kept for replay.'],
];

const HISTOGRAM = 'delivery_seconds';
const HISTOGRAM_HELP = 'Seconds from the acceptance of a message to the delivery of its request.';

/**
 * The Prometheus text of every node: one family per metric (# HELP and # TYPE lines once per family), one sample
 * per node, labelled node_id and node_name (label values escaped as the format requires: backslash, double quote
 * and newline), families in a fixed order. Counters end in _total.
 *
 * With no node at all every family is still announced (HELP and TYPE, no sample): a scraper then sees the metric
 * names as soon as the endpoint exists, and the output stays valid text.
 */
export function prometheusText(nodes: ReadonlyArray<{ id: string; name: string; metrics: DeliveryMetrics; gauges: NodeGauges }>): string {
    // One snapshot per node, so that every family of one scrape shows the same moment of that node.
    const snapshots = nodes.map((node) => ({
        labels: `node_id="${escapeLabelValue(node.id)}",node_name="${escapeLabelValue(node.name)}"`,
        counts: node.metrics.counts,
        histogram: node.metrics.histogram,
        gauges: node.gauges,
    }));
    const lines: string[] = [];
    const announce = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => {
        lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} ${type}`);
    };

    for (const [key, name, help] of COUNTERS) {
        announce(name, 'counter', help);
        for (const node of snapshots) lines.push(`${PREFIX}${name}{${node.labels}} ${formatValue(node.counts[key])}`);
    }
    for (const [key, name, help] of GAUGES) {
        announce(name, 'gauge', help);
        for (const node of snapshots) lines.push(`${PREFIX}${name}{${node.labels}} ${formatValue(node.gauges[key])}`);
    }
    announce(HISTOGRAM, 'histogram', HISTOGRAM_HELP);
    for (const { labels, histogram } of snapshots) {
        DELIVERY_SECONDS_BUCKETS.forEach((bound, index) => {
            lines.push(`${PREFIX}${HISTOGRAM}_bucket{${labels},le="${formatValue(bound)}"} ${formatValue(histogram.buckets[index]!)}`);
        });
        lines.push(
            `${PREFIX}${HISTOGRAM}_bucket{${labels},le="+Inf"} ${formatValue(histogram.count)}`,
            `${PREFIX}${HISTOGRAM}_sum{${labels}} ${formatValue(histogram.sumSeconds)}`,
            `${PREFIX}${HISTOGRAM}_count{${labels}} ${formatValue(histogram.count)}`,
        );
    }
    // The format ends every line, the last one included.
    return `${lines.join('\n')}\n`;
}

// Only these three have to be escaped in a label value; every other character, a tab or a non-ASCII letter
// included, is written as it is (the text is UTF-8).
function escapeLabelValue(value: string): string {
    return value.replace(/[\\"\n]/g, (char) => (char === '\n' ? '\\n' : `\\${char}`));
}

/**
 * A sample value as the format spells it. Rounding to 15 significant digits hides the noise of binary fractions
 * (a sum read as 0.30000000000000004 instead of 0.3) without losing anything a scrape could show; the exponent form
 * JavaScript still picks for magnitudes below 1e-6 or from 1e21 on is valid in the format, so it is kept.
 */
function formatValue(value: number): string {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return '+Inf';
    if (value === -Infinity) return '-Inf';
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(15)));
}
