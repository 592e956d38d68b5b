//! A service's stable endpoint: a TCP listener of the Kyozo process that forwards each
//! connection to one of the service's ready replicas.
//!
//! Containers publish their ports on host ports the engine picks, and a new deployment's
//! containers get new ones; a client that must not notice a redeploy connects to the
//! endpoint instead ([`Kyozo::expose`](crate::Kyozo::expose)). The runtime keeps the endpoint's routes: a
//! deployment adds its new replicas once they are ready, takes the old ones out, waits
//! for the connections still open to them to finish (at most the drain time), and only
//! then stops them. A replica that refuses a connection is skipped for the next one.
//!
//! The endpoint lives as long as the [`Endpoint`] value (and the process holding it).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::Runtime;
use crate::error::{Error, Result};
use crate::model::{ServiceId, ServiceInstance};

/// How long a connection to a replica may take before the next replica is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// One replica a route leads to.
#[derive(Debug, Clone)]
struct Target {
    container: String,
    /// Container port → published host port.
    ports: BTreeMap<u16, u16>,
    /// Connections open to it through an endpoint.
    active: Arc<AtomicUsize>,
}

/// The replicas each service's connections go to, kept by the runtime.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    inner: Mutex<HashMap<ServiceId, (Vec<Target>, usize)>>,
}

/// The open connections of replicas taken out of a route: wait for them with
/// [`Drain::wait`] before stopping those replicas.
#[derive(Debug, Default)]
#[must_use]
pub(crate) struct Drain(Vec<Arc<AtomicUsize>>);

impl Drain {
    /// Waits until no connection to the replicas is open, at most `limit`.
    pub(crate) async fn wait(self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.0.iter().any(|a| a.load(Ordering::SeqCst) > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Routes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServiceId, (Vec<Target>, usize)>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes the service's connections to `replicas` (container id, its published
    /// ports) from now on; returns the connections of the replicas taken out.
    pub(crate) fn set(
        &self,
        service: ServiceId,
        replicas: &[(String, BTreeMap<u16, u16>)],
    ) -> Drain {
        let mut all = self.lock();
        let (targets, _) = all.entry(service).or_default();
        let mut next = Vec::with_capacity(replicas.len());
        for (container, ports) in replicas {
            let active = targets
                .iter()
                .find(|t| &t.container == container)
                .map_or_else(Arc::default, |t| t.active.clone());
            next.push(Target {
                container: container.clone(),
                ports: ports.clone(),
                active,
            });
        }
        let dropped = targets
            .iter()
            .filter(|t| !next.iter().any(|n| n.container == t.container))
            .map(|t| t.active.clone())
            .collect();
        *targets = next;
        Drain(dropped)
    }

    /// Takes `containers` out of the service's route; returns their connections.
    pub(crate) fn remove(&self, service: ServiceId, containers: &[String]) -> Drain {
        let mut all = self.lock();
        let Some((targets, _)) = all.get_mut(&service) else {
            return Drain::default();
        };
        let (gone, kept): (Vec<Target>, Vec<Target>) = std::mem::take(targets)
            .into_iter()
            .partition(|t| containers.contains(&t.container));
        *targets = kept;
        Drain(gone.into_iter().map(|t| t.active).collect())
    }

    /// Adds replicas to the service's route (they are ready).
    pub(crate) fn add(&self, service: ServiceId, replicas: &[(String, BTreeMap<u16, u16>)]) {
        let mut all = self.lock();
        let (targets, _) = all.entry(service).or_default();
        for (container, ports) in replicas {
            targets.retain(|t| &t.container != container);
            targets.push(Target {
                container: container.clone(),
                ports: ports.clone(),
                active: Arc::default(),
            });
        }
    }

    /// Whether the routes know the service (a deployment or an operation of this
    /// process set them).
    pub(crate) fn knows(&self, service: ServiceId) -> bool {
        self.lock().contains_key(&service)
    }

    /// The host ports of the service's routed replicas, by container port.
    pub(crate) fn upstreams(&self, service: ServiceId) -> BTreeMap<u16, Vec<u16>> {
        match self.lock().get(&service) {
            Some((targets, _)) => upstreams_of(targets.iter().map(|t| &t.ports)),
            None => BTreeMap::new(),
        }
    }

    /// Forgets the service.
    pub(crate) fn forget(&self, service: ServiceId) {
        self.lock().remove(&service);
    }

    /// The next replica in turn for a connection to `port`, leaving out the host ports
    /// in `tried`; its connection is counted as open (under the same lock as the
    /// choice, so a drain that starts after it waits for it) until the guard drops.
    fn pick(&self, service: ServiceId, port: u16, tried: &[u16]) -> Option<(u16, Open)> {
        let mut all = self.lock();
        let (targets, turn) = all.get_mut(&service)?;
        let usable: Vec<(u16, &Arc<AtomicUsize>)> = targets
            .iter()
            .filter_map(|t| t.ports.get(&port).map(|h| (*h, &t.active)))
            .filter(|(h, _)| !tried.contains(h))
            .collect();
        if usable.is_empty() {
            return None;
        }
        *turn = turn.wrapping_add(1);
        let (host, active) = usable.get(*turn % usable.len())?;
        active.fetch_add(1, Ordering::SeqCst);
        Some((*host, Open(Arc::clone(active))))
    }

    /// Whether the service has a replica for `port`.
    fn routes_to(&self, service: ServiceId, port: u16) -> bool {
        self.lock()
            .get(&service)
            .is_some_and(|(targets, _)| targets.iter().any(|t| t.ports.contains_key(&port)))
    }
}

/// The host ports of replicas (each: container port → host port), by container port.
pub(crate) fn upstreams_of<'a>(
    replicas: impl IntoIterator<Item = &'a BTreeMap<u16, u16>>,
) -> BTreeMap<u16, Vec<u16>> {
    let mut out: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    for ports in replicas {
        for (container, host) in ports {
            out.entry(*container).or_default().push(*host);
        }
    }
    out
}

/// A service's stable endpoint, made by [`Kyozo::expose`](crate::Kyozo::expose); it stops
/// listening when dropped (connections already forwarded finish on their own).
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Endpoint {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a connection as open until dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runtime {
    /// Listens on `listen` and forwards every connection to the service's
    /// `container_port` on one of its ready replicas (see
    /// [`Kyozo::expose`](crate::Kyozo::expose)).
    pub(crate) async fn expose(
        &self,
        service: ServiceInstance,
        container_port: u16,
        listen: SocketAddr,
    ) -> Result<Endpoint> {
        let id = service.id;
        if !service
            .ports
            .iter()
            .any(|p| p.container_port == container_port)
        {
            return Err(crate::model::ValidationError::invalid(
                "container_port",
                container_port.to_string(),
                "one of the service's ports",
            )
            .into());
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: listen,
            source,
        })?;
        // The routes the runtime keeps; what runs now, if the service is deployed.
        if let Ok(backend) = self.backend_or_err()
            && let Ok(containers) = self.containers_of(&*backend, &service).await
        {
            let running: Vec<(String, BTreeMap<u16, u16>)> = containers
                .into_iter()
                .filter(|c| c.running)
                .map(|c| (c.id, c.ports))
                .collect();
            if !running.is_empty() && !self.routes.routes_to(id, container_port) {
                self.routes.add(id, &running);
            }
        }
        let routes = self.routes.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let routes = routes.clone();
                tokio::spawn(async move {
                    forward(client, &routes, id, container_port).await;
                });
            }
        });
        Ok(Endpoint { addr, task })
    }
}

/// Connects `client` to the first replica that accepts (asking the routes again after
/// each refusal, so a replica routed to meanwhile is found), and copies both ways.
async fn forward(mut client: tokio::net::TcpStream, routes: &Routes, id: ServiceId, port: u16) {
    let mut tried = Vec::new();
    while let Some((host, open)) = routes.pick(id, port, &tried) {
        let connected = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect(("127.0.0.1", host)),
        )
        .await;
        if let Ok(Ok(mut upstream)) = connected {
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            drop(open);
            return;
        }
        tried.push(host);
    }
}
