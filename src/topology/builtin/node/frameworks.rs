//! The frameworks and servers the Node detector knows: what each one's dependency, config
//! file and CLI say (its build, start and dev commands, its output, its port).

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Output {
    Server,
    Static { dir: String, spa: bool },
}

#[derive(Debug, Clone)]
pub(super) enum Command {
    /// A binary of the dependencies, run through the package manager (`next start`).
    Bin(String),
    /// A command run as is (`node build`).
    Plain(String),
}

#[derive(Debug, Clone)]
pub(super) struct Framework {
    /// The framework's name in Kyozo's vocabulary; `None` for one outside it (koa...).
    pub(super) name: Option<&'static str>,
    /// What `default for X` says.
    pub(super) label: String,
    pub(super) source: String,
    pub(super) output: Output,
    pub(super) port: Option<u16>,
    pub(super) start: Option<Command>,
    pub(super) build: Option<String>,
    /// An application framework: its presence alone makes the folder an app.
    pub(super) app: bool,
    pub(super) evidence: Vec<Evidence>,
    pub(super) notes: Vec<Note>,
}

impl Framework {
    pub(super) fn new(
        name: Option<&'static str>,
        label: &str,
        source: String,
        output: Output,
    ) -> Self {
        Self {
            name,
            label: label.to_string(),
            source,
            output,
            port: None,
            start: None,
            build: None,
            app: true,
            evidence: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Server libraries outside Kyozo's framework vocabulary: (package, default port).
/// Sorted by package.
pub(super) const OTHER_SERVERS: &[(&str, Option<u16>)] = &[
    ("@adonisjs/core", Some(3333)),
    ("@apollo/server", Some(4000)),
    ("@feathersjs/feathers", Some(3030)),
    ("@hapi/hapi", None),
    ("@hono/node-server", Some(3000)),
    ("@loopback/core", Some(3000)),
    ("apollo-server", Some(4000)),
    ("graphql-yoga", Some(4000)),
    ("hapi", None),
    ("koa", None),
    ("polka", None),
    ("restify", None),
    ("sails", Some(1337)),
];

/// Static-site generators outside Kyozo's framework vocabulary: (package, output, spa).
pub(super) const OTHER_STATIC: &[(&str, &str, bool)] = &[
    ("@11ty/eleventy", "_site", false),
    ("@docusaurus/core", "build", false),
    ("@vue/cli-service", "dist", true),
    ("gatsby", "public", false),
];

pub(super) const CONFIG_EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "ts", "mts", "cts"];

pub(super) fn config_file(view: &ProjectView, dir: &str, stem: &str) -> Option<String> {
    CONFIG_EXTENSIONS
        .iter()
        .map(|e| join(dir, &format!("{stem}.{e}")))
        .find(|p| view.is_file(p))
}

/// The string value of `key: '...'` (or `"..."`, `` `...` ``) in a JS config file.
pub(super) fn config_string(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find(key) {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + key.len()..];
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.') {
            continue;
        }
        let after = after.trim_start();
        let after = after
            .strip_prefix('"')
            .or_else(|| after.strip_prefix('\''))
            .map(str::trim_start)
            .unwrap_or(after);
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let after = after.trim_start();
        let Some(q) = after
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"' | '`'))
        else {
            continue;
        };
        let body = &after[q.len_utf8()..];
        if let Some(end) = body.find(q) {
            let value = &body[..end];
            if !value.is_empty() && value.len() < 256 {
                return Some(value.to_string());
            }
        }
    }
    None
}

pub(super) fn dep_source(manifest: &str, pkg: &PackageJson, dep: &str) -> String {
    let field = if pkg.dependencies.contains_key(dep) {
        "dependencies"
    } else if pkg.dev_dependencies.contains_key(dep) {
        "devDependencies"
    } else {
        "optionalDependencies"
    };
    format!("{manifest} {field}.{dep}")
}

pub(super) fn detect_framework(
    view: &ProjectView,
    dir: &str,
    pkg: &PackageJson,
) -> Option<Framework> {
    let manifest = join(dir, "package.json");
    let has = |d: &str| pkg.depends_on(d);
    let from_dep = |d: &str| dep_source(&manifest, pkg, d);
    let server_dep =
        |d: &str| pkg.dependencies.contains_key(d) || pkg.dev_dependencies.contains_key(d);

    // Next.js
    let next_config = config_file(view, dir, "next.config");
    if has("next") || next_config.is_some() {
        let source = if has("next") {
            from_dep("next")
        } else {
            next_config.clone().unwrap_or_default()
        };
        let config_text = next_config.as_deref().and_then(|c| view.text(c));
        let export = config_text
            .as_deref()
            .and_then(|t| config_string(t, "output"))
            .is_some_and(|o| o == "export");
        let mut f = if export {
            let out = config_text
                .as_deref()
                .and_then(|t| config_string(t, "distDir"))
                .unwrap_or_else(|| "out".to_string());
            Framework::new(
                Some("nextjs"),
                "nextjs",
                source,
                Output::Static {
                    dir: out,
                    spa: false,
                },
            )
        } else {
            let mut f = Framework::new(Some("nextjs"), "nextjs", source, Output::Server);
            f.port = Some(3000);
            f.start = Some(Command::Bin("next start".into()));
            f
        };
        f.build = Some("next build".into());
        if let Some(c) = &next_config {
            f.evidence.push(Evidence::new(
                c,
                if export {
                    "Next.js config with output: 'export' (static site)"
                } else {
                    "Next.js config"
                },
            ));
        }
        return Some(f);
    }

    // Nuxt
    let nuxt_config = config_file(view, dir, "nuxt.config");
    if has("nuxt") || has("nuxt3") || nuxt_config.is_some() {
        let source = if has("nuxt") {
            from_dep("nuxt")
        } else if has("nuxt3") {
            from_dep("nuxt3")
        } else {
            nuxt_config.clone().unwrap_or_default()
        };
        let generate = pkg
            .script("build")
            .is_some_and(|b| b.contains("nuxt generate") || b.contains("nuxi generate"));
        let mut f = if generate {
            Framework::new(
                Some("nuxt"),
                "nuxt",
                source,
                Output::Static {
                    dir: ".output/public".into(),
                    spa: false,
                },
            )
        } else {
            let mut f = Framework::new(Some("nuxt"), "nuxt", source, Output::Server);
            f.port = Some(3000);
            f.start = Some(Command::Plain("node .output/server/index.mjs".into()));
            f
        };
        f.build = Some("nuxt build".into());
        if let Some(c) = nuxt_config {
            f.evidence.push(Evidence::new(c, "Nuxt config"));
        }
        return Some(f);
    }

    // Remix
    if let Some((dep, _)) = pkg
        .all_dependencies()
        .find(|(n, _)| n.starts_with("@remix-run/"))
    {
        let vite = has("vite");
        let dep = if has("@remix-run/node") {
            "@remix-run/node"
        } else {
            dep
        };
        let mut f = Framework::new(Some("remix"), "remix", from_dep(dep), Output::Server);
        f.port = Some(3000);
        if has("@remix-run/serve") {
            f.start = Some(Command::Bin(if vite {
                "remix-serve ./build/server/index.js".into()
            } else {
                "remix-serve ./build/index.js".into()
            }));
        }
        f.build = Some(if vite {
            "remix vite:build".into()
        } else {
            "remix build".into()
        });
        return Some(f);
    }

    // Astro
    let astro_config = config_file(view, dir, "astro.config");
    if has("astro") || astro_config.is_some() {
        let source = if has("astro") {
            from_dep("astro")
        } else {
            astro_config.clone().unwrap_or_default()
        };
        let config_text = astro_config.as_deref().and_then(|c| view.text(c));
        let mut f = if has("@astrojs/node") {
            let mut f = Framework::new(Some("astro"), "astro", source, Output::Server);
            f.port = Some(4321);
            f.start = Some(Command::Plain("node ./dist/server/entry.mjs".into()));
            f.evidence.push(Evidence::new(
                from_dep("@astrojs/node")
                    .split(' ')
                    .next()
                    .unwrap_or_default(),
                "Astro with the @astrojs/node adapter (server output)",
            ));
            f
        } else {
            let out = config_text
                .as_deref()
                .and_then(|t| config_string(t, "outDir"))
                .map(|d| d.trim_start_matches("./").trim_end_matches('/').to_string())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "dist".to_string());
            let mut f = Framework::new(
                Some("astro"),
                "astro",
                source,
                Output::Static {
                    dir: out,
                    spa: false,
                },
            );
            let server_output = config_text
                .as_deref()
                .and_then(|t| config_string(t, "output"))
                .is_some_and(|o| o == "server" || o == "hybrid");
            if server_output {
                f.notes.push(Note::new(
                    "astro-adapter",
                    "astro.config asks for server output but there is no @astrojs/node adapter: add it (`npx astro add node`) to run the site in a container; Kyozo serves the static build meanwhile",
                ));
            }
            f
        };
        f.build = Some("astro build".into());
        if let Some(c) = astro_config {
            f.evidence.push(Evidence::new(c, "Astro config"));
        }
        return Some(f);
    }

    // SvelteKit
    if has("@sveltejs/kit") {
        let config = config_file(view, dir, "svelte.config");
        let config_text = config.as_deref().and_then(|c| view.text(c));
        let uses = |adapter: &str| {
            has(adapter) || config_text.as_deref().is_some_and(|t| t.contains(adapter))
        };
        let source = from_dep("@sveltejs/kit");
        let mut f = if uses("@sveltejs/adapter-node") {
            let mut f = Framework::new(Some("sveltekit"), "sveltekit", source, Output::Server);
            f.port = Some(3000);
            f.start = Some(Command::Plain("node build".into()));
            f.evidence.push(Evidence::new(
                &manifest,
                "SvelteKit with @sveltejs/adapter-node (server output in build/)",
            ));
            f
        } else if uses("@sveltejs/adapter-static") {
            let mut f = Framework::new(
                Some("sveltekit"),
                "sveltekit",
                source,
                Output::Static {
                    dir: "build".into(),
                    spa: false,
                },
            );
            f.evidence.push(Evidence::new(
                &manifest,
                "SvelteKit with @sveltejs/adapter-static (static output in build/)",
            ));
            f
        } else {
            let mut f = Framework::new(Some("sveltekit"), "sveltekit", source, Output::Server);
            f.port = Some(3000);
            f.notes.push(Note::new(
                "sveltekit-adapter",
                "SvelteKit has no adapter-node or adapter-static (adapter-auto builds nothing a container can run): install @sveltejs/adapter-node and use it in svelte.config.js",
            ));
            f
        };
        f.build = Some("vite build".into());
        if let Some(c) = config {
            f.evidence.push(Evidence::new(c, "SvelteKit config"));
        }
        return Some(f);
    }

    // Angular
    if has("@angular/core") {
        let angular_json = join(dir, "angular.json");
        let project = view.text(&angular_json).and_then(|t| angular_project(&t));
        let ssr = has("@angular/ssr")
            || has("@nguniversal/express-engine")
            || project.as_ref().is_some_and(|p| p.ssr);
        let (base, browser) = project
            .as_ref()
            .map(|p| (p.base.clone(), p.browser.clone()))
            .unwrap_or_else(|| ("dist".into(), None));
        let source = from_dep("@angular/core");
        let mut f = if ssr {
            let mut f = Framework::new(Some("angular"), "angular", source, Output::Server);
            f.port = Some(4000);
            f.start = Some(Command::Plain(if has("@nguniversal/express-engine") {
                format!("node {base}/server/main.js")
            } else {
                format!("node {base}/server/server.mjs")
            }));
            f.evidence.push(Evidence::new(
                &manifest,
                "Angular with server-side rendering",
            ));
            f
        } else {
            let out = match browser {
                Some(b) if !b.is_empty() => format!("{base}/{b}"),
                _ => base,
            };
            Framework::new(
                Some("angular"),
                "angular",
                source,
                Output::Static {
                    dir: out,
                    spa: true,
                },
            )
        };
        f.build = Some("ng build".into());
        f.app = project.is_some() || ssr;
        if project.is_some() {
            f.evidence
                .push(Evidence::new(angular_json, "Angular workspace"));
        }
        return Some(f);
    }

    // NestJS
    if has("@nestjs/core") {
        let mut f = Framework::new(
            Some("nestjs"),
            "nestjs",
            from_dep("@nestjs/core"),
            Output::Server,
        );
        f.port = Some(3000);
        f.start = Some(Command::Plain("node dist/main".into()));
        f.build = Some("nest build".into());
        let cli = join(dir, "nest-cli.json");
        if view.is_file(&cli) {
            f.evidence.push(Evidence::new(cli, "Nest CLI config"));
        }
        return Some(f);
    }

    // Server libraries: only runtime or dev dependencies count (a peer is a library's).
    for (dep, name) in [("fastify", "fastify"), ("express", "express")] {
        if server_dep(dep) {
            let mut f = Framework::new(Some(name), name, from_dep(dep), Output::Server);
            f.port = Some(3000);
            f.app = false;
            return Some(f);
        }
    }
    for (dep, port) in OTHER_SERVERS {
        if server_dep(dep) {
            let mut f = Framework::new(None, dep, from_dep(dep), Output::Server);
            f.port = *port;
            f.app = false;
            return Some(f);
        }
    }

    // Static single-page apps and sites.
    if has("react-scripts") {
        let mut f = Framework::new(
            Some("create-react-app"),
            "create-react-app",
            from_dep("react-scripts"),
            Output::Static {
                dir: "build".into(),
                spa: true,
            },
        );
        f.build = Some("react-scripts build".into());
        return Some(f);
    }
    for (dep, out, spa) in OTHER_STATIC {
        if has(dep) {
            let mut f = Framework::new(
                None,
                dep,
                from_dep(dep),
                Output::Static {
                    dir: (*out).to_string(),
                    spa: *spa,
                },
            );
            f.app = true;
            return Some(f);
        }
    }
    let vite_config = config_file(view, dir, "vite.config");
    let index_html = join(dir, "index.html");
    if (has("vite") || vite_config.is_some()) && view.is_file(&index_html) {
        let source = if has("vite") {
            from_dep("vite")
        } else {
            vite_config.clone().unwrap_or_default()
        };
        let out = vite_config
            .as_deref()
            .and_then(|c| view.text(c))
            .and_then(|t| config_string(&t, "outDir"))
            .map(|d| d.trim_start_matches("./").trim_end_matches('/').to_string())
            .filter(|d| !d.is_empty() && !d.contains(".."))
            .unwrap_or_else(|| "dist".into());
        let mut f = Framework::new(
            Some("vite"),
            "vite",
            source,
            Output::Static {
                dir: out,
                spa: true,
            },
        );
        f.build = Some("vite build".into());
        f.evidence.push(Evidence::new(
            index_html,
            "Vite app entry (single-page app)",
        ));
        if let Some(c) = vite_config {
            f.evidence.push(Evidence::new(c, "Vite config"));
        }
        return Some(f);
    }
    None
}

#[derive(Debug, Clone)]
pub(super) struct AngularProject {
    pub(super) base: String,
    pub(super) browser: Option<String>,
    pub(super) ssr: bool,
}

/// The output folder of the first application of an `angular.json`.
pub(super) fn angular_project(text: &str) -> Option<AngularProject> {
    let v = jsonc::parse(text).ok()?;
    let projects = v.get("projects")?.as_object()?;
    let (name, project) = projects
        .iter()
        .find(|(_, p)| p.get("projectType").and_then(|t| t.as_str()) == Some("application"))
        .or_else(|| projects.iter().next())?;
    let build = project
        .get("architect")
        .or_else(|| project.get("targets"))
        .and_then(|a| a.get("build"));
    let builder = build
        .and_then(|b| b.get("builder"))
        .and_then(|b| b.as_str())
        .unwrap_or_default();
    let options = build.and_then(|b| b.get("options"));
    let application_builder = builder.ends_with(":application");
    let default_base = format!("dist/{name}");
    let (base, browser) = match options.and_then(|o| o.get("outputPath")) {
        Some(serde_json::Value::String(s)) => (
            s.clone(),
            application_builder.then(|| "browser".to_string()),
        ),
        Some(serde_json::Value::Object(o)) => (
            o.get("base")
                .and_then(|b| b.as_str())
                .map(str::to_string)
                .unwrap_or(default_base),
            Some(
                o.get("browser")
                    .and_then(|b| b.as_str())
                    .unwrap_or("browser")
                    .to_string(),
            ),
        ),
        _ => (
            default_base,
            application_builder.then(|| "browser".to_string()),
        ),
    };
    let base = base
        .trim_start_matches("./")
        .trim_end_matches('/')
        .to_string();
    if base.is_empty() || base.contains("..") {
        return None;
    }
    let ssr = options
        .and_then(|o| o.get("ssr").or_else(|| o.get("server")))
        .is_some_and(|s| !matches!(s, serde_json::Value::Bool(false) | serde_json::Value::Null));
    Some(AngularProject { base, browser, ssr })
}

/// Whether a script runs a development server (never a production start command).
pub(super) fn is_dev_command(script: &str) -> bool {
    script.split("&&").any(|part| {
        let mut tokens = part
            .split_whitespace()
            .skip_while(|t| is_env_assignment(t) || *t == "cross-env" || *t == "npx");
        let Some(cmd) = tokens.next() else {
            return false;
        };
        let sub = tokens.next().unwrap_or_default();
        match cmd {
            "vite" => !matches!(sub, "build"),
            "parcel" => sub != "build",
            "nodemon" | "ts-node-dev" | "webpack-dev-server" | "next-dev" => true,
            "react-scripts" | "docusaurus" => sub == "start",
            "ng" | "vue-cli-service" => sub == "serve",
            "astro" | "next" | "nuxt" | "nuxi" | "remix" => sub == "dev",
            "gatsby" => sub == "develop",
            "webpack" => sub == "serve",
            "tsx" => sub == "watch",
            "node" => sub == "--watch",
            _ => false,
        }
    })
}

/// Whether a script runs a front-end framework's own CLI (`next start`, `astro preview`).
pub(super) fn runs_framework_cli(script: &str) -> bool {
    const CLIS: &[&str] = &[
        "astro",
        "docusaurus",
        "eleventy",
        "gatsby",
        "next",
        "ng",
        "nuxi",
        "nuxt",
        "react-scripts",
        "svelte-kit",
        "vite",
        "vue-cli-service",
    ];
    script.split("&&").any(|part| {
        part.split_whitespace()
            .find(|t| !is_env_assignment(t) && *t != "cross-env" && *t != "npx")
            .is_some_and(|cmd| CLIS.contains(&cmd))
    })
}
