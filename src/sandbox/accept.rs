//! The sandbox's own accept loop (hyper, HTTP/1.1). It exists for two reasons that
//! `axum::serve` cannot cover: a fault can drop one connection with no response at all (each
//! connection carries a `DropHandle` in its requests), and paths are rewritten by the owning
//! emulator before routing (`Emulator::rewrite_path`).
//!
//! This module knows nothing about providers beyond their path prefix.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Uri};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::sandbox::core::Emulator;
use crate::sandbox::faults::DropHandle;

/// How long open connections get to finish their current request at shutdown.
const DRAIN: Duration = Duration::from_secs(3);

/// Serves `app` on `listener` until `shutdown` turns true, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    emulators: Arc<Vec<Arc<dyn Emulator>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let conn = serve_connection(stream, app.clone(), emulators.clone(), shutdown.clone());
                    connections.spawn(conn);
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!("sandbox: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.abort_all();
    }
}

/// Serves one connection until it ends, a fault drops it, or the server shuts down.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    emulators: Arc<Vec<Arc<dyn Emulator>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let drop_handle = DropHandle::default();
    let handle = drop_handle.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        let handle = handle.clone();
        let emulators = emulators.clone();
        async move {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(handle);
            rewrite(&emulators, &mut req);
            Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {}))
        }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        // Dropping the connection future closes the socket without a response.
        _ = drop_handle.0.notified() => return,
        _ = shutdown.changed() => conn.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = drop_handle.0.notified() => {}
    }
}

/// Lets the emulator owning the path prefix rewrite the rest of the path before routing.
fn rewrite(emulators: &[Arc<dyn Emulator>], req: &mut Request<Body>) {
    let path = req.uri().path();
    for emulator in emulators {
        let prefix = emulator.name();
        let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(prefix)) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        let Some(new_rest) = emulator.rewrite_path(rest) else {
            return;
        };
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let new_path = format!("/{prefix}{new_rest}{query}");
        let mut parts = req.uri().clone().into_parts();
        match new_path.parse() {
            Ok(pq) => parts.path_and_query = Some(pq),
            Err(_) => return,
        }
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::response::{IntoResponse, Response};

    use super::rewrite;
    use crate::sandbox::core::{Emulator, EmulatorError, InjectedFault};

    /// An emulator whose vendor ignores case and double slashes, like Eloqua.
    struct Tolerant;

    impl Emulator for Tolerant {
        fn name(&self) -> &'static str {
            "tolerant"
        }
        fn api_router(self: Arc<Self>) -> Router {
            Router::new()
        }
        fn inspect_router(self: Arc<Self>) -> Router {
            Router::new()
        }
        fn seed(&self, _: &serde_json::Value) -> Result<(), EmulatorError> {
            Ok(())
        }
        fn reset(&self) {}
        fn snapshot(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
        fn restore(&self, _: serde_json::Value) -> Result<(), EmulatorError> {
            Ok(())
        }
        fn fault_response(&self, _: &InjectedFault) -> Response {
            ().into_response()
        }
        fn rewrite_path(&self, path: &str) -> Option<String> {
            Some(path.replace("//", "/").to_ascii_lowercase())
        }
    }

    fn rewritten(uri: &str) -> String {
        let emulators: Vec<Arc<dyn Emulator>> = vec![Arc::new(Tolerant)];
        let mut req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        rewrite(&emulators, &mut req);
        req.uri().to_string()
    }

    #[test]
    fn rewrites_below_the_owning_prefix_only() {
        assert_eq!(
            rewritten("/tolerant//API/Bulk?x=A"),
            "/tolerant/api/bulk?x=A"
        );
        assert_eq!(rewritten("/tolerant"), "/tolerant");
        assert_eq!(rewritten("/tolerantX/API"), "/tolerantX/API");
        assert_eq!(
            rewritten("/_sandbox/tolerant/API"),
            "/_sandbox/tolerant/API"
        );
    }
}
