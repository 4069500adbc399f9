//! The built-in load driver: keep-alive HTTP/1.1 connections on a tokio current-thread
//! runtime with hyper's client, used when `wrk` is not installed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use super::{LiveCounters, LoadOptions};
use crate::load::stats::{ErrorCounts, Histogram, LoadReport};
use crate::load::workload::{RequestSpec, Workload};

/// A request ready to be cloned onto the wire.
struct Prepared {
    method: hyper::Method,
    path: String,
    headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    body: Bytes,
}

impl Prepared {
    fn new(spec: &RequestSpec, addr: SocketAddr) -> Result<Prepared> {
        let method = hyper::Method::from_bytes(spec.method.as_bytes())
            .with_context(|| format!("invalid method {:?}", spec.method))?;
        let mut headers = vec![(
            hyper::header::HOST,
            hyper::header::HeaderValue::from_str(&addr.to_string())?,
        )];
        for (k, v) in &spec.headers {
            headers.push((
                hyper::header::HeaderName::from_bytes(k.as_bytes())
                    .with_context(|| format!("invalid header name {k:?}"))?,
                hyper::header::HeaderValue::from_str(v)
                    .with_context(|| format!("invalid value for header {k:?}"))?,
            ));
        }
        Ok(Prepared {
            method,
            path: spec.path.clone(),
            headers,
            body: Bytes::from(spec.body.clone()),
        })
    }

    fn request(&self) -> hyper::Request<Full<Bytes>> {
        let mut req = hyper::Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.parse().expect("validated path");
        for (k, v) in &self.headers {
            req.headers_mut().append(k.clone(), v.clone());
        }
        req
    }
}

struct LoadPlan {
    addr: SocketAddr,
    requests: Vec<Prepared>,
    schedule: Vec<usize>,
    deadline: Instant,
    limit: u64,
    timeout: Duration,
    issued: AtomicU64,
    live: Arc<LiveCounters>,
}

/// Runs the built-in driver against `addr` and returns what it measured.
pub fn run(addr: SocketAddr, workload: &Workload, opts: &LoadOptions) -> Result<LoadReport> {
    let requests = workload
        .requests
        .iter()
        .map(|r| Prepared::new(r, addr))
        .collect::<Result<Vec<_>>>()?;
    let opts = opts.clone();
    let schedule = workload.schedule();
    // A thread of its own, so that pinning it to a CPU does not pin the caller.
    std::thread::spawn(move || -> Result<LoadReport> {
        if let Some(cpu) = opts.pin_cpu {
            super::pin_current_thread(cpu);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the load driver's runtime")?;
        let live = Arc::new(LiveCounters::default());
        let started = Instant::now();
        let plan = Arc::new(LoadPlan {
            addr,
            requests,
            schedule,
            deadline: started + opts.duration,
            limit: opts.max_requests.unwrap_or(u64::MAX),
            timeout: opts.request_timeout,
            issued: AtomicU64::new(0),
            live: Arc::clone(&live),
        });
        let reporter = super::Reporter::start(&opts, live, true, started);
        let (hist, errors) = rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..opts.connections {
                set.spawn(connection(Arc::clone(&plan)));
            }
            let mut hist = Histogram::new();
            let mut errors = ErrorCounts::default();
            while let Some(done) = set.join_next().await {
                let (h, e) = done.expect("a load connection task panicked");
                hist.merge(&h);
                errors.connect += e.connect;
                errors.read += e.read;
                errors.write += e.write;
                errors.timeout += e.timeout;
                errors.http += e.http;
            }
            (hist, errors)
        });
        let elapsed = started.elapsed();
        reporter.finish();
        Ok(LoadReport::from_histogram(
            "builtin", &hist, elapsed, errors,
        ))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the built-in load driver panicked"))?
}

/// One keep-alive connection sending requests back to back, reconnecting after errors.
async fn connection(plan: Arc<LoadPlan>) -> (Histogram, ErrorCounts) {
    let mut hist = Histogram::new();
    let mut errors = ErrorCounts::default();
    let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
    let fail = |errors: &mut ErrorCounts, kind: fn(&mut ErrorCounts) -> &mut u64| {
        *kind(errors) += 1;
        plan.live.errors.fetch_add(1, Ordering::Relaxed);
    };
    loop {
        if Instant::now() >= plan.deadline {
            break;
        }
        if sender.as_ref().is_some_and(|s| s.is_closed()) {
            sender = None;
        }
        let s = match &mut sender {
            Some(s) => s,
            None => match tokio::time::timeout(plan.timeout, connect(plan.addr)).await {
                Ok(Ok(s)) => sender.insert(s),
                Ok(Err(_)) | Err(_) => {
                    fail(&mut errors, |e| &mut e.connect);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        // The global ticket picks the request, so the whole run follows the schedule.
        let ticket = plan.issued.fetch_add(1, Ordering::Relaxed);
        if ticket >= plan.limit {
            break;
        }
        let slot = (ticket % plan.schedule.len() as u64) as usize;
        let req = plan.requests[plan.schedule[slot]].request();
        let t0 = Instant::now();
        let exchange = async {
            s.ready().await.map_err(|_| Failure::Write)?;
            let resp = s.send_request(req).await.map_err(|e| {
                if e.is_canceled() || e.is_closed() {
                    Failure::Write
                } else {
                    Failure::Read
                }
            })?;
            let status = resp.status();
            resp.into_body()
                .collect()
                .await
                .map_err(|_| Failure::Read)?;
            Ok::<_, Failure>(status)
        };
        match tokio::time::timeout(plan.timeout, exchange).await {
            Ok(Ok(status)) => {
                hist.record(t0.elapsed());
                plan.live.done.fetch_add(1, Ordering::Relaxed);
                if status.as_u16() >= 400 {
                    fail(&mut errors, |e| &mut e.http);
                }
            }
            Ok(Err(Failure::Write)) => {
                fail(&mut errors, |e| &mut e.write);
                sender = None;
            }
            Ok(Err(Failure::Read)) => {
                fail(&mut errors, |e| &mut e.read);
                sender = None;
            }
            Err(_) => {
                fail(&mut errors, |e| &mut e.timeout);
                sender = None;
            }
        }
    }
    (hist, errors)
}

enum Failure {
    Write,
    Read,
}

async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the connection closes; errors surface on the sender.
        let _ = conn.await;
    });
    Ok(sender)
}
