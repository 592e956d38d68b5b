//! [`ServiceMetric`]: one resource sample of a service, and [`downsample`] into
//! [`MetricBucket`]s (average and maximum per bucket).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ServiceId, TeamId, Timestamp};

/// One sample of a service's resource use (summed over its replicas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceMetric {
    /// The team.
    pub team: TeamId,
    /// The service.
    pub service: ServiceId,
    /// When it was measured.
    pub at: Timestamp,
    /// CPU use in percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
    /// Memory in use, in bytes.
    pub memory_bytes: u64,
    /// Memory in use, in percent of the limit the engine applies.
    pub memory_percent: f64,
    /// Bytes received since the container started.
    pub network_rx_bytes: u64,
    /// Bytes sent since the container started.
    pub network_tx_bytes: u64,
    /// Bytes read from block devices.
    pub block_read_bytes: u64,
    /// Bytes written to block devices.
    pub block_write_bytes: u64,
}

impl ServiceMetric {
    /// A zeroed sample of `service` at `at`.
    pub fn new(team: TeamId, service: ServiceId, at: Timestamp) -> Self {
        Self {
            team,
            service,
            at,
            cpu_percent: 0.0,
            memory_bytes: 0,
            memory_percent: 0.0,
            network_rx_bytes: 0,
            network_tx_bytes: 0,
            block_read_bytes: 0,
            block_write_bytes: 0,
        }
    }
}

/// The average and the maximum of one measure over a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Aggregate {
    /// The mean.
    pub avg: f64,
    /// The largest value.
    pub max: f64,
}

/// Samples of one time bucket, aggregated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricBucket {
    /// The bucket's start (inclusive); it spans the query's bucket width.
    pub start: Timestamp,
    /// How many samples fell in it.
    pub samples: u32,
    /// CPU percent.
    pub cpu_percent: Aggregate,
    /// Memory bytes.
    pub memory_bytes: Aggregate,
    /// Memory percent.
    pub memory_percent: Aggregate,
    /// Network bytes received.
    pub network_rx_bytes: Aggregate,
    /// Network bytes sent.
    pub network_tx_bytes: Aggregate,
    /// Block bytes read.
    pub block_read_bytes: Aggregate,
    /// Block bytes written.
    pub block_write_bytes: Aggregate,
}

/// Aggregates time-ordered samples into buckets of `width`, aligned on multiples of
/// `width` since the epoch. Empty buckets are left out. A zero width is taken as 1 ms.
pub fn downsample(samples: &[ServiceMetric], width: Duration) -> Vec<MetricBucket> {
    let w = i64::try_from(width.as_millis()).unwrap_or(i64::MAX).max(1);
    let mut out: Vec<MetricBucket> = Vec::new();
    let mut sums = [0f64; 7];
    for m in samples {
        let start = Timestamp::from_millis(m.at.as_millis().div_euclid(w) * w);
        if out.last().is_none_or(|b| b.start != start) {
            finish(&mut out, &sums);
            sums = [0.0; 7];
            out.push(MetricBucket {
                start,
                samples: 0,
                cpu_percent: Aggregate::default(),
                memory_bytes: Aggregate::default(),
                memory_percent: Aggregate::default(),
                network_rx_bytes: Aggregate::default(),
                network_tx_bytes: Aggregate::default(),
                block_read_bytes: Aggregate::default(),
                block_write_bytes: Aggregate::default(),
            });
        }
        if let Some(b) = out.last_mut() {
            let values = [
                m.cpu_percent,
                m.memory_bytes as f64,
                m.memory_percent,
                m.network_rx_bytes as f64,
                m.network_tx_bytes as f64,
                m.block_read_bytes as f64,
                m.block_write_bytes as f64,
            ];
            let first = b.samples == 0;
            b.samples += 1;
            for (i, (agg, v)) in fields(b).into_iter().zip(values).enumerate() {
                sums[i] += v;
                agg.max = if first { v } else { agg.max.max(v) };
            }
        }
    }
    finish(&mut out, &sums);
    out
}

fn fields(b: &mut MetricBucket) -> [&mut Aggregate; 7] {
    [
        &mut b.cpu_percent,
        &mut b.memory_bytes,
        &mut b.memory_percent,
        &mut b.network_rx_bytes,
        &mut b.network_tx_bytes,
        &mut b.block_read_bytes,
        &mut b.block_write_bytes,
    ]
}

fn finish(out: &mut [MetricBucket], sums: &[f64; 7]) {
    if let Some(b) = out.last_mut() {
        let n = f64::from(b.samples.max(1));
        for (agg, sum) in fields(b).into_iter().zip(sums) {
            agg.avg = sum / n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_average_and_maximum() {
        let (team, svc) = (TeamId::new(), ServiceId::new());
        let sample = |ms: i64, cpu: f64, mem: u64| {
            let mut m = ServiceMetric::new(team, svc, Timestamp::from_millis(ms));
            m.cpu_percent = cpu;
            m.memory_bytes = mem;
            m
        };
        let samples = [
            sample(0, 10.0, 100),
            sample(500, 30.0, 300),
            sample(1_000, 5.0, 50),
            sample(3_999, 7.0, 70),
        ];
        let b = downsample(&samples, Duration::from_secs(1));
        assert_eq!(b.len(), 3, "the empty bucket at 2s is left out");
        assert_eq!((b[0].start.as_millis(), b[0].samples), (0, 2));
        assert_eq!(
            b[0].cpu_percent,
            Aggregate {
                avg: 20.0,
                max: 30.0
            }
        );
        assert_eq!(
            b[0].memory_bytes,
            Aggregate {
                avg: 200.0,
                max: 300.0
            }
        );
        assert_eq!((b[1].start.as_millis(), b[1].cpu_percent.max), (1_000, 5.0));
        assert_eq!((b[2].start.as_millis(), b[2].samples), (3_000, 1));
        assert!(downsample(&[], Duration::from_secs(1)).is_empty());
    }
}
