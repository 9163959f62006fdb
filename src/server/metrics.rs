//! Prometheus counters kept in memory: requests by route and status, events appended,
//! live subscribers, and request latency histograms.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

/// The server's metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    pub appended: AtomicU64,
    pub subscribers: AtomicI64,
    /// Times a stream read events from the database because the broadcast did not bring them
    /// (it fell behind the broadcast buffer, saw a gap, or a heartbeat found the head ahead).
    pub stream_catch_ups: AtomicU64,
    pub cluster: ClusterStats,
}

/// Which replica this is, and how its Postgres listener is doing.
#[derive(Default)]
pub struct ClusterStats {
    /// (replica name, backend), set once at start.
    pub replica: OnceLock<(String, &'static str)>,
    pub listener_connected: AtomicBool,
    /// Successful LISTEN (re)connects; more than 1 means it reconnected.
    pub listener_connects: AtomicU64,
    pub notifications: AtomicU64,
    /// Events the listener read from the table and fed to this replica's hub.
    pub listener_events: AtomicU64,
    /// Viewers on the other replicas as last read (0 once that read is older than the ttl).
    pub presence_remote: AtomicU64,
    /// Presence writes or reads that failed (the database was out of reach).
    pub presence_errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ClusterStats {
    pub fn set_listener_error(&self, e: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
    pub fn listener_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((route.to_string(), status)).or_default() += 1;
        drop(r);
        let secs = took.as_secs_f64();
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(route.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.total += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP warroom_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE warroom_http_requests_total counter\n");
        for ((route, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "warroom_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP warroom_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE warroom_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "warroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "warroom_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(out, "warroom_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ =
                writeln!(out, "warroom_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.total);
        }
        out.push_str("# HELP warroom_events_appended_total Events newly stored.\n");
        out.push_str("# TYPE warroom_events_appended_total counter\n");
        let _ = writeln!(out, "warroom_events_appended_total {}", self.appended.load(Ordering::Relaxed));
        out.push_str("# HELP warroom_stream_subscribers Open event streams.\n");
        out.push_str("# TYPE warroom_stream_subscribers gauge\n");
        let _ = writeln!(out, "warroom_stream_subscribers {}", self.subscribers.load(Ordering::Relaxed));
        out.push_str(
            "# HELP warroom_stream_catch_ups_total Database reads by streams the broadcast fell behind.\n",
        );
        out.push_str("# TYPE warroom_stream_catch_ups_total counter\n");
        let _ =
            writeln!(out, "warroom_stream_catch_ups_total {}", self.stream_catch_ups.load(Ordering::Relaxed));
        let c = &self.cluster;
        if let Some((replica, backend)) = c.replica.get() {
            out.push_str("# HELP warroom_replica_info This replica's name and storage backend.\n");
            out.push_str("# TYPE warroom_replica_info gauge\n");
            let _ = writeln!(out, "warroom_replica_info{{replica=\"{replica}\",backend=\"{backend}\"}} 1");
            if *backend == "postgres" {
                let g = |out: &mut String, name: &str, kind: &str, help: &str, v: u64| {
                    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
                };
                let connected = c.listener_connected.load(Ordering::Relaxed) as u64;
                g(
                    &mut out,
                    "warroom_listener_connected",
                    "gauge",
                    "1 while the LISTEN connection is up.",
                    connected,
                );
                let n = c.listener_connects.load(Ordering::Relaxed);
                g(&mut out, "warroom_listener_connects_total", "counter", "LISTEN connections made.", n);
                let n = c.notifications.load(Ordering::Relaxed);
                g(&mut out, "warroom_listener_notifications_total", "counter", "NOTIFY hints received.", n);
                let n = c.listener_events.load(Ordering::Relaxed);
                g(
                    &mut out,
                    "warroom_listener_events_total",
                    "counter",
                    "Events read by the listener and fed to this replica's streams.",
                    n,
                );
                let n = c.presence_remote.load(Ordering::Relaxed);
                g(
                    &mut out,
                    "warroom_presence_remote_viewers",
                    "gauge",
                    "Viewers (incident, name) on the other live replicas, as last read.",
                    n,
                );
                let n = c.presence_errors.load(Ordering::Relaxed);
                g(
                    &mut out,
                    "warroom_presence_errors_total",
                    "counter",
                    "Presence writes or reads that failed.",
                    n,
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_buckets() {
        let m = Metrics::default();
        m.request("/healthz", 200, Duration::from_millis(3));
        m.appended.fetch_add(5, Ordering::Relaxed);
        let t = m.render();
        assert!(t.contains("warroom_http_requests_total{route=\"/healthz\",status=\"200\"} 1"), "{t}");
        assert!(t.contains("le=\"0.005\"} 1"), "{t}");
        assert!(t.contains("le=\"0.001\"} 0"), "{t}");
        assert!(t.contains("warroom_events_appended_total 5"), "{t}");
    }
}
