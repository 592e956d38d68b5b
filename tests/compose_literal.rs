//! The compose file Kyozo writes holds the folder's names literally: YAML quoting by the
//! serializer, and compose's own `$` interpolation turned off for every value that came
//! from the folder (`$` written `$$`). Parsed back, and read by `docker-compose config`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use kyozo::plan::{COMPOSE_FILE, Planner};
use kyozo::topology::TopologyEngine;

/// Member folders whose names compose would interpolate or YAML would misread.
const HOSTILE: &[(&str, &str)] = &[
    ("alpha", "a$KYOZO_TEST_SECRET"),
    ("beta", "b${KYOZO_TEST_SECRET}'\"#:x"),
];

fn monorepo(root: &Path) {
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"mono","private":true,"workspaces":["apps/*"]}"#,
    )
    .unwrap();
    for (name, folder) in HOSTILE {
        let dir = root.join("apps").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("package.json"),
            format!(r#"{{"name":"{name}","scripts":{{"start":"node server.js"}}}}"#),
        )
        .unwrap();
        std::fs::write(
            dir.join("server.js"),
            "require('http').createServer().listen(3000)",
        )
        .unwrap();
    }
}

#[test]
fn names_from_the_folder_reach_the_compose_file_literally() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    monorepo(&root);
    let topology = TopologyEngine::new().analyze(&root).unwrap();
    let plan = Planner::new().plan(&topology);
    plan.write(&root, false).unwrap();
    let text = std::fs::read_to_string(root.join(COMPOSE_FILE)).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    for (name, folder) in HOSTILE {
        // Members of a workspace build from its root, each with its own Dockerfile.
        let dockerfile = doc["services"][name]["build"]["dockerfile"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {text}"));
        assert_eq!(
            dockerfile.replace("$$", "$"),
            format!("apps/{folder}/Dockerfile"),
            "{text}"
        );
        assert!(!dockerfile.replace("$$", "").contains('$'), "{dockerfile}");
    }

    // What compose itself makes of it: the folders as they are, nothing interpolated.
    let out = std::process::Command::new("docker-compose")
        .current_dir(&root)
        .env("KYOZO_TEST_SECRET", "s3cr3t-value")
        .args(["-f", COMPOSE_FILE, "config"])
        .output()
        .expect("docker-compose (CI installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("s3cr3t-value"), "{stdout}");
    let resolved: serde_json::Value = serde_saphyr::from_str(&stdout).unwrap();
    for (name, folder) in HOSTILE {
        let dockerfile = resolved["services"][name]["build"]["dockerfile"]
            .as_str()
            .unwrap();
        // `config` writes a compose file again, `$` escaped as `$$`: what it read was
        // the folder's name, not an interpolation.
        assert_eq!(
            dockerfile.replace("$$", "$"),
            format!("apps/{folder}/Dockerfile"),
            "{stdout}"
        );
    }
}
