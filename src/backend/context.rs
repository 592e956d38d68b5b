//! Build contexts: what of a folder goes to the builder, as the Docker CLI decides it
//! (its `.dockerignore`), packed as a tar archive, and a fingerprint of it that changes
//! when the bytes of anything sent change.

use std::path::{Path, PathBuf};

use super::BackendError;

/// The paths of a build context that its `.dockerignore` leaves out, as the Docker CLI
/// reads it: one pattern per line from the context's root (`*`, `?`, `[...]`, and `**`
/// across folders), `#` comments, `!` to take a path back; the last pattern that
/// matches a path (or a folder above it) decides.
#[derive(Debug, Default)]
pub(crate) struct DockerIgnore {
    rules: Vec<(globset::GlobMatcher, bool)>,
}

impl DockerIgnore {
    fn read(dir: &Path) -> Result<Self, String> {
        // Never through a link out of the context, never a device or a FIFO, capped.
        let text = match crate::safe_fs::read_inside(
            dir,
            Path::new(".dockerignore"),
            crate::safe_fs::READ_CAP,
        ) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) if e.to_string().contains("UTF-8") => {
                return Err(".dockerignore is not UTF-8 text: nothing sent".to_string());
            }
            Err(e) => return Err(format!(".dockerignore: {e}")),
        };
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keep, pattern) = match line.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, line),
            };
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
            let pattern = pattern.trim_end_matches('/');
            if pattern.is_empty() {
                continue;
            }
            // Docker's patterns have no `{a,b}` alternatives: braces are literal.
            let pattern = pattern.replace('{', "[{]").replace('}', "[}]");
            let glob = globset::GlobBuilder::new(&pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| format!(".dockerignore: {line:?}: {e}"))?;
            rules.push((glob.compile_matcher(), keep));
        }
        Ok(Self { rules })
    }

    /// Whether `path` (relative, with `/`) is left out.
    fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (glob, keep) in &self.rules {
            // A pattern that matches a folder takes what is in it too.
            let mut prefix = String::new();
            let mut hit = false;
            for part in path.split('/') {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                if glob.is_match(&prefix) {
                    hit = true;
                    break;
                }
            }
            if hit {
                excluded = !keep;
            }
        }
        excluded
    }

    /// Whether a path inside an excluded folder may be taken back (a `!` rule), so the
    /// folder must be looked into.
    fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, keep)| *keep)
    }
}

/// Kyozo's state folder, never part of a build context.
const STATE_FOLDER: &str = ".kyozo";

/// One thing of a build context that goes to the builder.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Its path from the context's root, with `/`.
    pub(crate) name: String,
    /// Where it is.
    pub(crate) path: PathBuf,
    /// A folder (else a file or a link).
    pub(crate) dir: bool,
}

/// What of `dir` goes to the builder, in a stable order: every folder and file its
/// `.dockerignore` keeps (never leaving out the Dockerfile, nor the `.dockerignore`
/// itself, which the builder reads), following no links, without sockets, pipes or
/// devices (as the Docker CLI does), and without Kyozo's own state folders (`.kyozo/`,
/// where the `kyozo` command keeps its state file: it changes with every command and is
/// no part of any image).
pub(crate) fn walk(dir: &Path, dockerfile: &str) -> Result<Vec<Entry>, BackendError> {
    let context = |reason: String| BackendError::Context {
        path: dir.to_path_buf(),
        reason,
    };
    let ignore = DockerIgnore::read(dir).map_err(context)?;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&folder)
            .map_err(|e| context(format!("{}: {e}", folder.display())))?
            .collect::<Result<_, _>>()
            .map_err(|e| context(e.to_string()))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let Ok(relative) = path.strip_prefix(dir) else {
                continue;
            };
            let name = relative.to_string_lossy().into_owned();
            let always = name == dockerfile || name == ".dockerignore";
            let excluded = !always && ignore.excludes(&name);
            let kind = entry.file_type().map_err(|e| context(e.to_string()))?;
            if kind.is_dir() && entry.file_name() == STATE_FOLDER {
                continue;
            }
            if kind.is_dir() {
                // An excluded folder is still looked into when something in it may be
                // sent (a `!` rule, or the Dockerfile).
                let holds_dockerfile = dockerfile.starts_with(&format!("{name}/"));
                if !excluded || ignore.has_exceptions() || holds_dockerfile {
                    stack.push(path.clone());
                }
                if !excluded {
                    out.push(Entry {
                        name,
                        path,
                        dir: true,
                    });
                }
            } else if excluded || !(kind.is_file() || kind.is_symlink()) {
                continue;
            } else {
                out.push(Entry {
                    name,
                    path,
                    dir: false,
                });
            }
        }
    }
    Ok(out)
}

/// Packs `dir` into a tar archive for the engine (what [`walk`] keeps); `inline`, when
/// given, is sent as the Dockerfile (named `dockerfile`) in place of any file there.
pub(crate) fn pack(
    dir: &Path,
    dockerfile: &str,
    inline: Option<&str>,
) -> Result<Vec<u8>, BackendError> {
    let context = |reason: String| BackendError::Context {
        path: dir.to_path_buf(),
        reason,
    };
    let mut archive = tar::Builder::new(Vec::new());
    archive.follow_symlinks(false);
    for entry in walk(dir, dockerfile)? {
        if inline.is_some() && entry.name == dockerfile {
            continue;
        }
        if entry.dir {
            archive
                .append_dir(&entry.name, &entry.path)
                .map_err(|e| context(e.to_string()))?;
        } else {
            archive
                .append_path_with_name(&entry.path, &entry.name)
                .map_err(|e| context(format!("{}: {e}", entry.name)))?;
        }
    }
    if let Some(text) = inline {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, dockerfile, text.as_bytes())
            .map_err(|e| context(e.to_string()))?;
    }
    archive.into_inner().map_err(|e| context(e.to_string()))
}

/// A fingerprint of what a build of `dir` sends and of `extra` (the Dockerfile's text,
/// build arguments...): a SHA-256 of every kept path, its kind and permission bits, and
/// the bytes of each file (the target of each link), in the order the walk gives.
/// Equal fingerprints mean an equal build: a file touched with its bytes unchanged keeps
/// the fingerprint, a file edited with its size and time kept (a tarball, `cp -p`)
/// changes it. Returned as 64 hexadecimal digits.
pub fn fingerprint(dir: &Path, dockerfile: &str, extra: &[&str]) -> Result<String, BackendError> {
    use sha2::{Digest as _, Sha256};
    let context = |name: &str, e: std::io::Error| BackendError::Context {
        path: dir.to_path_buf(),
        reason: format!("{name}: {e}"),
    };
    let mut hasher = Sha256::new();
    // Every field goes in with its length first, so that no two contexts feed the same
    // bytes.
    let feed = |hasher: &mut Sha256, bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    for e in extra {
        feed(&mut hasher, e.as_bytes());
    }
    for entry in walk(dir, dockerfile)? {
        feed(&mut hasher, entry.name.as_bytes());
        let meta = std::fs::symlink_metadata(&entry.path).map_err(|e| context(&entry.name, e))?;
        let kind = meta.file_type();
        hasher.update(if kind.is_dir() {
            b"d"
        } else if kind.is_symlink() {
            b"l"
        } else {
            b"f"
        });
        #[cfg(unix)]
        hasher.update(
            (std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777).to_le_bytes(),
        );
        if kind.is_symlink() {
            let target = std::fs::read_link(&entry.path).map_err(|e| context(&entry.name, e))?;
            feed(&mut hasher, target.to_string_lossy().as_bytes());
        } else if kind.is_file() {
            hash_file(&mut hasher, &entry.path, meta.len()).map_err(|e| context(&entry.name, e))?;
        }
    }
    let digest = hasher.finalize();
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Feeds the bytes of the regular file at `path` (at most `len`, its size when it was
/// listed) and how many there were. Opened without following a link and without
/// waiting on a FIFO, in case the file was replaced since it was listed.
fn hash_file(hasher: &mut sha2::Sha256, path: &Path, len: u64) -> std::io::Result<()> {
    use sha2::Digest as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
    );
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is no longer a regular file",
        ));
    }
    // sha2's hashers are `io::Write`.
    let read = std::io::copy(&mut std::io::Read::take(file, len), hasher)?;
    hasher.update(read.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), text).unwrap();
        DockerIgnore::read(dir.path()).unwrap()
    }

    #[test]
    fn dockerignore_patterns_read_as_the_docker_cli_reads_them() {
        let i = ignore("# deps\nnode_modules\n**/*.log\n/dist/\n*.md\n!README.md\n");
        assert!(i.excludes("node_modules"));
        assert!(
            i.excludes("node_modules/x/index.js"),
            "what is in a folder goes too"
        );
        assert!(
            !i.excludes("apps/web/node_modules"),
            "a bare name is from the root"
        );
        assert!(i.excludes("a.log") && i.excludes("deep/down/b.log"));
        assert!(i.excludes("dist/app.js"));
        assert!(i.excludes("CHANGES.md"));
        assert!(!i.excludes("README.md"), "taken back by !");
        assert!(!i.excludes("docs/guide.md"), "* stays in its folder");
        assert!(!i.excludes("src/main.rs"));
        assert!(ignore("").rules.is_empty());
        assert!(
            ignore("a{b}.txt\n").excludes("a{b}.txt"),
            "braces are literal"
        );
    }

    #[test]
    fn an_inline_dockerfile_is_sent_in_place_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.js"), "a").unwrap();
        std::fs::write(dir.path().join(".kyozo.Dockerfile"), "FROM stale").unwrap();
        let tar = pack(dir.path(), ".kyozo.Dockerfile", Some("FROM fresh\n")).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut found = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            found.push((name, text));
        }
        found.sort();
        assert_eq!(
            found,
            [
                (".kyozo.Dockerfile".to_string(), "FROM fresh\n".to_string()),
                ("app.js".to_string(), "a".to_string())
            ]
        );
    }

    #[test]
    fn a_fingerprint_changes_with_what_is_sent_and_only_that() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("app.js"), "a").unwrap();
        std::fs::write(root.join(".dockerignore"), "*.log\n").unwrap();
        let first = fingerprint(root, "Dockerfile", &["FROM x"]).unwrap();
        assert_eq!(first, fingerprint(root, "Dockerfile", &["FROM x"]).unwrap());
        assert_ne!(first, fingerprint(root, "Dockerfile", &["FROM y"]).unwrap());
        std::fs::write(root.join("debug.log"), "ignored").unwrap();
        assert_eq!(first, fingerprint(root, "Dockerfile", &["FROM x"]).unwrap());
        std::fs::write(root.join("new.js"), "n").unwrap();
        let second = fingerprint(root, "Dockerfile", &["FROM x"]).unwrap();
        assert_ne!(first, second);
        std::fs::write(root.join("new.js"), "changed!").unwrap();
        let third = fingerprint(root, "Dockerfile", &["FROM x"]).unwrap();
        assert_ne!(second, third);
        // Kyozo's state folder is never sent: its state file changes with every command.
        std::fs::create_dir_all(root.join(".kyozo")).unwrap();
        std::fs::write(root.join(".kyozo/state.redb"), "state").unwrap();
        assert_eq!(third, fingerprint(root, "Dockerfile", &["FROM x"]).unwrap());
    }

    /// Sets `path`'s modification time to `secs` after the epoch.
    fn set_mtime(path: &Path, secs: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn a_fingerprint_follows_the_bytes_not_the_times() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let app = root.join("app.js");
        std::fs::write(&app, "console.log(1)").unwrap();
        set_mtime(&app, 1_000_000);
        let first = fingerprint(root, "Dockerfile", &[]).unwrap();
        // Touched, same bytes (a checkout, `touch`, a copy without -p): the same build.
        set_mtime(&app, 2_000_000);
        assert_eq!(
            first,
            fingerprint(root, "Dockerfile", &[]).unwrap(),
            "a touched file with the same bytes is the same build"
        );
        // Edited with the size and the time kept (a tarball, `cp -p`): another build.
        std::fs::write(&app, "console.log(2)").unwrap();
        set_mtime(&app, 2_000_000);
        assert_ne!(
            first,
            fingerprint(root, "Dockerfile", &[]).unwrap(),
            "other bytes of the same size and time are another build"
        );
        // The mode travels too: an executable script is another image.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let edited = fingerprint(root, "Dockerfile", &[]).unwrap();
            std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_ne!(edited, fingerprint(root, "Dockerfile", &[]).unwrap());
        }
    }

    #[test]
    fn what_a_bang_takes_back_inside_an_excluded_folder_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::create_dir_all(root.join("docker")).unwrap();
        std::fs::write(root.join("src/deep/main.rs"), "m").unwrap();
        std::fs::write(root.join("notes.txt"), "n").unwrap();
        std::fs::write(root.join("docker/Dockerfile"), "FROM scratch").unwrap();
        std::fs::write(root.join(".dockerignore"), "*\n!src\n").unwrap();
        let tar = pack(root, "docker/Dockerfile", None).unwrap();
        let mut names: Vec<String> = tar::Archive::new(tar.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".dockerignore",
                "docker/Dockerfile",
                "src",
                "src/deep",
                "src/deep/main.rs"
            ]
        );
    }

    #[test]
    fn a_packed_context_leaves_out_what_is_ignored_but_never_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("node_modules/x")).unwrap();
        std::fs::write(root.join("node_modules/x/i.js"), "x").unwrap();
        std::fs::write(root.join("server.js"), "s").unwrap();
        std::fs::write(root.join("Dockerfile"), "FROM scratch").unwrap();
        std::fs::write(
            root.join(".dockerignore"),
            "node_modules\nDockerfile\n.dockerignore\n",
        )
        .unwrap();
        let tar = pack(root, "Dockerfile", None).unwrap();
        let mut names: Vec<String> = tar::Archive::new(tar.as_slice())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, [".dockerignore", "Dockerfile", "server.js"]);
    }
}
