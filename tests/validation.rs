//! Property tests of the model's validations: ports, resource limits, event data and
//! service records. Each refused value comes back as a typed error naming the field.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use kyozo::auth::Actor;
use kyozo::model::*;
use proptest::prelude::*;

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)]
}

proptest! {
    /// The compose short form parses exactly the ports 1-65535; anything else names the
    /// field that is wrong.
    #[test]
    fn port_strings_parse_only_in_range(host in 0u64..70_000, container in 0u64..70_000, udp in any::<bool>()) {
        let proto = if udp { "udp" } else { "tcp" };
        let text = format!("{host}:{container}/{proto}");
        let parsed = PortMapping::parse(&text);
        let in_range = |p: u64| (1..=65_535).contains(&p);
        match parsed {
            Ok(m) => {
                prop_assert!(in_range(host) && in_range(container));
                prop_assert_eq!(m.host_port, Some(host as u16));
                prop_assert_eq!(m.container_port, container as u16);
                prop_assert_eq!(m.protocol.as_str(), proto);
                prop_assert_eq!(PortMapping::parse(&m.to_string()).ok(), Some(m));
            }
            Err(ValidationError::OutOfRange { field, value, .. }) => {
                let bad = if !in_range(host) { ("host_port", host) } else { ("container_port", container) };
                prop_assert_eq!(field, bad.0);
                prop_assert_eq!(value, bad.1.to_string());
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn unknown_protocols_are_refused(proto in "[a-z]{1,6}") {
        prop_assume!(proto != "tcp" && proto != "udp");
        let err = PortMapping::parse(&format!("80/{proto}")).unwrap_err();
        prop_assert_eq!(err.field(), "protocol");
    }

    /// A list of mappings is valid exactly when no two share a host port and protocol.
    #[test]
    fn host_port_clashes_are_refused(
        entries in proptest::collection::vec((1u16..=65_535, proptest::option::of(8000u16..8010), protocol()), 0..8)
    ) {
        let ports: Vec<PortMapping> = entries
            .iter()
            .map(|(c, h, p)| PortMapping::new(*c, *h).with_protocol(*p))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let clash = ports.iter().filter_map(|p| p.host_port.map(|h| (h, p.protocol))).any(|k| !seen.insert(k));
        match validate_ports(&ports) {
            Ok(()) => prop_assert!(!clash),
            Err(ValidationError::Conflict { field, first, second, .. }) => {
                prop_assert!(clash);
                prop_assert_eq!(field, "ports");
                prop_assert_ne!(first, second);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    /// Memory limits below 6 MiB or above 4 TiB, and non-positive or absurd CPU limits,
    /// are refused naming the field; everything in between is accepted.
    #[test]
    fn resource_limits_have_sane_bounds(cpus in prop_oneof![-4.0f64..2048.0, Just(f64::NAN), Just(0.0)], memory in 0u64..(8u64 << 40)) {
        let mut limits = ResourceLimits::default();
        limits.cpus = Some(cpus);
        limits.memory_bytes = Some(memory);
        let cpu_ok = cpus.is_finite() && cpus > 0.0 && cpus <= ResourceLimits::MAX_CPUS;
        let mem_ok = (ResourceLimits::MIN_MEMORY..=ResourceLimits::MAX_MEMORY).contains(&memory);
        match limits.validate() {
            Ok(()) => prop_assert!(cpu_ok && mem_ok),
            Err(e) => {
                let expected = if !cpu_ok { "limits.cpus" } else { "limits.memory_bytes" };
                prop_assert_eq!(e.field(), expected);
                prop_assert!(!(cpu_ok && mem_ok));
            }
        }
    }

    /// An event validates exactly when its payload suits its kind, an error is present
    /// where required and absent where the kind is no failure.
    #[test]
    fn event_payloads_must_suit_their_kind(kind in proptest::sample::select(EventKind::ALL.to_vec()), payload_ix in 0usize..9, with_error in any::<bool>()) {
        let payloads = [
            EventPayload::None,
            EventPayload::Config { changed: vec!["env.API_KEY".into()] },
            EventPayload::Deployment { deployment: DeploymentId::new(), image: None },
            EventPayload::ImageBuilt { image: "web:1".into(), digest: None },
            EventPayload::Containers { ids: vec!["abc".into()] },
            EventPayload::Scaled { from: 1, to: 3 },
            EventPayload::RolledBack { to_deployment: DeploymentId::new(), image: "web:0".into() },
            EventPayload::Health { kind: HealthCheckKind::Http, target: ":80/".into() },
            EventPayload::Exited { container: "abc".into(), exit_code: Some(137) },
        ];
        let payload = payloads[payload_ix].clone();
        let mut e = NewEvent::new(TeamId::new(), WorkspaceId::new(), ServiceId::new(), kind, Actor::System)
            .with_payload(payload.clone());
        if with_error {
            e = e.with_error(EventError::new("boom"));
        }
        let ok = kind.accepts(&payload)
            && (!kind.requires_error() || with_error)
            && (kind.is_failure() || !with_error);
        match e.validate() {
            Ok(()) => prop_assert!(ok),
            Err(err) => {
                prop_assert!(!ok);
                prop_assert!(err.field() == "event.payload" || err.field() == "event.error", "{}", err);
            }
        }
    }

    /// Every valid service survives a JSON round trip unchanged.
    #[test]
    fn valid_services_round_trip(name in "[a-z][a-z0-9-]{0,20}[a-z0-9]", replicas in 0u32..=MAX_REPLICAS, port in 1u16..) {
        let mut s = ServiceInstance::new(TeamId::new(), WorkspaceId::new(), name, "apps/web");
        s.replicas = replicas;
        s.ports = vec![PortMapping::new(port, None)];
        s.env = BTreeMap::from([("DATABASE_URL".to_string(), SecretValue::new("postgres://u:p@db/x"))]);
        prop_assert!(s.validate().is_ok());
        let json = serde_json::to_string(&s).unwrap();
        let back: ServiceInstance = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, s);
    }
}

#[test]
fn oversized_events_are_refused() {
    let e = NewEvent::new(
        TeamId::new(),
        WorkspaceId::new(),
        ServiceId::new(),
        EventKind::Started,
        Actor::System,
    )
    .with_payload(EventPayload::Containers {
        ids: vec!["x".repeat(1024); 100],
    });
    match e.validate() {
        Err(ValidationError::TooLarge { field, size, max }) => {
            assert_eq!(field, "event");
            assert!(size > max && max == MAX_EVENT_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn service_fields_are_checked_and_named() {
    let base = ServiceInstance::new(TeamId::new(), WorkspaceId::new(), "web", "apps/web");
    type Mutation = Box<dyn Fn(&mut ServiceInstance)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("service.name", Box::new(|s| s.name = "Web App".into())),
        ("replicas", Box::new(|s| s.replicas = MAX_REPLICAS + 1)),
        (
            "env",
            Box::new(|s| {
                s.env.insert("1BAD".into(), SecretValue::new("v"));
            }),
        ),
        ("folder", Box::new(|s| s.folder = "../outside".into())),
        ("folder", Box::new(|s| s.folder = "/etc".into())),
        ("confidence", Box::new(|s| s.confidence = Some(1.5))),
        (
            "ports[0].container_port",
            Box::new(|s| s.ports = vec![PortMapping::new(0, None)]),
        ),
        (
            "health_check.path",
            Box::new(|s| {
                s.health_check = Some(HealthCheckConfig::new(HealthProbe::Http {
                    port: 80,
                    path: "health".into(),
                    expect_status: None,
                }));
            }),
        ),
        (
            "health_check.timeout",
            Box::new(|s| {
                let mut hc = HealthCheckConfig::new(HealthProbe::Tcp { port: 5432 });
                hc.timeout = hc.interval * 2;
                s.health_check = Some(hc);
            }),
        ),
        (
            "limits.memory_bytes",
            Box::new(|s| s.limits.memory_bytes = Some(1024)),
        ),
    ];
    assert!(base.validate().is_ok());
    for (field, mutate) in cases {
        let mut s = base.clone();
        mutate(&mut s);
        let err = s.validate().unwrap_err();
        assert_eq!(err.field(), field, "{err}");
        assert!(
            err.to_string().starts_with(field),
            "the message names the field: {err}"
        );
    }
}

#[test]
fn secrets_never_show_in_debug_output_or_events() {
    let mut s = ServiceInstance::new(TeamId::new(), WorkspaceId::new(), "web", "web");
    s.env
        .insert("API_KEY".into(), SecretValue::new("sk-live-123456"));
    let debug = format!("{s:?}");
    assert!(!debug.contains("sk-live-123456"), "{debug}");
    assert!(debug.contains("API_KEY"));

    let kyozo = kyozo::Kyozo::builder().build().unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada").unwrap();
    let ws = kyozo.create_workspace(owner.actor(), team.id, "w").unwrap();
    let mut s = ServiceInstance::new(team.id, ws.id, "web", "web");
    s.env
        .insert("API_KEY".into(), SecretValue::new("sk-live-123456"));
    let s = kyozo.create_service(owner.actor(), s).unwrap();
    let events = kyozo.events(owner.actor(), team.id, s.id, 10).unwrap();
    let json = serde_json::to_string(&events).unwrap();
    assert!(
        json.contains("env.API_KEY"),
        "the event says which variable was set: {json}"
    );
    assert!(
        !json.contains("sk-live-123456"),
        "but never its value: {json}"
    );
}

#[test]
fn calculations_uptime_summary_and_utilisation() {
    let mut s = ServiceInstance::new(TeamId::new(), WorkspaceId::new(), "web", "web");
    let t0 = Timestamp::from_millis(1_800_000_000_000);
    assert_eq!(s.uptime(t0), None);
    assert_eq!(s.status_summary(t0), "pending: never deployed");
    s.set_status(ServiceStatus::Deploying, t0).unwrap();
    s.set_status(ServiceStatus::Running, t0).unwrap();
    s.replicas = 3;
    let later = t0.saturating_add(std::time::Duration::from_secs(2 * 3600 + 5 * 60));
    assert_eq!(s.uptime(later), Some(std::time::Duration::from_secs(7500)));
    assert_eq!(s.status_summary(later), "running for 2h 5m (3 replicas)");
    assert!(s.set_status(ServiceStatus::Pending, later).is_err());
    assert_eq!(
        s.status,
        ServiceStatus::Running,
        "a refused transition changes nothing"
    );
    s.set_status(ServiceStatus::Stopped, later).unwrap();
    assert_eq!(s.uptime(later), None);
    let much_later = later.saturating_add(std::time::Duration::from_secs(240));
    assert_eq!(s.status_summary(much_later), "stopped 4m 0s ago");

    s.limits.cpus = Some(0.5);
    s.limits.memory_bytes = Some(512 * 1024 * 1024);
    let mut m = ServiceMetric::new(s.team, s.id, later);
    m.cpu_percent = 25.0;
    m.memory_bytes = 128 * 1024 * 1024;
    let u = s.utilisation(&m);
    assert_eq!(u.cpu_percent_of_limit, Some(50.0));
    assert_eq!(u.memory_percent_of_limit, Some(25.0));
    s.limits = ResourceLimits::default();
    assert_eq!(s.utilisation(&m).cpu_percent_of_limit, None);
}
