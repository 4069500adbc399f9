//! The scrape: every series' cells, summed over the workers (and over the apps
//! that share one [`Metrics`](super::Metrics)) into one snapshot, encoded by
//! `prometheus-client` in the Prometheus text format or in OpenMetrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::series::{Series, CLASSES, CLASS_LABELS};

/// One label set's totals.
#[derive(Debug)]
struct Row {
    route: Box<str>,
    method: &'static str,
    class: &'static str,
    /// Latency sum, seconds.
    sum: f64,
    /// Requests per bucket (not cumulative), `+Inf` last.
    counts: Vec<u64>,
}

impl Row {
    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Route, method index, status class: how a snapshot sorts.
type Key<'a> = (&'a str, usize, usize);

/// Latency sum (nanoseconds), counts per bucket, method name.
type Totals = (u64, Vec<u64>, &'static str);

/// What one scrape found, as a `prometheus-client` collector.
#[derive(Debug)]
pub(super) struct Snapshot {
    bounds: Vec<f64>,
    /// Sorted by route, method, status class; only label sets that had requests.
    rows: Vec<Row>,
}

impl Snapshot {
    /// Sums `series` (several may carry the same labels: one per app built with the
    /// same `Metrics`) over their workers.
    pub(super) fn take(series: &[Arc<Series>], bounds: &[f64]) -> Snapshot {
        let mut totals: BTreeMap<Key<'_>, Totals> = BTreeMap::new();
        for s in series {
            for (slot, method) in s.methods.iter().enumerate() {
                for class in 0..CLASSES {
                    let (sum, counts, _) = totals
                        .entry((&s.route, method.index(), class))
                        .or_insert_with(|| (0, vec![0; bounds.len() + 1], method.as_str()));
                    s.read(slot, class, sum, counts);
                }
            }
        }
        let rows = totals
            .into_iter()
            .filter(|(_, (_, counts, _))| counts.iter().any(|&c| c != 0))
            .map(|((route, _, class), (sum, counts, method))| Row {
                route: route.into(),
                method,
                class: CLASS_LABELS[class],
                sum: sum as f64 / 1e9,
                counts,
            })
            .collect();
        Snapshot {
            bounds: bounds.to_vec(),
            rows,
        }
    }

    /// Encodes in the Prometheus text format (0.0.4).
    pub(super) fn prometheus_text(self) -> String {
        let mut out = String::new();
        let registry = self.into_registry();
        // Writing to a `String` cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
        out
    }

    /// Encodes in the OpenMetrics text format (1.0.0), `# EOF` included.
    pub(super) fn openmetrics(self) -> String {
        let mut out = String::new();
        let registry = self.into_registry();
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    fn into_registry(self) -> Registry {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        registry
    }
}

const REQUESTS_HELP: &str = "HTTP requests answered, by method, route template and status class";
const ERRORS_HELP: &str =
    "HTTP requests answered with a 5xx status (server errors), by method and route template";
const DURATION_HELP: &str =
    "Time from a request reaching the metrics middleware to its response being ready";

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        fn labels(r: &Row) -> [(&str, &str); 3] {
            [
                ("method", r.method),
                ("route", &r.route),
                ("status", r.class),
            ]
        }

        let mut requests =
            encoder.encode_descriptor("http_requests", REQUESTS_HELP, None, MetricType::Counter)?;
        for row in &self.rows {
            requests
                .encode_family(&labels(row))?
                .encode_counter::<NoLabelSet, _, u64>(&row.count(), None)?;
        }

        // One series per (method, route) that had requests, 0 when none failed, so
        // that an error ratio has its denominator's label sets.
        let mut errors: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for row in &self.rows {
            let failed = if row.class == "5xx" { row.count() } else { 0 };
            *errors.entry((&row.route, row.method)).or_default() += failed;
        }
        let mut family = encoder.encode_descriptor(
            "http_request_errors",
            ERRORS_HELP,
            None,
            MetricType::Counter,
        )?;
        for ((route, method), failed) in errors {
            family
                .encode_family(&[("method", method), ("route", route)])?
                .encode_counter::<NoLabelSet, _, u64>(&failed, None)?;
        }

        let mut durations = encoder.encode_descriptor(
            "http_request_duration",
            DURATION_HELP,
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for row in &self.rows {
            let buckets: Vec<(f64, u64)> = self
                .bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(row.counts.iter().copied())
                .collect();
            durations
                .encode_family(&labels(row))?
                .encode_histogram::<NoLabelSet>(row.sum, row.count(), &buckets, None)?;
        }
        Ok(())
    }
}
