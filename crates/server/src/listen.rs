//! The listener: accepts TCP connections and serves HTTP/1.1 on each, with the limits a public
//! service needs against clients that are slow or idle on purpose (slowloris).
//!
//! `axum::serve` waits forever: a client that sends half a header, or opens a keep-alive
//! connection and says nothing, holds a socket and a task until it leaves. Here every
//! connection is bounded:
//!
//! - **Header read timeout** — the request line and headers must arrive within
//!   [`Limits::header_read_timeout`] (hyper's own timer, which also runs while a keep-alive
//!   connection waits for its next request).
//! - **Request timeout** — a request (its body read included, since handlers read it) that is
//!   not answered within [`Limits::request_timeout`] is answered `408 Request Timeout`.
//! - **Idle timeout** — a connection on which no byte moved either way for
//!   [`Limits::idle_timeout`] is shut down gracefully (a request in flight is finished first).
//! - **Connection limit** — at most [`Limits::max_connections`] connections are served at once;
//!   past that the listener stops accepting, so further clients wait in the kernel's backlog
//!   instead of costing memory here.
//!
//! Shutdown is graceful: on the signal the listener stops accepting, every connection finishes
//! the request it is serving and closes, and [`serve`] returns once all are closed (or after
//! [`Limits::request_timeout`], the longest a request may take anyway).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower_http::timeout::TimeoutLayer;

/// The connection limits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for a request's line and headers.
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request, body included, before a `408`.
    pub request_timeout: Duration,
    /// Time a connection may stay open with no byte moving.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: u32,
}

/// A limit that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// A zero timeout would close every connection at once.
    #[error("{0} must be at least 1 second")]
    ZeroTimeout(&'static str),
    /// Zero connections would serve nobody.
    #[error("max_connections must be at least 1")]
    NoConnections,
    /// The semaphore that counts connections holds at most this many.
    #[error("max_connections is at most {max}, found {found}")]
    TooManyConnections {
        /// The most allowed.
        max: u32,
        /// The configured value.
        found: u32,
    },
}

/// The largest connection limit ([`Semaphore::MAX_PERMITS`] is larger; this is what a 32-bit
/// count of permits taken back at shutdown can hold, and more than any one process serves).
pub const MAX_CONNECTIONS: u32 = 1 << 20;

impl Limits {
    /// Limits from seconds and a count; each must be at least 1.
    pub fn new(
        header_read_timeout_secs: u64,
        request_timeout_secs: u64,
        idle_timeout_secs: u64,
        max_connections: u32,
    ) -> Result<Self, LimitsError> {
        let secs = |value: u64, name| {
            if value == 0 {
                Err(LimitsError::ZeroTimeout(name))
            } else {
                Ok(Duration::from_secs(value))
            }
        };
        if max_connections == 0 {
            return Err(LimitsError::NoConnections);
        }
        if max_connections > MAX_CONNECTIONS {
            return Err(LimitsError::TooManyConnections {
                max: MAX_CONNECTIONS,
                found: max_connections,
            });
        }
        Ok(Self {
            header_read_timeout: secs(header_read_timeout_secs, "header_read_timeout_secs")?,
            request_timeout: secs(request_timeout_secs, "request_timeout_secs")?,
            idle_timeout: secs(idle_timeout_secs, "idle_timeout_secs")?,
            max_connections,
        })
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then drains.
///
/// Each request carries [`ConnectInfo<SocketAddr>`] (the TCP peer), as with
/// `into_make_service_with_connect_info`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopped) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the limit, the listener stops accepting until a connection closes.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            app.clone(),
            Arc::clone(&http),
            limits.idle_timeout,
            stopped.clone(),
            slot,
        ));
    }
    drop(listener);
    // Tell every connection to finish its request and close, then wait for their slots.
    drop(stop);
    let all = slots.acquire_many(limits.max_connections);
    if tokio::time::timeout(limits.request_timeout, all)
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the end of the shutdown grace period");
    }
}

/// An `accept` error: a connection that failed before it was accepted is the client's
/// problem; anything else (out of file descriptors) is the machine's, and retrying at once
/// would spin, so wait a second.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it closes, is idle too long, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    idle_timeout: Duration,
    mut stopped: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        tower::ServiceExt::oneshot(app.clone(), request)
    });
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(activity.last() + idle_timeout), if !closing => {
                if activity.last().elapsed() >= idle_timeout {
                    tracing::debug!(%peer, "closing an idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = stopped.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// When a connection last moved a byte, as milliseconds since it opened.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that records when bytes move through it.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_refuse_zero_and_oversized_values() {
        assert_eq!(
            Limits::new(0, 30, 60, 10),
            Err(LimitsError::ZeroTimeout("header_read_timeout_secs"))
        );
        assert_eq!(
            Limits::new(10, 0, 60, 10),
            Err(LimitsError::ZeroTimeout("request_timeout_secs"))
        );
        assert_eq!(
            Limits::new(10, 30, 0, 10),
            Err(LimitsError::ZeroTimeout("idle_timeout_secs"))
        );
        assert_eq!(Limits::new(10, 30, 60, 0), Err(LimitsError::NoConnections));
        assert!(matches!(
            Limits::new(10, 30, 60, MAX_CONNECTIONS + 1),
            Err(LimitsError::TooManyConnections { .. })
        ));
        let limits = Limits::new(10, 30, 60, 4096).unwrap();
        assert_eq!(limits.request_timeout, Duration::from_secs(30));
    }
}
