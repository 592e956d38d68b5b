//! The edge proxy's admin folder and name, which decide where Kyozo writes on the
//! host: a name that would climb out of the folder is refused before anything is made,
//! and an admin folder that is a link is refused with its target untouched. On the
//! in-memory backend (nothing here reaches an engine: the refusals come first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kyozo::Kyozo;
use kyozo::backend::MemoryBackend;
use kyozo::model::{PortMapping, ServiceInstance};
use kyozo::runtime::EdgeProxy;

#[test]
fn a_name_that_is_no_container_name_is_refused_when_the_runtime_is_built() {
    for bad in ["../../etc", "a/b", "", ".x"] {
        let err = Kyozo::builder()
            .edge(EdgeProxy::caddy("caddy:2").with_name(bad))
            .build()
            .err()
            .unwrap_or_else(|| panic!("{bad:?} was taken"));
        assert!(err.to_string().contains("edge proxy name"), "{err}");
    }
}

#[tokio::test]
async fn an_admin_folder_that_is_a_link_is_refused_and_its_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("keep"), b"mine").unwrap();
    let link = tmp.path().join("admin");
    std::os::unix::fs::symlink(&victim, &link).unwrap();

    let backend = MemoryBackend::new();
    backend.add_image("busybox");
    let kyozo = Kyozo::builder()
        .backend_unguarded(Arc::new(backend))
        .edge(EdgeProxy::caddy("caddy:2").with_admin_dir(&link))
        .build()
        .unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let ws = kyozo
        .create_workspace(owner.actor(), team.id, "shop")
        .unwrap();
    let mut s = ServiceInstance::new(team.id, ws.id, "web", ".");
    s.image = Some("busybox".into());
    s.ports = vec![PortMapping::new(8080, Some(18080))];
    let s = kyozo.create_service(owner.actor(), s).unwrap();

    let err = kyozo
        .deploy(owner.actor(), s.team, s.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&link.display().to_string()), "{err}");
    assert!(err.contains("link"), "{err}");
    let mut left: Vec<String> = std::fs::read_dir(&victim)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["keep"], "nothing was written through the link");
    assert_eq!(std::fs::read(victim.join("keep")).unwrap(), b"mine");
}
