//! Which base images a service's plan needs, and under which keys of the base-image
//! map: what `kyozo plan` lists and what a failed pull names (`--image python=...`).

use super::*;

/// One base image a planned service needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BaseImage {
    /// The image (`python:3.12-slim-bookworm`).
    pub image: String,
    /// The keys of the base-image map that give it for this service (`python`,
    /// `python:3.12`), most precise first; empty for a Dockerfile of the user's (its
    /// `FROM` is theirs).
    pub keys: Vec<String>,
}

/// The families of keys a stack's templates look up.
fn families(stack: &str) -> &'static [&'static str] {
    match stack {
        "python" => &["python"],
        "node" => &["node"],
        "go" => &["go", "go-runtime"],
        "rust" => &["rust", "rust-runtime"],
        "java" | "kotlin" | "scala" => &["java", "java-runtime", "maven", "gradle"],
        "static" | "staticfile" => &["static", "node"],
        "php" => &["php", "composer"],
        "ruby" => &["ruby"],
        "deno" => &["deno"],
        _ => &[],
    }
}

/// The images a Dockerfile's `FROM` lines name (not the earlier stages it names).
pub(super) fn from_images(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if !first.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let image = words
            .iter()
            .skip(1)
            .find(|w| !w.starts_with("--"))
            .map(|w| w.to_string());
        let Some(image) = image else { continue };
        if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS"))
            && let Some(stage) = words.get(i + 1)
        {
            stages.push(stage.to_ascii_lowercase());
        }
        if !stages.contains(&image.to_ascii_lowercase()) && !out.contains(&image) {
            out.push(image);
        }
    }
    out
}

impl Planner {
    /// The base images `service` needs: for a Dockerfile Kyozo generates, each image
    /// its `FROM` lines name with the keys of this planner's base-image map that give
    /// it; for the user's Dockerfile (read from `root`), the images its `FROM` lines
    /// name; for an image run as it is, that image.
    pub fn base_images(&self, root: &Path, service: &ServicePlan) -> Vec<BaseImage> {
        let stack = service
            .spec
            .labels
            .get(STACK_LABEL)
            .map_or("", String::as_str);
        let keys_of = |image: &str| -> Vec<String> {
            let mut keys: Vec<String> = self
                .images
                .entries()
                .iter()
                .filter(|(k, v)| {
                    v.as_str() == image
                        && families(stack).iter().any(|f| {
                            k.as_str() == *f
                                || k.strip_prefix(f).is_some_and(|r| r.starts_with(':'))
                        })
                })
                .map(|(k, _)| k.clone())
                .collect();
            // The most precise first (`python:3.12` before `python`).
            keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
            keys
        };
        match &service.source {
            ImageSource::Generated { file } => from_images(&file.contents)
                .into_iter()
                .map(|image| BaseImage {
                    keys: keys_of(&image),
                    image,
                })
                .collect(),
            ImageSource::Existing { path } => {
                // The folder is someone else's: read inside it only, and not much.
                let text = crate::safe_fs::read_inside(root, &root.join(path), 1 << 20)
                    .unwrap_or_default();
                from_images(&text)
                    .into_iter()
                    .map(|image| BaseImage {
                        image,
                        keys: Vec::new(),
                    })
                    .collect()
            }
            ImageSource::Image { image } => vec![BaseImage {
                image: image.clone(),
                keys: Vec::new(),
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_name_images_not_stages() {
        let text = "FROM --platform=linux/amd64 golang:1.23 AS build\nRUN go build\nFROM build AS test\nfrom debian:bookworm-slim\nCOPY --from=build /x /x\n";
        assert_eq!(from_images(text), ["golang:1.23", "debian:bookworm-slim"]);
    }
}
