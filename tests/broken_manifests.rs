//! A manifest that does not parse is said in the analysis's warnings, naming the file
//! and the line (where there is one: a Dockerfile without a `FROM` has none), for every
//! parser (and on one line: a parser's quoted source and caret
//! are left out); a requirements file with a line pip would refuse is one of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The warnings of the analysis of a folder holding `files`.
fn warnings(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let topology = kyozo::Kyozo::builder()
        .build()
        .unwrap()
        .engine()
        .analyze(dir.path())
        .unwrap();
    topology.warnings.iter().map(|w| w.to_string()).collect()
}

/// A broken manifest: its name, the folder's files, and what the warning must say of
/// where.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn every_broken_manifest_is_said_with_its_file_and_line() {
    let cases: &[Case<'_>] = &[
        (
            "package.json",
            &[
                (
                    "package.json",
                    "{\n  \"name\": \"x\",\n  \"scripts\": {\"start\": \"node index.js\"\n  \"x\": 1\n}\n",
                ),
                ("index.js", "console.log(1)\n"),
            ],
            "line 4",
        ),
        (
            "requirements.txt",
            &[
                (
                    "requirements.txt",
                    "flask==3.0\nthis is not a requirement !!\n",
                ),
                ("app.py", "print(1)\n"),
            ],
            "line 2",
        ),
        (
            "requirements.txt",
            &[
                ("requirements.txt", "flask==3.0\n\nrequests>=\n"),
                ("app.py", "print(1)\n"),
            ],
            "line 3",
        ),
        (
            "pyproject.toml",
            &[(
                "pyproject.toml",
                "[project]\nname = \"x\"\ndependencies = [\n  \"flask\"\n  \"x\"\n]\n",
            )],
            "line 5",
        ),
        (
            "Pipfile",
            &[("Pipfile", "[packages]\nflask = \"*\"\n[[broken\n")],
            "line 3",
        ),
        (
            "Cargo.toml",
            &[("Cargo.toml", "[package]\nname = \"x\"\nversion = = \"1\"\n")],
            "line 3",
        ),
        (
            "go.mod",
            &[(
                "go.mod",
                "module example.com/x\n\ngo 1.22\nrequire (\n  github.com/x/y\n",
            )],
            "line 4",
        ),
        (
            "composer.json",
            &[(
                "composer.json",
                "{\n \"require\": {\n  \"php\": \">=8\"\n  \n}\n",
            )],
            "line",
        ),
        (
            "pom.xml",
            &[(
                "pom.xml",
                "<project>\n<dependencies>\n<dependency>\n</project>\n",
            )],
            "4:1",
        ),
        (
            "compose.yaml",
            &[(
                "compose.yaml",
                "services:\n  web:\n    image: nginx\n   ports: [80]\n",
            )],
            "line 4",
        ),
        (
            "deno.json",
            &[
                (
                    "deno.json",
                    "{\n \"tasks\": {\n   \"start\": \"deno run main.ts\",\n }}}\n",
                ),
                ("main.ts", "console.log(1)\n"),
            ],
            "line 4",
        ),
        (
            "Procfile",
            &[("Procfile", "web gunicorn app:app\n")],
            "line 1",
        ),
        (
            "Gemfile",
            &[("Gemfile", "source \"https://rubygems.org\"\ngem \"rails\n")],
            "line 2",
        ),
        (
            "build.gradle",
            &[("build.gradle", "plugins {\n  id 'java\n}\n")],
            "line 2",
        ),
        (
            "mix.exs",
            &[(
                "mix.exs",
                "defmodule X.MixProject do\n  def project do\n    [app: :x)\n  end\nend\n",
            )],
            "line 3",
        ),
        (
            "Dockerfile",
            &[("Dockerfile", "RUN echo hi\nCMD [\"sh\"]\n")],
            "no FROM",
        ),
    ];
    for (file, files, line) in cases {
        let said = warnings(files);
        let found = said
            .iter()
            .find(|w| w.starts_with(&format!("{file}: invalid")));
        let Some(found) = found else {
            panic!("no warning for the broken {file}: {said:?}");
        };
        assert!(found.contains(line), "{file}: no {line:?} in {found:?}");
        assert!(!found.contains('\n'), "{file}: one line, not {found:?}");
    }
}

#[test]
fn a_valid_requirements_file_is_not_warned_about() {
    let said = warnings(&[
        (
            "requirements.txt",
            "# pinned\n-r base.txt\nDjango[bcrypt]>=4.2,<5 ; python_version >= \"3.10\"\n./vendor/pkg\ngit+https://example.com/x.git#egg=x\n-e .\nrequests ~= 2.31\n",
        ),
        ("base.txt", "gunicorn==23.0.0 --hash=sha256:abc\n"),
        ("app.py", "print(1)\n"),
    ]);
    assert!(said.is_empty(), "{said:?}");
}
