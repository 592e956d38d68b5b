//! A compose file's keys Kyozo does not apply (privileges, host namespaces, devices,
//! host mounts...) are named in the topology's warnings, never dropped silently, and
//! never with a value that came from `.env`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::topology::TopologyEngine;

#[test]
fn dropped_compose_keys_are_warned_about_by_name_without_env_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET_CAP=hunter2-secret\n").unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    image: busybox\n    privileged: true\n    cap_add: [\"${SECRET_CAP}\"]\n    devices: [\"/dev/sda:/dev/sda\"]\n    network_mode: host\n    pid: host\n    ipc: host\n    security_opt: [\"seccomp:unconfined\"]\n    userns_mode: host\n    volumes: [\"/:/host\"]\n",
    )
    .unwrap();
    let topology = TopologyEngine::new().analyze(dir.path()).unwrap();
    let all = format!("{:?}", topology.warnings);
    for key in [
        "privileged",
        "cap_add",
        "devices",
        "network_mode",
        "pid",
        "ipc",
        "security_opt",
        "userns_mode",
        "volumes",
    ] {
        assert!(
            topology
                .warnings
                .iter()
                .any(|w| w.contains(&format!("services.web.{key}")) && w.contains("does not apply")),
            "{key} is not named: {all}"
        );
    }
    assert!(!all.contains("hunter2"), "a .env value in a warning: {all}");
}
