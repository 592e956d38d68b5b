//! What the host learns from a component before running it (its interface version),
//! and the cache of compiled components.
//!
//! # The cache
//!
//! A compiled component is native code: loading one skips compilation (tens of
//! milliseconds to seconds) but means trusting the file. So the cache is the host's
//! own: an entry is written only by this host, from a component it compiled itself,
//! under a name derived from the SHA-256 of the component's bytes, the wasmtime version
//! and the engine's compatibility hash (so a different engine configuration never
//! reads it). Kyozo never accepts a precompiled artifact from anyone: a plugin is
//! always given as a `.wasm` component. Entries are written to a temporary file,
//! synced and renamed into place, and carry a CRC-32 trailer checked before use, so a
//! torn or damaged entry is recompiled rather than loaded. Anyone who can write the
//! cache folder can run code in the host: it is created `0700`, and a folder that is a
//! link, belongs to another user or cannot be made private is not used (the host then
//! compiles every time). At most 128 entries are kept, the oldest removed first.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::wasmparser::{Encoding, Parser, Payload};

use super::PluginError;

/// The interface versions this host runs.
pub const SUPPORTED_INTERFACES: &[&str] = &["0.1.0"];

/// The custom section the SDK writes the interface version into.
const VERSION_SECTION: &str = "kyozo:detector-interface";

/// The interface's package, as it appears in a component's import names.
const PACKAGE: &str = "kyozo:detector/";

/// The wasmtime release compiled artifacts depend on (pinned in Cargo.toml).
const WASMTIME_VERSION: &str = "48.0.8";

/// The interface version of a component: the SDK's custom section, or else the
/// version in its `kyozo:detector/...@x.y.z` import names. Reads the bytes only;
/// nothing is compiled or run.
pub(super) fn interface_version(plugin: &str, bytes: &[u8]) -> Result<String, PluginError> {
    let invalid = |reason: String| PluginError::Invalid {
        plugin: plugin.to_string(),
        reason,
    };
    let mut declared: Option<String> = None;
    let mut imported: Option<String> = None;
    let mut first = true;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| invalid(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } if first => {
                first = false;
                if encoding != Encoding::Component {
                    return Err(PluginError::NotADetector {
                        plugin: plugin.to_string(),
                        reason: "a core WebAssembly module, not a component; build with --target wasm32-wasip2".into(),
                    });
                }
            }
            Payload::CustomSection(section) if section.name() == VERSION_SECTION => {
                let text = std::str::from_utf8(section.data())
                    .map_err(|_| invalid("its interface version section is not text".into()))?;
                declared = Some(text.trim().chars().take(32).collect());
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| invalid(e.to_string()))?;
                    if let Some(rest) = import.name.name.strip_prefix(PACKAGE)
                        && let Some((_, version)) = rest.split_once('@')
                    {
                        imported.get_or_insert_with(|| version.chars().take(32).collect());
                    }
                }
            }
            _ => {}
        }
    }
    if first {
        return Err(invalid("empty file".into()));
    }
    match (declared, imported) {
        (Some(d), Some(i)) if d != i => Err(invalid(format!(
            "it declares interface version {d} but imports kyozo:detector@{i}"
        ))),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(PluginError::NotADetector {
            plugin: plugin.to_string(),
            reason: format!(
                "no interface version: neither a {VERSION_SECTION:?} section nor a kyozo:detector import"
            ),
        }),
    }
}

/// Creates the cache folder, private to the user, and returns it if it is safe to load
/// compiled code from: a real folder (not a link), owned by this process's user, that
/// no one else may write or read. Otherwise the host compiles every time.
pub(super) fn prepare_cache_dir(dir: &Path) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::symlink_metadata(dir).ok()?;
        if !meta.is_dir() {
            return None;
        }
        // The process's effective user owns /proc/self.
        if let Ok(me) = std::fs::metadata("/proc/self")
            && me.uid() != meta.uid()
        {
            return None;
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).ok()?;
        }
    }
    Some(dir.to_path_buf())
}

/// Entries kept in the cache; past this the least recently written are removed.
const CACHED_COMPONENTS: usize = 128;

/// The cache entry of `bytes` for `engine`.
fn entry(engine: &Engine, dir: &Path, bytes: &[u8]) -> PathBuf {
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let mut key = Sha256::new();
    key.update(b"kyozo plugin cache v1\0");
    key.update(Sha256::digest(bytes));
    key.update(WASMTIME_VERSION.as_bytes());
    key.update(compat.finish().to_le_bytes());
    let hex: String = key.finalize().iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.cwasm"))
}

/// Compiles `bytes`, or loads the compiled component from the cache.
pub(super) fn compile(
    engine: &Engine,
    cache: Option<&Path>,
    plugin: &str,
    bytes: &[u8],
) -> Result<Component, PluginError> {
    let path = cache.map(|dir| entry(engine, dir, bytes));
    if let Some(path) = &path
        && let Some(component) = load_cached(engine, path)
    {
        return Ok(component);
    }
    let component = Component::new(engine, bytes).map_err(|e| PluginError::Invalid {
        plugin: plugin.to_string(),
        reason: format!("{e:#}"),
    })?;
    if let Some(path) = &path {
        // A failure to cache only costs the next load a compilation.
        let _ = store_cached(&component, path);
    }
    Ok(component)
}

fn load_cached(engine: &Engine, path: &Path) -> Option<Component> {
    if !entry_is_whole(path)? {
        let _ = std::fs::remove_file(path);
        return None;
    }
    // SAFETY: `Component::deserialize_file` trusts its input to be an artifact this
    // wasmtime produced. This entry is one: it is in the host's private cache folder
    // (a directory of this user that no one else may write, see `prepare_cache_dir`),
    // under a name only this host derives (the component's SHA-256, the wasmtime
    // version and the engine's compatibility hash), written whole by `store_cached`
    // from a component this host compiled, and its CRC-32 shows it is still whole.
    // Wasmtime checks the version and configuration in the artifact's header as well.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize_file(engine, path) };
    match loaded {
        Ok(c) => Some(c),
        Err(_) => {
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Whether the entry's CRC-32 trailer matches its contents (`None`: unreadable).
/// Streams the file: the artifact itself is then mapped, not copied.
fn entry_is_whole(path: &Path) -> Option<bool> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let body = len.checked_sub(4)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = [0u8; 64 << 10];
    let mut left = body;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).ok()?;
        let chunk = buf.get_mut(..want)?;
        file.read_exact(chunk).ok()?;
        hasher.update(chunk);
        left -= want as u64;
    }
    let mut trailer = [0u8; 4];
    file.read_exact(&mut trailer).ok()?;
    Some(hasher.finalize() == u32::from_le_bytes(trailer))
}

fn store_cached(component: &Component, path: &Path) -> std::io::Result<()> {
    let artifact = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp, mut file) = tempfile_in(dir)?;
    let written = file
        .write_all(&artifact)
        .and_then(|()| file.write_all(&crc32fast::hash(&artifact).to_le_bytes()))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    evict(dir);
    written
}

/// Keeps the newest [`CACHED_COMPONENTS`] entries (and removes temporary files left by
/// a process that died while writing one).
fn evict(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut cached = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        if name.starts_with(".tmp-") {
            let stale = modified
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        } else if name.ends_with(".cwasm") {
            cached.push((modified, entry.path()));
        }
    }
    if cached.len() > CACHED_COMPONENTS {
        cached.sort();
        for (_, path) in &cached[..cached.len() - CACHED_COMPONENTS] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A new file in `dir` with a unique name, created exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}", uuid::Uuid::now_v7().simple());
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}
