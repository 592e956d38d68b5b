//! Bindings of the interface `kyozo:detector@0.1.0` (`detectors/wit/v0.1.0`). A later
//! interface version gets a module of its own beside this one; this one never changes.

wasmtime::component::bindgen!({
    path: "detectors/wit/v0.1.0",
    world: "detector",
    imports: { default: trappable },
});

/// The version these bindings implement.
pub(crate) const VERSION: &str = "0.1.0";
