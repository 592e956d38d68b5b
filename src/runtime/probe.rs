//! One probe of one container: the check a deployment waits on before it switches, and
//! the check the manager runs at each service's interval. Both go through [`probe`], so
//! "ready" and "healthy" mean the same thing.

use std::time::Duration;

use crate::backend::{ContainerBackend, ContainerState};
use crate::model::HealthProbe;

/// Probes `container` once, within `timeout`; `Err` says why it failed.
///
/// - `http`: `GET path` on the container port's published host port must answer with a
///   status below 400 (or exactly `expect_status`);
/// - `tcp`: the published host port must accept a connection;
/// - `command`: the command, run in the container, must exit 0 (a failure says the exit
///   code, never the command's output).
pub(crate) async fn probe(
    backend: &dyn ContainerBackend,
    probe: &HealthProbe,
    container: &ContainerState,
    timeout: Duration,
) -> Result<(), String> {
    let host_port = |port: u16| {
        container
            .ports
            .get(&port)
            .copied()
            .ok_or_else(|| format!("port {port} is not published"))
    };
    match probe {
        HealthProbe::Http {
            port,
            path,
            expect_status,
        } => {
            let host = host_port(*port)?;
            match http_status(host, path, timeout).await {
                Some(code) if expect_status.map_or(code < 400, |e| code == e) => Ok(()),
                Some(code) => Err(format!("GET :{port}{path} answered {code}")),
                None => Err(format!("no answer to GET :{port}{path}")),
            }
        }
        HealthProbe::Tcp { port } => {
            let host = host_port(*port)?;
            tcp_accepts(host, timeout)
                .await
                .then_some(())
                .ok_or_else(|| format!(":{port} refused the connection"))
        }
        HealthProbe::Command { argv } => match backend.exec(&container.id, argv, timeout).await {
            Ok(out) if out.exit_code == 0 => Ok(()),
            // Its output stays out of the record: what a container prints may be
            // more than those who read health checks should see.
            Ok(out) => Err(format!("`{}` exited {}", argv.join(" "), out.exit_code)),
            Err(e) => Err(format!("`{}`: {e}", argv.join(" "))),
        },
    }
}

/// Whether 127.0.0.1:`port` accepts a connection within `timeout` and keeps it open.
///
/// A published port is the engine's proxy: it accepts a connection whether or not the
/// container listens yet, then closes it when it cannot reach the container. So the
/// connection must also survive a moment (or bring data): closed or reset at once
/// means nothing listens behind the proxy.
pub(crate) async fn tcp_accepts(port: u16, timeout: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(("127.0.0.1", port))).await
    else {
        return false;
    };
    let mut byte = [0u8; 1];
    match tokio::time::timeout(PROXY_SETTLE, stream.read(&mut byte)).await {
        // Still open, nothing said: something listens.
        Err(_) => true,
        // It spoke first (a banner).
        Ok(Ok(n)) => n > 0,
        // Closed or reset.
        Ok(Err(_)) => false,
    }
}

/// How long a connection through the engine's proxy must stay open to count.
const PROXY_SETTLE: Duration = Duration::from_millis(250);

/// The status of `GET path` on 127.0.0.1:`port`, if it answers within `timeout`.
pub(crate) async fn http_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
        s.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let n = s.read(&mut head).await.ok()?;
        let text = std::str::from_utf8(head.get(..n)?).ok()?;
        text.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A listener that accepts and then closes at once (as the engine's proxy does
    /// when nothing listens in the container), or holds the connection open.
    async fn listener(hold: bool) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                if hold {
                    held.push(s);
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn a_connection_closed_at_once_is_no_listener() {
        assert!(tcp_accepts(listener(true).await, Duration::from_secs(2)).await);
        assert!(!tcp_accepts(listener(false).await, Duration::from_secs(2)).await);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        assert!(!tcp_accepts(port, Duration::from_secs(2)).await);
    }
}
