//! A Kyozo detector plugin for frob, a stack made up for this example: a folder with a
//! `frob.toml` is a frob service, which serves its `www/` folder over HTTP on the
//! manifest's `port` (default 8080).

use kyozo_detector_sdk::{
    Detection, Metadata, Plugin, Project, Sourced, export_detector, parent, toml,
};

struct Frob;

impl Plugin for Frob {
    fn metadata() -> Metadata {
        Metadata::new("frob", "frob services", env!("CARGO_PKG_VERSION"))
            .interested_in(["**/frob.toml"])
    }

    fn detect(project: &Project) -> Result<Vec<Detection>, String> {
        let mut found = Vec::new();
        for manifest in project.files("**/frob.toml") {
            let dir = parent(&manifest);
            let config = project
                .read_toml::<toml::Table>(&manifest)
                .unwrap_or_default();
            let port = config
                .get("port")
                .and_then(|p| p.as_integer())
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(8080);
            found.push(
                Detection::service(dir, "frob", 0.9)
                    .evidence(&manifest, "a frob manifest")
                    .start(Sourced::new(
                        format!("httpd -f -p {port} -h /srv/frob"),
                        manifest.clone(),
                    ))
                    .port(port, manifest.clone()),
            );
        }
        Ok(found)
    }
}

export_detector!(Frob);
