//! The binary form of a stored [`DeploymentEvent`]: fixed-size fields as raw bytes (ids
//! as 16 bytes, times as integers), the variable part (payload and error) as JSON. Reading
//! the newest events of a service is mostly decoding, so this is where it pays to be
//! compact; JSON keeps the variable part evolvable.
//!
//! ```text
//! u8 version (1) | u128 id | u64 seq | u128 team | u128 workspace | u128 service
//! | i64 at (ms) | u8 kind | u8 actor (0 system, 1 member) [u128 team, u128 member]
//! | u8 has-deployment [u128] | u8 has-duration [u64 ms] | JSON {payload, error}
//! ```
//! Integers are big-endian.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Actor;
use crate::model::{
    DeploymentEvent, DeploymentId, EventError, EventId, EventKind, EventPayload, MAX_EVENT_BYTES,
    MemberId, ServiceId, TeamId, Timestamp, ValidationError, WorkspaceId,
};

const VERSION: u8 = 1;

#[derive(Serialize)]
struct TailRef<'a> {
    payload: &'a EventPayload,
    error: &'a Option<EventError>,
}

#[derive(Deserialize)]
struct Tail {
    payload: EventPayload,
    error: Option<EventError>,
}

/// Appends the binary form of `e` to `out`; refuses an event over the size cap.
pub(super) fn encode(e: &DeploymentEvent, out: &mut Vec<u8>) -> Result<(), ValidationError> {
    let start = out.len();
    out.push(VERSION);
    out.extend_from_slice(&e.id.as_u128().to_be_bytes());
    out.extend_from_slice(&e.seq.to_be_bytes());
    out.extend_from_slice(&e.team.as_u128().to_be_bytes());
    out.extend_from_slice(&e.workspace.as_u128().to_be_bytes());
    out.extend_from_slice(&e.service.as_u128().to_be_bytes());
    out.extend_from_slice(&e.at.as_millis().to_be_bytes());
    let kind = EventKind::ALL
        .iter()
        .position(|k| *k == e.kind)
        .unwrap_or(0);
    out.push(kind as u8);
    match e.actor {
        Actor::System => out.push(0),
        Actor::Member { team, member } => {
            out.push(1);
            out.extend_from_slice(&team.as_u128().to_be_bytes());
            out.extend_from_slice(&member.as_u128().to_be_bytes());
        }
    }
    match e.deployment {
        Some(d) => {
            out.push(1);
            out.extend_from_slice(&d.as_u128().to_be_bytes());
        }
        None => out.push(0),
    }
    match e.duration {
        Some(d) => {
            out.push(1);
            out.extend_from_slice(
                &u64::try_from(d.as_millis())
                    .unwrap_or(u64::MAX)
                    .to_be_bytes(),
            );
        }
        None => out.push(0),
    }
    let tail = TailRef {
        payload: &e.payload,
        error: &e.error,
    };
    if let Err(err) = serde_json::to_writer(&mut *out, &tail) {
        return Err(ValidationError::invalid(
            "event.payload",
            err.to_string(),
            "a payload that encodes",
        ));
    }
    let size = out.len() - start;
    if size > MAX_EVENT_BYTES {
        out.truncate(start);
        return Err(ValidationError::TooLarge {
            field: "event".into(),
            size,
            max: MAX_EVENT_BYTES,
        });
    }
    Ok(())
}

/// Why a stored event could not be decoded.
#[derive(Debug)]
pub(super) enum DecodeError {
    Truncated,
    Version(u8),
    Kind(u8),
    Tail(serde_json::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("the record is truncated"),
            DecodeError::Version(v) => write!(f, "unknown record version {v}"),
            DecodeError::Kind(k) => write!(f, "unknown event kind {k}"),
            DecodeError::Tail(e) => write!(f, "payload: {e}"),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.take()?))
    }
}

/// Decodes what [`encode`] wrote.
pub(super) fn decode(bytes: &[u8]) -> Result<DeploymentEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let id = EventId::from_u128(r.u128()?);
    let seq = r.u64()?;
    let team = TeamId::from_u128(r.u128()?);
    let workspace = WorkspaceId::from_u128(r.u128()?);
    let service = ServiceId::from_u128(r.u128()?);
    let at = Timestamp::from_millis(i64::from_be_bytes(r.take()?));
    let k = r.u8()?;
    let kind = *EventKind::ALL
        .get(usize::from(k))
        .ok_or(DecodeError::Kind(k))?;
    let actor = match r.u8()? {
        0 => Actor::System,
        _ => Actor::Member {
            team: TeamId::from_u128(r.u128()?),
            member: MemberId::from_u128(r.u128()?),
        },
    };
    let deployment = match r.u8()? {
        0 => None,
        _ => Some(DeploymentId::from_u128(r.u128()?)),
    };
    let duration = match r.u8()? {
        0 => None,
        _ => Some(Duration::from_millis(r.u64()?)),
    };
    let tail: Tail = serde_json::from_slice(r.0).map_err(DecodeError::Tail)?;
    let mut e = crate::model::NewEvent::new(team, workspace, service, kind, actor)
        .with_payload(tail.payload)
        .at(at);
    e.deployment = deployment;
    e.error = tail.error;
    e.duration = duration;
    Ok(e.into_event(id, seq))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let e = crate::model::NewEvent::new(
            TeamId::new(),
            WorkspaceId::new(),
            ServiceId::new(),
            EventKind::DeploymentFailed,
            Actor::member(TeamId::new(), MemberId::new()),
        )
        .with_payload(EventPayload::Deployment {
            deployment: DeploymentId::new(),
            image: Some("web:1".into()),
        })
        .with_error(EventError::new("boom").with_detail("step", "build"))
        .with_duration(Duration::from_millis(1500))
        .with_deployment(DeploymentId::new())
        .into_event(EventId::new(), 42);
        let mut bytes = Vec::new();
        encode(&e, &mut bytes).unwrap();
        assert_eq!(decode(&bytes).unwrap(), e);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        assert!(decode(&[9, 1, 2]).is_err());
    }
}
