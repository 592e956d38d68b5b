//! Writing files where someone else's folder is: the one place Kyozo creates files.
//!
//! A folder Kyozo is pointed at may be hostile: it can ship a symbolic link where Kyozo
//! is about to write (`Dockerfile.kyozo-tmp → ~/.ssh/authorized_keys`), or a state
//! folder of its own. The rules, which every write of Kyozo's goes through:
//!
//! - never write through a symbolic link: files are opened with `O_NOFOLLOW`, and a
//!   path whose folders (from the root Kyozo was given) include a link is refused;
//! - never write into a file Kyozo did not just create: a file is replaced by writing a
//!   new file under a random name in the same folder (`O_CREAT | O_EXCL`, which never
//!   follows a link), syncing it and renaming it over the old name (a rename replaces a
//!   link itself, never its target);
//! - private state: [`create_private_dir`] makes folders `0700`, [`open_private`] files
//!   `0600`, and both refuse what is a link, is not what it should be, or belongs to
//!   another user.
//!
//! Refusals are [`std::io::Error`]s of kind [`InvalidInput`](std::io::ErrorKind::InvalidInput)
//! (or `PermissionDenied` for another user's file) whose message says why, not where:
//! callers name the path.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Component, Path};

/// `O_NOFOLLOW` and a mode for `options`, on Unix.
fn no_follow(options: &mut OpenOptions, mode: u32) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
}

fn refused(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.into())
}

/// Whether `meta` belongs to the user this process runs as.
#[cfg(unix)]
fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    meta.uid() == rustix::process::geteuid().as_raw()
}

/// An `ELOOP` from `O_NOFOLLOW` said plainly.
fn explain_link(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return refused("it is a symbolic link, and Kyozo never writes through links");
    }
    e
}

/// Refuses `path` unless every part of it below `root` that exists is a real folder
/// or file, not a symbolic link, and it does not climb out of `root` (`..`, an
/// absolute path). Parts that do not exist yet pass: [`create_dirs_inside`] makes them.
pub fn check_inside(root: &Path, path: &Path) -> io::Result<()> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut at = root.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(part) => at.push(part),
            Component::CurDir => continue,
            _ => {
                return Err(refused(format!(
                    "{} leaves the folder {}",
                    rel.display(),
                    root.display()
                )));
            }
        }
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refused(format!(
                    "{} is a symbolic link, and Kyozo never writes through links",
                    at.display()
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Creates the folder `dir` below `root` and the folders on the way, refusing to go
/// through a symbolic link or out of `root`.
pub fn create_dirs_inside(root: &Path, dir: &Path) -> io::Result<()> {
    check_inside(root, dir)?;
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let mut at = root.to_path_buf();
    for c in rel.components() {
        if let Component::Normal(part) = c {
            at.push(part);
            match std::fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // It exists: a folder, not a link (checked above; checked again, as
                    // something may have been put there meanwhile).
                    let m = std::fs::symlink_metadata(&at)?;
                    if !m.is_dir() {
                        return Err(refused(format!("{} is not a folder", at.display())));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A name beside `path` that nobody can have guessed: `.NAME.kyozo-RANDOM.tmp`.
pub(crate) fn temp_path(path: &Path) -> std::path::PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".kyozo-{}.tmp", uuid::Uuid::now_v7().simple()));
    path.with_file_name(name)
}

/// Replaces (or creates) the file `path` with `contents`, as a new file of mode `mode`:
/// written under a random name beside it, synced, and renamed over `path`. A crash
/// leaves the old file or the new one, never half of one; a link at `path` is replaced
/// by the file, its target untouched. The folder of `path` must exist.
pub fn replace_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.file_name().is_none() {
        return Err(refused("the path names no file"));
    }
    let tmp = temp_path(path);
    let written = no_follow(OpenOptions::new().write(true).create_new(true), mode)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        // Only a file this call created goes: `create_new` failed if one was there.
        if e.kind() != io::ErrorKind::AlreadyExists {
            let _ = std::fs::remove_file(&tmp);
        }
        return Err(e);
    }
    // The rename is durable once the folder is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates the file `path` with `contents` and mode `mode` only if nothing is there
/// (no file, no link): `Ok(false)` when something was.
pub fn create_new_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<bool> {
    match no_follow(OpenOptions::new().write(true).create_new(true), mode).open(path) {
        Ok(mut f) => {
            f.write_all(contents)?;
            f.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates the private folder `dir` (mode `0700`) if it is missing; refuses one that is
/// a symbolic link, not a folder, or another user's, and makes one of this user's
/// private if it was not.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    #[cfg(not(unix))]
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private(dir, true).map(drop)
}

/// Checks that `path` (a folder when `dir`, else a file) is no link, is what it should
/// be and is this user's, and takes away the rights of others on it. Returns its
/// metadata.
fn check_private(path: &Path, dir: bool) -> io::Result<std::fs::Metadata> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(refused(
            "it is a symbolic link, and Kyozo keeps its state only in real files and folders",
        ));
    }
    if dir && !meta.is_dir() {
        return Err(refused("it is not a folder"));
    }
    if !dir && !meta.is_file() {
        return Err(refused("it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if !owned_by_me(&meta) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it belongs to another user, and Kyozo does not use another user's state",
            ));
        }
        let private = if dir { 0o700 } else { 0o600 };
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(meta.permissions().mode() & private),
            )?;
        }
    }
    Ok(meta)
}

/// Opens the private file `path` for reading and writing, never through a link:
/// created with mode `0600` when `create` and it is missing; refused when it is a link,
/// not a regular file or another user's; made private if it was not.
pub fn open_private(path: &Path, create: bool) -> io::Result<File> {
    let file = no_follow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false),
        0o600,
    )
    .open(path)
    .map_err(explain_link)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refused("it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if !owned_by_me(&meta) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it belongs to another user, and Kyozo does not use another user's state",
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o600,
            ))?;
        }
    }
    Ok(file)
}

/// The most [`read_inside`] reads of a manifest Kyozo looks at outside the topology
/// walk (a compose file, a `.dockerignore`, a `Staticfile`).
pub const READ_CAP: u64 = 4 * 1024 * 1024;

/// Reads the file `path` of the folder `root` as text, at most `cap` bytes: its links
/// resolved, it must still be inside `root` and be a regular file (a link to
/// `/dev/zero`, a FIFO or a file elsewhere is refused, never read, never waited on).
/// A missing file is `NotFound`; a bigger one is `InvalidData`.
pub fn read_inside(root: &Path, path: &Path, cap: u64) -> io::Result<String> {
    use std::io::Read as _;
    let real_root = std::fs::canonicalize(root)?;
    let real = std::fs::canonicalize(root.join(path))?;
    if !real.starts_with(&real_root) {
        return Err(refused("it leads out of the folder (through a link)"));
    }
    if !std::fs::metadata(&real)?.is_file() {
        return Err(refused("it is not a regular file"));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    // Never wait on whatever was put there meanwhile (a FIFO blocks its opener).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = options.open(&real)?;
    if !file.metadata()?.is_file() {
        return Err(refused("it is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {cap} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// Checks the folder `dir` that holds private state: no link, a folder, this user's.
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    check_private(dir, true).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn replace_file_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "precious").unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let target = root.join("Dockerfile");
        std::os::unix::fs::symlink(&outside, &target).unwrap();
        replace_file(&target, b"FROM scratch\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&target).unwrap().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"FROM scratch\n");
        // Nothing else was left beside it.
        let names: Vec<_> = std::fs::read_dir(&root).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_link_on_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("api")).unwrap();
        let e = create_dirs_inside(&root, &root.join("api/deep")).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(check_inside(&root, &root.join("../x")).is_err());
        assert!(!outside.join("deep").exists());
    }

    #[test]
    fn reads_stay_inside_are_capped_and_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("ok.yaml"), "a: 1\n").unwrap();
        assert_eq!(
            read_inside(&root, Path::new("ok.yaml"), 100).unwrap(),
            "a: 1\n"
        );
        assert!(read_inside(&root, Path::new("ok.yaml"), 3).is_err());
        std::fs::write(dir.path().join("outside"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("out")).unwrap();
        assert!(read_inside(&root, Path::new("out"), 100).is_err());
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        assert!(read_inside(&root, Path::new("zero"), 100).is_err());
        let fifo = root.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(read_inside(&root, Path::new("fifo"), 100).is_err());
        // A link that stays inside is read.
        std::os::unix::fs::symlink("ok.yaml", root.join("alias.yaml")).unwrap();
        assert_eq!(
            read_inside(&root, Path::new("alias.yaml"), 100).unwrap(),
            "a: 1\n"
        );
    }

    #[test]
    fn private_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".kyozo");
        create_private_dir(&state).unwrap();
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let file = state.join("state.redb");
        drop(open_private(&file, true).unwrap());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A link is refused, and its target left alone.
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "precious").unwrap();
        let link = state.join("linked");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let e = open_private(&link, true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
        let linked_dir = dir.path().join("linked-dir");
        std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
        assert!(create_private_dir(&linked_dir).is_err());
        // create_new_file leaves whatever is there.
        assert!(!create_new_file(&link, b"x", 0o644).unwrap());
        assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    }
}
