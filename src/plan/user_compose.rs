//! The user's own compose file, as the planner reads it: the services it runs and the
//! ports it publishes (host address included), with compose's defaults filled in.

use super::*;

/// The ports a compose service publishes that the planner could read, and whether some
/// entry could not be read (a variable without a default).
#[derive(Debug, Default)]
pub(super) struct ComposePorts {
    pub(super) list: Vec<PortMapping>,
    pub(super) unreadable: bool,
}

/// The ports each service of a compose document publishes: container port, host
/// port and host address, from the short (`127.0.0.1:8080:80`) or long syntax. A
/// host address that is not an IP address is left out with a recommendation (it is
/// never widened to every address).
pub(super) fn published_ports(
    doc: &serde_json::Value,
    file: &str,
    recommendations: &mut Vec<crate::topology::Recommendation>,
) -> BTreeMap<String, ComposePorts> {
    use crate::topology::manifest::compose::parse_port;
    let mut out = BTreeMap::new();
    let Some(services) = doc.get("services").and_then(|s| s.as_object()) else {
        return out;
    };
    for (name, service) in services {
        let Some(ports) = service.get("ports").and_then(|p| p.as_array()) else {
            continue;
        };
        let mut list: Vec<PortMapping> = Vec::new();
        // An entry this cannot read is left to the topology, which read the file with
        // its `.env`.
        let mut unreadable = false;
        for entry in ports {
            let (target, published, host_ip) = match entry {
                // `${WEB_PORT:-3000}:3000`: compose's defaults filled in first.
                serde_json::Value::String(text) => match parse_port(&defaults_only(text)) {
                    Some(p) => (Some(p.target.start), p.published, p.host_ip),
                    None => {
                        unreadable = true;
                        continue;
                    }
                },
                serde_json::Value::Number(n) => {
                    (n.as_u64().and_then(|n| u16::try_from(n).ok()), None, None)
                }
                serde_json::Value::Object(m) => (
                    m.get("target").and_then(|t| match t {
                        serde_json::Value::Number(n) => {
                            n.as_u64().and_then(|n| u16::try_from(n).ok())
                        }
                        serde_json::Value::String(t) => t.parse().ok(),
                        _ => None,
                    }),
                    m.get("published").and_then(|p| match p {
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        serde_json::Value::String(p) => Some(p.clone()),
                        _ => None,
                    }),
                    m.get("host_ip")
                        .and_then(|h| h.as_str())
                        .map(str::to_string),
                ),
                _ => continue,
            };
            let Some(target) = target.filter(|t| *t > 0) else {
                continue;
            };
            // A range publishes from its first port.
            let host = published.as_deref().and_then(|p| {
                p.split('-')
                    .next()
                    .and_then(|p| p.trim().parse::<u16>().ok())
            });
            let ip = match host_ip.as_deref() {
                None => None,
                Some(ip) => match ip.parse::<std::net::IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        recommendations.push(crate::topology::Recommendation::new(
                            Some(crate::topology::common::service_name(name)),
                            "port-host-ip-unknown",
                            format!(
                                "{file} publishes port {target} of {} on {:?}, which is not an IP address: Kyozo does not publish it; write an IP address (127.0.0.1)",
                                name.escape_debug(),
                                ip.escape_debug().to_string()
                            ),
                        ));
                        continue;
                    }
                },
            };
            let mapping = PortMapping::new(target, Some(host.unwrap_or(target))).with_host_ip(ip);
            if !list.iter().any(|m| m.container_port == target) {
                list.push(mapping);
            }
        }
        // Keyed as the topology names the service (`web_app` → `web-app`).
        out.insert(
            crate::topology::common::service_name(name),
            ComposePorts { list, unreadable },
        );
    }
    out
}

/// The names of the services of a compose document.
pub(super) fn compose_services(doc: &serde_json::Value) -> BTreeSet<String> {
    doc.get("services")
        .and_then(|s| s.as_object())
        .map(|s| {
            // As the topology names them (`web_app` → `web-app`).
            s.keys()
                .map(|k| crate::topology::common::service_name(k))
                .collect()
        })
        .unwrap_or_default()
}

/// What the user's compose file says about running its services beside Kyozo's: the
/// backing services it runs from an image, and the env and dependencies it gives each
/// of its other services (keyed as the topology names them).
#[derive(Debug, Default)]
pub(super) struct ComposeWiring {
    pub(super) backing: Vec<BackingPlan>,
    pub(super) env: BTreeMap<String, BTreeMap<String, String>>,
    pub(super) depends_on: BTreeMap<String, Vec<String>>,
}

/// The backing services of a compose document: each service that runs an image of a
/// kind Kyozo knows (`postgres:16` → postgres, `redis:7-alpine` → redis) and builds
/// nothing, under its own name, with its own `environment`, `healthcheck` and named
/// volume, else the kind's; its image is the base-image map's for the kind when one
/// was given (there is no registry to pull the file's from), else the file's. And the
/// `environment` and `depends_on` of every other service.
pub(super) fn compose_backing(doc: &serde_json::Value, images: &BaseImages) -> ComposeWiring {
    let mut out = ComposeWiring::default();
    let Some(services) = doc.get("services").and_then(|s| s.as_object()) else {
        return out;
    };
    for (raw_name, service) in services {
        let name = crate::topology::common::service_name(raw_name);
        let env = environment(service);
        let builds = service.get("build").is_some();
        let image = service.get("image").and_then(|i| i.as_str());
        if builds || image.is_none() {
            if !env.is_empty() {
                out.env.insert(name.clone(), env);
            }
            let deps = depends_on(service);
            if !deps.is_empty() {
                out.depends_on.insert(name, deps);
            }
            continue;
        }
        let image = image.unwrap_or_default();
        // An image of a kind Kyozo does not know is one of the project's services (the
        // topology has it, and it is planned as one).
        let Some(kind) = crate::topology::backing::from_image(&defaults_only(image)) else {
            continue;
        };
        let image = if images.is_given(kind) {
            images.lookup(kind, None).unwrap_or(image).to_string()
        } else {
            defaults_only(image)
        };
        let Some(mut plan) = backing_service(kind, &BaseImages::empty().set(kind, image)) else {
            continue;
        };
        plan.name = name.clone();
        plan.wiring.clear();
        if !env.is_empty() {
            plan.env = env;
        }
        if let Some(test) = health_test(service) {
            plan.health = vec!["CMD-SHELL".to_string(), test];
        } else if kind == "postgres" {
            // The kind's check, as the user and database the file makes.
            let user = plan
                .env
                .get("POSTGRES_USER")
                .map_or("postgres", String::as_str);
            let db = plan.env.get("POSTGRES_DB").map_or(user, String::as_str);
            plan.health = vec![
                "CMD-SHELL".to_string(),
                format!(
                    "pg_isready -U {} -d {}",
                    crate::model::shell_quote(&defaults_only(user)),
                    crate::model::shell_quote(&defaults_only(db))
                ),
            ];
        }
        if let Some(volume) = named_volume(service) {
            plan.volume = Some(volume);
        } else if let Some((_, path)) = plan.volume.take() {
            plan.volume = Some((format!("{name}-data"), path));
        }
        out.backing.push(plan);
    }
    out
}

/// A compose service's `environment` (map or `KEY=VALUE` list). A name without a value
/// takes the value of the caller's environment, as compose does: `${NAME}`.
fn environment(service: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let valid = |k: &str| crate::model::validate_env_name(k).is_ok();
    match service.get("environment") {
        Some(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                if !valid(k) {
                    continue;
                }
                let value = match v {
                    serde_json::Value::Null => format!("${{{k}}}"),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(k.clone(), value);
            }
        }
        Some(serde_json::Value::Array(list)) => {
            for item in list.iter().filter_map(|i| i.as_str()) {
                let (k, v) = match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (item.to_string(), format!("${{{item}}}")),
                };
                if valid(&k) {
                    out.insert(k, v);
                }
            }
        }
        _ => {}
    }
    out
}

/// A compose service's `depends_on` (list, or map with conditions), as the topology
/// names services.
fn depends_on(service: &serde_json::Value) -> Vec<String> {
    let names: Vec<String> = match service.get("depends_on") {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    names
        .iter()
        .map(|n| crate::topology::common::service_name(n))
        .collect()
}

/// A compose service's health test as a shell line (`CMD-SHELL x`, `CMD a b`, or a
/// string), unless it has none or disables it.
fn health_test(service: &serde_json::Value) -> Option<String> {
    let check = service.get("healthcheck")?;
    if check.get("disable").and_then(|d| d.as_bool()) == Some(true) {
        return None;
    }
    match check.get("test")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => {
            let words: Vec<&str> = list.iter().filter_map(|w| w.as_str()).collect();
            match words.as_slice() {
                ["CMD-SHELL", line] => Some((*line).to_string()),
                ["CMD", rest @ ..] if !rest.is_empty() => Some(
                    rest.iter()
                        .map(|w| crate::model::shell_quote(w))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            }
        }
        _ => None,
    }
    .map(|line| line.replace("$$", "$"))
}

/// The first named volume a compose service mounts (`pgdata:/var/lib/postgresql/data`,
/// or the long syntax with `type: volume`): its name and path. Bind mounts are not
/// volumes (a path on the user's machine).
fn named_volume(service: &serde_json::Value) -> Option<(String, String)> {
    let valid = |n: &str| crate::model::VolumeSpec::new(n, "/x").validate().is_ok();
    for v in service.get("volumes")?.as_array()? {
        let (source, target) = match v {
            serde_json::Value::String(s) => {
                let mut parts = s.split(':');
                (parts.next()?.to_string(), parts.next()?.to_string())
            }
            serde_json::Value::Object(m) => {
                if m.get("type").and_then(|t| t.as_str()) != Some("volume") {
                    continue;
                }
                (
                    m.get("source")?.as_str()?.to_string(),
                    m.get("target")?.as_str()?.to_string(),
                )
            }
            _ => continue,
        };
        if valid(&source)
            && crate::model::VolumeSpec::new(&source, &target)
                .validate()
                .is_ok()
        {
            return Some((source, target));
        }
    }
    None
}
