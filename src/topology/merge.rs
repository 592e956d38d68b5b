//! Merging detections into a [`Topology`]: the rules of `docs/topology.md`, in code.
//!
//! Detections are first sorted, so the result never depends on the order detectors ran
//! or the walk visited files. Folders are merged one by one; compose services are then
//! laid over the folders they build from; names are made unique; the dependency graph
//! gives the start order.
//!
//! Plugins (detectors `plugin:<id>`) the user does not trust never override a value a
//! built-in set: in a folder a built-in claims, a plugin of the same stack only fills
//! fields no built-in filled, and everything else it said is kept as a rival claim.
//! What one plugin adds to a topology (rival claims, warnings) is capped.

use crate::topology::is_inside;
use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use super::SeenFolder;
use super::common::service_name;
use super::detect::{Detection, DetectionKind, Evidence, Provenance, Sourced};
use super::view::{ProjectView, file_name};
use super::{
    EnvHint, PortHint, Recommendation, RivalClaim, RivalValue, SharedPackage, Strategy, Topology,
    TopologyService,
};

/// Rival claims one plugin may leave in a topology; the rest are counted in a warning.
pub const MAX_PLUGIN_RIVALS: usize = 16;
/// Warnings about one plugin's detections kept in a topology; the rest are counted.
pub const MAX_PLUGIN_WARNINGS: usize = 16;
/// Evidence entries one plugin may give one service (the rest are not kept).
pub const MAX_PLUGIN_EVIDENCE: usize = 32;
/// Evidence entries kept per rival claim of a plugin.
pub const MAX_PLUGIN_RIVAL_EVIDENCE: usize = 4;
/// Bytes of a plugin's string kept in a rival claim or a warning.
pub const MAX_PLUGIN_TEXT: usize = 256;

/// The id of the plugin that made `d` (`hugo` for `plugin:hugo`), if a plugin did.
fn plugin_id(detector: &str) -> Option<&str> {
    detector.strip_prefix("plugin:")
}

/// Whether `d` comes from a plugin the user does not trust.
fn is_guest(d: &Detection, trusted: &[String]) -> bool {
    plugin_id(&d.detector).is_some_and(|id| !trusted.iter().any(|t| t == id))
}

/// `text` cut to [`MAX_PLUGIN_TEXT`] bytes on a character boundary, `…` when cut.
fn clip(text: &str) -> String {
    if text.len() <= MAX_PLUGIN_TEXT {
        return text.to_string();
    }
    let mut end = MAX_PLUGIN_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `source` with its text clipped as [`clip`] does.
fn clip_source(source: &Provenance) -> Provenance {
    match source {
        Provenance::Declared { at } => Provenance::declared(clip(at)),
        Provenance::Inferred { from } => Provenance::inferred(clip(from)),
        Provenance::Default { assumed_for } => Provenance::default_for(clip(assumed_for)),
        Provenance::Plugin {
            id,
            source,
            assumed,
        } => Provenance::Plugin {
            id: id.clone(),
            source: clip(source),
            assumed: *assumed,
        },
    }
}

/// Detectors whose detections describe how a folder is run rather than what language
/// it is in. Their values outrank a language detector's (see `rank`).
pub(crate) const COMPOSE: &str = "compose";
/// See [`COMPOSE`].
pub(crate) const DOCKERFILE: &str = "dockerfile";
/// See [`COMPOSE`].
pub(crate) const PROCFILE: &str = "procfile";

fn is_meta(d: &Detection) -> bool {
    matches!(d.detector.as_str(), COMPOSE | DOCKERFILE | PROCFILE)
}

/// Which detection's value wins for one field: compose (what the user wrote to run the
/// stack) beats the Dockerfile (what builds the image), which beats the Procfile, which
/// beats the language detector. A value read from a file always beats an assumed
/// default, whatever its detector.
fn rank(d: &Detection) -> u8 {
    match d.detector.as_str() {
        COMPOSE => 4,
        DOCKERFILE => 3,
        PROCFILE => 2,
        _ => 1,
    }
}

/// Languages that describe files, not apps: dropped when nested in another service.
const ASSET_LANGUAGES: &[&str] = &["shell", "staticfile"];

#[derive(Debug, Clone)]
struct Draft<'a> {
    path: String,
    language: String,
    compose_name: Option<String>,
    contributions: Vec<&'a Detection>,
    rivals: Vec<&'a Detection>,
    /// Untrusted plugins' detections of the chosen stack in a folder a built-in
    /// claims: they fill only fields no contribution filled.
    fillers: Vec<&'a Detection>,
    /// Untrusted plugins' claims of another stack in a folder a built-in claims: shown,
    /// never lowering the confidence.
    guest_rivals: Vec<&'a Detection>,
}

/// Merges `detections` found in `view` into a topology (its `duration_ms` is left 0),
/// trusting no plugin: see [`merge_trusting`].
pub fn merge(view: &ProjectView, detections: Vec<Detection>) -> Topology {
    merge_trusting(view, detections, &[])
}

/// Merges `detections` found in `view` into a topology, trusting the plugins whose ids
/// (`hugo`) are in `trusted`: their values compete with the built-ins' by the same
/// rules as the built-ins'. A plugin not trusted never overrides a value a built-in
/// set; it fills fields no built-in filled and adds services no built-in found.
pub fn merge_trusting(
    view: &ProjectView,
    mut detections: Vec<Detection>,
    trusted: &[String],
) -> Topology {
    detections.sort_by(|a, b| {
        (&a.path, &a.detector, &a.language, a.kind, &a.hints.name)
            .cmp(&(&b.path, &b.detector, &b.language, b.kind, &b.hints.name))
            .then(a.confidence.total_cmp(&b.confidence))
    });
    let mut warnings: Vec<String> = Vec::new();
    let mut plugin_warnings: BTreeMap<String, usize> = BTreeMap::new();
    detections.retain(|d| {
        let ok = d.path.is_empty() || view.is_dir(&d.path);
        if !ok {
            let seen = plugin_warnings.entry(d.detector.clone()).or_default();
            *seen += 1;
            if plugin_id(&d.detector).is_none() || *seen <= MAX_PLUGIN_WARNINGS {
                warnings.push(format!(
                    "detector {} named a folder that is not in the project: {:?}",
                    d.detector,
                    clip(&d.path)
                ));
            }
        }
        ok
    });
    for (detector, seen) in &plugin_warnings {
        if plugin_id(detector).is_some() && *seen > MAX_PLUGIN_WARNINGS {
            warnings.push(format!(
                "detector {detector}: {} more warnings dropped (at most {MAX_PLUGIN_WARNINGS} per plugin)",
                seen - MAX_PLUGIN_WARNINGS
            ));
        }
    }

    let mut patterns: BTreeSet<String> = detections
        .iter()
        .flat_map(|d| d.hints.patterns.iter().cloned())
        .collect();

    // Folder by folder, without compose.
    let mut by_path: BTreeMap<&str, Vec<&Detection>> = BTreeMap::new();
    for d in detections.iter().filter(|d| d.detector != COMPOSE) {
        by_path.entry(d.path.as_str()).or_default().push(d);
    }
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    let mut libraries: Vec<SharedPackage> = Vec::new();
    for (path, group) in &by_path {
        let services: Vec<&Detection> = group
            .iter()
            .copied()
            .filter(|d| d.kind == DetectionKind::Service)
            .collect();
        if services.is_empty() {
            if let Some(lib) = group.iter().find(|d| d.kind == DetectionKind::Library) {
                libraries.push(SharedPackage {
                    name: lib
                        .hints
                        .name
                        .as_ref()
                        .map_or_else(|| folder_name(view, path), |n| n.value.clone()),
                    path: display_path(path),
                    language: lib.language.clone(),
                });
            }
            continue;
        }
        // A folder a built-in (or a trusted plugin) claims is theirs to describe;
        // untrusted plugins only fill gaps there.
        let (guests, hosts): (Vec<&Detection>, Vec<&Detection>) =
            services.iter().partition(|d| is_guest(d, trusted));
        if hosts.is_empty() {
            drafts.push(folder_draft(path, &guests));
        } else {
            let mut draft = folder_draft(path, &hosts);
            for g in guests {
                if g.language == draft.language {
                    draft.fillers.push(g);
                } else {
                    draft.guest_rivals.push(g);
                }
            }
            drafts.push(draft);
        }
    }

    // Compose services over the folders they build from.
    let compose: Vec<&Detection> = detections
        .iter()
        .filter(|d| d.detector == COMPOSE)
        .collect();
    if !compose.is_empty() {
        patterns.insert("compose".into());
    }
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    for c in &compose {
        let name = c.hints.name.as_ref().map(|n| n.value.clone());
        let base = drafts.iter().position(|d| {
            d.path == c.path && d.compose_name.is_none() && !claimed.contains(&d.path)
        });
        match base {
            Some(i) if c.hints.image.is_none() => {
                claimed.insert(c.path.clone());
                drafts[i].compose_name = name;
                drafts[i].contributions.push(c);
            }
            _ => {
                // A second compose service of the same folder (a worker), or one that
                // only runs an image: a service of its own, in the folder's language.
                let mut d = match (
                    c.hints.image.is_none(),
                    drafts.iter().find(|d| d.path == c.path),
                ) {
                    (true, Some(folder)) => {
                        let mut d = folder.clone();
                        // Another compose service of this folder contributed to it, not
                        // to this one.
                        d.contributions.retain(|x| x.detector != COMPOSE);
                        d
                    }
                    _ => Draft {
                        path: c.path.clone(),
                        language: c.language.clone(),
                        compose_name: None,
                        contributions: Vec::new(),
                        rivals: Vec::new(),
                        fillers: Vec::new(),
                        guest_rivals: Vec::new(),
                    },
                };
                d.compose_name = name;
                d.contributions.push(c);
                drafts.push(d);
            }
        }
    }

    // Assets nested in another service are part of it, not services.
    let app_paths: Vec<String> = drafts
        .iter()
        .filter(|d| !ASSET_LANGUAGES.contains(&d.language.as_str()))
        .map(|d| d.path.clone())
        .collect();
    drafts.retain(|d| {
        !(ASSET_LANGUAGES.contains(&d.language.as_str())
            && d.compose_name.is_none()
            && app_paths.iter().any(|p| is_inside(&d.path, p)))
    });

    let mut recommendations: BTreeSet<Recommendation> = BTreeSet::new();
    let mut services: Vec<TopologyService> = drafts
        .iter()
        .map(|d| build_service(view, d, &mut recommendations))
        .collect();
    cap_plugin_rivals(&mut services, &mut warnings);
    // A service only untrusted plugins describe never takes a name from one a built-in
    // found (its name is its address on the network and its record in the state).
    let guest_only: Vec<bool> = drafts
        .iter()
        .map(|d| {
            !d.contributions.is_empty() && d.contributions.iter().all(|c| is_guest(c, trusted))
        })
        .collect();
    unique_names(&mut services, &guest_only);

    // Compose names in depends_on point at services by compose name; make them final.
    let compose_to_final: BTreeMap<String, String> = drafts
        .iter()
        .zip(&services)
        .filter_map(|(d, s)| d.compose_name.clone().map(|c| (c, s.name.clone())))
        .collect();
    let names: BTreeSet<String> = services.iter().map(|s| s.name.clone()).collect();
    for s in &mut services {
        let deps: BTreeSet<String> = s
            .depends_on
            .iter()
            .filter_map(|d| {
                compose_to_final
                    .get(d)
                    .cloned()
                    .or_else(|| names.contains(d).then(|| d.clone()))
            })
            .filter(|d| *d != s.name)
            .collect();
        s.depends_on = deps.into_iter().collect();
    }
    env_references(&mut services);

    let order = start_order(&services, &mut warnings);
    let mut ordered: Vec<TopologyService> = Vec::with_capacity(services.len());
    let mut slots: Vec<Option<TopologyService>> = services.into_iter().map(Some).collect();
    for i in order {
        if let Some(s) = slots.get_mut(i).and_then(Option::take) {
            ordered.push(s);
        }
    }
    let services = ordered;

    for s in &services {
        general_recommendations(s, &mut recommendations);
    }
    let strategy = if services.is_empty() {
        Strategy::None
    } else if !compose.is_empty() {
        Strategy::Compose
    } else if services.len() > 1 {
        Strategy::Monorepo
    } else {
        Strategy::Single
    };
    if services.len() > 1 && strategy == Strategy::Monorepo {
        patterns.insert("monorepo".into());
    }
    libraries.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
    warnings.extend(view.errors().iter().map(ToString::to_string));
    Topology {
        root: view.root().to_path_buf(),
        strategy,
        services,
        shared_packages: libraries,
        patterns: patterns.into_iter().collect(),
        recommendations: recommendations.into_iter().collect(),
        warnings,
        duration_ms: 0,
        seen: SeenFolder(Some(view.clone())),
    }
}

fn folder_draft<'a>(path: &str, services: &[&'a Detection]) -> Draft<'a> {
    let languages: Vec<&&Detection> = services.iter().filter(|d| !is_meta(d)).collect();
    // The primary language: the most confident language detection; ties go to the
    // alphabetically first language, so the choice never depends on run order.
    let primary = languages.iter().copied().copied().max_by(|a, b| {
        a.confidence
            .total_cmp(&b.confidence)
            .then_with(|| b.language.cmp(&a.language))
    });
    let language = match primary {
        Some(p) => p.language.clone(),
        None if services.iter().any(|d| d.detector == PROCFILE)
            && !services.iter().any(|d| d.detector == DOCKERFILE) =>
        {
            "shell".to_string()
        }
        None => "docker".to_string(),
    };
    let contributions: Vec<&Detection> = services
        .iter()
        .copied()
        .filter(|d| is_meta(d) || d.language == language)
        .collect();
    let rivals: Vec<&Detection> = services
        .iter()
        .copied()
        .filter(|d| !is_meta(d) && d.language != language)
        .collect();
    Draft {
        path: path.to_string(),
        language,
        compose_name: None,
        contributions,
        rivals,
        fillers: Vec::new(),
        guest_rivals: Vec::new(),
    }
}

/// The best value of one field among `among`: read beats default, then rank, then
/// confidence, then the detector id (for determinism); with the detection it came from.
fn best<'a, T: 'a>(
    among: &[&'a Detection],
    field: &impl Fn(&'a Detection) -> Option<&'a Sourced<T>>,
) -> Option<(&'a Detection, &'a Sourced<T>)> {
    among
        .iter()
        .filter_map(|d| field(d).map(|v| (*d, v)))
        .max_by(|(a, va), (b, vb)| {
            (!va.is_default())
                .cmp(&!vb.is_default())
                .then(rank(a).cmp(&rank(b)))
                .then(a.confidence.total_cmp(&b.confidence))
                .then(b.detector.cmp(&a.detector))
        })
}

/// The value of one field: the contributions' best, or, when none of them set it, the
/// best of the untrusted plugins that agree on the stack.
fn pick<'a, T: Clone + 'a>(
    draft: &Draft<'a>,
    field: impl Fn(&'a Detection) -> Option<&'a Sourced<T>>,
) -> Option<Sourced<T>> {
    pick_with_origin(draft, &field).map(|(_, v)| v.clone())
}

fn pick_with_origin<'a, T: 'a>(
    draft: &Draft<'a>,
    field: &impl Fn(&'a Detection) -> Option<&'a Sourced<T>>,
) -> Option<(&'a Detection, &'a Sourced<T>)> {
    best(&draft.contributions, field).or_else(|| best(&draft.fillers, field))
}

/// Who gives the values of a list field: the contributions if any of them gave one,
/// else the untrusted plugins that agree on the stack.
fn list_sources<'a, 'd>(
    draft: &'d Draft<'a>,
    has: impl Fn(&'a Detection) -> bool,
) -> &'d [&'a Detection] {
    if draft.contributions.iter().any(|d| has(d)) {
        &draft.contributions
    } else {
        &draft.fillers
    }
}

/// Every value of a list field, once, each with its best source.
fn gather<'a>(
    draft: &Draft<'a>,
    field: impl Fn(&'a Detection) -> &'a [Sourced<String>],
) -> Vec<Sourced<String>> {
    let mut best: BTreeMap<String, (u8, bool, Provenance)> = BTreeMap::new();
    for d in list_sources(draft, |d| !field(d).is_empty()) {
        for v in field(d) {
            let key = (rank(d), !v.is_default(), v.source.clone());
            let e = best.entry(v.value.clone()).or_insert(key.clone());
            if (key.1, key.0) > (e.1, e.0) {
                *e = key;
            }
        }
    }
    best.into_iter()
        .map(|(value, (_, _, source))| Sourced::new(value, source))
        .collect()
}

fn build_service(
    view: &ProjectView,
    draft: &Draft<'_>,
    recommendations: &mut BTreeSet<Recommendation>,
) -> TopologyService {
    let name = draft
        .compose_name
        .clone()
        .or_else(|| pick(draft, |d| d.hints.name.as_ref()).map(|n| n.value))
        .unwrap_or_else(|| folder_name(view, &draft.path));
    let name = service_name(&name);

    // Ports: every port read from a file; assumed defaults only when nothing was read.
    let mut ports: BTreeMap<u16, (bool, u8, Provenance)> = BTreeMap::new();
    for d in list_sources(draft, |d| !d.hints.ports.is_empty()) {
        for p in &d.hints.ports {
            let key = (!p.is_default(), rank(d), p.source.clone());
            let e = ports.entry(p.value).or_insert(key.clone());
            if (key.0, key.1) > (e.0, e.1) {
                *e = key;
            }
        }
    }
    if ports.values().any(|(read, _, _)| *read) {
        ports.retain(|_, (read, _, _)| *read);
    }
    let ports: Vec<PortHint> = ports
        .into_iter()
        .map(|(port, (_, _, source))| PortHint { port, source })
        .collect();

    let env: Vec<EnvHint> = gather(draft, |d| &d.hints.env)
        .into_iter()
        .map(|e| EnvHint {
            name: e.value,
            source: e.source,
        })
        .collect();
    let backing: BTreeSet<String> = gather(draft, |d| &d.hints.backing_services)
        .into_iter()
        .map(|b| b.value)
        .collect();
    let depends_on: Vec<String> = gather(draft, |d| &d.hints.depends_on)
        .into_iter()
        .map(|d| d.value)
        .collect();

    let context = draft
        .contributions
        .iter()
        .filter(|d| d.hints.context.is_some())
        .max_by_key(|d| rank(d))
        .and_then(|d| d.hints.context.clone())
        .unwrap_or_else(|| draft.path.clone());

    // Confidence: the primary detection, corroborated by the others (noisy-or), and
    // lowered by rival stacks claiming the same folder. See docs/topology.md.
    let mut doubt = 1.0;
    let mut primary_seen = false;
    let mut sorted: Vec<&&Detection> = draft.contributions.iter().collect();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let has_language = draft.contributions.iter().any(|d| !is_meta(d));
    for d in sorted {
        let weight = if is_meta(d) && (has_language || primary_seen) {
            0.5
        } else if !primary_seen {
            primary_seen = true;
            1.0
        } else {
            0.3
        };
        doubt *= 1.0 - weight * d.confidence;
    }
    let mut confidence = 1.0 - doubt;
    let strongest_rival = draft
        .rivals
        .iter()
        .map(|d| d.confidence)
        .fold(0.0, f64::max);
    confidence *= 1.0 - 0.25 * strongest_rival;
    let confidence = (confidence.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;

    // Plugins that agree on the stack back it with their evidence, but do not move
    // the confidence (computed above from the contributions alone).
    let mut evidence: BTreeSet<Evidence> = BTreeSet::new();
    let mut detectors: BTreeSet<String> = BTreeSet::new();
    let mut per_plugin: BTreeMap<&str, usize> = BTreeMap::new();
    for d in draft.contributions.iter().chain(&draft.fillers) {
        detectors.insert(d.detector.clone());
        if plugin_id(&d.detector).is_none() {
            evidence.extend(d.evidence.iter().cloned());
            continue;
        }
        let kept = per_plugin.entry(d.detector.as_str()).or_default();
        for e in &d.evidence {
            if *kept >= MAX_PLUGIN_EVIDENCE {
                break;
            }
            let e = Evidence {
                path: clip(&e.path),
                reason: clip(&e.reason),
                detector: e.detector.clone(),
            };
            if evidence.insert(e) {
                *kept += 1;
            }
        }
    }
    let dockerfile = draft
        .contributions
        .iter()
        .filter_map(|d| d.hints.dockerfile.clone().map(|f| (rank(d), f)))
        .max()
        .map(|(_, f)| f);

    for d in &draft.contributions {
        for n in &d.hints.notes {
            recommendations.insert(Recommendation {
                service: Some(name.clone()),
                code: n.code.clone(),
                message: n.message.clone(),
            });
        }
    }
    let rival_names: BTreeSet<String> = draft
        .rivals
        .iter()
        .chain(&draft.guest_rivals)
        .filter(|r| r.confidence >= 0.3)
        .map(|r| {
            format!(
                "{} ({:.2}, by {})",
                clip(&r.language),
                r.confidence,
                r.detector
            )
        })
        .collect();
    if !rival_names.is_empty() {
        let shown = rival_names.len().min(MAX_PLUGIN_RIVALS);
        let mut seen: Vec<String> = rival_names.iter().take(shown).cloned().collect();
        if rival_names.len() > shown {
            seen.push(format!("and {} more", rival_names.len() - shown));
        }
        recommendations.insert(Recommendation {
            service: Some(name.clone()),
            code: "two-stacks".into(),
            message: format!(
                "{} is claimed by several stacks: chose {}, also seen {}; add a Dockerfile or split the folder to make it explicit",
                display_path(&draft.path),
                draft.language,
                seen.join(", ")
            ),
        });
    }

    let framework = pick_with_origin(draft, &|d: &'_ Detection| d.hints.framework.as_ref());
    let package_manager =
        pick_with_origin(draft, &|d: &'_ Detection| d.hints.package_manager.as_ref());
    let runtime_version =
        pick_with_origin(draft, &|d: &'_ Detection| d.hints.runtime_version.as_ref());
    let install_command =
        pick_with_origin(draft, &|d: &'_ Detection| d.hints.install_command.as_ref());
    let build_command = pick_with_origin(draft, &|d: &'_ Detection| d.hints.build_command.as_ref());
    let start_command = pick_with_origin(draft, &|d: &'_ Detection| d.hints.start_command.as_ref());
    let chosen = [
        ("framework", framework),
        ("package_manager", package_manager),
        ("runtime_version", runtime_version),
        ("install_command", install_command),
        ("build_command", build_command),
        ("start_command", start_command),
    ];
    let rivals = rival_claims(draft, &chosen, &ports, &backing);
    let value = |i: usize| chosen[i].1.map(|(_, v)| v.clone());

    TopologyService {
        name,
        path: display_path(&draft.path),
        context: display_path(&context),
        language: draft.language.clone(),
        framework: value(0).map(|f| f.value),
        package_manager: value(1).map(|p| p.value),
        runtime_version: value(2),
        install_command: value(3),
        build_command: value(4),
        start_command: value(5),
        ports,
        env,
        backing_services: backing.into_iter().collect(),
        depends_on,
        dockerfile,
        image: pick(draft, |d| d.hints.image.as_ref()).map(|i| i.value),
        healthcheck: pick(draft, |d| d.hints.healthcheck.as_ref()),
        confidence,
        evidence: evidence.into_iter().collect(),
        detectors: detectors.into_iter().collect(),
        rivals,
    }
}

/// A field's name and the value chosen for it, with the detection it came from.
type Chosen<'a> = (&'static str, Option<(&'a Detection, &'a Sourced<String>)>);

/// The rival claims of a service: detections of other stacks, and the values of
/// detections of its stack that lost to another's where a plugin was involved (an
/// untrusted plugin's value a built-in's outranked, or a built-in's value a trusted
/// plugin's replaced).
fn rival_claims(
    draft: &Draft<'_>,
    chosen: &[Chosen<'_>],
    ports: &[PortHint],
    backing: &BTreeSet<String>,
) -> Vec<RivalClaim> {
    let claim = |d: &Detection, values: Vec<RivalValue>| {
        let plugin = plugin_id(&d.detector).is_some();
        let evidence = if plugin {
            d.evidence
                .iter()
                .take(MAX_PLUGIN_RIVAL_EVIDENCE)
                .map(|e| Evidence {
                    path: clip(&e.path),
                    reason: clip(&e.reason),
                    detector: e.detector.clone(),
                })
                .collect()
        } else {
            d.evidence.clone()
        };
        RivalClaim {
            detector: d.detector.clone(),
            language: if plugin {
                clip(&d.language)
            } else {
                d.language.clone()
            },
            confidence: d.confidence,
            evidence,
            values,
        }
    };
    let mut out: Vec<RivalClaim> = draft
        .rivals
        .iter()
        .chain(&draft.guest_rivals)
        .map(|d| claim(d, Vec::new()))
        .collect();
    let lost = |d: &Detection| -> Vec<RivalValue> {
        let plugin = plugin_id(&d.detector).is_some();
        let mut values = Vec::new();
        let fields = [
            d.hints.framework.as_ref(),
            d.hints.package_manager.as_ref(),
            d.hints.runtime_version.as_ref(),
            d.hints.install_command.as_ref(),
            d.hints.build_command.as_ref(),
            d.hints.start_command.as_ref(),
        ];
        for ((field, winner), mine) in chosen.iter().zip(fields) {
            let (Some((by, won)), Some(mine)) = (winner, mine) else {
                continue;
            };
            // Only disagreements across the plugin line: between built-ins, the
            // rules of docs/topology.md choose and nothing is shown.
            let across = plugin != plugin_id(&by.detector).is_some();
            if across && won.value != mine.value {
                values.push(RivalValue {
                    field: (*field).to_string(),
                    value: clip(&mine.value),
                    source: clip_source(&mine.source),
                });
            }
        }
        if plugin {
            for p in &d.hints.ports {
                if !ports.iter().any(|q| q.port == p.value) {
                    values.push(RivalValue {
                        field: "ports".into(),
                        value: p.value.to_string(),
                        source: clip_source(&p.source),
                    });
                }
            }
            for b in &d.hints.backing_services {
                if !backing.contains(&b.value) {
                    values.push(RivalValue {
                        field: "backing_services".into(),
                        value: clip(&b.value),
                        source: clip_source(&b.source),
                    });
                }
            }
        }
        values
    };
    for d in draft.contributions.iter().chain(&draft.fillers) {
        let values = lost(d);
        if !values.is_empty() {
            out.push(claim(d, values));
        }
    }
    out
}

/// Keeps at most [`MAX_PLUGIN_RIVALS`] rival claims of each plugin in the topology
/// (services in path order), and says how many were dropped.
fn cap_plugin_rivals(services: &mut [TopologyService], warnings: &mut Vec<String>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in services.iter_mut() {
        s.rivals.retain(|r| {
            if plugin_id(&r.detector).is_none() {
                return true;
            }
            let n = seen.entry(r.detector.clone()).or_default();
            *n += 1;
            *n <= MAX_PLUGIN_RIVALS
        });
    }
    for (detector, n) in seen {
        if n > MAX_PLUGIN_RIVALS {
            warnings.push(format!(
                "detector {detector}: {} more rival claims dropped (at most {MAX_PLUGIN_RIVALS} per plugin)",
                n - MAX_PLUGIN_RIVALS
            ));
        }
    }
}

/// Makes names unique: a later service of the same name (in path order) gets `-2`, `-3`.
fn unique_names(services: &mut [TopologyService], guest_only: &[bool]) {
    let mut taken: BTreeSet<String> = BTreeSet::new();
    // Services built-ins (or trusted plugins) found name themselves first; then those
    // only untrusted plugins describe, which take a suffix on a clash.
    for guests in [false, true] {
        for (i, s) in services.iter_mut().enumerate() {
            if guest_only.get(i).copied().unwrap_or(false) != guests {
                continue;
            }
            if !taken.insert(s.name.clone()) {
                let mut n = 2;
                while taken.contains(&format!("{}-{n}", s.name)) {
                    n += 1;
                }
                s.name = format!("{}-{n}", s.name);
                taken.insert(s.name.clone());
            }
        }
    }
}

/// An env var of one service that names another (`USERS_API_URL` and a service
/// `users-api`) is a dependency on it.
fn env_references(services: &mut [TopologyService]) {
    let names: Vec<(String, String)> = services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.name.to_ascii_uppercase().replace('-', "_"),
            )
        })
        .collect();
    for s in services.iter_mut() {
        for (other, upper) in &names {
            if *other == s.name || upper.len() < 2 {
                continue;
            }
            let refers = s.env.iter().any(|e| {
                e.name.starts_with(&format!("{upper}_"))
                    && ["_URL", "_HOST", "_ADDR", "_ADDRESS", "_ENDPOINT"]
                        .iter()
                        .any(|suffix| e.name.ends_with(suffix))
            });
            if refers && !s.depends_on.contains(other) {
                s.depends_on.push(other.clone());
                s.depends_on.sort();
            }
        }
    }
}

/// Dependencies first; ties and cycles broken by path then name. A cycle becomes a
/// warning, never an error.
fn start_order(services: &[TopologyService], warnings: &mut Vec<String>) -> Vec<usize> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..services.len()).map(|i| graph.add_node(i)).collect();
    let index: BTreeMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    for (i, s) in services.iter().enumerate() {
        for d in &s.depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                graph.add_edge(nodes[j], nodes[i], ());
            }
        }
    }
    for scc in petgraph::algo::tarjan_scc(&graph) {
        if scc.len() > 1 {
            let mut names: Vec<&str> = scc
                .iter()
                .map(|n| services[graph[*n]].name.as_str())
                .collect();
            names.sort();
            warnings.push(format!(
                "dependency cycle between {}: started in name order",
                names.join(", ")
            ));
        }
    }
    // Kahn's algorithm with a sorted ready set: deterministic, and it degrades to name
    // order for whatever a cycle leaves.
    let key = |i: usize| (services[i].path.clone(), services[i].name.clone(), i);
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|n| {
            graph
                .neighbors_directed(*n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BTreeSet<(String, String, usize)> = (0..services.len())
        .filter(|i| indegree[*i] == 0)
        .map(key)
        .collect();
    let mut done = vec![false; services.len()];
    let mut order = Vec::with_capacity(services.len());
    while order.len() < services.len() {
        let next = match ready.pop_first() {
            Some((_, _, i)) => i,
            None => match (0..services.len()).filter(|i| !done[*i]).map(key).min() {
                Some((_, _, i)) => i,
                None => break,
            },
        };
        if done[next] {
            continue;
        }
        done[next] = true;
        order.push(next);
        for m in graph.neighbors_directed(nodes[next], petgraph::Direction::Outgoing) {
            let j = graph[m];
            indegree[j] = indegree[j].saturating_sub(1);
            if indegree[j] == 0 && !done[j] {
                ready.insert(key(j));
            }
        }
    }
    order
}

fn general_recommendations(s: &TopologyService, out: &mut BTreeSet<Recommendation>) {
    let mut add = |code: &str, message: String| {
        out.insert(Recommendation {
            service: Some(s.name.clone()),
            code: code.into(),
            message,
        });
    };
    let runs_image = s.image.is_some() || s.dockerfile.is_some();
    if s.start_command.is_none() && !runs_image {
        add(
            "no-start-command",
            format!(
                "no start command found for {}: add one (a start script, a Procfile or a Dockerfile CMD)",
                s.name
            ),
        );
    }
    if s.ports.is_empty() && s.language != "docker" {
        add(
            "port-unknown",
            format!(
                "no port found for {}: if it serves traffic, declare it (EXPOSE, compose ports or PORT in .env.example)",
                s.name
            ),
        );
    } else if s.ports.iter().all(|p| p.source.is_default())
        && !s.ports.is_empty()
        && s.language != "staticfile"
    {
        add(
            "port-assumed",
            format!(
                "{} is assumed to listen on {} ({}); declare the port to be sure",
                s.name, s.ports[0].port, s.ports[0].source
            ),
        );
    }
    if !s.ports.is_empty() && s.healthcheck.is_none() {
        add(
            "no-healthcheck",
            format!(
                "{} declares no health check: Kyozo will only check that port {} accepts connections; add a health endpoint for zero-downtime updates",
                s.name, s.ports[0].port
            ),
        );
    }
    if s.confidence < 0.5 {
        add(
            "low-confidence",
            format!(
                "{} was recognised with low confidence ({:.2}); check the evidence",
                s.name, s.confidence
            ),
        );
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ".".into()
    } else {
        path.to_string()
    }
}

fn folder_name(view: &ProjectView, path: &str) -> String {
    if path.is_empty() {
        view.root()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("app")
            .to_string()
    } else {
        file_name(path).to_string()
    }
}
