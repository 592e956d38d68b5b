//! The built-in detectors, one file per stack, and the registry that lists them.

mod clojure;
mod compose;
mod cpp;
mod crystal;
mod dart;
mod deno;
mod dockerfile;
mod dotnet;
mod elixir;
mod gleam;
mod go;
mod haskell;
mod java;
mod jvm;
mod node;
mod php;
mod procfile;
mod python;
mod ruby;
mod rust;
mod scala;
mod shared;
mod shell;
mod staticfile;
mod swift;
mod zig;

use std::sync::Arc;

use super::Detector;

/// Every built-in detector, sorted by id.
pub fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(clojure::ClojureDetector),
        Arc::new(compose::ComposeDetector),
        Arc::new(cpp::CppDetector),
        Arc::new(crystal::CrystalDetector),
        Arc::new(dart::DartDetector),
        Arc::new(deno::DenoDetector),
        Arc::new(dockerfile::DockerfileDetector),
        Arc::new(dotnet::DotnetDetector),
        Arc::new(elixir::ElixirDetector),
        Arc::new(gleam::GleamDetector),
        Arc::new(go::GoDetector),
        Arc::new(haskell::HaskellDetector),
        Arc::new(java::JavaDetector),
        Arc::new(node::NodeDetector),
        Arc::new(php::PhpDetector),
        Arc::new(procfile::ProcfileDetector),
        Arc::new(python::PythonDetector),
        Arc::new(ruby::RubyDetector),
        Arc::new(rust::RustDetector),
        Arc::new(scala::ScalaDetector),
        Arc::new(shell::ShellDetector),
        Arc::new(staticfile::StaticfileDetector),
        Arc::new(swift::SwiftDetector),
        Arc::new(zig::ZigDetector),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_sorted() {
        let ids: Vec<String> = super::all().iter().map(|d| d.id().to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
