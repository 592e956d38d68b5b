//! The policy table in `docs/policy.md`, checked cell by cell against the code, and the
//! runtime API applying it (another team's resources answer "not found").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kyozo::auth::policy::{Decision, Operation, Principal, Target, decide};
use kyozo::auth::{Actor, AuthError};
use kyozo::model::{Member, Right, Role, ServiceId, ServiceInstance, ServicePermission, TeamId};
use kyozo::{Error, Kyozo};

struct Row {
    op: Operation,
    allowed: [bool; 4],
    granted_by: Option<Right>,
}

fn policy_table() -> Vec<Row> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.md"))
        .expect("docs/policy.md");
    let mut rows = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells[0] == "operation" || cells[0].starts_with('-') {
            continue;
        }
        assert_eq!(cells.len(), 6, "a policy row has six cells: {line}");
        let op = *Operation::ALL
            .iter()
            .find(|o| o.as_str() == cells[0])
            .unwrap_or_else(|| panic!("unknown operation {:?} in docs/policy.md", cells[0]));
        let yes_no = |c: &str| match c {
            "yes" => true,
            "no" => false,
            other => panic!("cell {other:?} in row {} is neither yes nor no", cells[0]),
        };
        let granted_by = match cells[5] {
            "-" => None,
            r => Some(
                *Right::ALL
                    .iter()
                    .find(|x| x.as_str() == r)
                    .unwrap_or_else(|| panic!("unknown right {r:?}")),
            ),
        };
        rows.push(Row {
            op,
            allowed: [
                yes_no(cells[1]),
                yes_no(cells[2]),
                yes_no(cells[3]),
                yes_no(cells[4]),
            ],
            granted_by,
        });
    }
    rows
}

#[test]
fn the_table_names_every_operation_once() {
    let rows = policy_table();
    let ops: Vec<Operation> = rows.iter().map(|r| r.op).collect();
    assert_eq!(
        ops,
        Operation::ALL.to_vec(),
        "docs/policy.md lists every operation, in order"
    );
}

#[test]
fn every_cell_of_the_table_matches_the_code() {
    let team = TeamId::new();
    let service = ServiceId::new();
    let mut cells = 0;
    for row in policy_table() {
        assert_eq!(
            row.op.granted_by(),
            row.granted_by,
            "granted-by column of {}",
            row.op
        );
        for (role, allowed) in Role::ALL.into_iter().zip(row.allowed) {
            let member = Member::new(team, "someone", role).unwrap();
            for target in [Target::team(team), Target::service(team, service)] {
                // The role column, without any grant.
                let expected = if allowed {
                    Decision::Allow
                } else {
                    Decision::Forbidden
                };
                assert_eq!(
                    decide(Principal::Member(&member), row.op, target, None),
                    expected,
                    "{role} / {} / {target:?}",
                    row.op
                );
                // The granted-by column: each possible grant on the target service.
                for right in Right::ALL {
                    let grant = ServicePermission::new(team, member.id, service, [right]);
                    let by_grant = target.service.is_some()
                        && row.granted_by.is_some_and(|needed| right.includes(needed));
                    let expected = if allowed || by_grant {
                        Decision::Allow
                    } else {
                        Decision::Forbidden
                    };
                    assert_eq!(
                        decide(Principal::Member(&member), row.op, target, Some(&grant)),
                        expected,
                        "{role} with a {right} grant / {} / {target:?}",
                        row.op
                    );
                    cells += 1;
                }
                // Another team: hidden, whatever the role and grant.
                let other = TeamId::new();
                let foreign = Target {
                    team: other,
                    ..target
                };
                let grant = ServicePermission::new(other, member.id, service, [Right::Admin]);
                assert_eq!(
                    decide(Principal::Member(&member), row.op, foreign, Some(&grant)),
                    Decision::Hidden
                );
                // The system actor: always allowed.
                assert_eq!(
                    decide(Principal::System, row.op, foreign, None),
                    Decision::Allow
                );
            }
        }
    }
    assert_eq!(cells, Operation::ALL.len() * 4 * 2 * 5);
}

#[test]
fn a_grant_for_another_member_or_service_gives_nothing() {
    let team = TeamId::new();
    let (service, elsewhere) = (ServiceId::new(), ServiceId::new());
    let viewer = Member::new(team, "v", Role::Viewer).unwrap();
    let someone_else = Member::new(team, "w", Role::Viewer).unwrap();
    let target = Target::service(team, service);
    let wrong_service = ServicePermission::new(team, viewer.id, elsewhere, [Right::Admin]);
    let wrong_member = ServicePermission::new(team, someone_else.id, service, [Right::Admin]);
    for grant in [&wrong_service, &wrong_member] {
        assert_eq!(
            decide(
                Principal::Member(&viewer),
                Operation::Remove,
                target,
                Some(grant)
            ),
            Decision::Forbidden
        );
    }
}

/// Two teams in one runtime: a member of one sees nothing of the other, and the
/// answer is the same "not found" as for an id that never existed.
#[test]
fn the_runtime_hides_other_teams_and_applies_roles_and_grants() {
    let kyozo = Kyozo::builder().build().unwrap();
    let (acme, ada) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let (rival, rex) = kyozo.create_team("rival", "rex@rival.test").unwrap();
    let ws = kyozo
        .create_workspace(ada.actor(), acme.id, "shop")
        .unwrap();
    let web = kyozo
        .create_service(
            ada.actor(),
            ServiceInstance::new(acme.id, ws.id, "web", "web"),
        )
        .unwrap();

    // Rex (owner of rival) asks for acme's service: not found, same words as a missing id.
    let hidden = kyozo.service(rex.actor(), acme.id, web.id).unwrap_err();
    let missing = kyozo
        .service(ada.actor(), acme.id, ServiceId::new())
        .unwrap_err();
    assert!(
        matches!(
            hidden,
            Error::NotFound {
                kind: "service",
                ..
            }
        ),
        "{hidden}"
    );
    assert!(
        matches!(
            missing,
            Error::NotFound {
                kind: "service",
                ..
            }
        ),
        "{missing}"
    );
    assert_eq!(
        hidden.to_string().replace(&web.id.to_string(), "ID"),
        "service ID not found"
    );
    assert!(matches!(
        kyozo.events(rex.actor(), acme.id, web.id, 10),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        kyozo.create_workspace(rex.actor(), acme.id, "intruder"),
        Err(Error::NotFound { kind: "team", .. })
    ));
    // Rex's own service ids do not help either: acme's service under rival's team.
    assert!(matches!(
        kyozo.service(rex.actor(), rival.id, web.id),
        Err(Error::NotFound { .. })
    ));

    // A viewer of acme reads events, may not remove; a grant of admin lets them.
    let vic = kyozo
        .add_member(ada.actor(), acme.id, "vic@acme.test", Role::Viewer)
        .unwrap();
    assert_eq!(
        kyozo
            .events(vic.actor(), acme.id, web.id, 10)
            .unwrap()
            .len(),
        1
    );
    let refused = kyozo
        .authorize(
            vic.actor(),
            Operation::Remove,
            Target::service(acme.id, web.id),
        )
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Auth(AuthError::Forbidden {
                role: Role::Viewer,
                ..
            })
        ),
        "{refused}"
    );
    kyozo
        .grant(
            ada.actor(),
            ServicePermission::new(acme.id, vic.id, web.id, [Right::Admin]),
        )
        .unwrap();
    kyozo
        .authorize(
            vic.actor(),
            Operation::Remove,
            Target::service(acme.id, web.id),
        )
        .unwrap();
    // A viewer may not grant; a member of another team may not even see the service to grant.
    let grant_back = ServicePermission::new(acme.id, vic.id, web.id, [Right::Admin]);
    assert!(matches!(
        kyozo.grant(vic.actor(), grant_back.clone()),
        Err(Error::Auth(_))
    ));
    assert!(matches!(
        kyozo.grant(rex.actor(), grant_back),
        Err(Error::NotFound { .. })
    ));
    assert!(kyozo.revoke(ada.actor(), acme.id, vic.id, web.id).unwrap());
    assert!(
        kyozo
            .authorize(
                vic.actor(),
                Operation::Remove,
                Target::service(acme.id, web.id)
            )
            .is_err()
    );

    // An actor that is not a member is refused as unknown.
    let ghost = Actor::member(acme.id, kyozo::model::MemberId::new());
    assert!(matches!(
        kyozo.service(ghost, acme.id, web.id),
        Err(Error::Auth(AuthError::UnknownActor { .. }))
    ));
    // Only the owner manages members.
    let admin = kyozo
        .add_member(ada.actor(), acme.id, "al@acme.test", Role::Admin)
        .unwrap();
    assert!(matches!(
        kyozo.add_member(admin.actor(), acme.id, "eve@acme.test", Role::Owner),
        Err(Error::Auth(AuthError::Forbidden { .. }))
    ));
}

#[test]
fn listings_show_a_team_its_own_and_nothing_of_others() {
    let kyozo = Kyozo::builder().build().unwrap();
    let (acme, ada) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let (rival, rex) = kyozo.create_team("rival", "rex@rival.test").unwrap();
    let vera = kyozo
        .add_member(
            ada.actor(),
            acme.id,
            "vera@acme.test",
            kyozo::model::Role::Viewer,
        )
        .unwrap();
    let ws = kyozo
        .create_workspace(ada.actor(), acme.id, "shop")
        .unwrap();
    let theirs = kyozo
        .create_workspace(rex.actor(), rival.id, "den")
        .unwrap();
    for name in ["web", "api"] {
        kyozo
            .create_service(
                ada.actor(),
                ServiceInstance::new(acme.id, ws.id, name, name),
            )
            .unwrap();
    }
    kyozo
        .create_service(
            rex.actor(),
            ServiceInstance::new(rival.id, theirs.id, "spy", "spy"),
        )
        .unwrap();

    let names = |list: Vec<ServiceInstance>| {
        let mut n: Vec<String> = list.into_iter().map(|s| s.name).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(kyozo.services(ada.actor(), acme.id, None).unwrap()),
        ["api", "web"]
    );
    assert_eq!(
        names(kyozo.services(vera.actor(), acme.id, Some(ws.id)).unwrap()),
        ["api", "web"],
        "a viewer sees the team's services"
    );
    assert_eq!(kyozo.workspaces(vera.actor(), acme.id).unwrap().len(), 1);
    // Another team's listing: refused, as if it did not exist.
    assert!(kyozo.services(rex.actor(), acme.id, None).is_err());
    assert!(kyozo.workspaces(rex.actor(), acme.id).is_err());
    assert!(
        kyozo
            .set_workspace_root(rex.actor(), acme.id, ws.id, "/srv/shop")
            .is_err()
    );
    // A viewer cannot move the workspace; its owner can, to an absolute path only...
    assert!(
        kyozo
            .set_workspace_root(vera.actor(), acme.id, ws.id, "/srv/shop")
            .is_err()
    );
    assert!(
        kyozo
            .set_workspace_root(ada.actor(), acme.id, ws.id, "shop")
            .is_err()
    );
    // ...of an existing folder.
    let shop = tempfile::tempdir().unwrap();
    let shop = std::fs::canonicalize(shop.path()).unwrap();
    let moved = kyozo
        .set_workspace_root(ada.actor(), acme.id, ws.id, &shop)
        .unwrap();
    assert_eq!(moved.root.as_deref(), Some(shop.as_path()));
}

/// A viewer may read a service's health, but a health check that runs a command in its
/// containers is operating them: a viewer's `check_health` of such a service is refused
/// before anything runs; a probe from outside (HTTP) is read.
#[tokio::test]
async fn a_viewers_check_that_runs_a_command_in_the_containers_is_refused() {
    use kyozo::model::{HealthCheckConfig, HealthProbe};
    let kyozo = Kyozo::builder()
        .backend(std::sync::Arc::new(kyozo::backend::MemoryBackend::new()))
        .build()
        .unwrap();
    let (acme, ada) = kyozo.create_team("acme", "ada@acme.test").unwrap();
    let ws = kyozo
        .create_workspace(ada.actor(), acme.id, "shop")
        .unwrap();
    let vic = kyozo
        .add_member(ada.actor(), acme.id, "vic@acme.test", Role::Viewer)
        .unwrap();
    let mut probed = ServiceInstance::new(acme.id, ws.id, "worker", "worker");
    probed.health_check = Some(HealthCheckConfig::new(HealthProbe::Command {
        argv: vec!["sh".into(), "-c".into(), "touch /tmp/ran".into()],
    }));
    let worker = kyozo.create_service(ada.actor(), probed).unwrap();
    let mut web = ServiceInstance::new(acme.id, ws.id, "web", "web");
    web.health_check = Some(HealthCheckConfig::new(HealthProbe::Http {
        port: 8080,
        path: "/".into(),
        expect_status: None,
    }));
    let web = kyozo.create_service(ada.actor(), web).unwrap();

    let refused = kyozo
        .check_health(vic.actor(), acme.id, worker.id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Auth(AuthError::Forbidden {
                operation: Operation::Restart,
                ..
            })
        ),
        "{refused}"
    );
    assert!(
        kyozo
            .check_health(vic.actor(), acme.id, web.id)
            .await
            .is_ok()
    );
    // The owner may run the command probe (nothing runs here: no replica yet).
    assert!(
        kyozo
            .check_health(ada.actor(), acme.id, worker.id)
            .await
            .is_ok()
    );
}
