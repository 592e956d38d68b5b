//! The package manager of a Node project (npm, yarn, pnpm, bun): from `packageManager`,
//! the lockfile, or the default; and the commands it runs.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct PackageManager {
    pub(super) name: &'static str,
    pub(super) source: Provenance,
    pub(super) berry: bool,
    /// The lockfile the install uses (of this package manager).
    pub(super) lockfile: Option<String>,
    pub(super) notes: Vec<Note>,
    pub(super) evidence: Vec<Evidence>,
}

/// Lockfiles in precedence order.
pub(super) const LOCKFILES: &[(&str, &str)] = &[
    ("pnpm-lock.yaml", "pnpm"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
    ("yarn.lock", "yarn"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
];

pub(super) fn known_pm(name: &str) -> Option<&'static str> {
    ["npm", "yarn", "pnpm", "bun"]
        .into_iter()
        .find(|p| *p == name)
}

pub(super) fn lockfile_name(pm: &str) -> &'static str {
    match pm {
        "pnpm" => "pnpm-lock.yaml",
        "yarn" => "yarn.lock",
        "bun" => "bun.lock",
        _ => "package-lock.json",
    }
}

impl PackageManager {
    /// The package manager of the folder `dir` whose package.json is `pkg`.
    pub(super) fn resolve(view: &ProjectView, dir: &str, pkg: Option<&PackageJson>) -> Self {
        let manifest = join(dir, "package.json");
        let found: Vec<(String, &'static str)> = LOCKFILES
            .iter()
            .map(|(f, pm)| (join(dir, f), *pm))
            .filter(|(p, _)| view.is_file(p))
            .collect();
        let mut notes = Vec::new();
        let mut evidence: Vec<Evidence> = found
            .iter()
            .map(|(p, pm)| Evidence::new(p, format!("{pm} lockfile")))
            .collect();
        let declared = pkg
            .and_then(|p| p.package_manager.as_ref())
            .and_then(|f| known_pm(&f.name).map(|n| (n, f)));
        let (name, source) = if let Some((name, field)) = declared {
            evidence.push(Evidence::new(
                &manifest,
                format!(
                    "packageManager {}{}",
                    name,
                    field
                        .version
                        .as_deref()
                        .map(|v| format!("@{v}"))
                        .unwrap_or_default()
                ),
            ));
            if let Some((lock, other)) = found.first()
                && !found.iter().any(|(_, pm)| *pm == name)
            {
                notes.push(Note::new(
                    "package-manager-mismatch",
                    format!(
                        "package.json packageManager says {name} but the lockfile is {} ({other}): Kyozo uses {name} as corepack does; delete the stale lockfile and commit {}",
                        file_name(lock),
                        lockfile_name(name)
                    ),
                ));
            }
            (name, format!("{manifest} packageManager").into())
        } else if let Some((lock, pm)) = found.first() {
            (*pm, lock.into())
        } else if view.is_file(&join(dir, "pnpm-workspace.yaml")) {
            ("pnpm", join(dir, "pnpm-workspace.yaml").into())
        } else if view.is_file(&join(dir, ".yarnrc.yml")) {
            ("yarn", join(dir, ".yarnrc.yml").into())
        } else {
            ("npm", Provenance::default_for("node"))
        };
        let distinct: BTreeSet<&str> = found.iter().map(|(_, pm)| *pm).collect();
        if distinct.len() > 1 {
            notes.push(Note::new(
                "multiple-lockfiles",
                format!(
                    "lockfiles of several package managers ({}): Kyozo uses {name}; delete the others",
                    found
                        .iter()
                        .map(|(p, _)| file_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let lockfile = found
            .iter()
            .find(|(_, pm)| *pm == name)
            .map(|(p, _)| p.clone());
        let berry = name == "yarn" && {
            let declared_major = declared.and_then(|(_, f)| f.major());
            match declared_major {
                Some(m) => m >= 2,
                None => {
                    view.is_file(&join(dir, ".yarnrc.yml"))
                        || lockfile.as_deref().is_some_and(|l| {
                            // Only a small lockfile is read: a classic one starts with a
                            // comment, a berry one has `__metadata` near its top.
                            view.size(l).is_some_and(|s| s <= 512 * 1024)
                                && view.text(l).is_some_and(|t| t.contains("__metadata:"))
                        })
                }
            }
        };
        Self {
            name,
            source,
            berry,
            lockfile,
            notes,
            evidence,
        }
    }

    pub(super) fn install(&self) -> Sourced<String> {
        let locked = self.lockfile.is_some();
        let cmd = match (self.name, locked) {
            ("npm", true) => "npm ci",
            ("yarn", true) if self.berry => "yarn install --immutable",
            ("yarn", true) => "yarn install --frozen-lockfile",
            ("pnpm", true) => "pnpm install --frozen-lockfile",
            ("bun", true) => "bun install --frozen-lockfile",
            ("yarn", false) => "yarn install",
            ("pnpm", false) => "pnpm install",
            ("bun", false) => "bun install",
            _ => "npm install",
        };
        let source = match &self.lockfile {
            Some(l) => Provenance::declared(l),
            None => Provenance::default_for(self.name),
        };
        Sourced::new(cmd.to_string(), source)
    }

    /// The command that runs script `script` in the current folder.
    pub(super) fn run(&self, script: &str) -> String {
        match (self.name, script) {
            ("bun", _) => format!("bun run {script}"),
            (pm, "start") => format!("{pm} start"),
            ("yarn", _) => format!("yarn run {script}"),
            (pm, _) => format!("{pm} run {script}"),
        }
    }

    /// The command that runs a binary of the installed dependencies.
    pub(super) fn exec(&self, bin: &str) -> String {
        match self.name {
            "pnpm" => format!("pnpm exec {bin}"),
            "yarn" => format!("yarn {bin}"),
            "bun" => format!("bunx {bin}"),
            _ => format!("npx {bin}"),
        }
    }
}
