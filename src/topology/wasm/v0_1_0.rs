//! The interface `kyozo:detector@0.1.0` (`detectors/wit/v0.1.0`), released and frozen:
//! its bindings, the imports it serves a plugin ([`host`]) and the calls of its
//! exports. A later interface version gets a module of its own beside this one
//! (`v0_2_0.rs` and `v0_2_0/`), and this one stays, so plugins built against it keep
//! running. `tests/plugin_sdk.rs` fails if a file of the released WIT changes.
//!
//! What a plugin returns is checked in one place for every version
//! ([`call::check_detections`](super::call::check_detections)), on this version's
//! records: a later version converts its own records into these, or widens them.

mod host;

use wasmtime::component::{HasSelf, InstancePre, Linker};

use super::PluginMetadata;
use super::call::CallState;

wasmtime::component::bindgen!({
    path: "detectors/wit/v0.1.0",
    world: "detector",
    imports: { default: trappable },
});

/// The version these bindings implement.
pub(crate) const VERSION: &str = "0.1.0";

/// Links the imports of this version (`kyozo:detector/host@0.1.0`, `types`) into
/// `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    Detector::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)
}

/// A plugin of this version, linked, instantiated afresh for every call.
pub(super) struct Plugin(DetectorPre<CallState>);

impl Plugin {
    /// Checks that the linked component exports this version's `metadata` and
    /// `detect`.
    pub(super) fn new(pre: InstancePre<CallState>) -> wasmtime::Result<Self> {
        DetectorPre::new(pre).map(Self)
    }

    /// Calls `metadata` in a fresh instance: what the plugin says, not yet checked.
    pub(super) fn metadata(
        &self,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<PluginMetadata> {
        let m = self
            .0
            .instantiate(&mut *store)?
            .call_metadata(&mut *store)?;
        Ok(PluginMetadata {
            id: m.id,
            name: m.name,
            version: m.version,
            interested_in: m.interested_in,
            interface_version: m.interface_version,
        })
    }

    /// Calls `detect` in a fresh instance: what the plugin returns, not yet checked.
    pub(super) fn detect(
        &self,
        store: &mut wasmtime::Store<CallState>,
    ) -> wasmtime::Result<Result<Vec<kyozo::detector::types::Detection>, String>> {
        self.0.instantiate(&mut *store)?.call_detect(&mut *store)
    }
}
