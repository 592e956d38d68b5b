//! The edge proxy: one Caddy container per engine that holds the published ports of
//! every service deployed with it, and outlives the process that deployed them.
//!
//! A service's published port (`8080:80`, `127.0.0.1:8080:80`) belongs to the service,
//! not to one of its replicas: with an edge proxy, the replicas publish their ports on
//! `127.0.0.1` only, on ports the engine picks, and Caddy listens on the service's
//! address and forwards each request to a ready replica, in turn. A rolling update, a
//! scale or a rollback changes the proxy's upstreams (through Caddy's admin API), never
//! the address: requests keep being answered while replicas come and go.
//!
//! Caddy applies every change by loading its whole configuration again: it binds a new
//! listener beside the old one (`SO_REUSEPORT`) and closes the old one. Linux resets
//! the connections still waiting in the closed listener's queue unless
//! `net.ipv4.tcp_migrate_req` is 1, which hands them to the new listener
//! ([`EdgeProxy::host_migrates_connections`] reads it).
//!
//! - The proxy runs on the host's network (`--network host`), so it can listen on any
//!   port without being recreated; it reaches the replicas on `127.0.0.1`. This needs
//!   an engine on the machine Kyozo runs on (a Linux host: not Docker Desktop's VM).
//! - Its admin API listens on a Unix socket in a private folder of the host
//!   ([`EdgeProxy::with_admin_dir`]; `/run/kyozo/NAME` for root), mounted into the
//!   container: only the user that owns the folder (and root) can change its routes.
//!   The container runs as that user; ports below 1024 need root.
//! - It carries HTTP only (Caddy's reverse proxy): a port of a well-known non-HTTP
//!   protocol ([`NOT_HTTP_PORTS`]: databases, caches, brokers) is published by its
//!   container as without a proxy.
//! - Each service's routes are Caddy servers named `kyozo-SERVICE-PORT`, changed one
//!   at a time: several programs may share one proxy. Removing a service removes its
//!   servers; the proxy goes with the last one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::Runtime;
use crate::backend::{BindMount, ContainerBackend, ContainerSpec, HOST_NETWORK};
use crate::error::{Error, Result};
use crate::model::{PortMapping, Protocol, ServiceId, ServiceInstance};

/// The label that marks the edge proxy's container; its value is the proxy's name.
pub const LABEL_EDGE: &str = "dev.kyozo.edge";

/// Container ports the edge proxy does not carry: well-known protocols that are not
/// HTTP (mail, DNS, LDAP, SQL Server, Oracle, ZooKeeper, MySQL, PostgreSQL, RabbitMQ,
/// Redis, Cassandra, Kafka, memcached, MongoDB). Their containers publish them.
pub const NOT_HTTP_PORTS: &[u16] = &[
    21, 22, 25, 53, 110, 143, 389, 1433, 1521, 2181, 3306, 5432, 5672, 6379, 9042, 9092, 11211,
    27017,
];

/// Where the admin folder is mounted in the proxy's container.
const MOUNT: &str = "/kyozo-edge";

/// How long the proxy may take to answer on its admin socket once started.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How long one admin call may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of an admin answer read.
const ADMIN_ANSWER_LIMIT: usize = 4 << 20;

/// The edge proxy of an engine: its image, its container's name and its admin folder.
/// Given to [`KyozoBuilder::edge`](crate::KyozoBuilder::edge).
#[derive(Debug, Clone)]
pub struct EdgeProxy {
    image: String,
    name: String,
    dir: Option<PathBuf>,
}

/// One route the proxy holds: a listening address and where it sends requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EdgeRoute {
    /// The service.
    pub service: ServiceId,
    /// The service's container port.
    pub container_port: u16,
    /// Where the proxy listens (`:8080`, `127.0.0.1:8080`).
    pub listen: Vec<String>,
    /// The replicas it sends requests to (`127.0.0.1:49153`).
    pub upstreams: Vec<String>,
}

impl EdgeProxy {
    /// The name of the proxy's container unless [`with_name`](Self::with_name) says
    /// otherwise: one per engine.
    pub const DEFAULT_NAME: &'static str = "kyozo-edge";

    /// A Caddy edge proxy from `image` (`caddy:2`, or an image of the base-image map
    /// under `caddy`). Its command is `caddy run`: the image must have `caddy` on its
    /// `PATH`.
    pub fn caddy(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            name: Self::DEFAULT_NAME.to_string(),
            dir: None,
        }
    }

    /// Names the proxy's container (and its admin folder): programs that share one
    /// engine and want separate proxies give each its own name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Keeps the admin socket (and Caddy's saved config) in `dir`, created private
    /// (0700) if missing. Default: `/run/kyozo/NAME` for root, else
    /// `$XDG_RUNTIME_DIR/kyozo/NAME`, else `/tmp/kyozo-UID/NAME`.
    #[must_use]
    pub fn with_admin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The image.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The name of its container.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the proxy carries this port of a service: a TCP port published on a
    /// fixed host port, not of a well-known non-HTTP protocol.
    pub fn carries(port: &PortMapping) -> bool {
        port.host_port.is_some()
            && port.protocol == Protocol::Tcp
            && !NOT_HTTP_PORTS.contains(&port.container_port)
    }

    /// Whether this host hands the connections waiting on a closed listener to another
    /// listener of the same port (`net.ipv4.tcp_migrate_req`, Linux 5.14 and later),
    /// which is what keeps a route change from resetting a connection that arrives at
    /// that instant; `None` where the setting cannot be read (another system, an older
    /// kernel). The proxy runs on the host's network, so this host's setting is the
    /// one that counts.
    pub fn host_migrates_connections() -> Option<bool> {
        let value = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_migrate_req").ok()?;
        Some(value.trim() != "0")
    }

    /// The admin folder.
    pub fn admin_dir(&self) -> PathBuf {
        match &self.dir {
            Some(dir) => dir.clone(),
            None => default_base().join(&self.name),
        }
    }

    /// Refuses a name that is not a container name (`[A-Za-z0-9][A-Za-z0-9_.-]*`, at
    /// most 128 characters): it names the proxy's container and its admin folder, so a
    /// `/` or `..` in it must never reach a path.
    pub(crate) fn validate(&self) -> Result<()> {
        let name = &self.name;
        let ok = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if ok {
            Ok(())
        } else {
            Err(crate::model::ValidationError::invalid(
                "edge proxy name",
                name.escape_debug().to_string(),
                "a container name: letters, digits, '_', '.', '-', starting with a letter or digit",
            )
            .into())
        }
    }

    fn socket(&self) -> PathBuf {
        self.admin_dir().join("admin.sock")
    }

    /// The routes the proxy holds now (every program's); none when it does not run.
    pub async fn routes(&self) -> Result<Vec<EdgeRoute>> {
        let mut out = Vec::new();
        for (name, server) in self.servers().await? {
            let Some((service, port)) = parse_server_name(&name) else {
                continue;
            };
            let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
                v.and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let upstreams = server
                .pointer("/routes/0/handle/0/upstreams")
                .and_then(|u| u.as_array())
                .map(|u| {
                    u.iter()
                        .filter_map(|x| x.get("dial").and_then(|d| d.as_str()))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            out.push(EdgeRoute {
                service,
                container_port: port,
                listen: strings(server.get("listen")),
                upstreams,
            });
        }
        Ok(out)
    }

    /// Every server the proxy holds (every program's), by name; none when it does not
    /// run.
    async fn servers(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        if !self.socket().exists() {
            return Ok(serde_json::Map::new());
        }
        Ok(
            match self.admin("GET", "/config/apps/http/servers", None).await {
                Ok(serde_json::Value::Object(servers)) => servers,
                // Not answering (it does not run), or no servers.
                _ => serde_json::Map::new(),
            },
        )
    }

    /// Routes each port of `service` the proxy carries to the replicas' host ports in
    /// `upstreams` (container port → the `127.0.0.1` ports its replicas publish it on),
    /// starting the proxy if it does not run; a carried port with no replica answers
    /// 502 while the address stays the service's. Routes of ports the service no
    /// longer has are removed.
    pub(crate) async fn route(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
        upstreams: &BTreeMap<u16, Vec<u16>>,
    ) -> Result<()> {
        let _held = self.lock().await?;
        self.route_held(backend, service, upstreams).await
    }

    /// Takes the proxy's lock: an exclusive `flock` on `edge.lock` in its admin folder,
    /// held until the file is dropped. Every program that routes through the proxy
    /// (another `kyozo`, another task of this one) changes it one at a time, so one
    /// that removes the proxy with its last route never does so while another adds
    /// one (which would go with the container, or find it half removed).
    async fn lock(&self) -> Result<std::fs::File> {
        self.validate()?;
        let dir = self.made_admin_dir()?;
        let io = |what: &str, e: std::io::Error| {
            edge_error(format!("cannot {what} {}: {e}", dir.display()))
        };
        let path = dir.join("edge.lock");
        tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = crate::safe_fs::open_private(&path, true)?;
            #[cfg(unix)]
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
            Ok(file)
        })
        .await
        .map_err(|e| edge_error(format!("the lock of {} was not taken: {e}", dir.display())))?
        .map_err(|e| io("lock", e))
    }

    /// The admin folder, made private if it is missing. The default folder's parent
    /// is Kyozo's own, made private too; a folder the embedder gave lives where they
    /// said (its parent is theirs).
    fn made_admin_dir(&self) -> Result<PathBuf> {
        let dir = self.admin_dir();
        let made = |d: &Path| {
            crate::safe_fs::create_private_dir(d)
                .map_err(|e| edge_error(format!("cannot create {}: {e}", d.display())))
        };
        if self.dir.is_none() {
            made(&default_base())?;
        }
        made(&dir)?;
        Ok(dir)
    }

    /// [`route`](Self::route), the lock held.
    async fn route_held(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
        upstreams: &BTreeMap<u16, Vec<u16>>,
    ) -> Result<()> {
        let carried: Vec<&PortMapping> =
            service.ports.iter().filter(|p| Self::carries(p)).collect();
        if carried.is_empty() {
            return self.unroute_held(backend, service.id, false).await;
        }
        self.ensure(backend).await?;
        for port in &carried {
            let Some(host_port) = port.host_port else {
                continue;
            };
            let listen = match port.host_ip {
                None => format!(":{host_port}"),
                Some(std::net::IpAddr::V4(ip)) => format!("{ip}:{host_port}"),
                Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{host_port}"),
            };
            let dials: Vec<serde_json::Value> = upstreams
                .get(&port.container_port)
                .map(|hosts| {
                    hosts
                        .iter()
                        .map(|h| serde_json::json!({ "dial": format!("127.0.0.1:{h}") }))
                        .collect()
                })
                .unwrap_or_default();
            let server = serde_json::json!({
                "listen": [listen],
                "automatic_https": { "disable": true },
                "routes": [{
                    "handle": [{
                        "handler": "reverse_proxy",
                        "upstreams": dials,
                        // A replica that refuses a connection (going away) is skipped
                        // for the next one; while none is there, the request waits.
                        "load_balancing": {
                            "selection_policy": { "policy": "round_robin" },
                            "try_duration": "10s",
                            "try_interval": "100ms",
                        },
                    }],
                }],
            });
            let name = server_name(service.id, port.container_port);
            let path = format!("/config/apps/http/servers/{name}");
            let mut routed = self.admin("POST", &path, Some(&server)).await;
            if routed.is_err() && !self.answers().await {
                // Gone meanwhile (another program removed it with its last route):
                // started again, and asked again.
                self.ensure(backend).await?;
                routed = self.admin("POST", &path, Some(&server)).await;
            }
            routed.map_err(|e| {
                edge_error(format!("cannot route {listen} to {}: {e}", service.name))
            })?;
        }
        // Ports it no longer publishes.
        for route in self.routes().await? {
            if route.service == service.id
                && !carried
                    .iter()
                    .any(|p| p.container_port == route.container_port)
            {
                let name = server_name(service.id, route.container_port);
                self.admin("DELETE", &format!("/config/apps/http/servers/{name}"), None)
                    .await?;
            }
        }
        Ok(())
    }

    /// Removes the service's routes; with `last_goes`, removes the proxy too when no
    /// route is left in it (of any program).
    pub(crate) async fn unroute(
        &self,
        backend: &dyn ContainerBackend,
        service: ServiceId,
        last_goes: bool,
    ) -> Result<()> {
        let _held = self.lock().await?;
        self.unroute_held(backend, service, last_goes).await
    }

    /// [`unroute`](Self::unroute), the lock held.
    async fn unroute_held(
        &self,
        backend: &dyn ContainerBackend,
        service: ServiceId,
        last_goes: bool,
    ) -> Result<()> {
        let routes = self.routes().await?;
        for route in routes.iter().filter(|r| r.service == service) {
            let name = server_name(service, route.container_port);
            self.admin("DELETE", &format!("/config/apps/http/servers/{name}"), None)
                .await?;
        }
        if last_goes
            && routes.iter().any(|r| r.service == service)
            && self.servers().await?.is_empty()
        {
            self.remove(backend).await?;
        }
        Ok(())
    }

    /// Removes the proxy's container (its routes go with it; its admin folder stays).
    pub async fn remove(&self, backend: &dyn ContainerBackend) -> Result<()> {
        if let Some(c) = self.container(backend).await? {
            backend.remove(&c.id).await?;
        }
        Ok(())
    }

    fn label(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL_EDGE.to_string(), self.name.clone())])
    }

    /// The proxy's container, if there is one: the one of its name with its label (a
    /// label alone proves nothing: an image's `LABEL`s reach its containers).
    async fn container(
        &self,
        backend: &dyn ContainerBackend,
    ) -> Result<Option<crate::backend::ContainerState>> {
        Ok(backend
            .list(&self.label())
            .await?
            .into_iter()
            .find(|c| c.name.trim_start_matches('/') == self.name))
    }

    /// Starts the proxy unless it runs, and waits until its admin socket answers.
    async fn ensure(&self, backend: &dyn ContainerBackend) -> Result<()> {
        self.validate()?;
        let found = self.container(backend).await?;
        if let Some(c) = found.as_ref().filter(|c| c.running) {
            if self.answers().await {
                return Ok(());
            }
            // Running but not answering yet (just started): wait for it.
            return self.wait_answering(backend, &c.id).await;
        }
        let dir = self.made_admin_dir()?;
        let io = |what: &str, e: std::io::Error| {
            edge_error(format!("cannot {what} {}: {e}", dir.display()))
        };
        // A socket left by a proxy that went away would stop the new one listening.
        match std::fs::remove_file(self.socket()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io("clean", e)),
            _ => {}
        }
        let config = serde_json::json!({
            "admin": { "listen": format!("unix/{MOUNT}/admin.sock") },
            "apps": { "http": { "servers": {} } },
        });
        crate::safe_fs::replace_file(&dir.join("edge.json"), config.to_string().as_bytes(), 0o600)
            .map_err(|e| io("write the config in", e))?;
        if let Some(stopped) = &found {
            backend.start(&stopped.id).await?;
            return self.wait_answering(backend, &stopped.id).await;
        }
        let mut spec = ContainerSpec::new(self.name.clone(), self.image.clone());
        spec.network = Some(HOST_NETWORK.to_string());
        spec.binds = vec![BindMount::new(dir.clone(), MOUNT)];
        spec.user = Some(format!("{}:{}", euid(), egid()));
        spec.command = Some(
            [
                "caddy",
                "run",
                "--resume",
                "--config",
                &format!("{MOUNT}/edge.json"),
            ]
            .map(str::to_string)
            .to_vec(),
        );
        spec.env = BTreeMap::from([
            ("HOME".to_string(), MOUNT.to_string()),
            ("XDG_CONFIG_HOME".to_string(), format!("{MOUNT}/config")),
            ("XDG_DATA_HOME".to_string(), format!("{MOUNT}/data")),
        ]);
        spec.labels = self.label();
        spec.restart = crate::model::RestartPolicy::Always;
        let id = backend.create(&spec).await?;
        if let Err(e) = backend.start(&id).await {
            let _ = backend.remove(&id).await;
            return Err(e.into());
        }
        self.wait_answering(backend, &id).await
    }

    async fn answers(&self) -> bool {
        self.admin("GET", "/config/", None).await.is_ok()
    }

    async fn wait_answering(&self, backend: &dyn ContainerBackend, id: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if self.answers().await {
                return Ok(());
            }
            let state = backend.inspect(id).await?;
            if !state.running || tokio::time::Instant::now() >= deadline {
                let said = super::deploy::log_tail(backend, id, 10).await.join("\n");
                return Err(edge_error(format!(
                    "the edge proxy {} ({}) {} on {}{}",
                    self.name,
                    self.image,
                    if state.running {
                        "does not answer"
                    } else {
                        "exited before it answered"
                    },
                    self.socket().display(),
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!("; it said:\n{said}")
                    }
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One call of Caddy's admin API on its socket; the answer's JSON (`null` when
    /// empty).
    async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let socket = self.socket();
        let call = async {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut stream = tokio::net::UnixStream::connect(&socket).await?;
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            // HTTP/1.0: no Host to check (Caddy allows none on a socket), no chunks.
            let request = format!(
                "{method} {path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await?;
            let mut answer = Vec::new();
            (&mut stream)
                .take(ADMIN_ANSWER_LIMIT as u64)
                .read_to_end(&mut answer)
                .await?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = tokio::time::timeout(ADMIN_TIMEOUT, call)
            .await
            .map_err(|_| {
                edge_error(format!(
                    "the edge proxy's admin socket {} did not answer in {} s",
                    socket.display(),
                    ADMIN_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                edge_error(format!(
                    "cannot reach the edge proxy's admin socket {}: {e}",
                    socket.display()
                ))
            })?;
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| body.trim().chars().take(500).collect());
            return Err(edge_error(format!(
                "the edge proxy refused {method} {path} ({status}): {message}"
            )));
        }
        if body.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(body).map_err(|e| {
            edge_error(format!(
                "the edge proxy's answer to {path} is not JSON: {e}"
            ))
        })
    }
}

/// Where the default admin folders are: `/run/kyozo` for root, else
/// `$XDG_RUNTIME_DIR/kyozo`, else `/tmp/kyozo-UID`.
fn default_base() -> PathBuf {
    let uid = euid();
    if uid == 0 {
        PathBuf::from("/run/kyozo")
    } else if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        PathBuf::from(run).join("kyozo")
    } else {
        PathBuf::from(format!("/tmp/kyozo-{uid}"))
    }
}

fn edge_error(message: String) -> Error {
    Error::Edge { message }
}

/// The Caddy server of a service's port.
fn server_name(service: ServiceId, port: u16) -> String {
    format!("kyozo-{service}-{port}")
}

/// The service and port of a server Kyozo named.
fn parse_server_name(name: &str) -> Option<(ServiceId, u16)> {
    let rest = name.strip_prefix("kyozo-")?;
    let (service, port) = rest.rsplit_once('-')?;
    Some((service.parse().ok()?, port.parse().ok()?))
}

fn euid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::geteuid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

fn egid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getegid().as_raw()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

impl Runtime {
    /// Whether the edge proxy (if there is one) carries this port.
    pub(super) fn edge_carries(&self, port: &crate::model::PortMapping) -> bool {
        self.edge.is_some() && EdgeProxy::carries(port)
    }

    /// The edge proxy, when it carries a port of the service.
    pub(super) fn edge_for(&self, service: &ServiceInstance) -> Option<&EdgeProxy> {
        self.edge
            .as_deref()
            .filter(|_| service.ports.iter().any(EdgeProxy::carries))
    }

    /// Tells the edge proxy (if it carries a port of the service) the replicas the
    /// service's routes lead to now.
    pub(crate) async fn rerouted(
        &self,
        backend: &dyn ContainerBackend,
        service: &ServiceInstance,
    ) -> Result<()> {
        match self.edge_for(service) {
            Some(edge) => {
                edge.route(backend, service, &self.routes.upstreams(service.id))
                    .await
            }
            None => Ok(()),
        }
    }

    /// The routes the edge proxy holds for a service (none without an edge proxy).
    pub(crate) async fn edge_routes(&self, service: &ServiceInstance) -> Result<Vec<EdgeRoute>> {
        let Some(edge) = &self.edge else {
            return Ok(Vec::new());
        };
        let mut routes = edge.routes().await?;
        routes.retain(|r| r.service == service.id);
        Ok(routes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn server_names_read_back() {
        let id = ServiceId::new();
        assert_eq!(parse_server_name(&server_name(id, 8080)), Some((id, 8080)));
        assert_eq!(parse_server_name("srv0"), None);
        assert_eq!(parse_server_name("kyozo-nonsense-80"), None);
    }

    #[test]
    fn a_name_that_is_not_a_container_name_is_refused() {
        for bad in ["", "../../etc", "a/b", "-x", ".hidden", "a b", "a\nb"] {
            assert!(
                EdgeProxy::caddy("caddy:2")
                    .with_name(bad)
                    .validate()
                    .is_err(),
                "{bad:?}"
            );
        }
        for good in ["kyozo-edge", "edge_2", "e.1"] {
            assert!(
                EdgeProxy::caddy("caddy:2")
                    .with_name(good)
                    .validate()
                    .is_ok()
            );
        }
    }

    #[test]
    fn only_fixed_http_ports_are_carried() {
        assert!(EdgeProxy::carries(&PortMapping::new(80, Some(8080))));
        assert!(!EdgeProxy::carries(&PortMapping::new(80, None)));
        assert!(!EdgeProxy::carries(&PortMapping::new(5432, Some(5432))));
    }
}
