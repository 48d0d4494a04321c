// parse-prometheus-text-format ships no types; this is the shape of what it returns, as the tests read it.
declare module 'parse-prometheus-text-format' {
    /** Parses Prometheus text (format 0.0.4) into its metric families, values kept as the text spells them. */
    function parsePrometheusTextFormat(text: string): parsePrometheusTextFormat.MetricFamily[];

    namespace parsePrometheusTextFormat {
        interface Sample {
            value?: string;
            labels?: Record<string, string>;
            timestamp_ms?: string;
            /** Histograms: the cumulative count per `le`. */
            buckets?: Record<string, string>;
            /** Summaries: the value per `quantile`. */
            quantiles?: Record<string, string>;
            count?: string;
            sum?: string;
        }

        interface MetricFamily {
            name: string;
            help: string;
            type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
            metrics: Sample[];
        }
    }

    export = parsePrometheusTextFormat;
}
