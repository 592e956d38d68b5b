//! [`ProjectView`]: a read-only, capped, ignore-aware view of a folder. Detectors see a
//! project only through it (they never touch `std::fs`), and WASM plugins get the same
//! view through their host imports.
//!
//! The walk runs in parallel with the `ignore` crate, respects `.gitignore` and `.ignore`
//! files (even outside a git repository), and skips dependency and build folders. It
//! never follows a symlink out of the root and never follows a directory symlink at all,
//! so it cannot loop. Anything odd on the way (a non-UTF-8 name, an unreadable folder, a
//! link out of the root, a file too large or binary when a detector asks for it, a cap
//! reached) becomes a [`PartialError`] on the view; the scan itself fails only when the
//! root cannot be read.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::TopologyError;

/// Folders that hold dependencies, caches or build output: never walked.
pub const SKIPPED_DIRS: &[&str] = &[
    ".build",
    ".cache",
    ".dart_tool",
    ".git",
    ".gradle",
    ".hg",
    ".idea",
    ".kyozo",
    ".mypy_cache",
    ".next",
    ".nuxt",
    ".output",
    ".pytest_cache",
    ".ruff_cache",
    ".stack-work",
    ".svelte-kit",
    ".svn",
    ".terraform",
    ".tox",
    ".turbo",
    ".venv",
    ".yarn",
    "__pycache__",
    "_build",
    "bower_components",
    "coverage",
    "dist-newstyle",
    "node_modules",
    "obj",
    "target",
    "vendor",
    "venv",
    "zig-cache",
    "zig-out",
];

/// Limits of a scan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanOptions {
    /// Most files listed (default 200,000); past it the walk stops with a partial error.
    pub max_files: usize,
    /// Deepest folder level walked (default 48).
    pub max_depth: usize,
    /// Largest file a detector may read, in bytes (default 1 MiB).
    pub max_read_bytes: u64,
    /// Threads for the walk (default: the machine's parallelism, at most 8).
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            max_files: 200_000,
            max_depth: 48,
            max_read_bytes: 1024 * 1024,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
        }
    }
}

/// Something the scan or a detector could not handle. The rest of the project is still
/// analysed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartialError {
    /// The path concerned, relative to the root (`""`: the root or the whole scan).
    pub path: String,
    /// What went wrong.
    pub kind: PartialErrorKind,
}

/// What went wrong with one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PartialErrorKind {
    /// A file or folder name that is not UTF-8; skipped.
    NonUtf8Name,
    /// A file or folder that could not be read.
    Unreadable {
        /// The system's reason.
        reason: String,
    },
    /// A file a detector asked for holds binary data.
    Binary,
    /// A file a detector asked for is larger than the read cap.
    TooLarge {
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// A symlink that points outside the root; not followed.
    SymlinkEscapesRoot,
    /// A symlink to one of its own parent folders; not followed.
    SymlinkLoop,
    /// A symlink to a folder inside the root; not followed (its target is walked where
    /// it really is).
    SymlinkToDirectory,
    /// A symlink whose target does not exist.
    DanglingSymlink,
    /// The file-count cap was reached; the rest of the tree was not walked.
    FileLimit {
        /// The cap.
        cap: usize,
    },
    /// A folder deeper than the depth cap; not walked.
    DepthLimit {
        /// The cap.
        cap: usize,
    },
    /// A manifest that could not be parsed.
    InvalidManifest {
        /// What the parser said.
        message: String,
    },
    /// A detector failed; the others still ran.
    DetectorFailed {
        /// The detector.
        detector: String,
        /// What it said.
        message: String,
    },
}

impl std::fmt::Display for PartialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "."
        } else {
            &self.path
        };
        match &self.kind {
            PartialErrorKind::NonUtf8Name => write!(f, "{path}: name is not UTF-8, skipped"),
            PartialErrorKind::Unreadable { reason } => write!(f, "{path}: unreadable ({reason})"),
            PartialErrorKind::Binary => write!(f, "{path}: binary data where text was expected"),
            PartialErrorKind::TooLarge { size, cap } => {
                write!(
                    f,
                    "{path}: {size} bytes, larger than the read cap of {cap} bytes"
                )
            }
            PartialErrorKind::SymlinkEscapesRoot => {
                write!(
                    f,
                    "{path}: symlink points outside the project, not followed"
                )
            }
            PartialErrorKind::SymlinkLoop => write!(f, "{path}: symlink loop, not followed"),
            PartialErrorKind::SymlinkToDirectory => {
                write!(f, "{path}: symlink to a folder, not followed")
            }
            PartialErrorKind::DanglingSymlink => write!(f, "{path}: symlink to nothing"),
            PartialErrorKind::FileLimit { cap } => {
                write!(f, "{path}: more than {cap} files, the rest was not scanned")
            }
            PartialErrorKind::DepthLimit { cap } => {
                write!(f, "{path}: deeper than {cap} levels, not scanned")
            }
            PartialErrorKind::InvalidManifest { message } => {
                write!(f, "{path}: invalid: {message}")
            }
            PartialErrorKind::DetectorFailed { detector, message } => {
                write!(f, "{path}: detector {detector} failed: {message}")
            }
        }
    }
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The path is not a file of the view (absent, ignored, outside the root).
    #[error("{0}: not a file of the project")]
    NotInView(String),
    /// See [`PartialErrorKind::TooLarge`].
    #[error("{path}: {size} bytes, larger than the read cap of {cap}")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// See [`PartialErrorKind::Binary`].
    #[error("{0}: binary data")]
    Binary(String),
    /// The file could not be read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// The system's reason.
        reason: String,
    },
}

/// The view's files: a vector sorted by path (sorting once beats building a tree of
/// 100,000 nodes), searched by binary search.
#[derive(Debug)]
struct FileMap(Vec<(Arc<str>, FileEntry)>);

impl FileMap {
    fn new(mut files: Vec<(Arc<str>, FileEntry)>) -> Self {
        files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        Self(files)
    }

    fn get(&self, path: &str) -> Option<&FileEntry> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(path))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, e)| e)
    }

    fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.0.iter().map(|(k, _)| k)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// The paths from the first one not below `start`, in order.
    fn keys_from<'a>(&'a self, start: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let first = self.0.partition_point(|(k, _)| &**k < start);
        self.0
            .get(first..)
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| &**k)
    }
}

#[derive(Debug, Clone)]
struct FileEntry {
    /// The in-root target of a symlink; `None` for a plain file (read at root/path).
    link_target: Option<PathBuf>,
}

/// A read-only view of a project folder (the module's docs say what it sees and what it
/// leaves out).
///
/// Cloning is cheap (the view is shared, not copied): a WASM plugin's call holds a
/// clone while it runs.
#[derive(Debug, Clone)]
pub struct ProjectView {
    inner: Arc<ViewInner>,
}

#[derive(Debug)]
struct ViewInner {
    root: PathBuf,
    files: FileMap,
    dirs: BTreeSet<String>,
    by_name: HashMap<String, Vec<Arc<str>>>,
    by_ext: HashMap<String, Vec<Arc<str>>>,
    max_read_bytes: u64,
    errors: Mutex<BTreeSet<PartialError>>,
    cache: Mutex<HashMap<String, Result<Arc<str>, ReadError>>>,
}

/// Joins a folder and a name into a view path (`""` or `.` is the root; a trailing `/`
/// of the folder is dropped).
pub fn join(dir: &str, name: &str) -> String {
    match dir.trim_end_matches('/') {
        "" | "." => name.to_string(),
        d => format!("{d}/{name}"),
    }
}

/// View folder `base` joined with a relative path (`../x.txt`), normalized; `None` if it leaves the
/// root or is absolute.
pub(crate) fn resolve_relative(base: &str, relative: &str) -> Option<String> {
    if relative.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Whether view path `path` is strictly inside folder `ancestor` (`""` is the root).
/// Allocation-free: detectors call it in loops over every folder.
pub fn is_inside(path: &str, ancestor: &str) -> bool {
    if ancestor.is_empty() {
        return !path.is_empty();
    }
    path.len() > ancestor.len()
        && path.starts_with(ancestor)
        && path.as_bytes().get(ancestor.len()) == Some(&b'/')
}

/// The folder part of a view path (`"a/b/c.json"` → `"a/b"`, `"c.json"` → `""`).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The name part of a view path.
pub fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

impl ProjectView {
    /// Walks `root` with default limits.
    pub fn scan(root: impl AsRef<Path>) -> Result<Self, TopologyError> {
        Self::scan_with(root, &ScanOptions::default())
    }

    /// Walks `root` with `options`.
    pub fn scan_with(root: impl AsRef<Path>, options: &ScanOptions) -> Result<Self, TopologyError> {
        let given = root.as_ref();
        let root = std::fs::canonicalize(given).map_err(|e| TopologyError::Root {
            path: given.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !root.is_dir() {
            return Err(TopologyError::Root {
                path: given.to_path_buf(),
                reason: "not a folder".into(),
            });
        }
        let collected = Mutex::new(Collected::default());
        let count = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let mut builder = ignore::WalkBuilder::new(&root);
        builder
            .hidden(false)
            .parents(false)
            .ignore(true)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(false)
            .require_git(false)
            .follow_links(false)
            .max_depth(Some(options.max_depth))
            .threads(options.threads.max(1))
            .filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && e.depth() > 0
                    && e.file_name()
                        .to_str()
                        .is_some_and(|n| SKIPPED_DIRS.contains(&n)))
            });
        builder.build_parallel().run(|| {
            let root = &root;
            let count = &count;
            let stop = &stop;
            // Each walker thread fills its own buffers; they join the shared ones once,
            // when the thread's visitor is dropped.
            let mut local = ThreadBuffer {
                collected: Collected::default(),
                sink: &collected,
            };
            Box::new(move |entry| {
                if stop.load(Ordering::Relaxed) {
                    return ignore::WalkState::Quit;
                }
                visit(root, entry, options, count, stop, &mut local.collected)
            })
        });
        let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
        // One allocation per path, shared by the map and both indexes; the indexes are
        // built on a second thread while this one sorts the map.
        let paths: Vec<Arc<str>> = collected.files.iter().map(|(p, _)| p.clone()).collect();
        let (files, (by_name, by_ext)) = std::thread::scope(|scope| {
            let indexes = scope.spawn(|| index_names(&paths));
            let files = FileMap::new(collected.files);
            let indexes = indexes.join().unwrap_or_else(|_| index_names(&paths));
            (files, indexes)
        });
        let dirs: BTreeSet<String> = collected.dirs.into_iter().collect();
        let errors: BTreeSet<PartialError> = collected.errors.into_iter().collect();
        Ok(Self {
            inner: Arc::new(ViewInner {
                root,
                files,
                dirs,
                by_name,
                by_ext,
                max_read_bytes: options.max_read_bytes,
                errors: Mutex::new(errors),
                cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The root folder (canonical).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Every file, sorted, as `/`-separated paths relative to the root.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.inner.files.keys().map(|k| &**k)
    }

    /// How many files the view holds.
    pub fn file_count(&self) -> usize {
        self.inner.files.len()
    }

    /// Every folder (the root is `""`), sorted.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.inner.dirs.iter().map(String::as_str)
    }

    /// Whether `path` is a file of the view.
    pub fn is_file(&self, path: &str) -> bool {
        self.inner.files.contains_key(path)
    }

    /// Whether `path` is a folder of the view (`""` is the root).
    pub fn is_dir(&self, path: &str) -> bool {
        self.inner.dirs.contains(path)
    }

    /// The size of a file of the view.
    /// Read from the file system when asked (the walk itself does not stat files).
    pub fn size(&self, path: &str) -> Option<u64> {
        let entry = self.inner.files.get(path)?;
        std::fs::metadata(self.real_path(path, entry))
            .ok()
            .map(|m| m.len())
    }

    /// Every file named exactly `name`, wherever it is, sorted.
    pub fn named(&self, name: &str) -> &[Arc<str>] {
        self.inner.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The files directly in folder `dir`, sorted.
    pub fn files_in<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let (prefix2, len) = (prefix.clone(), prefix.len());
        self.inner
            .files
            .keys_from(&prefix)
            .take_while(move |k| k.starts_with(&prefix2))
            .filter(move |k| !k[len..].contains('/'))
    }

    /// The folders directly in folder `dir`, sorted.
    pub fn dirs_in<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let (prefix2, len) = (prefix.clone(), prefix.len());
        self.inner
            .dirs
            .range(prefix.clone()..)
            .map(|k| k.as_str())
            .take_while(move |k| k.starts_with(&prefix2))
            .filter(move |k| !k.is_empty() && !k[len..].contains('/'))
    }

    /// Files whose path matches the glob (`**/*.csproj`, `apps/*/package.json`), sorted.
    pub fn glob(&self, pattern: &str) -> Result<Vec<&str>, globset::Error> {
        let matcher = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()?
            .compile_matcher();
        Ok(self.files().filter(|f| matcher.is_match(f)).collect())
    }

    /// Files with the extension `ext` (without the dot), sorted.
    pub fn with_extension<'a>(&'a self, ext: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.inner
            .by_ext
            .get(ext)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|p| &**p)
    }

    /// The files from the first one not sorting before `start`, in order (every file
    /// under folder `dir` is in the run starting at `"dir/"`).
    pub fn files_from<'a>(&'a self, start: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        self.inner.files.keys_from(start)
    }

    /// Reads a file of the view as UTF-8 text (a leading BOM is dropped). Results are
    /// cached; a failure is also recorded as a partial error of the view.
    pub fn read_text(&self, path: &str) -> Result<Arc<str>, ReadError> {
        if let Some(hit) = self
            .inner
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(path).cloned())
        {
            return hit;
        }
        let result = self.read_uncached(path);
        if let Err(e) = &result {
            let kind = match e {
                ReadError::NotInView(_) => None,
                ReadError::TooLarge { size, cap, .. } => Some(PartialErrorKind::TooLarge {
                    size: *size,
                    cap: *cap,
                }),
                ReadError::Binary(_) => Some(PartialErrorKind::Binary),
                ReadError::Unreadable { reason, .. } => Some(PartialErrorKind::Unreadable {
                    reason: reason.clone(),
                }),
            };
            if let Some(kind) = kind {
                self.report(path, kind);
            }
        }
        if let Ok(mut c) = self.inner.cache.lock() {
            c.insert(path.to_string(), result.clone());
        }
        result
    }

    /// Reads a file if it is in the view and readable as text; failures other than
    /// absence are recorded as partial errors.
    pub fn text(&self, path: &str) -> Option<Arc<str>> {
        self.read_text(path).ok()
    }

    fn read_uncached(&self, path: &str) -> Result<Arc<str>, ReadError> {
        let entry = self
            .inner
            .files
            .get(path)
            .ok_or_else(|| ReadError::NotInView(path.to_string()))?;
        let unreadable = |e: std::io::Error| ReadError::Unreadable {
            path: path.to_string(),
            reason: e.to_string(),
        };
        // Re-check where the file really is: it may have become a link out of the root
        // since the walk.
        let real = std::fs::canonicalize(self.real_path(path, entry)).map_err(unreadable)?;
        if !real.starts_with(&self.inner.root) {
            return Err(ReadError::NotInView(path.to_string()));
        }
        let file = std::fs::File::open(&real).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        if size > self.inner.max_read_bytes {
            return Err(ReadError::TooLarge {
                path: path.to_string(),
                size,
                cap: self.inner.max_read_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(self.inner.max_read_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > self.inner.max_read_bytes {
            return Err(ReadError::TooLarge {
                path: path.to_string(),
                size: bytes.len() as u64,
                cap: self.inner.max_read_bytes,
            });
        }
        if bytes.contains(&0) {
            return Err(ReadError::Binary(path.to_string()));
        }
        let text = String::from_utf8(bytes).map_err(|_| ReadError::Binary(path.to_string()))?;
        let text = text
            .strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text);
        Ok(Arc::from(text))
    }

    fn real_path(&self, path: &str, entry: &FileEntry) -> PathBuf {
        match &entry.link_target {
            Some(t) => t.clone(),
            None => self.inner.root.join(path),
        }
    }

    /// Records a partial error (detectors use it for invalid manifests).
    pub fn report(&self, path: &str, kind: PartialErrorKind) {
        if let Ok(mut e) = self.inner.errors.lock() {
            e.insert(PartialError {
                path: path.to_string(),
                kind,
            });
        }
    }

    /// Every partial error so far, sorted.
    pub fn errors(&self) -> Vec<PartialError> {
        self.inner
            .errors
            .lock()
            .map(|e| e.iter().cloned().collect())
            .unwrap_or_default()
    }
}

type NameIndex = HashMap<String, Vec<Arc<str>>>;

/// Files by name and by extension, each list sorted.
fn index_names(paths: &[Arc<str>]) -> (NameIndex, NameIndex) {
    let mut by_name: NameIndex = HashMap::new();
    let mut by_ext: NameIndex = HashMap::new();
    for path in paths {
        let name = file_name(path);
        match by_name.get_mut(name) {
            Some(v) => v.push(path.clone()),
            None => {
                by_name.insert(name.to_string(), vec![path.clone()]);
            }
        }
        if let Some((stem, ext)) = name.rsplit_once('.')
            && !stem.is_empty()
        {
            match by_ext.get_mut(ext) {
                Some(v) => v.push(path.clone()),
                None => {
                    by_ext.insert(ext.to_string(), vec![path.clone()]);
                }
            }
        }
    }
    for v in by_name.values_mut().chain(by_ext.values_mut()) {
        v.sort_unstable();
    }
    (by_name, by_ext)
}

#[derive(Default)]
struct Collected {
    files: Vec<(Arc<str>, FileEntry)>,
    dirs: Vec<String>,
    errors: Vec<PartialError>,
}

impl Collected {
    fn merge(&mut self, other: &mut Collected) {
        self.files.append(&mut other.files);
        self.dirs.append(&mut other.dirs);
        self.errors.append(&mut other.errors);
    }

    fn error(&mut self, path: String, kind: PartialErrorKind) {
        self.errors.push(PartialError { path, kind });
    }
}

/// One walker thread's findings, handed over when the thread is done.
struct ThreadBuffer<'a> {
    collected: Collected,
    sink: &'a Mutex<Collected>,
}

impl Drop for ThreadBuffer<'_> {
    fn drop(&mut self) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        sink.merge(&mut self.collected);
    }
}

fn relative(root: &Path, path: &Path) -> Result<String, String> {
    // Every path the walk yields is `root` joined with more: slice the text rather than
    // compare components (this runs once per file).
    let (Some(root_text), Some(text)) = (root.to_str(), path.to_str()) else {
        let rel = path.strip_prefix(root).unwrap_or(path);
        return Err(rel.to_string_lossy().into_owned());
    };
    let rel = text
        .strip_prefix(root_text)
        .map(|r| r.trim_start_matches(std::path::MAIN_SEPARATOR))
        .unwrap_or(text);
    #[cfg(unix)]
    return Ok(rel.to_string());
    #[cfg(not(unix))]
    return Ok(rel.replace('\\', "/"));
}

fn visit(
    root: &Path,
    entry: Result<ignore::DirEntry, ignore::Error>,
    options: &ScanOptions,
    count: &AtomicUsize,
    stop: &AtomicBool,
    out: &mut Collected,
) -> ignore::WalkState {
    let entry = match entry {
        Ok(e) => e,
        Err(err) => {
            let path = walk_error_path(&err)
                .map(|p| relative(root, &p).unwrap_or_else(|lossy| lossy))
                .unwrap_or_default();
            out.error(
                path,
                PartialErrorKind::Unreadable {
                    reason: err.to_string(),
                },
            );
            return ignore::WalkState::Continue;
        }
    };
    let rel = match relative(root, entry.path()) {
        Ok(r) => r,
        Err(lossy) => {
            out.error(lossy, PartialErrorKind::NonUtf8Name);
            return ignore::WalkState::Skip;
        }
    };
    let Some(file_type) = entry.file_type() else {
        return ignore::WalkState::Continue;
    };
    if file_type.is_dir() {
        if entry.depth() >= options.max_depth
            && entry.depth() > 0
            && std::fs::read_dir(entry.path()).is_ok_and(|mut d| d.next().is_some())
        {
            out.error(
                rel.clone(),
                PartialErrorKind::DepthLimit {
                    cap: options.max_depth,
                },
            );
        }
        out.dirs.push(rel);
        return ignore::WalkState::Continue;
    }
    let link_target = if file_type.is_symlink() {
        match std::fs::canonicalize(entry.path()) {
            Err(_) => {
                out.error(rel, PartialErrorKind::DanglingSymlink);
                return ignore::WalkState::Continue;
            }
            Ok(target) if !target.starts_with(root) => {
                out.error(rel, PartialErrorKind::SymlinkEscapesRoot);
                return ignore::WalkState::Continue;
            }
            Ok(target) if target.is_dir() => {
                let link_dir = entry.path().parent().unwrap_or(root);
                let kind = if std::fs::canonicalize(link_dir).is_ok_and(|d| d.starts_with(&target))
                {
                    PartialErrorKind::SymlinkLoop
                } else {
                    PartialErrorKind::SymlinkToDirectory
                };
                out.error(rel, kind);
                return ignore::WalkState::Continue;
            }
            Ok(target) => Some(target),
        }
    } else if file_type.is_file() {
        None
    } else {
        // Sockets, fifos, devices: nothing a detector could read.
        return ignore::WalkState::Continue;
    };
    if count.fetch_add(1, Ordering::Relaxed) >= options.max_files {
        if !stop.swap(true, Ordering::Relaxed) {
            out.error(
                String::new(),
                PartialErrorKind::FileLimit {
                    cap: options.max_files,
                },
            );
        }
        return ignore::WalkState::Quit;
    }
    out.files.push((Arc::from(rel), FileEntry { link_target }));
    ignore::WalkState::Continue
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}
