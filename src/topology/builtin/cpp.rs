//! The C/C++ detector: CMake projects (`CMakeLists.txt`), Meson projects
//! (`meson.build`), and, weakly, folders with C/C++ sources and a `Makefile`.
//!
//! - A CMake project is a `CMakeLists.txt` with no `CMakeLists.txt` in an ancestor
//!   folder; nested ones (`add_subdirectory`) are part of it. The project's
//!   `add_executable` targets (followed through `add_subdirectory`, tests, examples and
//!   benchmarks left out) make it a service: `cmake -B build -DCMAKE_BUILD_TYPE=Release
//!   && cmake --build build`, started as `./build/<subdir>/<name>` (or under
//!   `CMAKE_RUNTIME_OUTPUT_DIRECTORY`). Only `add_library` targets: a library.
//!   `vcpkg.json` and `conanfile.txt`/`conanfile.py` add their toolchain to the commands
//!   and their dependencies to what is known.
//! - Meson works the same way: `executable('name', ...)` through `subdir()`, built with
//!   `meson setup build --buildtype=release && meson compile -C build`.
//! - A `Makefile` next to C/C++ sources, without CMake or Meson, is a weak signal:
//!   `make`, and `./<TARGET>` when the Makefile names its target.
//!
//! Web libraries (Crow, Drogon, cpp-httplib, Pistache, Oat++, RESTinio) found in
//! `find_package`, `target_link_libraries`, FetchContent/CPM, Meson `dependency()`,
//! vcpkg or conan mean a port: the one passed literally in the executable's sources
//! (`app.port(18080)`, `addListener("0.0.0.0", 8080)`, `svr.listen("0.0.0.0", 8080)`,
//! `Port(9080)`), else the library's conventional port marked `default for X`.
//!
//! Runtime version: the build tool's minimum version, which decides the image to build
//! with. Precedence: `.tool-versions` `cmake` > `cmake_minimum_required(VERSION)`;
//! `.tool-versions` `meson` > `project(meson_version:)`. The C++ standard
//! (`CMAKE_CXX_STANDARD`) is reported as evidence.

use std::collections::BTreeMap;

use crate::topology::common;
use crate::topology::manifest::ManifestError;
use crate::topology::{
    Detection, DetectionKind, Detector, DetectorError, ProjectView, Sourced, join, parent,
};

/// Detects C and C++ projects.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CppDetector;

impl Detector for CppDetector {
    fn id(&self) -> &str {
        "cpp"
    }

    fn detect(&self, view: &ProjectView) -> Result<Vec<Detection>, DetectorError> {
        let mut out = Vec::new();
        for path in view.named("CMakeLists.txt") {
            let dir = parent(path);
            if has_ancestor_file(view, dir, "CMakeLists.txt") {
                continue;
            }
            if let Some(d) = detect_cmake(view, path) {
                out.push(d);
            }
        }
        for path in view.named("meson.build") {
            let dir = parent(path);
            if has_ancestor_file(view, dir, "meson.build")
                || view.is_file(&join(dir, "CMakeLists.txt"))
            {
                continue;
            }
            if let Some(d) = detect_meson(view, path) {
                out.push(d);
            }
        }
        for name in ["Makefile", "makefile", "GNUmakefile"] {
            for path in view.named(name) {
                if let Some(d) = detect_make(view, path) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }
}

/// Whether `name` exists in a strict ancestor of `dir`.
fn has_ancestor_file(view: &ProjectView, dir: &str, name: &str) -> bool {
    if dir.is_empty() {
        return false;
    }
    common::find_up(view, parent(dir), name).is_some()
}

// ---------------------------------------------------------------------------------
// CMake

/// One command invocation of a CMake file: `name(args...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CmakeCommand {
    /// The command name, lower-cased (CMake commands are case-insensitive).
    pub(crate) name: String,
    /// Its arguments, unquoted (variables not expanded).
    pub(crate) args: Vec<String>,
    /// The line it starts on (1-based).
    pub(crate) line: usize,
}

/// Splits a CMake file into command invocations. Understands `#` and `#[[ ]]`
/// comments, quoted and bracket arguments, nested parentheses and calls spanning
/// lines. Fails on an unclosed call or text that is not a command.
pub(crate) fn parse_cmake(text: &str) -> Result<Vec<CmakeCommand>, ManifestError> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut i = 0;
    let mut line = 1;
    let mut commands = Vec::new();

    // A bracket opening `[=*[` at `i`: its `=` count and length.
    let bracket_open = |i: usize| -> Option<(usize, usize)> {
        if at(i) != Some('[') {
            return None;
        }
        let mut j = i + 1;
        while at(j) == Some('=') {
            j += 1;
        }
        (at(j) == Some('[')).then_some((j - i - 1, j - i + 1))
    };
    // Skips a bracket body after its opening; returns the text and the index after.
    let bracket_body = |mut i: usize, level: usize, line: &mut usize| -> (String, usize) {
        let mut body = String::new();
        while let Some(c) = at(i) {
            if c == ']' {
                let mut j = i + 1;
                let mut eq = 0;
                while at(j) == Some('=') {
                    eq += 1;
                    j += 1;
                }
                if eq == level && at(j) == Some(']') {
                    return (body, j + 1);
                }
            }
            if c == '\n' {
                *line += 1;
            }
            body.push(c);
            i += 1;
        }
        (body, i)
    };
    // Skips a comment starting at `#`.
    let comment = |i: usize, line: &mut usize| -> usize {
        if let Some((level, len)) = bracket_open(i + 1) {
            return bracket_body(i + 1 + len, level, line).1;
        }
        let mut j = i;
        while at(j).is_some_and(|c| c != '\n') {
            j += 1;
        }
        j
    };

    while let Some(c) = at(i) {
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            i = comment(i, &mut line);
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start_line = line;
            let mut name = String::new();
            while let Some(c) = at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                name.push(c.to_ascii_lowercase());
                i += 1;
            }
            while at(i).is_some_and(|c| c == ' ' || c == '\t') {
                i += 1;
            }
            if at(i) != Some('(') {
                return Err(ManifestError::new(format!(
                    "line {start_line}: expected '(' after {name}"
                )));
            }
            i += 1;
            let mut args = Vec::new();
            let mut depth = 1usize;
            loop {
                let Some(c) = at(i) else {
                    return Err(ManifestError::new(format!(
                        "line {start_line}: unclosed ( of {name}"
                    )));
                };
                if c == '\n' {
                    line += 1;
                    i += 1;
                } else if c.is_whitespace() {
                    i += 1;
                } else if c == '#' {
                    i = comment(i, &mut line);
                } else if c == '(' {
                    depth += 1;
                    i += 1;
                } else if c == ')' {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                } else if c == '"' {
                    let mut value = String::new();
                    i += 1;
                    while let Some(c) = at(i) {
                        i += 1;
                        match c {
                            '\\' => {
                                if let Some(next) = at(i) {
                                    if next == '\n' {
                                        line += 1;
                                    } else {
                                        value.push(next);
                                    }
                                    i += 1;
                                }
                            }
                            '"' => break,
                            c => {
                                if c == '\n' {
                                    line += 1;
                                }
                                value.push(c);
                            }
                        }
                    }
                    args.push(value);
                } else if let Some((level, len)) = bracket_open(i) {
                    let (body, next) = bracket_body(i + len, level, &mut line);
                    args.push(body.strip_prefix('\n').unwrap_or(&body).to_string());
                    i = next;
                } else {
                    let mut value = String::new();
                    while let Some(c) = at(i) {
                        if c.is_whitespace() || matches!(c, '(' | ')' | '#' | '"') {
                            break;
                        }
                        if c == '\\' {
                            if let Some(next) = at(i + 1) {
                                value.push(next);
                            }
                            i += 2;
                            continue;
                        }
                        value.push(c);
                        i += 1;
                    }
                    args.push(value);
                }
            }
            commands.push(CmakeCommand {
                name,
                args,
                line: start_line,
            });
        } else {
            return Err(ManifestError::new(format!(
                "line {line}: unexpected '{c}' outside a command"
            )));
        }
    }
    Ok(commands)
}

/// Expands `${VAR}` references with `vars`; unknown ones are left as they are.
fn expand(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = value.to_string();
    for _ in 0..8 {
        let Some(start) = out.find("${") else {
            break;
        };
        let Some(len) = out.get(start..).and_then(|s| s.find('}')) else {
            break;
        };
        let name = out.get(start + 2..start + len).unwrap_or("").to_string();
        let Some(replacement) = vars.get(&name) else {
            break;
        };
        out.replace_range(start..=start + len, replacement);
    }
    out
}

/// An executable target of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    name: String,
    /// The build file that defines it.
    file: String,
    /// The folder of the build file that defines it, relative to the project.
    subdir: String,
    /// Its source files, relative to the root of the view.
    sources: Vec<String>,
}

/// What a CMake project defines, across its `add_subdirectory` files.
#[derive(Debug, Clone, Default)]
struct CmakeProject {
    name: Option<String>,
    minimum_version: Option<String>,
    cxx_standard: Option<String>,
    executables: Vec<Target>,
    libraries: Vec<String>,
    /// Lower-cased package and link names (`find_package`, `target_link_libraries`,
    /// FetchContent, CPM).
    dependencies: Vec<String>,
    /// `CMAKE_RUNTIME_OUTPUT_DIRECTORY` under the build folder.
    runtime_output: Option<String>,
    files: Vec<String>,
}

/// Folder names whose executables are not the service.
const NOT_SERVICE_DIRS: &[&str] = &[
    "bench",
    "benches",
    "benchmark",
    "benchmarks",
    "example",
    "examples",
    "extern",
    "external",
    "sample",
    "samples",
    "test",
    "tests",
    "third_party",
    "thirdparty",
    "tools",
];

/// Whether the target sits in a tests/examples/third-party folder.
fn in_auxiliary_folder(target: &Target) -> bool {
    target
        .subdir
        .split('/')
        .any(|part| NOT_SERVICE_DIRS.contains(&part.to_ascii_lowercase().as_str()))
}

/// Whether the target is a test, benchmark or example (by folder or by name).
fn is_auxiliary(target: &Target) -> bool {
    let name = target.name.to_ascii_lowercase();
    in_auxiliary_folder(target)
        || ["test", "bench", "example", "sample", "demo"]
            .iter()
            .any(|w| name.contains(w))
}

/// Reads a CMake project from its root `CMakeLists.txt`, following `add_subdirectory`.
fn read_cmake_project(view: &ProjectView, root_file: &str) -> Result<CmakeProject, ManifestError> {
    let root_dir = parent(root_file).to_string();
    let mut project = CmakeProject::default();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: Vec<(String, usize)> = vec![(root_file.to_string(), 0)];
    while let Some((file, depth)) = queue.pop() {
        if project.files.contains(&file) || project.files.len() >= 200 {
            continue;
        }
        let Some(text) = view.text(&file) else {
            continue;
        };
        let commands = match parse_cmake(&text) {
            Ok(c) => c,
            Err(e) if file == root_file => return Err(e),
            Err(e) => {
                common::invalid(view, &file, e);
                continue;
            }
        };
        project.files.push(file.clone());
        let dir = parent(&file).to_string();
        let subdir = dir
            .strip_prefix(&root_dir)
            .unwrap_or(&dir)
            .trim_start_matches('/')
            .to_string();
        let mut subdirs = Vec::new();
        for c in &commands {
            // Variables are CMake lists: `a;b;c` expands to three arguments.
            let args: Vec<String> = c
                .args
                .iter()
                .flat_map(|a| {
                    expand(a, &vars)
                        .split(';')
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .filter(|a| !a.is_empty())
                .collect();
            let first = args.first().cloned().unwrap_or_default();
            match c.name.as_str() {
                "project" if project.name.is_none() && !first.is_empty() => {
                    project.name = Some(first.clone());
                    for v in ["PROJECT_NAME", "CMAKE_PROJECT_NAME"] {
                        vars.insert(v.into(), first.clone());
                    }
                }
                "cmake_minimum_required" => {
                    if let Some(v) = args
                        .iter()
                        .position(|a| a.eq_ignore_ascii_case("VERSION"))
                        .and_then(|i| args.get(i + 1))
                    {
                        let min = v.split("...").next().unwrap_or(v).to_string();
                        project.minimum_version.get_or_insert(min);
                    }
                }
                "set" if args.len() >= 2 => {
                    let value = args
                        .iter()
                        .skip(1)
                        .take_while(|a| *a != "CACHE" && *a != "PARENT_SCOPE")
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(";");
                    match first.as_str() {
                        "CMAKE_CXX_STANDARD" => project.cxx_standard = Some(value.clone()),
                        "CMAKE_RUNTIME_OUTPUT_DIRECTORY" => {
                            let under_build = [
                                "${CMAKE_BINARY_DIR}",
                                "${PROJECT_BINARY_DIR}",
                                "${CMAKE_CURRENT_BINARY_DIR}",
                            ]
                            .iter()
                            .find_map(|p| value.strip_prefix(p));
                            if let Some(rest) = under_build {
                                project.runtime_output = Some(rest.trim_matches('/').to_string());
                            }
                        }
                        _ => {}
                    }
                    vars.insert(first.clone(), value);
                }
                "add_executable" | "qt_add_executable" | "qt6_add_executable" => {
                    let imported = args.get(1).is_some_and(|a| a == "IMPORTED" || a == "ALIAS");
                    if !first.is_empty() && !first.contains("${") && !imported {
                        let sources = args
                            .iter()
                            .skip(1)
                            .filter(|a| is_source(a))
                            .filter_map(|a| source_path(a, &dir, &root_dir))
                            .collect();
                        project.executables.push(Target {
                            name: first.clone(),
                            file: file.clone(),
                            subdir: subdir.clone(),
                            sources,
                        });
                    }
                }
                "add_library" | "qt_add_library" if !first.is_empty() => {
                    project.libraries.push(first.clone());
                }
                "add_subdirectory" if depth < 16 => {
                    if let Some(child) = source_path(&first, &dir, &root_dir) {
                        subdirs.push(join(&child, "CMakeLists.txt"));
                    }
                }
                "find_package" | "pkg_check_modules" | "fetchcontent_declare" => {
                    let name = if c.name == "pkg_check_modules" {
                        args.get(2).cloned().unwrap_or_default()
                    } else {
                        first.clone()
                    };
                    add_dependency(&mut project.dependencies, &name);
                    if c.name == "fetchcontent_declare" {
                        for a in &args {
                            if a.contains("github.com/") {
                                add_dependency(&mut project.dependencies, &repo_of(a));
                            }
                        }
                    }
                }
                "cpmaddpackage" => {
                    for a in &args {
                        if let Some(spec) = a.strip_prefix("gh:") {
                            let repo = spec.split('@').next().unwrap_or(spec);
                            add_dependency(&mut project.dependencies, &repo_of(repo));
                        } else if a.contains("github.com/") {
                            add_dependency(&mut project.dependencies, &repo_of(a));
                        }
                    }
                    if let Some(i) = args.iter().position(|a| a == "NAME") {
                        add_dependency(
                            &mut project.dependencies,
                            args.get(i + 1).map_or("", String::as_str),
                        );
                    }
                }
                "target_link_libraries" => {
                    for a in args.iter().skip(1) {
                        if !matches!(a.as_str(), "PUBLIC" | "PRIVATE" | "INTERFACE") {
                            add_dependency(&mut project.dependencies, a);
                        }
                    }
                }
                _ => {}
            }
        }
        // Depth-first in file order: pushed reversed onto the stack.
        for s in subdirs.into_iter().rev() {
            queue.push((s, depth + 1));
        }
    }
    Ok(project)
}

/// A path argument of a CMake file as a view path: relative to the file's folder, or
/// under `${CMAKE_CURRENT_SOURCE_DIR}` / `${PROJECT_SOURCE_DIR}` / `${CMAKE_SOURCE_DIR}`.
/// `None` when it cannot be known (other variables, absolute paths).
fn source_path(arg: &str, dir: &str, root_dir: &str) -> Option<String> {
    let (base, rest) = if let Some(rest) = arg.strip_prefix("${CMAKE_CURRENT_SOURCE_DIR}") {
        (dir, rest)
    } else if let Some(rest) = ["${PROJECT_SOURCE_DIR}", "${CMAKE_SOURCE_DIR}"]
        .iter()
        .find_map(|p| arg.strip_prefix(p))
    {
        (root_dir, rest)
    } else {
        (dir, arg)
    };
    let rest = rest
        .trim_start_matches('/')
        .trim_start_matches("./")
        .trim_end_matches('/');
    if rest.contains("${") || arg.starts_with('/') {
        return None;
    }
    Some(if rest.is_empty() || rest == "." {
        base.to_string()
    } else {
        join(base, rest)
    })
}

fn is_source(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    [".cpp", ".cc", ".cxx", ".c", ".c++"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// `https://github.com/CrowCpp/Crow.git` → `crow`; `drogonframework/drogon` → `drogon`.
fn repo_of(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

fn add_dependency(list: &mut Vec<String>, name: &str) {
    // `Drogon::Drogon`, `httplib::httplib` → the namespace part.
    let name = name
        .split("::")
        .next()
        .unwrap_or(name)
        .trim()
        .to_ascii_lowercase();
    if !name.is_empty() && !name.contains("${") && !list.contains(&name) {
        list.push(name);
    }
}

/// Web libraries: (dependency names, display name, conventional port). The port is the
/// one their examples and project templates listen on.
const WEB_LIBRARIES: &[(&[&str], &str, u16)] = &[
    (&["crow", "crowcpp"], "crow", 18080),
    (&["cpprestsdk", "cpprest"], "cpprestsdk", 8080),
    (&["drogon"], "drogon", 8080),
    (&["httplib", "cpp-httplib"], "cpp-httplib", 8080),
    (&["oatpp"], "oatpp", 8000),
    (&["pistache"], "pistache", 9080),
    (&["restinio"], "restinio", 8080),
];

fn web_library(dependencies: &[String]) -> Option<(&'static str, u16)> {
    WEB_LIBRARIES.iter().find_map(|(names, name, port)| {
        dependencies
            .iter()
            .any(|d| names.contains(&d.as_str()))
            .then_some((*name, *port))
    })
}

/// The port passed literally to a web library in C/C++ source.
pub(crate) fn port_in_source(source: &str) -> Option<u16> {
    let code = strip_c_comments(source);
    for needle in [
        ".port(",
        "addListener(\"",
        "listen(\"",
        "Port(",
        "\"0.0.0.0\",",
    ] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(needle) {
            rest = rest.get(i + needle.len()..).unwrap_or("");
            // A needle ending inside a string literal: the arguments start after it.
            let args = if needle.ends_with('"') {
                rest.split_once('"').map_or("", |(_, after)| after)
            } else {
                rest
            };
            let call = args.split([')', '}', ';']).next().unwrap_or("");
            if let Some(port) = first_number_outside_strings(call) {
                return Some(port);
            }
        }
    }
    None
}

/// The first standalone integer of `text` that is not inside a string literal and is a
/// plausible port (at least two digits).
fn first_number_outside_strings(text: &str) -> Option<u16> {
    let mut in_string = false;
    let mut previous = ' ';
    let mut digits = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_string = !in_string;
        }
        if !in_string && c.is_ascii_digit() && (!digits.is_empty() || !is_word(previous)) {
            digits.push(c);
        } else if !digits.is_empty() {
            if !is_word(c) && digits.len() >= 2 {
                return digits.parse::<u16>().ok().filter(|p| *p > 0);
            }
            digits.clear();
        }
        previous = c;
    }
    None
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn strip_c_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' || c == '\n' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
                out.push(' ');
            }
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Dependencies declared to vcpkg and conan in `dir`, with the file that declares them.
fn package_manifests(
    view: &ProjectView,
    dir: &str,
) -> (Vec<String>, Option<String>, Option<String>) {
    let mut deps = Vec::new();
    let vcpkg = join(dir, "vcpkg.json");
    let vcpkg_found = view.is_file(&vcpkg).then(|| vcpkg.clone());
    if let Some(text) = view.text(&vcpkg) {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => {
                if let Some(list) = value.get("dependencies").and_then(|d| d.as_array()) {
                    for d in list {
                        let name = d
                            .as_str()
                            .or_else(|| d.get("name").and_then(|n| n.as_str()))
                            .unwrap_or("");
                        add_dependency(&mut deps, name);
                    }
                }
            }
            Err(e) => common::invalid(view, &vcpkg, e),
        }
    }
    let mut conan = None;
    let conan_txt = join(dir, "conanfile.txt");
    if let Some(text) = view.text(&conan_txt) {
        conan = Some(conan_txt.clone());
        let mut in_requires = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_requires = line == "[requires]";
            } else if in_requires && !line.is_empty() && !line.starts_with('#') {
                add_dependency(&mut deps, line.split('/').next().unwrap_or(""));
            }
        }
    }
    let conan_py = join(dir, "conanfile.py");
    if let Some(text) = view.text(&conan_py) {
        conan.get_or_insert(conan_py.clone());
        for quoted in text.split(['"', '\'']).skip(1).step_by(2) {
            if let Some((name, version)) = quoted.split_once('/')
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && version.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                add_dependency(&mut deps, name);
            }
        }
    }
    (deps, vcpkg_found, conan)
}

/// Picks the service's executable: not a test or example, the one named like the
/// project first.
fn pick_target<'a>(targets: &'a [Target], project: Option<&str>) -> Option<&'a Target> {
    // The executable named like the project is the service even if its name says
    // `test` or `demo`; other executables must not look like tests or examples.
    targets
        .iter()
        .find(|t| Some(t.name.as_str()) == project && !in_auxiliary_folder(t))
        .or_else(|| targets.iter().find(|t| !is_auxiliary(t)))
}

/// Port of a web service: read in the target's sources (or `main.*` files), else the
/// library's convention.
fn web_port(view: &ProjectView, dir: &str, target: &Target, library: (&str, u16)) -> Sourced<u16> {
    let mut files: Vec<String> = target.sources.clone();
    for candidate in [
        "main.cpp",
        "main.cc",
        "main.cxx",
        "src/main.cpp",
        "src/main.cc",
    ] {
        let p = join(dir, candidate);
        if !files.contains(&p) {
            files.push(p);
        }
    }
    files
        .iter()
        .take(20)
        .find_map(|f| {
            view.text(f)
                .and_then(|t| port_in_source(&t))
                .map(|p| Sourced::new(p, f.clone()))
        })
        .unwrap_or_else(|| Sourced::assumed(library.1, library.0))
}

fn detect_cmake(view: &ProjectView, path: &str) -> Option<Detection> {
    let dir = parent(path);
    let project = match read_cmake_project(view, path) {
        Ok(p) => p,
        Err(e) => {
            common::invalid(view, path, e);
            return None;
        }
    };
    let mut d = Detection::new(
        "cpp",
        dir,
        "cpp",
        if project.name.is_some() { 0.8 } else { 0.6 },
    )
    .with_evidence(
        path,
        match &project.name {
            Some(n) => format!("CMake project {n}"),
            None => "a CMakeLists.txt without project()".to_string(),
        },
    );
    d.hints.name = project
        .name
        .clone()
        .map(|n| Sourced::new(n, format!("{path} project()")));
    d.hints.package_manager = Some(Sourced::new("cmake".to_string(), path.to_string()));
    d.hints.runtime_version = common::tool_version(view, dir, &["cmake"]).or_else(|| {
        project
            .minimum_version
            .clone()
            .map(|v| Sourced::new(v, format!("{path} cmake_minimum_required")))
    });
    if let Some(std) = &project.cxx_standard {
        d = d.with_evidence(path, format!("C++{std}"));
    }
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;

    let (mut deps, vcpkg, conan) = package_manifests(view, dir);
    for dep in &project.dependencies {
        add_dependency(&mut deps, dep);
    }
    add_backing(&mut d, &deps, path);

    let Some(target) = pick_target(&project.executables, project.name.as_deref()) else {
        d.kind = DetectionKind::Library;
        if !project.libraries.is_empty() {
            d = d.with_evidence(
                path,
                format!("only libraries: {}", project.libraries.join(", ")),
            );
        }
        return Some(d);
    };
    let target_file = target.file.clone();
    d = d.with_evidence(
        target_file.clone(),
        format!("add_executable({})", target.name),
    );
    d.boost(0.05);

    let mut configure = "cmake -B build -DCMAKE_BUILD_TYPE=Release".to_string();
    let mut build_source = format!("{target_file} add_executable");
    if let Some(conan) = &conan {
        d = d.with_evidence(conan.clone(), "conan dependencies");
        d.hints.install_command = Some(Sourced::new(
            "conan install . --output-folder=build --build=missing".to_string(),
            conan.clone(),
        ));
        configure.push_str(" -DCMAKE_TOOLCHAIN_FILE=build/conan_toolchain.cmake");
        build_source = conan.clone();
    } else if let Some(vcpkg) = &vcpkg {
        d = d.with_evidence(
            vcpkg.clone(),
            "vcpkg manifest: dependencies installed at configure",
        );
        configure.push_str(" -DCMAKE_TOOLCHAIN_FILE=$VCPKG_ROOT/scripts/buildsystems/vcpkg.cmake");
        build_source = vcpkg.clone();
    }
    d.hints.build_command = Some(Sourced::new(
        format!("{configure} && cmake --build build"),
        build_source,
    ));
    let binary = match &project.runtime_output {
        Some(out) => built_binary(out, &target.name),
        None => built_binary(&target.subdir, &target.name),
    };
    d.hints.start_command = Some(Sourced::new(
        format!("./{binary}"),
        format!("{target_file} add_executable({})", target.name),
    ));
    if let Some(library) = web_library(&deps) {
        d = d.with_evidence(path, format!("uses {}: an HTTP server", library.0));
        d.boost(0.05);
        d.hints.ports.push(web_port(view, dir, target, library));
    }
    Some(d)
}

/// Where a build puts an executable: `build/<folder>/<name>`, the folder possibly empty.
fn built_binary(folder: &str, name: &str) -> String {
    ["build", folder, name]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

fn add_backing(d: &mut Detection, deps: &[String], path: &str) {
    for dep in deps {
        let service = match dep.as_str() {
            "libpq" | "libpqxx" | "pqxx" | "postgresql" => Some("postgres"),
            "hiredis" | "redis-plus-plus" | "redis++" => Some("redis"),
            "libmysqlclient" | "mysqlclient" | "mysql-connector-cpp" => Some("mysql"),
            "mongo-cxx-driver" | "mongocxx" => Some("mongodb"),
            "librdkafka" | "rdkafka" | "cppkafka" => Some("kafka"),
            other => crate::topology::backing::from_package(other),
        };
        if let Some(b) = service
            && !d.hints.backing_services.iter().any(|s| s.value == b)
        {
            d.hints.backing_services.push(Sourced::new(
                b.to_string(),
                format!("{path} dependency {dep}"),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------
// Meson

#[derive(Debug, Clone, PartialEq, Eq)]
enum MesonToken {
    Ident(String),
    Str(String),
    Punct(char),
}

fn meson_tokens(source: &str) -> Vec<MesonToken> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        if c == '#' {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '\'' {
            let multi = at(i + 1) == Some('\'') && at(i + 2) == Some('\'');
            i += if multi { 3 } else { 1 };
            let mut value = String::new();
            while let Some(c) = at(i) {
                if multi && c == '\'' && at(i + 1) == Some('\'') && at(i + 2) == Some('\'') {
                    i += 3;
                    break;
                }
                if !multi && c == '\\' {
                    if let Some(n) = at(i + 1) {
                        value.push(n);
                    }
                    i += 2;
                    continue;
                }
                i += 1;
                if !multi && (c == '\'' || c == '\n') {
                    break;
                }
                value.push(c);
            }
            tokens.push(MesonToken::Str(value));
        } else if c.is_alphanumeric() || c == '_' {
            let mut ident = String::new();
            while let Some(c) = at(i).filter(|c| c.is_alphanumeric() || *c == '_') {
                ident.push(c);
                i += 1;
            }
            tokens.push(MesonToken::Ident(ident));
        } else {
            if !c.is_whitespace() {
                tokens.push(MesonToken::Punct(c));
            }
            i += 1;
        }
    }
    tokens
}

/// What a `meson.build` file defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MesonBuild {
    /// `project('name', ...)`.
    pub(crate) project: Option<String>,
    /// `meson_version: '>=0.60'`.
    pub(crate) meson_version: Option<String>,
    /// `executable('name', sources...)`: names and literal source files.
    pub(crate) executables: Vec<(String, Vec<String>)>,
    /// Whether it defines a library.
    pub(crate) libraries: bool,
    /// `dependency('name')` names.
    pub(crate) dependencies: Vec<String>,
    /// `subdir('dir')` folders.
    pub(crate) subdirs: Vec<String>,
}

/// Reads a `meson.build`. Never fails. `project_name` resolves
/// `meson.project_name()` in nested files.
pub(crate) fn parse_meson(text: &str, project_name: Option<&str>) -> MesonBuild {
    let tokens = meson_tokens(text);
    let ident = |i: usize, s: &str| matches!(tokens.get(i), Some(MesonToken::Ident(x)) if x == s);
    let punct = |i: usize, p: char| matches!(tokens.get(i), Some(MesonToken::Punct(c)) if *c == p);
    let string = |i: usize| match tokens.get(i) {
        Some(MesonToken::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let mut build = MesonBuild::default();
    for i in 0..tokens.len() {
        let call = |name: &str| ident(i, name) && punct(i + 1, '(');
        if call("project") && build.project.is_none() {
            build.project = string(i + 2);
        } else if call("executable") {
            let project = build.project.as_deref().or(project_name);
            let name = string(i + 2).or_else(|| {
                (ident(i + 2, "meson") && punct(i + 3, '.') && ident(i + 4, "project_name"))
                    .then(|| project.map(str::to_string))
                    .flatten()
            });
            if let Some(name) = name {
                // Literal sources up to the closing parenthesis of the call.
                let mut sources = Vec::new();
                let mut depth = 0usize;
                for t in tokens.iter().skip(i + 1) {
                    match t {
                        MesonToken::Punct('(' | '[') => depth += 1,
                        MesonToken::Punct(')' | ']') => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        MesonToken::Str(s) if is_source(s) => sources.push(s.clone()),
                        _ => {}
                    }
                }
                build.executables.push((name, sources));
            }
        } else if [
            "library",
            "shared_library",
            "static_library",
            "both_libraries",
        ]
        .iter()
        .any(|n| call(n))
        {
            build.libraries = true;
        } else if call("dependency") {
            if let Some(dep) = string(i + 2) {
                add_dependency(&mut build.dependencies, &dep);
            }
        } else if call("subdir")
            && let Some(dir) = string(i + 2)
        {
            build.subdirs.push(dir);
        }
        if build.meson_version.is_none() && ident(i, "meson_version") && punct(i + 1, ':') {
            build.meson_version = string(i + 2);
        }
    }
    build
}

fn detect_meson(view: &ProjectView, path: &str) -> Option<Detection> {
    let dir = parent(path);
    let text = view.text(path)?;
    let root = parse_meson(&text, None);
    let Some(name) = root.project.clone() else {
        common::invalid(view, path, "no project() call in the top-level meson.build");
        return None;
    };
    let mut d =
        Detection::new("cpp", dir, "cpp", 0.8).with_evidence(path, format!("Meson project {name}"));
    d.hints.name = Some(Sourced::new(name.clone(), format!("{path} project()")));
    d.hints.package_manager = Some(Sourced::new("meson".to_string(), path.to_string()));
    d.hints.runtime_version = common::tool_version(view, dir, &["meson"]).or_else(|| {
        root.meson_version.as_deref().and_then(|v| {
            let v = v.trim_start_matches(['>', '=', ' ']);
            (v.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .then(|| Sourced::new(v.to_string(), format!("{path} meson_version")))
        })
    });
    let env = common::env_from_examples(view, dir);
    d.hints.backing_services = common::backing_from_env(&env);
    d.hints.env = env;

    // Every file of the project, through subdir().
    let mut targets: Vec<Target> = Vec::new();
    let mut deps: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut queue: Vec<(String, MesonBuild, usize)> = vec![(path.to_string(), root, 0)];
    while let Some((file, build, depth)) = queue.pop() {
        seen.push(file.clone());
        let file_dir = parent(&file).to_string();
        let subdir = file_dir
            .strip_prefix(dir)
            .unwrap_or(&file_dir)
            .trim_start_matches('/')
            .to_string();
        for (exe, sources) in &build.executables {
            targets.push(Target {
                name: exe.clone(),
                file: file.clone(),
                subdir: subdir.clone(),
                sources: sources.iter().map(|s| join(&file_dir, s)).collect(),
            });
        }
        for dep in &build.dependencies {
            add_dependency(&mut deps, dep);
        }
        for sub in build.subdirs.iter().rev() {
            let child = join(&join(&file_dir, sub.trim_end_matches('/')), "meson.build");
            if depth >= 16 || seen.len() >= 200 || seen.contains(&child) {
                continue;
            }
            if let Some(text) = view.text(&child) {
                queue.push((child, parse_meson(&text, Some(&name)), depth + 1));
            }
        }
    }
    let (more, _, _) = package_manifests(view, dir);
    for dep in &more {
        add_dependency(&mut deps, dep);
    }
    add_backing(&mut d, &deps, path);

    let Some(target) = pick_target(&targets, Some(&name)) else {
        d.kind = DetectionKind::Library;
        return Some(d);
    };
    d = d.with_evidence(
        target.file.clone(),
        format!("executable('{}')", target.name),
    );
    d.boost(0.05);
    d.hints.build_command = Some(Sourced::assumed(
        "meson setup build --buildtype=release && meson compile -C build".to_string(),
        "meson",
    ));
    d.hints.start_command = Some(Sourced::new(
        format!("./{}", built_binary(&target.subdir, &target.name)),
        format!("{} executable('{}')", target.file, target.name),
    ));
    if let Some(library) = web_library(&deps) {
        d = d.with_evidence(path, format!("uses {}: an HTTP server", library.0));
        d.boost(0.05);
        d.hints.ports.push(web_port(view, dir, target, library));
    }
    Some(d)
}

// ---------------------------------------------------------------------------------
// Makefiles

/// Manifests of other stacks: a Makefile next to one of them is that stack's task
/// runner, not a C/C++ build.
const OTHER_MANIFESTS: &[&str] = &[
    "Cargo.toml",
    "binding.gyp",
    "build.zig",
    "go.mod",
    "package.json",
    "pyproject.toml",
    "setup.py",
];

fn detect_make(view: &ProjectView, path: &str) -> Option<Detection> {
    let dir = parent(path);
    if common::find_up(view, dir, "CMakeLists.txt").is_some()
        || common::find_up(view, dir, "meson.build").is_some()
        || OTHER_MANIFESTS.iter().any(|m| view.is_file(&join(dir, m)))
    {
        return None;
    }
    let src = join(dir, "src");
    let sources: Vec<&str> = view
        .files_in(dir)
        .chain(view.files_in(&src))
        .filter(|f| is_source(f))
        .collect();
    let first = sources.first()?;
    let mut d = Detection::new("cpp", dir, "cpp", 0.4)
        .with_evidence(path, "a Makefile")
        .with_evidence(*first, "C/C++ sources next to it");
    d.hints.build_command = Some(Sourced::new("make".to_string(), path.to_string()));
    let text = view.text(path)?;
    if let Some((var, target)) = make_target(&text) {
        d.hints.start_command = Some(Sourced::new(format!("./{target}"), format!("{path} {var}")));
    }
    Some(d)
}

/// Make variables that name the program built. Sorted.
const TARGET_VARS: &[&str] = &[
    "BIN",
    "BINARY",
    "EXEC",
    "EXECUTABLE",
    "OUT",
    "PROG",
    "PROGRAM",
    "TARGET",
];

/// The program a Makefile builds, from `TARGET = name` (or BIN, EXEC, PROGRAM...): the
/// variable and the value.
pub(crate) fn make_target(text: &str) -> Option<(&'static str, String)> {
    text.lines().find_map(|l| {
        let (name, value) = l.split_once('=')?;
        let name = name.trim_end_matches([':', '?', '+', ' ', '\t']);
        let var = TARGET_VARS.iter().find(|v| **v == name)?;
        let value = value.split('#').next().unwrap_or("").trim();
        let ok = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
        ok.then(|| (*var, value.trim_start_matches("./").to_string()))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(commands: &[CmakeCommand]) -> Vec<&str> {
        commands.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn cmake_comments_quotes_and_multiline_calls() {
        let text = r#"cmake_minimum_required(VERSION 3.16...3.28)
# add_executable(commented main.cpp)
#[[ a bracket comment
add_executable(also_commented main.cpp)
]]
project(Server VERSION 1.2 LANGUAGES CXX) # trailing comment
set(SOURCES
    src/main.cpp   # the entrypoint
    "src/with space.cpp"
    [=[src/bracket.cpp]=]
)
add_executable(${PROJECT_NAME}
    ${SOURCES}
)
if((WIN32) AND NOT MSVC)
  message(STATUS "a \"quoted\" (paren) string")
endif()
"#;
        let commands = parse_cmake(text).unwrap();
        assert_eq!(
            names(&commands),
            vec![
                "cmake_minimum_required",
                "project",
                "set",
                "add_executable",
                "if",
                "message",
                "endif"
            ]
        );
        let set = &commands[2];
        assert_eq!(
            set.args,
            vec![
                "SOURCES",
                "src/main.cpp",
                "src/with space.cpp",
                "src/bracket.cpp"
            ]
        );
        assert_eq!(commands[3].line, 12);
        assert_eq!(
            commands[5].args,
            vec!["STATUS", "a \"quoted\" (paren) string"]
        );
    }

    #[test]
    fn cmake_errors() {
        assert!(parse_cmake("project(x").is_err());
        assert!(parse_cmake("this is not cmake").is_err());
        assert!(parse_cmake("project x").is_err());
        assert!(parse_cmake("").unwrap().is_empty());
        for text in ["#[[", "x(\"", "x([[", "x(\\", "x([=[ ]]", "\u{feff}"] {
            let _ = parse_cmake(text);
        }
    }

    #[test]
    fn cmake_paths() {
        assert_eq!(source_path("main.cpp", "", "").as_deref(), Some("main.cpp"));
        assert_eq!(
            source_path("${CMAKE_CURRENT_SOURCE_DIR}/main.cpp", "app/src", "app").as_deref(),
            Some("app/src/main.cpp")
        );
        assert_eq!(
            source_path("${PROJECT_SOURCE_DIR}/src/main.cpp", "app/src", "app").as_deref(),
            Some("app/src/main.cpp")
        );
        assert_eq!(
            source_path("./server/", "app", "app").as_deref(),
            Some("app/server")
        );
        assert_eq!(source_path("${GEN_DIR}/x.cpp", "", ""), None);
        assert_eq!(source_path("/usr/src/x.cpp", "", ""), None);
    }

    #[test]
    fn service_targets() {
        let t = |name: &str, subdir: &str| Target {
            name: name.into(),
            file: String::new(),
            subdir: subdir.into(),
            sources: Vec::new(),
        };
        let targets = vec![
            t("unit_tests", ""),
            t("demo-server", ""),
            t("tool", "examples"),
        ];
        assert_eq!(
            pick_target(&targets, Some("demo-server")).map(|t| t.name.as_str()),
            Some("demo-server")
        );
        assert_eq!(pick_target(&targets, Some("other")), None);
        assert_eq!(pick_target(&targets, Some("tool")), None);
    }

    #[test]
    fn binary_paths() {
        assert_eq!(built_binary("", "app"), "build/app");
        assert_eq!(built_binary("src/server", "app"), "build/src/server/app");
    }

    #[test]
    fn variables_expand() {
        let mut vars = BTreeMap::new();
        vars.insert("PROJECT_NAME".to_string(), "server".to_string());
        assert_eq!(expand("${PROJECT_NAME}_cli", &vars), "server_cli");
        assert_eq!(expand("${UNKNOWN}", &vars), "${UNKNOWN}");
        assert_eq!(expand("${", &vars), "${");
    }

    #[test]
    fn ports_in_cpp_sources() {
        assert_eq!(
            port_in_source("crow::SimpleApp app;\napp.port(18080).multithreaded().run();"),
            Some(18080)
        );
        assert_eq!(
            port_in_source("drogon::app().addListener(\"0.0.0.0\", 8080).run();"),
            Some(8080)
        );
        assert_eq!(port_in_source("svr.listen(\"0.0.0.0\", 9000);"), Some(9000));
        assert_eq!(
            port_in_source("svr.listen(\"localhost\", 9001);"),
            Some(9001)
        );
        assert_eq!(
            port_in_source("svr.listen(\"0.0.0.0\", p ? std::stoi(p) : 8080);"),
            None
        );
        assert_eq!(
            port_in_source("Pistache::Address addr(Pistache::Ipv4::any(), Pistache::Port(9080));"),
            Some(9080)
        );
        assert_eq!(
            port_in_source("createShared({\"0.0.0.0\", 8000, oatpp::network::Address::IP_4});"),
            Some(8000)
        );
        // Commented out, socket backlog, variables: not ports.
        assert_eq!(
            port_in_source("// app.port(1234)\nlisten(fd, 128);\napp.port(port);"),
            None
        );
    }

    #[test]
    fn meson_build() {
        let b = parse_meson(
            "project('shortener', 'cpp', version : '0.3.0', meson_version : '>= 0.63.0',\n  default_options : ['cpp_std=c++20'])\n# executable('old', 'old.cpp')\ndrogon_dep = dependency('Drogon')\nsubdir('src')\nexecutable(meson.project_name(), 'main.cpp', dependencies : [drogon_dep], install : true)\n",
            None,
        );
        assert_eq!(b.project.as_deref(), Some("shortener"));
        assert_eq!(b.meson_version.as_deref(), Some(">= 0.63.0"));
        assert_eq!(
            b.executables,
            vec![("shortener".to_string(), vec!["main.cpp".to_string()])]
        );
        assert_eq!(b.dependencies, vec!["drogon"]);
        assert_eq!(b.subdirs, vec!["src"]);
        let _ = parse_meson("executable('", None);
        let _ = parse_meson("'''", None);
    }

    #[test]
    fn makefile_targets() {
        assert_eq!(
            make_target("CC=gcc\nTARGET := server\n"),
            Some(("TARGET", "server".to_string()))
        );
        assert_eq!(
            make_target("BIN ?= ./bin/app # out\n"),
            Some(("BIN", "bin/app".to_string()))
        );
        assert_eq!(make_target("TARGET = $(NAME)\n"), None);
        assert_eq!(make_target("all: main.o\n"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_cmake(&text);
            let _ = parse_meson(&text, Some("p"));
            let _ = port_in_source(&text);
            let _ = make_target(&text);
            let _ = expand(&text, &BTreeMap::new());
        }

        #[test]
        fn never_panics_on_syntax(text in "[a-z_A-Z0-9(){}\\[\\]\"'#=.,:;/\\\\@*<>^~|$ \n\t-]*") {
            let _ = parse_cmake(&text);
            let _ = parse_meson(&text, Some("p"));
            let _ = port_in_source(&text);
            let _ = make_target(&text);
            let _ = expand(&text, &BTreeMap::new());
        }
    }
}
