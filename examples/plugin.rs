//! Loads WASM detector plugins and prints what they found in a folder, with the
//! merged topology.
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 --manifest-path detectors/Cargo.toml
//! cargo run --example plugin -- detectors/target/wasm32-wasip2/release/kyozo_detector_hugo.wasm detectors/hugo/fixtures/basic
//! ```

use kyozo::topology::{ProjectView, wasm::PluginHost};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let Some(folder) = args.pop() else {
        eprintln!("usage: plugin PLUGIN.wasm... FOLDER");
        std::process::exit(2);
    };
    if args.is_empty() {
        eprintln!("usage: plugin PLUGIN.wasm... FOLDER");
        std::process::exit(2);
    }
    let host = PluginHost::shared()?;
    let view = ProjectView::scan(&folder)?;
    let mut builder = kyozo::Kyozo::builder();
    for path in &args {
        let started = std::time::Instant::now();
        let plugin = host.load(path.as_str())?;
        let m = plugin.metadata();
        println!(
            "loaded {} {} ({}) in {:.1} ms, interface {}",
            m.id,
            m.version,
            m.name,
            started.elapsed().as_secs_f64() * 1000.0,
            m.interface_version
        );
        let run = plugin.run(&view)?;
        if run.skipped {
            println!("  skipped: none of the files it reads is here");
        }
        for d in &run.detections {
            println!(
                "  {} {} ({:.2})",
                if d.path.is_empty() { "." } else { &d.path },
                d.language,
                d.confidence
            );
            for e in &d.evidence {
                println!("    {}: {}", e.path, e.reason);
            }
        }
        for line in &run.log {
            println!("  log: {line}");
        }
        builder = builder.detector_plugin(path.as_str());
    }
    let kyozo = builder.build()?;
    let topology = kyozo.engine().analyze(&folder)?;
    println!("\ntopology ({} services):", topology.services.len());
    for s in &topology.services {
        println!(
            "  {} at {}: {} {} ({:.2}) by {}",
            s.name,
            s.path,
            s.language,
            s.framework.as_deref().unwrap_or("-"),
            s.confidence,
            s.detectors.join(", ")
        );
        if let Some(start) = &s.start_command {
            println!("    start: {} ({})", start.value, start.source);
        }
    }
    Ok(())
}
