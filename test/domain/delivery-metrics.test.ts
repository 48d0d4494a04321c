import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { DELIVERY_SECONDS_BUCKETS, DeliveryMetrics, prometheusText, type NodeGauges } from '../../src/delivery/delivery-metrics';

const PREFIX = 'ccaas_web_service_out_';
const NO_GAUGES: NodeGauges = { queued: 0, inFlight: 0, oldestQueuedSeconds: 0, deadLetters: 0 };
const LE = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '300', '1800', '3600', '+Inf'];
const FAMILIES = [
    ['delivered_total', 'COUNTER'],
    ['retried_total', 'COUNTER'],
    ['failed_total', 'COUNTER'],
    ['dead_lettered_total', 'COUNTER'],
    ['dead_letters_dropped_total', 'COUNTER'],
    ['replayed_total', 'COUNTER'],
    ['queued_requests', 'GAUGE'],
    ['in_flight_requests', 'GAUGE'],
    ['oldest_queued_seconds', 'GAUGE'],
    ['dead_letters', 'GAUGE'],
    ['delivery_seconds', 'HISTOGRAM'],
].map(([name, type]) => [`${PREFIX}${name}`, type]);

/** 30 ms, 200 ms, 4 s and 2 h: the first bucket, a middle one, a late one, and past the largest bound. */
function knownSeries(): DeliveryMetrics {
    const metrics = new DeliveryMetrics();
    for (const ms of [30, 200, 4000, 7_200_000]) metrics.delivered(ms);
    for (let index = 0; index < 3; index++) metrics.retried();
    metrics.failed();
    metrics.failed();
    metrics.deadLettered();
    metrics.deadLettersDropped(5);
    metrics.replayed(2);
    return metrics;
}

describe('delivery metrics', () => {
    it('counts a known series of calls, the histogram cumulative with an exact sum and count', () => {
        const metrics = knownSeries();
        assert.deepEqual(metrics.counts, { delivered: 4, retried: 3, failed: 2, deadLettered: 1, deadLettersDropped: 5, replayed: 2 });
        assert.deepEqual(metrics.histogram, { buckets: [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3], count: 4, sumSeconds: 7204.23 });
        assert.equal(metrics.histogram.buckets.length, DELIVERY_SECONDS_BUCKETS.length);
    });

    it('a latency equal to a bound falls in that bound (le is inclusive)', () => {
        const metrics = new DeliveryMetrics();
        metrics.delivered(50);
        metrics.delivered(100);
        metrics.delivered(3_600_000);
        assert.deepEqual(metrics.histogram.buckets, [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
    });

    it('counters never go down: a dropped or replayed count that is no positive whole number is ignored', () => {
        const metrics = new DeliveryMetrics();
        for (const bad of [0, -3, 1.5, NaN, Infinity]) {
            metrics.deadLettersDropped(bad);
            metrics.replayed(bad);
        }
        assert.equal(metrics.counts.deadLettersDropped, 0);
        assert.equal(metrics.counts.replayed, 0);
    });

    it('a negative or non-finite latency counts as a delivery but stays out of the histogram', () => {
        const metrics = new DeliveryMetrics();
        for (const bad of [-1, -3_600_000, NaN, Infinity, -Infinity]) metrics.delivered(bad);
        assert.equal(metrics.counts.delivered, 5);
        assert.deepEqual(metrics.histogram, { buckets: DELIVERY_SECONDS_BUCKETS.map(() => 0), count: 0, sumSeconds: 0 });
        assert.equal(metrics.summary().p50Ms, undefined);
        metrics.delivered(30);
        assert.equal(metrics.histogram.count, 1);
        assert.equal(metrics.histogram.sumSeconds, 0.03);
    });

    it('the counters read back by the renderer are copies', () => {
        const metrics = knownSeries();
        (metrics.counts as { delivered: number }).delivered = 99;
        (metrics.histogram.buckets as number[])[0] = 99;
        assert.equal(metrics.counts.delivered, 4);
        assert.equal(metrics.histogram.buckets[0], 1);
    });
});

describe('delivery metrics summary', () => {
    it('has no percentiles before the first delivery', () => {
        const summary = new DeliveryMetrics().summary();
        assert.deepEqual(summary, { delivered: 0, retried: 0, failed: 0, deadLettered: 0, deadLettersDropped: 0, replayed: 0 });
        assert.equal(summary.p50Ms, undefined);
        assert.equal(summary.p95Ms, undefined);
    });

    it('interpolates inside the bucket holding the rank', () => {
        // Half in (0.05 s, 0.1 s], half in (0.5 s, 1 s]: the median reaches the top of the first half's bucket, and the
        // 95th percentile (rank 95 of 100) lies 45/50 of the way into the second half's bucket.
        const metrics = new DeliveryMetrics();
        for (let index = 0; index < 50; index++) metrics.delivered(80);
        for (let index = 0; index < 50; index++) metrics.delivered(700);
        assert.deepEqual(metrics.summary(), {
            delivered: 100,
            retried: 0,
            failed: 0,
            deadLettered: 0,
            deadLettersDropped: 0,
            replayed: 0,
            p50Ms: 100,
            p95Ms: 950,
        });
    });

    it('the first bucket starts at 0', () => {
        const metrics = new DeliveryMetrics();
        for (let index = 0; index < 4; index++) metrics.delivered(10);
        assert.equal(metrics.summary().p50Ms, 25);
    });

    it('a rank past the largest bound is capped at that bound', () => {
        const metrics = new DeliveryMetrics();
        for (let index = 0; index < 3; index++) metrics.delivered(7_200_000);
        assert.equal(metrics.summary().p50Ms, 3_600_000);
        assert.equal(metrics.summary().p95Ms, 3_600_000);
    });

    it('carries the counts beside the percentiles', () => {
        const summary = knownSeries().summary();
        assert.deepEqual(
            [summary.delivered, summary.retried, summary.failed, summary.deadLettered, summary.deadLettersDropped, summary.replayed],
            [4, 3, 2, 1, 5, 2],
        );
        // Ranks 2 and 3.8 of 4: the top of (0.1 s, 0.25 s], where the second delivery alone lies, and past 3600 s.
        assert.equal(summary.p50Ms, 250);
        assert.equal(summary.p95Ms, 3_600_000);
    });
});

describe('Prometheus text of the deliveries', () => {
    const AWKWARD_NAME = 'CRM "main" at C:\\crm\nsecond line';
    const nodes = [
        { id: 'a1b2c3d4.e5f6', name: 'CRM push', metrics: knownSeries(), gauges: { queued: 3, inFlight: 1, oldestQueuedSeconds: 0.1 + 0.2, deadLetters: 2 } },
        { id: 'f6e5d4c3.b2a1', name: AWKWARD_NAME, metrics: new DeliveryMetrics(), gauges: NO_GAUGES },
    ];
    const first = { node_id: 'a1b2c3d4.e5f6', node_name: 'CRM push' };
    const second = { node_id: 'f6e5d4c3.b2a1', node_name: AWKWARD_NAME };

    it('has every family once, in a fixed order, with its type and help', () => {
        const text = prometheusText(nodes);
        assert.ok(text.endsWith('\n'));
        const families = parsePrometheusTextFormat(text);
        assert.deepEqual(
            families.map((family) => [family.name, family.type]),
            FAMILIES,
        );
        for (const family of families) assert.match(family.help, /^[A-Z].+\.$/, family.name);
        assert.equal(text.match(/^# HELP /gm)?.length, FAMILIES.length);
        assert.equal(text.match(/^# TYPE /gm)?.length, FAMILIES.length);
    });

    it('gives each node its counter and gauge samples, the labels round-tripped', () => {
        const text = prometheusText(nodes);
        assert.ok(text.includes('node_name="CRM \\"main\\" at C:\\\\crm\\nsecond line"'), 'escaped as the format requires');
        const families = parsePrometheusTextFormat(text);
        const expected: Record<string, [string, string]> = {
            delivered_total: ['4', '0'],
            retried_total: ['3', '0'],
            failed_total: ['2', '0'],
            dead_lettered_total: ['1', '0'],
            dead_letters_dropped_total: ['5', '0'],
            replayed_total: ['2', '0'],
            queued_requests: ['3', '0'],
            in_flight_requests: ['1', '0'],
            oldest_queued_seconds: ['0.3', '0'],
            dead_letters: ['2', '0'],
        };
        for (const [name, [firstValue, secondValue]] of Object.entries(expected)) {
            const family = families.find((candidate) => candidate.name === `${PREFIX}${name}`);
            assert.ok(family, name);
            assert.deepEqual(
                family.metrics,
                [
                    { value: firstValue, labels: first },
                    { value: secondValue, labels: second },
                ],
                name,
            );
        }
    });

    it('gives each node its histogram: every bucket, +Inf, sum and count', () => {
        // The parser folds the series of a labelled histogram into one, and drops a labelled _sum and _count
        // (yunyu/parse-prometheus-text-format#13). Without the TYPE line the same parser reads every _bucket, _sum and
        // _count line as a plain sample, all its labels kept.
        const text = prometheusText(nodes).replace(`# TYPE ${PREFIX}delivery_seconds histogram\n`, '');
        const samples = (suffix: string) =>
            parsePrometheusTextFormat(text)
                .filter((family) => family.name === `${PREFIX}delivery_seconds_${suffix}`)
                .flatMap((family) => family.metrics);
        const buckets = samples('bucket');
        assert.deepEqual(
            buckets.map(({ labels }) => labels),
            [...LE.map((le) => ({ ...first, le })), ...LE.map((le) => ({ ...second, le }))],
        );
        assert.deepEqual(
            buckets.map(({ value }) => value),
            [...['1', '1', '2', '2', '2', '2', '3', '3', '3', '3', '3', '3', '3', '4'], ...LE.map(() => '0')],
        );
        assert.deepEqual(samples('sum'), [
            { value: '7204.23', labels: first },
            { value: '0', labels: second },
        ]);
        assert.deepEqual(samples('count'), [
            { value: '4', labels: first },
            { value: '0', labels: second },
        ]);
    });

    it("one node's histogram reads back through the parser's own histogram support", () => {
        const families = parsePrometheusTextFormat(prometheusText([nodes[0]!]));
        const histogram = families.find((family) => family.name === `${PREFIX}delivery_seconds`);
        assert.equal(histogram?.type, 'HISTOGRAM');
        const counts = ['1', '1', '2', '2', '2', '2', '3', '3', '3', '3', '3', '3', '3', '4'];
        assert.deepEqual(histogram.metrics[0]?.buckets, Object.fromEntries(LE.map((le, index) => [le, counts[index]])));
    });

    it('writes fractions without binary noise', () => {
        const metrics = new DeliveryMetrics();
        metrics.delivered(0.1);
        metrics.delivered(0.2);
        const text = prometheusText([{ id: 'n', name: '', metrics, gauges: NO_GAUGES }]);
        assert.match(text, /^ccaas_web_service_out_delivery_seconds_sum\{node_id="n",node_name=""\} 0\.0003$/m);
    });

    it('announces every family even with no node at all', () => {
        const text = prometheusText([]);
        assert.equal(text.split('\n').length, 2 * FAMILIES.length + 1, 'HELP and TYPE lines, then the final newline');
        assert.ok(text.endsWith('\n'));
        const families = parsePrometheusTextFormat(text);
        assert.deepEqual(
            families.map((family) => [family.name, family.type, family.metrics]),
            FAMILIES.map(([name, type]) => [name, type, []]),
        );
    });
});
