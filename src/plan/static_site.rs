//! How a static site asks to be served, read from the conventions its folder carries,
//! and the Caddyfile that serves it so: a single-page app's fallback (every unknown
//! path answers the index: Cloud Foundry's `Staticfile` `pushstate: enabled`,
//! Netlify's `_redirects` `/* /index.html 200`, `vercel.json`, `serve.json` and
//! `firebase.json` rewrites to `/index.html`, Heroku's `static.json` routes), and basic
//! auth (`Staticfile.auth`: `user:hash` lines, as htpasswd writes them). A password the
//! server cannot check (a hash other than bcrypt) is an error: a protected site is never
//! served open.

use super::*;

/// How a static site is served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct StaticSite {
    /// Unknown paths answer the index (a single-page app's routes), and where it says so.
    pub(super) spa: Option<String>,
    /// Users and their bcrypt hashes: every request needs one of them.
    pub(super) users: Vec<(String, String)>,
}

/// The file of basic-auth users, beside the `Staticfile`.
pub(super) const AUTH_FILE: &str = "Staticfile.auth";

/// How the static site in `folder` asks to be served; an error (code, message) for a
/// password file the server cannot honour.
pub(super) fn static_site(
    files: &Files,
    folder: &str,
) -> Result<StaticSite, (&'static str, String)> {
    let mut site = StaticSite {
        spa: spa_source(files, folder),
        users: Vec::new(),
    };
    let auth = join(folder, AUTH_FILE);
    if let Some(text) = files.text(&auth) {
        site.users = users(&text).map_err(|why| {
            (
                "static-auth-unsupported",
                format!(
                    "{auth}: {why}: Kyozo does not serve a password-protected site without its passwords (make each one a bcrypt hash: `htpasswd -nbB USER PASSWORD`)"
                ),
            )
        })?;
        if site.users.is_empty() {
            return Err((
                "static-auth-unsupported",
                format!(
                    "{auth} names no user: Kyozo does not serve a site meant to be protected as an open one"
                ),
            ));
        }
    } else if files.is_file(&auth) {
        return Err((
            "static-auth-unsupported",
            format!(
                "{auth} cannot be read: Kyozo does not serve a site meant to be protected as an open one"
            ),
        ));
    }
    Ok(site)
}

/// Which convention of `folder` asks for a single-page app's fallback, if one does.
fn spa_source(files: &Files, folder: &str) -> Option<String> {
    let at = |name: &str| join(folder, name);
    if let Some(text) = files.text(&at("Staticfile"))
        && text.lines().any(|l| {
            let l = l.trim();
            l.strip_prefix("pushstate:")
                .is_some_and(|v| v.trim() == "enabled")
        })
    {
        return Some(format!("{} pushstate: enabled", at("Staticfile")));
    }
    if let Some(text) = files.text(&at("_redirects"))
        && text.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            matches!(words.as_slice(), ["/*", "/index.html", "200", ..])
        })
    {
        return Some(format!("{} /* /index.html 200", at("_redirects")));
    }
    for (name, pointer) in [
        ("vercel.json", "/rewrites"),
        ("serve.json", "/rewrites"),
        ("firebase.json", "/hosting/rewrites"),
    ] {
        let Some(doc) = files
            .text(&at(name))
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let catch_all = doc
            .pointer(pointer)
            .and_then(|r| r.as_array())
            .is_some_and(|rules| {
                rules.iter().any(|r| {
                    let source = r.get("source").and_then(|s| s.as_str()).unwrap_or("");
                    let dest = r.get("destination").and_then(|s| s.as_str()).unwrap_or("");
                    is_index(dest)
                        && matches!(source, "**" | "/**" | "/(.*)" | "/:path*" | "(.*)" | "/*")
                })
            });
        if catch_all {
            return Some(format!("{} rewrites to /index.html", at(name)));
        }
    }
    if let Some(doc) = files
        .text(&at("static.json"))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        && doc
            .get("routes")
            .and_then(|r| r.as_object())
            .is_some_and(|routes| {
                routes
                    .iter()
                    .any(|(k, v)| k == "/**" && v.as_str().is_some_and(is_index))
            })
    {
        return Some(format!("{} routes /** to index.html", at("static.json")));
    }
    None
}

fn is_index(dest: &str) -> bool {
    matches!(dest, "/index.html" | "index.html")
}

/// The users of a `Staticfile.auth` (`user:hash` lines; blank lines and `#` comments
/// skipped), each hash a bcrypt one; else why not (naming the line, never the hash).
fn users(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            return Err(format!("line {}: not user:hash", i + 1));
        };
        if user.is_empty()
            || user.len() > 64
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
        {
            return Err(format!(
                "line {}: a user name of letters, digits and ._@- only",
                i + 1
            ));
        }
        if !is_bcrypt(hash) {
            let kind = if hash.starts_with("$apr1$") {
                "an apr1 (MD5) hash"
            } else if hash.starts_with("{SHA}") {
                "a SHA-1 hash"
            } else {
                "not a bcrypt hash"
            };
            return Err(format!(
                "line {}: the password of {user} is {kind}, which the server cannot check",
                i + 1
            ));
        }
        out.push((user.to_string(), hash.to_string()));
    }
    Ok(out)
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 53 characters of bcrypt's base64.
fn is_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    b.len() == 60
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

/// The Caddyfile that serves `/srv` on `port` as `site` asks, one line per entry.
/// Every value in it was checked above (user names, bcrypt hashes), so none can open
/// a block or start a directive.
pub(super) fn caddyfile(site: &StaticSite, port: u16) -> Vec<String> {
    let mut lines = vec![
        "{".to_string(),
        "  admin off".to_string(),
        "  auto_https off".to_string(),
        "}".to_string(),
        format!(":{port} {{"),
        "  root * /srv".to_string(),
        "  encode gzip".to_string(),
        format!("  handle {STATIC_HEALTH_PATH} {{"),
        "    respond \"ok\" 200".to_string(),
        "  }".to_string(),
        "  handle {".to_string(),
    ];
    if !site.users.is_empty() {
        lines.push("    basicauth {".to_string());
        for (user, hash) in &site.users {
            lines.push(format!("      {user} {hash}"));
        }
        lines.push("    }".to_string());
    }
    if site.spa.is_some() {
        lines.push("    try_files {path} {path}/ /index.html".to_string());
    }
    lines.push("    file_server".to_string());
    lines.push("  }".to_string());
    lines.push("}".to_string());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2a$14$NygLRPeCR24.2sE4e7vHiu/2SQhVb5g5mUtMV/CvS/dL4PbRccvly";

    #[test]
    fn bcrypt_users_are_read_and_anything_else_refused_without_showing_it() {
        let ok = users(&format!("# team\nada:{HASH}\n\nbo.b@x-y:{HASH}\n"));
        assert_eq!(
            ok,
            Ok(vec![
                ("ada".to_string(), HASH.to_string()),
                ("bo.b@x-y".to_string(), HASH.to_string())
            ])
        );
        let apr1 = users("ada:$apr1$abc$0123456789abcdefghijkl\n");
        assert!(
            matches!(&apr1, Err(e) if e.contains("line 1") && e.contains("apr1") && !e.contains("0123456789")),
            "{apr1:?}"
        );
        assert!(users("ada:plain-text-password\n").is_err());
        assert!(users(&format!("evil}}\n:{HASH}\n")).is_err());
        assert!(users(&format!("a b:{HASH}\n")).is_err());
        assert!(users(&format!("ada:{HASH} extra\n")).is_err());
    }

    #[test]
    fn the_caddyfile_serves_the_index_for_unknown_paths_only_when_asked() {
        let plain = caddyfile(&StaticSite::default(), 80).join("\n");
        assert!(plain.contains(":80 {") && plain.contains("file_server"));
        assert!(!plain.contains("try_files") && !plain.contains("basicauth"));
        let spa = caddyfile(
            &StaticSite {
                spa: Some("_redirects".into()),
                users: vec![("ada".into(), HASH.into())],
            },
            80,
        )
        .join("\n");
        assert!(
            spa.contains("try_files {path} {path}/ /index.html"),
            "{spa}"
        );
        assert!(spa.contains(&format!("      ada {HASH}")), "{spa}");
    }
}
