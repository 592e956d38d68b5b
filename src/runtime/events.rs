//! Recording what the runtime does: each event appended to the store, then sent on the
//! event bus (one channel per team) to the subscriptions of
//! [`Kyozo::subscribe`](crate::Kyozo::subscribe). Who may see which event is the
//! facade's to say: a subscription here keeps what the filter it is given keeps.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Runtime;
use crate::error::Result;
use crate::model::{NewEvent, TeamId};
use crate::store::StoreExt;

/// What [`Kyozo::subscribe`](crate::Kyozo::subscribe) returns: a
/// [`Stream`](super::Stream) of the team's events as they are recorded, `Err(n)` when the
/// subscriber fell `n` of them behind. Read it with `next().await` from
/// [`StreamExt`](super::StreamExt).
pub type Subscription = futures_util::stream::BoxStream<
    'static,
    std::result::Result<crate::model::DeploymentEvent, u64>,
>;

/// Events a [`Kyozo::subscribe`](crate::Kyozo::subscribe) stream may fall behind before
/// it skips ahead.
pub const BUS_CAPACITY: usize = 1024;

/// The runtime's events as they are recorded, one channel per team, so a subscriber
/// that falls behind is told how many of its own team's events it missed.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    teams: Mutex<HashMap<TeamId, tokio::sync::broadcast::Sender<crate::model::DeploymentEvent>>>,
}

impl EventBus {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        HashMap<TeamId, tokio::sync::broadcast::Sender<crate::model::DeploymentEvent>>,
    > {
        self.teams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn send(&self, event: crate::model::DeploymentEvent) {
        let mut teams = self.lock();
        let team = event.team;
        if let Some(sender) = teams.get(&team)
            && sender.send(event).is_err()
        {
            // Nobody listens any more.
            teams.remove(&team);
        }
    }

    fn subscribe(
        &self,
        team: TeamId,
    ) -> tokio::sync::broadcast::Receiver<crate::model::DeploymentEvent> {
        self.lock()
            .entry(team)
            .or_insert_with(|| tokio::sync::broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }
}

impl Runtime {
    pub(super) async fn record(&self, event: NewEvent) -> Result<()> {
        let stored = self.blocking(move |s| s.append_event(event)).await?;
        self.bus.send(stored);
        Ok(())
    }

    /// The events of `team` the runtime records from now on, those `visible` keeps, as
    /// they are recorded (see [`Kyozo::subscribe`](crate::Kyozo::subscribe)).
    pub(crate) fn subscribe(
        &self,
        team: TeamId,
        visible: impl Fn(&crate::model::DeploymentEvent) -> bool + Send + Sync + 'static,
    ) -> Subscription {
        use futures_util::StreamExt;
        let receiver = self.bus.subscribe(team);
        let stream = futures_util::stream::unfold(receiver, |mut rx| async move {
            match rx.recv().await {
                Ok(e) => Some((Ok(e), rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Some((Err(n), rx)),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
            }
        })
        .filter(move |item| {
            let shown = match item {
                Ok(e) => e.team == team && visible(e),
                Err(_) => true,
            };
            std::future::ready(shown)
        });
        stream.boxed()
    }
}
