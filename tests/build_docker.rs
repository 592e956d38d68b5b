//! Builds on the real Docker Engine: a failing build says which line failed, clean of
//! colour codes and progress bars; Kyozo's labels cost one step; a step that outgrows
//! the build's memory limit says so; and builds beyond the cap wait their turn.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/docker.rs"]
mod docker;

use kyozo::backend::{BackendError, BuildLimits, BuildProgress, BuildSpec, ContainerBackend};

use docker::{Cleanup, busybox, engine};

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn spec(dir: &tempfile::TempDir, tag: &str, cleanup: &Cleanup) -> BuildSpec {
    let mut spec = BuildSpec::default();
    spec.context = dir.path().to_path_buf();
    spec.dockerfile = "Dockerfile".into();
    spec.tag = tag.into();
    spec.labels = cleanup.labels();
    spec
}

#[tokio::test]
async fn a_failing_build_names_its_failing_line_clean() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let cleanup = Cleanup::new();
    // One step (nothing cached is left behind): a coloured hint, a progress bar drawn
    // with carriage returns, a 3,000-byte line written in three pieces, then the line
    // that says what failed, and a failure.
    let dir = context(&format!(
        "FROM {image}\n\
         RUN printf '\\033[91mhint: a coloured hint\\033[0m\\n'; \
         printf 'fetching 10%%\\rfetching 60%%\\rfetching 100%%\\n'; \
         for part in 1 2 3; do head -c 1000 /dev/zero | tr '\\0' \"$part\"; sleep 0.4; done; echo; \
         printf '\\033[1;31merror: the build failed here\\033[0m\\n' >&2; exit 3\n"
    ));
    let mut seen = Vec::new();
    let e = engine
        .build_image(
            &spec(&dir, "kyozo-test/failing-line:1", &cleanup),
            &mut |p| {
                if let BuildProgress::Output(line) = p {
                    seen.push(line);
                }
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, BackendError::Build { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        !message.contains('\u{1b}') && !message.contains("\\u{1b}") && !message.contains('\r'),
        "no escape codes nor carriage returns: {message:?}"
    );
    assert!(
        message.contains("non-zero code: 3"),
        "the builder's error: {message}"
    );
    let lines: Vec<&str> = message.lines().collect();
    assert!(
        lines.contains(&"error: the build failed here"),
        "the failing line, whole and clean: {message}"
    );
    assert!(lines.contains(&"hint: a coloured hint"), "{message}");
    assert!(
        lines.contains(&"fetching 100%"),
        "a progress bar as it ended: {message}"
    );
    let long = format!(
        "{}{}{}",
        "1".repeat(1000),
        "2".repeat(1000),
        "3".repeat(1000)
    );
    assert!(
        lines.contains(&long.as_str()),
        "the line written in pieces is one line: {message}"
    );
    // The progress shows whole lines too.
    assert!(seen.contains(&long), "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "{seen:?}");
}

/// The steps a build added on top of its base image that set labels.
async fn label_steps(tag: &str, base: &str) -> Vec<String> {
    let docker = bollard::Docker::connect_with_defaults().unwrap();
    let history = |image: String| {
        let docker = docker.clone();
        async move { docker.image_history(&image).await.unwrap() }
    };
    let built = history(tag.to_string()).await;
    let below = history(base.to_string()).await.len();
    built[..built.len() - below]
        .iter()
        .map(|h| h.created_by.clone())
        .filter(|c| c.contains("LABEL"))
        .collect()
}

async fn image_labels(tag: &str) -> std::collections::HashMap<String, String> {
    let docker = bollard::Docker::connect_with_defaults().unwrap();
    let inspected = docker.inspect_image(tag).await.unwrap();
    inspected.config.unwrap().labels.unwrap_or_default()
}

#[tokio::test]
async fn kyozos_labels_cost_one_step_and_arrive_as_written() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let cleanup = Cleanup::new();
    let odd = r#"a "quoted" $HOME, a \back\slash and ` tick"#;
    for (tag, dockerfile) in [
        (
            "kyozo-test/labels:1",
            format!("FROM {image}\nRUN echo built\n"),
        ),
        // Another escape character, and no newline at the end.
        (
            "kyozo-test/labels:2",
            format!("# escape=`\nFROM {image}\nRUN echo `\n  built"),
        ),
    ] {
        let dir = context(&dockerfile);
        let mut spec = spec(&dir, tag, &cleanup);
        for (k, v) in [
            ("dev.kyozo.team", "t"),
            ("dev.kyozo.workspace", "w"),
            ("dev.kyozo.service", "s"),
            ("dev.kyozo.stack", "node"),
            ("dev.kyozo.odd", odd),
        ] {
            spec.labels.insert(k.into(), v.into());
        }
        engine.build_image(&spec, &mut |_| {}).await.unwrap();
        let steps = label_steps(tag, &image).await;
        assert!(
            steps.len() <= 1,
            "{tag}: one LABEL step at most: {steps:#?}"
        );
        let labels = image_labels(tag).await;
        for (k, v) in &spec.labels {
            assert_eq!(labels.get(k), Some(v), "{tag}: {k} in {labels:?}");
        }
        assert_eq!(
            labels.get("dev.kyozo.managed-by").map(String::as_str),
            Some("kyozo")
        );
        // The user's Dockerfile is theirs: the step went to the copy sent.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap(),
            dockerfile
        );
    }
}

#[tokio::test]
async fn a_step_past_the_memory_limit_says_the_build_ran_out_of_memory() {
    let Some(engine) = engine().await else { return };
    let image = busybox(&engine).await;
    let cleanup = Cleanup::new();
    // The shell holds 300 MB in a variable: past a 64 MiB limit.
    let dir = context(&format!(
        "FROM {image}\nRUN x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${{#x}}\n"
    ));
    let mut spec = spec(&dir, "kyozo-test/out-of-memory:1", &cleanup);
    spec.limits = BuildLimits::default().with_memory_bytes(Some(64 << 20));
    let e = engine.build_image(&spec, &mut |_| {}).await.unwrap_err();
    assert!(matches!(e, BackendError::Build { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        message.contains("the build ran out of memory (limit 64 MiB)"),
        "{message}"
    );
    assert!(
        message.contains("KyozoBuilder::build_limits"),
        "how to raise it: {message}"
    );
}

#[tokio::test]
async fn a_memory_limit_the_engine_client_cannot_send_is_refused_before_building() {
    let Some(engine) = engine().await else { return };
    let cleanup = Cleanup::new();
    let dir = context("FROM scratch\n");
    let mut spec = spec(&dir, "kyozo-test/too-much-memory:1", &cleanup);
    spec.limits = BuildLimits::default().with_memory_bytes(Some(4 << 30));
    let e = engine.build_image(&spec, &mut |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("memory limit of 4096 MiB"), "{e}");
}

/// Deploys `count` services at once whose builds each print a begin and an end marker
/// around a `sleep` of `seconds`, with the builds capped at `cap` (`None`: Kyozo's
/// default), and returns the markers in the order they came.
async fn build_markers(cap: Option<usize>, count: usize, seconds: u32) -> Vec<String> {
    use kyozo::Kyozo;
    use kyozo::model::ServiceInstance;
    use std::sync::{Arc, Mutex};

    let Some(engine) = engine().await else {
        return Vec::new();
    };
    let image = busybox(&engine).await;
    let backend: Arc<dyn ContainerBackend> = Arc::new(engine);
    let mut builder = Kyozo::builder().backend(backend);
    if let Some(cap) = cap {
        builder = builder.max_concurrent_builds(cap);
    }
    let kyozo = builder.build().unwrap();
    let (team, owner) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let _cleanup = Cleanup::for_label(kyozo::backend::LABEL_TEAM, team.id.to_string());
    let root = tempfile::tempdir().unwrap();
    let mut services = Vec::new();
    for name in (0..count).map(|i| format!("s{i}")) {
        let name = name.as_str();
        // A workspace each: the three deployments share nothing but the build queue.
        let mut ws = kyozo
            .create_workspace(owner.actor(), team.id, name)
            .unwrap();
        ws.root = Some(root.path().to_path_buf());
        kyozo.store().put_workspace(&ws).unwrap();
        let mut s = ServiceInstance::new(team.id, ws.id, name, ".");
        s.config.dockerfile_text = Some(format!(
            "FROM {image}\n\
             RUN echo begin-{name} {run} && sleep {seconds} && echo end-{name} {run}\n\
             CMD [\"sleep\", \"3600\"]\n",
            // Never a cached step, which would print nothing.
            run = team.id
        ));
        services.push(kyozo.create_service(owner.actor(), s).unwrap());
    }
    let markers = Arc::new(Mutex::new(Vec::<String>::new()));
    let actor = owner.actor();
    let deploys = services.iter().map(|s| {
        let (kyozo, markers) = (kyozo.clone(), markers.clone());
        let (team, id) = (s.team, s.id);
        async move {
            kyozo
                .deploy_with_progress(actor, team, id, &mut |p| {
                    if let kyozo::runtime::DeployProgress::BuildOutput(line) = p
                        && (line.starts_with("begin-") || line.starts_with("end-"))
                    {
                        let marker = line.split(' ').next().unwrap_or_default().to_string();
                        markers.lock().unwrap().push(marker);
                    }
                })
                .await
        }
    });
    for report in futures_util::future::join_all(deploys).await {
        report.unwrap();
    }
    let markers = markers.lock().unwrap().clone();
    assert_eq!(markers.len(), 2 * count, "{markers:?}");
    markers
}

/// The most builds that ran at once, from their markers.
fn most_at_once(markers: &[String]) -> usize {
    let (mut now, mut most) = (0usize, 0usize);
    for m in markers {
        if m.starts_with("begin-") {
            now += 1;
            most = most.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    most
}

/// Three services whose builds print a marker, wait, and print another, deployed at
/// once by a Kyozo that builds one image at a time: no build starts before the one
/// before it ended.
#[tokio::test]
async fn builds_beyond_the_cap_wait_their_turn() {
    if engine().await.is_none() {
        return;
    }
    let markers = build_markers(Some(1), 3, 2).await;
    for pair in markers.chunks(2) {
        assert_eq!(
            pair[1],
            pair[0].replace("begin-", "end-"),
            "each build ends before the next begins: {markers:?}"
        );
    }
}

#[tokio::test]
async fn by_default_one_build_runs_per_core() {
    if engine().await.is_none() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert_eq!(kyozo::runtime::default_concurrent_builds(), cores);
    // Steps long enough that the builds the cap lets through overlap even when their
    // starts are seconds apart on a loaded machine.
    let markers = build_markers(None, cores + 1, 8).await;
    assert_eq!(most_at_once(&markers), cores, "{cores} cores: {markers:?}");
}
