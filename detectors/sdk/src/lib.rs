//! Write a [Kyozo](https://github.com/kyozo) detector plugin in Rust.
//!
//! A plugin teaches Kyozo a stack it does not know. It is a WebAssembly component that
//! Kyozo runs in a sandbox: it sees the project it is shown (read-only, through
//! [`Project`]) and nothing else, and its time, memory and output are bounded.
//!
//! ```ignore
//! use kyozo_detector_sdk::{Detection, Metadata, Plugin, Project, Sourced, export_detector};
//!
//! struct Hugo;
//!
//! impl Plugin for Hugo {
//!     fn metadata() -> Metadata {
//!         Metadata::new("hugo", "Hugo sites", env!("CARGO_PKG_VERSION"))
//!             .interested_in(["**/hugo.toml"])
//!     }
//!
//!     fn detect(project: &Project) -> Result<Vec<Detection>, String> {
//!         let mut found = Vec::new();
//!         for config in project.files("**/hugo.toml") {
//!             let dir = kyozo_detector_sdk::parent(&config);
//!             found.push(
//!                 Detection::service(dir, "hugo", 0.9)
//!                     .evidence(&config, "a Hugo configuration file")
//!                     .start(Sourced::default_for("hugo", "hugo server --bind 0.0.0.0")),
//!             );
//!         }
//!         Ok(found)
//!     }
//! }
//!
//! export_detector!(Hugo);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the component is
//! `target/wasm32-wasip2/release/<crate>.wasm`. See the README for the whole guide.
//!
//! The plugin depends on this crate alone: it carries the WIT it implements (`wit/`)
//! and re-exports what a plugin uses ([`serde`], [`serde_json`], [`toml`]).
//!
//! # Testing natively
//!
//! [`Plugin::detect`] is a plain function: a unit test calls it with a [`Project`]
//! made in memory ([`Project::in_memory`]) or from a fixture folder
//! ([`Project::from_folder`]), and runs with `cargo test` on the host, without
//! WebAssembly or Kyozo:
//!
//! ```ignore
//! #[test]
//! fn finds_a_site() {
//!     let project = Project::in_memory([("site/hugo.toml", "baseURL = 'https://x.test'")]);
//!     let found = Hugo::detect(&project).unwrap();
//!     assert_eq!(found[0].path, "site");
//!     assert!(project.logged().is_empty());
//! }
//! ```

#![warn(missing_docs)]

mod glob;

/// The bindings generated from the WIT interface (`wit/`, a copy of the Kyozo
/// repository's `detectors/wit/v0.1.0`, kept identical by a test there). Plugin
/// authors do not need them: use the re-exports at the crate root.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "detector",
        pub_export_macro: true,
        export_macro_name: "__export_kyozo_detector",
        default_bindings_module: "kyozo_detector_sdk::bindings",
        additional_derives: [PartialEq],
        generate_all,
    });
}

pub use bindings::kyozo::detector::host::ReadError;
pub use bindings::kyozo::detector::types::{
    Detection, DetectionKind, Evidence, Metadata, Port, Sourced,
};
/// Re-exported so a plugin depends on the SDK alone: derive with
/// `#[derive(kyozo_detector_sdk::serde::Deserialize)]` and
/// `#[serde(crate = "kyozo_detector_sdk::serde")]`, and read with
/// [`Project::read_json`] or [`Project::read_toml`].
pub use serde;
/// Re-exported for [`Project::read_json`]'s values (`serde_json::Value`).
pub use serde_json;
/// Re-exported for [`Project::read_toml`]'s values (`toml::Table`).
pub use toml;

/// The interface version this SDK implements. The host reads it from the component
/// before running anything, and refuses versions it does not support.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// The interface version as bytes, for the custom section [`export_detector!`] writes.
#[doc(hidden)]
pub const INTERFACE_VERSION_BYTES: [u8; 5] = *b"0.1.0";

/// The most paths [`Project::files`] asks for (the host caps it too).
pub const DEFAULT_LIST_LIMIT: u32 = 1000;

/// A detector plugin: who it is and what it finds.
pub trait Plugin {
    /// Who the plugin is. Called once, when the host loads the plugin.
    fn metadata() -> Metadata;

    /// Every folder of `project` the plugin recognises. Called once per analysis.
    ///
    /// A manifest the plugin cannot parse should be skipped (and logged with
    /// [`Project::log`]), not returned as an error: one bad file must not hide the rest
    /// of the project. An `Err` makes the host drop every detection of this call.
    fn detect(project: &Project) -> Result<Vec<Detection>, String>;
}

/// The project being analysed, as the host shows it: the files of its walk (ignore
/// rules applied, nothing outside the root), read-only, as `/`-separated paths
/// relative to the root.
///
/// In a plugin's own tests, run natively with `cargo test` (no WebAssembly, no host),
/// make one with [`Project::in_memory`] or [`Project::from_folder`] and call
/// [`Plugin::detect`] with it: it answers as the host does (the same globs, the same
/// refusals) and keeps what the plugin logs ([`Project::logged`]).
///
/// ```
/// use kyozo_detector_sdk::{Project, ReadError};
///
/// let project = Project::in_memory([("site/hugo.toml", "baseURL = 'https://x.test'")]);
/// assert_eq!(project.files("**/hugo.toml"), ["site/hugo.toml"]);
/// assert_eq!(project.read("site/../../etc/passwd"), Err(ReadError::NotFound));
/// ```
#[derive(Debug, Default)]
pub struct Project {
    /// `None`: the host's project, through the interface's imports.
    memory: Option<MemoryProject>,
}

/// A project given as files, for native tests.
#[derive(Debug, Default)]
struct MemoryProject {
    files: std::collections::BTreeMap<String, Vec<u8>>,
    log: std::cell::RefCell<Vec<String>>,
}

/// The most paths one listing returns, as the host caps it by default.
const MAX_LIST_RESULTS: u32 = 10_000;

/// The largest file [`Project::read`] returns, as the host caps it by default (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why a manifest could not be read.
#[derive(Debug)]
pub enum ManifestError {
    /// The host refused the read.
    Read(ReadError),
    /// The text is not valid JSON or TOML of the expected shape.
    Parse(String),
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestError::Read(e) => write!(f, "cannot read: {e}"),
            ManifestError::Parse(e) => write!(f, "cannot parse: {e}"),
        }
    }
}

impl std::error::Error for ManifestError {}

impl Project {
    /// The handle the export macro passes to [`Plugin::detect`].
    #[doc(hidden)]
    pub fn host() -> Self {
        Self { memory: None }
    }

    /// A project holding these files (`/`-separated paths relative to the root, and
    /// their contents), for a plugin's native tests. Paths are made plain (`./a//b` is
    /// `a/b`); one reaching out of the root (`..`, absolute) is left out, as the host
    /// would never show it. Contents that are not UTF-8 read as
    /// [`ReadError::Binary`], larger than [`MAX_FILE_BYTES`] as
    /// [`ReadError::TooLarge`].
    pub fn in_memory<I, P, C>(files: I) -> Self
    where
        I: IntoIterator<Item = (P, C)>,
        P: AsRef<str>,
        C: Into<Vec<u8>>,
    {
        let files = files
            .into_iter()
            .filter_map(|(path, contents)| {
                plain_path(path.as_ref())
                    .filter(|p| !p.is_empty())
                    .map(|p| (p, contents.into()))
            })
            .collect();
        Self {
            memory: Some(MemoryProject {
                files,
                log: Default::default(),
            }),
        }
    }

    /// A project holding every regular file under the folder `root` (a fixture of the
    /// plugin's), for native tests. Links are not followed and `.git/` is skipped; the
    /// host's ignore rules (`.gitignore`...) are not applied.
    pub fn from_folder(root: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        fn walk(
            dir: &std::path::Path,
            prefix: &str,
            out: &mut Vec<(String, Vec<u8>)>,
        ) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let kind = entry.file_type()?;
                let path = join(prefix, &name);
                if kind.is_dir() && name != ".git" {
                    walk(&entry.path(), &path, out)?;
                } else if kind.is_file() {
                    out.push((path, std::fs::read(entry.path())?));
                }
            }
            Ok(())
        }
        let mut files = Vec::new();
        walk(root.as_ref(), "", &mut files)?;
        Ok(Self::in_memory(files))
    }

    /// The lines logged with [`log`](Self::log) so far, for a native test (always
    /// empty for the host's project, whose log the host keeps).
    pub fn logged(&self) -> Vec<String> {
        self.memory
            .as_ref()
            .map(|m| m.log.borrow().clone())
            .unwrap_or_default()
    }

    /// The project's files matching `glob` (`**/hugo.toml`, `site/*.md`), sorted, at
    /// most [`DEFAULT_LIST_LIMIT`]. An invalid glob gives no files (and a log line).
    pub fn files(&self, glob: &str) -> Vec<String> {
        self.files_limited(glob, DEFAULT_LIST_LIMIT)
    }

    /// Like [`files`](Self::files), at most `limit` paths.
    pub fn files_limited(&self, glob: &str, limit: u32) -> Vec<String> {
        let listed = match &self.memory {
            Some(memory) => memory.list(glob, limit),
            None => bindings::kyozo::detector::host::list_files(glob, limit),
        };
        match listed {
            Ok(files) => files,
            Err(e) => {
                self.log(&format!("list {glob:?}: {e}"));
                Vec::new()
            }
        }
    }

    /// Whether any file matches `glob`.
    pub fn any(&self, glob: &str) -> bool {
        !self.files_limited(glob, 1).is_empty()
    }

    /// Whether the project holds the file `path`.
    pub fn exists(&self, path: &str) -> bool {
        !matches!(self.read(path), Err(ReadError::NotFound))
    }

    /// The text of the file `path` (relative to the root).
    pub fn read(&self, path: &str) -> Result<String, ReadError> {
        match &self.memory {
            Some(memory) => memory.read(path),
            None => bindings::kyozo::detector::host::read_file(path),
        }
    }

    /// The file `path` parsed as JSON into `T`.
    pub fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, ManifestError> {
        let text = self.read(path).map_err(ManifestError::Read)?;
        serde_json::from_str(&text).map_err(|e| ManifestError::Parse(e.to_string()))
    }

    /// The file `path` parsed as TOML into `T`.
    pub fn read_toml<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, ManifestError> {
        let text = self.read(path).map_err(ManifestError::Read)?;
        toml::from_str(&text).map_err(|e| ManifestError::Parse(e.to_string()))
    }

    /// A line for the host's log. The host keeps at most [`MAX_LOG_LINE_BYTES`] of a
    /// line (so the line is cut here, before it is copied to the host) and caps the
    /// number of lines; past the cap lines are counted, never an error. What the
    /// plugin prints (`println!`, `eprintln!`) goes to the same log: past the host's
    /// cap (64 KiB per stream by default) it is dropped and counted, and printing
    /// never fails.
    pub fn log(&self, message: &str) {
        let line = cut(message, MAX_LOG_LINE_BYTES);
        match &self.memory {
            Some(memory) => memory.log.borrow_mut().push(line.to_string()),
            None => bindings::kyozo::detector::host::log(line),
        }
    }
}

impl MemoryProject {
    /// `list-files`, as the host answers it.
    fn list(&self, glob: &str, limit: u32) -> Result<Vec<String>, String> {
        let glob = glob.trim_start_matches("./");
        if glob.starts_with('/') || glob.split('/').any(|c| c == "..") || limit == 0 {
            return Ok(Vec::new());
        }
        let matcher = glob::Glob::new(glob)?;
        let limit = limit.min(MAX_LIST_RESULTS) as usize;
        Ok(self
            .files
            .keys()
            .filter(|p| matcher.matches(p))
            .take(limit)
            .cloned()
            .collect())
    }

    /// `read-file`, as the host answers it.
    fn read(&self, path: &str) -> Result<String, ReadError> {
        let bytes = plain_path(path)
            .and_then(|p| self.files.get(&p))
            .ok_or(ReadError::NotFound)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(ReadError::TooLarge(bytes.len() as u64));
        }
        String::from_utf8(bytes.clone()).map_err(|_| ReadError::Binary)
    }
}

/// `path` made relative and plain (`./a//b` is `a/b`), as the host reads it; `None`
/// when it reaches out of the root.
fn plain_path(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') || path.contains(':') || path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The most bytes of one log line the host keeps by default; [`Project::log`] cuts
/// longer lines to this before sending them.
pub const MAX_LOG_LINE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The folder holding `path` (`""` for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `name` inside the folder `dir` (`dir` may be `""`, the root).
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

impl Metadata {
    /// A plugin's metadata; the interface version is filled in for you.
    pub fn new(id: &str, name: &str, version: &str) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            interested_in: Vec::new(),
            interface_version: INTERFACE_VERSION.into(),
        }
    }

    /// The globs of the files the plugin reads: the host skips the plugin on projects
    /// holding none of them.
    pub fn interested_in<I, S>(mut self, globs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.interested_in.extend(globs.into_iter().map(Into::into));
        self
    }
}

impl Sourced {
    /// A value read from `source` (`"hugo.toml baseURL"`).
    pub fn new(value: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            source: source.into(),
        }
    }

    /// A value the plugin assumes for `stack` (its source reads `default for <stack>`,
    /// so a value read from a file wins over it when detections are merged).
    pub fn default_for(stack: &str, value: impl Into<String>) -> Self {
        Self::new(value, format!("default for {stack}"))
    }
}

impl Detection {
    /// A service of `language` in the folder `path` (`""` for the root), with
    /// `confidence` in [0, 1].
    pub fn service(path: &str, language: &str, confidence: f64) -> Self {
        Self {
            path: path.into(),
            kind: DetectionKind::Service,
            language: language.into(),
            confidence,
            framework: None,
            package_manager: None,
            runtime_version: None,
            install_command: None,
            build_command: None,
            start_command: None,
            ports: Vec::new(),
            env: Vec::new(),
            backing_services: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// The same detection with one more piece of evidence: the file and what it shows.
    pub fn evidence(mut self, path: &str, reason: impl Into<String>) -> Self {
        self.evidence.push(Evidence {
            path: path.into(),
            reason: reason.into(),
        });
        self
    }

    /// The framework.
    pub fn framework(mut self, value: Sourced) -> Self {
        self.framework = Some(value);
        self
    }

    /// The package manager.
    pub fn package_manager(mut self, value: Sourced) -> Self {
        self.package_manager = Some(value);
        self
    }

    /// The runtime version.
    pub fn runtime_version(mut self, value: Sourced) -> Self {
        self.runtime_version = Some(value);
        self
    }

    /// How to install dependencies.
    pub fn install(mut self, value: Sourced) -> Self {
        self.install_command = Some(value);
        self
    }

    /// How to build.
    pub fn build(mut self, value: Sourced) -> Self {
        self.build_command = Some(value);
        self
    }

    /// How to start.
    pub fn start(mut self, value: Sourced) -> Self {
        self.start_command = Some(value);
        self
    }

    /// One more port it listens on.
    pub fn port(mut self, port: u16, source: impl Into<String>) -> Self {
        self.ports.push(Port {
            port,
            source: source.into(),
        });
        self
    }

    /// One more environment variable it reads.
    pub fn env(mut self, value: Sourced) -> Self {
        self.env.push(value);
        self
    }

    /// One more backing service it needs (`postgres`, `redis`...).
    pub fn backing(mut self, value: Sourced) -> Self {
        self.backing_services.push(value);
        self
    }
}

/// Exports a [`Plugin`] as the component's `metadata` and `detect`, and writes the
/// interface version into the component (a custom section the host reads before it
/// runs anything). Use it once, at the root of the plugin crate. It compiles on the
/// host too, so the crate's native tests build.
#[macro_export]
macro_rules! export_detector {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[cfg(target_arch = "wasm32")]
        #[used]
        #[unsafe(link_section = "kyozo:detector-interface")]
        static __KYOZO_DETECTOR_INTERFACE: [u8; 5] = $crate::INTERFACE_VERSION_BYTES;

        #[doc(hidden)]
        struct __KyozoExport;

        impl $crate::bindings::Guest for __KyozoExport {
            fn metadata() -> $crate::Metadata {
                let mut m = <$plugin as $crate::Plugin>::metadata();
                m.interface_version = $crate::INTERFACE_VERSION.into();
                m
            }

            fn detect() -> ::core::result::Result<::std::vec::Vec<$crate::Detection>, ::std::string::String> {
                <$plugin as $crate::Plugin>::detect(&$crate::Project::host())
            }
        }

        $crate::bindings::__export_kyozo_detector!(__KyozoExport with_types_in $crate::bindings);
    };
}
