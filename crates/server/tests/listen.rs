//! The listener against slow, idle and too many clients, over real sockets on loopback with
//! timeouts of a second or two so each case ends quickly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use llavero_server::listen::{self, Limits};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const REQUEST: &[u8] = b"GET /hello HTTP/1.1\r\nHost: llavero.test\r\n\r\n";

struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start(limits: Limits) -> Server {
    let app = Router::new()
        .route("/hello", get(|| async { "ok" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                "ok"
            }),
        )
        .route("/echo", post(|body: Bytes| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(listen::serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    Server {
        address,
        stop: Some(stop),
        task,
    }
}

/// Reads one response (headers and a `Content-Length` body) and returns it as text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("no response within 5 s")
            .unwrap();
        assert!(n > 0, "closed before a whole response");
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// Waits up to `within` for the server to close the connection; `Some(elapsed)` if it did.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0_u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // A 408 or other answer before the close is fine; keep reading to the end.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_half_sent_header_is_closed_after_the_header_timeout() {
    let server = start(Limits::new(1, 30, 60, 16).unwrap()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: llavero.test\r\nX-Slow: ")
        .await
        .unwrap();
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("a half-sent header kept the connection open");
    assert!(closed >= Duration::from_millis(900), "{closed:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = start(Limits::new(30, 30, 1, 16).unwrap()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Keep-alive: the connection stays usable while it is not idle for long...
    stream.write_all(REQUEST).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // ...and is closed after a second of silence, long before the header timeout.
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection stayed open");
    assert!(closed >= Duration::from_millis(900), "{closed:?}");
}

#[tokio::test]
async fn a_request_whose_body_does_not_arrive_in_time_is_answered_408() {
    let server = start(Limits::new(30, 1, 60, 16).unwrap()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: llavero.test\r\nContent-Length: 100\r\n\r\nab")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
}

#[tokio::test]
async fn the_connection_limit_holds() {
    let server = start(Limits::new(30, 30, 30, 2).unwrap()).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(REQUEST).await.unwrap();
        assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // The third connection is not served while two are open...
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    let mut chunk = [0_u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(700), third.read(&mut chunk))
            .await
            .is_err(),
        "a third connection was served past max_connections = 2"
    );
    // ...and is as soon as one of them closes.
    drop(held.pop());
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_and_closes_idle_connections() {
    let mut server = start(Limits::new(30, 30, 60, 16).unwrap()).await;
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    idle.write_all(REQUEST).await.unwrap();
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    let mut busy = TcpStream::connect(server.address).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: llavero.test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop.take().unwrap().send(()).unwrap();
    assert!(read_response(&mut busy).await.starts_with("HTTP/1.1 200"));
    assert!(
        closed_within(&mut idle, Duration::from_secs(2))
            .await
            .is_some()
    );
    tokio::time::timeout(Duration::from_secs(3), server.task)
        .await
        .expect("serve did not return after shutdown")
        .unwrap();
    assert!(TcpStream::connect(server.address).await.is_err());
}
