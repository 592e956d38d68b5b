//! What a folder's state and the engine hold after the CLI ran: the local team's id,
//! and what carries its label on the engine.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use kyozo::backend::{ContainerBackend, LABEL_TEAM};

/// The local team's id in a folder's state file (read with the library, while no
/// command holds the file).
pub fn team_of(state: &Path) -> String {
    let kyozo = kyozo::Kyozo::builder().state_file(state).build().unwrap();
    let teams = kyozo.store().teams().unwrap();
    teams
        .iter()
        .find(|t| t.name == "local")
        .expect("the local team")
        .id
        .to_string()
}

/// What the engine holds with the team's label: containers, networks, volumes, images.
pub async fn left_behind(engine: &dyn ContainerBackend, team: &str) -> Vec<String> {
    let filter = BTreeMap::from([(LABEL_TEAM.to_string(), team.to_string())]);
    let containers = engine.list(&filter).await.unwrap();
    let networks = engine.list_networks(&filter).await.unwrap();
    let volumes = engine.list_volumes(&filter).await.unwrap();
    let images = engine.list_images(&filter).await.unwrap();
    (containers.iter().map(|c| format!("container {}", c.name)))
        .chain(networks.iter().map(|n| format!("network {}", n.name)))
        .chain(volumes.iter().map(|v| format!("volume {}", v.name)))
        .chain(images.iter().map(|i| format!("image {:?}", i.tags)))
        .collect()
}

/// Runs `kyozo -C DIR down --volumes` when dropped: what a test that fails half-way
/// started is removed all the same.
pub struct Down(pub std::path::PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if self.0.join(".kyozo/state.redb").exists() {
            let _ = super::command()
                .args(["-C", self.0.to_str().unwrap_or("."), "down", "--volumes"])
                .output();
        }
    }
}
