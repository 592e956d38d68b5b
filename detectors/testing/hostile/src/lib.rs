//! A plugin that misbehaves on purpose, for the host's sandbox tests
//! (`tests/plugin_hostile.rs`). What it does is read from the project's `hostile.txt`,
//! so one component serves every test.

use std::hint::black_box;

use kyozo_detector_sdk::{Detection, Metadata, Plugin, Project, ReadError, export_detector};

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
                // Every attempt is reported as evidence: path → what the host answered.
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
                    d = d.evidence(path, answer);
                }
                for glob in ["../*", "/etc/*", "link/**", "**/secret.txt"] {
                    let files = project.files(glob);
                    d = d.evidence(glob, format!("listed {files:?}"));
                }
                // WASI: nothing is granted, so std's file, env and clock calls find nothing.
                let fs = std::fs::read_to_string("/etc/passwd").map(|t| t.len());
                d = d.evidence("wasi:filesystem", format!("{fs:?}"));
                let env: Vec<(String, String)> = std::env::vars().collect();
                d = d.evidence("wasi:environment", format!("{env:?}"));
                let net = std::net::TcpStream::connect("127.0.0.1:80").map(|_| ());
                d = d.evidence("wasi:sockets", format!("{:?}", net.map_err(|e| e.kind())));
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
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

export_detector!(Hostile);
