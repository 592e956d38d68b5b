//! Hostile folders against the planner: file and folder names that hold a newline, a
//! trailing backslash, quotes, `$` or bytes that are not UTF-8 must never add, remove
//! or swallow an instruction of a generated Dockerfile. Each plan is either refused for
//! that service (a recommendation naming the file the value came from) or its
//! Dockerfile, split back strictly, holds exactly the template's instructions with the
//! same `USER`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/dockerfile_split.rs"]
mod dockerfile_split;

use std::path::Path;

use kyozo::plan::{ImageSource, Plan, Planner};
use kyozo::topology::TopologyEngine;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn plan(root: &Path) -> Plan {
    let topology = TopologyEngine::new().analyze(root).unwrap();
    Planner::new().plan(&topology)
}

/// The instructions of the generated Dockerfile of `service`, if it has one.
fn generated(plan: &Plan, service: &str) -> Option<String> {
    plan.services
        .iter()
        .find(|s| s.name == service)
        .and_then(|s| match &s.source {
            ImageSource::Generated { file } => Some(file.contents.clone()),
            _ => None,
        })
}

/// Checks that the one service of `hostile` is either refused with a recommendation
/// that names `file`, or has a Dockerfile with the instructions and `USER` of the one
/// service of `benign`. Returns which happened.
fn refused_or_same(hostile: &Plan, benign: &Plan, file: &str) -> &'static str {
    refused_or_same_as_one_of(hostile, &[benign], file)
}

/// [`refused_or_same`] where the hostile folder may take another legitimate shape:
/// the instructions of one of `benign` (a file name a `COPY` cannot take alone makes the
/// Dockerfile copy the code before installing, as a benign name with a blank does).
fn refused_or_same_as_one_of(hostile: &Plan, benign: &[&Plan], file: &str) -> &'static str {
    let expected: Vec<Vec<String>> = benign
        .iter()
        .map(|b| {
            assert_eq!(b.services.len(), 1, "{:?}", b.recommendations);
            let text = generated(b, &b.services[0].name).expect("a generated Dockerfile");
            dockerfile_split::keywords(&dockerfile_split::split(&text).unwrap())
        })
        .collect();
    match hostile.services.first() {
        Some(s) => {
            let text = generated(hostile, &s.name).expect("a generated Dockerfile");
            let got = dockerfile_split::split(&text)
                .unwrap_or_else(|why| panic!("{why}; the Dockerfile:\n{text}"));
            assert!(
                expected.contains(&dockerfile_split::keywords(&got)),
                "instructions added, removed or swallowed; the Dockerfile:\n{text}"
            );
            assert_eq!(
                dockerfile_split::users(&got),
                vec!["10001".to_string()],
                "the Dockerfile:\n{text}"
            );
            "same instructions"
        }
        None => {
            let why = hostile
                .recommendations
                .iter()
                .find(|r| r.code == "unsafe-value")
                .unwrap_or_else(|| {
                    panic!("neither planned nor refused: {:?}", hostile.recommendations)
                });
            assert!(
                why.service.is_some(),
                "the refusal names the service: {why:?}"
            );
            assert!(
                why.message.contains(file),
                "the refusal names {file}: {}",
                why.message
            );
            assert!(
                !why.message.contains('\n'),
                "the refusal holds no raw newline: {:?}",
                why.message
            );
            eprintln!("refused: {}", why.message);
            "refused"
        }
    }
}

/// The Dockerfile of the one service of `plan`.
fn only(plan: &Plan) -> String {
    generated(plan, &plan.services[0].name).unwrap()
}

fn python_app(root: &Path) {
    write(
        root,
        &[(
            "main.py",
            "from flask import Flask\napp = Flask(__name__)\napp.run(port=5000)\n",
        )],
    );
}

#[test]
fn a_requirements_file_name_with_a_newline_injects_no_instruction() {
    let benign = tempfile::tempdir().unwrap();
    python_app(benign.path());
    write(benign.path(), &[("requirements/x.txt", "flask\n")]);
    let hostile = tempfile::tempdir().unwrap();
    python_app(hostile.path());
    let name = "x\nUSER root\nRUN touch pwned\n#.txt";
    write(
        hostile.path(),
        &[(&format!("requirements/{name}"), "flask\n")],
    );
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    refused_or_same(&hostile, &benign, "requirements/x\\nUSER root");
}

#[test]
fn a_requirements_file_name_with_shell_characters_is_quoted() {
    let benign = tempfile::tempdir().unwrap();
    python_app(benign.path());
    write(benign.path(), &[("requirements/x.txt", "flask\n")]);
    let hostile = tempfile::tempdir().unwrap();
    python_app(hostile.path());
    let name = "x;touch $HOME 'q' \"d\" `id`.txt";
    write(
        hostile.path(),
        &[(&format!("requirements/{name}"), "flask\n")],
    );
    // A name with a blank cannot be copied on its own: the code goes first.
    let blank = tempfile::tempdir().unwrap();
    python_app(blank.path());
    write(blank.path(), &[("requirements/x y.txt", "flask\n")]);
    let benign = plan(benign.path());
    let blank = plan(blank.path());
    let hostile = plan(hostile.path());
    assert_eq!(
        refused_or_same_as_one_of(&hostile, &[&benign, &blank], "requirements/"),
        "same instructions"
    );
    // The file name reaches pip as one word, unexpanded.
    let text = only(&hostile);
    assert!(
        text.contains(r#"pip install -r 'requirements/x;touch $HOME '\''q'\'' "d" `id`.txt'"#),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn a_requirements_file_name_that_is_not_utf8_plans_nothing_broken() {
    use std::os::unix::ffi::OsStrExt;
    let hostile = tempfile::tempdir().unwrap();
    python_app(hostile.path());
    std::fs::create_dir_all(hostile.path().join("requirements")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"x\xff\nUSER root\n.txt");
    std::fs::write(hostile.path().join("requirements").join(name), "flask\n").unwrap();
    let hostile = plan(hostile.path());
    // The app is planned, and its image does not run as root.
    let s = hostile.services.first().expect("the app is planned");
    let text = generated(&hostile, &s.name).unwrap();
    let got = dockerfile_split::split(&text).unwrap_or_else(|why| panic!("{why}:\n{text}"));
    assert_eq!(dockerfile_split::users(&got), vec!["10001".to_string()]);
}

/// A uv workspace whose member `apps/<folder>` is named `<name>` in its pyproject.
fn uv_workspace(root: &Path, folder: &str, name: &str) {
    write(
        root,
        &[
            (
                "pyproject.toml",
                "[tool.uv.workspace]\nmembers = [\"apps/*\"]\n",
            ),
            ("uv.lock", "version = 1\n"),
            (
                &format!("apps/{folder}/pyproject.toml"),
                &format!(
                    "[project]\nname = {}\nversion = \"0.1.0\"\ndependencies = [\"fastapi\", \"uvicorn\"]\n",
                    toml_string(name)
                ),
            ),
            (
                &format!("apps/{folder}/main.py"),
                "from fastapi import FastAPI\napp = FastAPI()\n",
            ),
        ],
    );
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn a_uv_member_name_with_a_trailing_backslash_swallows_no_instruction() {
    let benign = tempfile::tempdir().unwrap();
    uv_workspace(benign.path(), "api", "api");
    let hostile = tempfile::tempdir().unwrap();
    uv_workspace(hostile.path(), "api", "api\\");
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    assert_eq!(
        refused_or_same(&hostile, &benign, "apps/api/pyproject.toml"),
        "same instructions"
    );
    let text = only(&hostile);
    assert!(text.contains("--package 'api\\'\n"), "{text}");
}

#[test]
fn a_uv_member_name_with_a_newline_injects_no_instruction() {
    let benign = tempfile::tempdir().unwrap();
    uv_workspace(benign.path(), "api", "api");
    let hostile = tempfile::tempdir().unwrap();
    uv_workspace(hostile.path(), "api", "api\nUSER root\nENTRYPOINT [\"sh\"]");
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    refused_or_same(&hostile, &benign, "apps/api/pyproject.toml");
}

#[test]
fn a_member_folder_with_a_trailing_backslash_swallows_no_user_line() {
    let benign = tempfile::tempdir().unwrap();
    uv_workspace(benign.path(), "api", "api");
    let hostile = tempfile::tempdir().unwrap();
    uv_workspace(hostile.path(), "api\\", "api");
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    refused_or_same(&hostile, &benign, "apps/api\\");
}

#[test]
fn a_member_folder_with_a_newline_injects_no_instruction() {
    let benign = tempfile::tempdir().unwrap();
    uv_workspace(benign.path(), "api", "api");
    let hostile = tempfile::tempdir().unwrap();
    uv_workspace(hostile.path(), "api\nUSER root", "api");
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    refused_or_same(&hostile, &benign, "apps/api\\nUSER root");
}

#[test]
fn a_member_folder_with_dollar_and_quotes_keeps_its_workdir_literal() {
    let benign = tempfile::tempdir().unwrap();
    uv_workspace(benign.path(), "api", "api");
    let hostile = tempfile::tempdir().unwrap();
    uv_workspace(hostile.path(), "a$HOME'\"", "api");
    let benign = plan(benign.path());
    let hostile = plan(hostile.path());
    assert_eq!(
        refused_or_same(&hostile, &benign, "apps/"),
        "same instructions"
    );
    let text = only(&hostile);
    // Docker expands `$HOME` and strips quotes in WORKDIR: escaped, they stay.
    assert!(
        text.contains("WORKDIR /app/apps/a\\$HOME\\'\\\"\n"),
        "{text}"
    );
}
