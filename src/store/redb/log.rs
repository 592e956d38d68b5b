//! The event log: what makes an audit event durable as soon as `append_events` returns,
//! at the cost of one small sequential write and one `fdatasync`, instead of a durable
//! redb commit (which rewrites a dozen B-tree pages before its sync).
//!
//! An append writes its encoded events to this log and syncs it before returning; the
//! events then wait in memory (readers merge them in) until a *checkpoint* writes them
//! into redb in one durable commit, which also bumps the log's generation; the log then
//! starts again at the beginning of the file. On open, records of the current
//! generation are replayed into redb (each event only if it is missing), then a
//! checkpoint follows.
//!
//! A record: `magic u32 | store id u128 | generation u64 | length u32 | crc32 u32 |
//! payload`, where the payload is a sequence of `u32 length | encoded event`. The store
//! id (kept in redb) stops a log left beside a *different* store file from being
//! replayed into it; the generation stops records from before the last checkpoint; the
//! checksum stops a record torn by a crash. The file is allocated ahead with real zeros
//! (64 KiB at first, doubled when a record would not fit), so most syncs flush data, not
//! file-size metadata; a folder that records little keeps a small log.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

const MAGIC: u32 = 0x4b59_4c47;
const HEADER: usize = 4 + 16 + 8 + 4 + 4;
/// The size a new log file is allocated with; it doubles when a record would not fit
/// (a checkpoint past [`CHECKPOINT_BYTES`] bounds it near twice that).
const INITIAL_CAPACITY: u64 = 64 * 1024;
/// Past this offset an append triggers a checkpoint.
const CHECKPOINT_BYTES: u64 = 4 * 1024 * 1024;
/// The most a replay reads: far past what the log ever holds (a checkpoint's worth and
/// one batch), short of what someone else's file could make it allocate.
const MAX_REPLAY: u64 = 256 * 1024 * 1024;
/// After this many records an append triggers a checkpoint: it bounds the events held in
/// memory and what an open has to replay, and amortises the durable commit (one per 512
/// single appends costs a few µs each).
const CHECKPOINT_RECORDS: u64 = 512;

/// The log file beside a store file.
#[derive(Debug)]
pub(super) struct EventLog {
    file: File,
    path: PathBuf,
    store_id: u128,
    generation: u64,
    offset: u64,
    records: u64,
    /// The file's allocated size (zeros past the last record).
    capacity: u64,
    /// Each service's workspace and last sequence number, as of the last append (the
    /// appender holds the log's lock, so this is exact; writes of services drop their
    /// entry under the same lock).
    pub(super) heads: std::collections::HashMap<(u128, u128), (crate::model::WorkspaceId, u64)>,
}

/// `kyozo.redb` → `kyozo.redb.events.log`.
pub(super) fn log_path(store: &Path) -> PathBuf {
    let mut name = store
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".events.log");
    store.with_file_name(name)
}

impl EventLog {
    /// Opens (or creates and allocates) the log of a store.
    pub(super) fn open(path: PathBuf, store_id: u128, generation: u64) -> std::io::Result<Self> {
        // Never through a link, never another user's file (the folder may be someone
        // else's repository): see `safe_fs`.
        let file = crate::safe_fs::open_private(&path, true)?;
        let len = file.metadata()?.len();
        let mut log = Self {
            file,
            path,
            store_id,
            generation,
            offset: 0,
            records: 0,
            capacity: len,
            heads: std::collections::HashMap::new(),
        };
        if len < INITIAL_CAPACITY {
            log.grow_to(INITIAL_CAPACITY)?;
        }
        Ok(log)
    }

    /// Extends the file with zeros to `size` and syncs it, size included. Real zeros,
    /// not a sparse hole: writing into a hole allocates blocks, and then every sync
    /// would flush allocation metadata too. A crash while growing leaves zeros (or a
    /// shorter file) after the last record, which a replay reads as the end.
    fn grow_to(&mut self, size: u64) -> std::io::Result<()> {
        const CHUNK: u64 = 64 * 1024;
        let zeros = vec![0u8; CHUNK as usize];
        let mut at = self.capacity;
        while at < size {
            let n = (size - at).min(CHUNK) as usize;
            write_at(&self.file, &zeros[..n], at)?;
            at += n as u64;
        }
        self.file.sync_all()?;
        self.capacity = at;
        Ok(())
    }

    /// The file's allocated size.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The log file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether records have been written since the last checkpoint.
    pub(super) fn is_dirty(&self) -> bool {
        self.offset > 0
    }

    /// Whether it is time for a checkpoint.
    pub(super) fn wants_checkpoint(&self) -> bool {
        self.offset > CHECKPOINT_BYTES || self.records >= CHECKPOINT_RECORDS
    }

    /// The generation records are written with.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Every encoded event of the valid records of the current generation, in order.
    /// Reading stops at the first record that is torn, of another store or of another
    /// generation: nothing after it was acknowledged.
    pub(super) fn replay(&mut self) -> std::io::Result<Vec<Vec<u8>>> {
        // A log never holds much more than a checkpoint's worth; a file grown by someone
        // else is read no further than that.
        let mut bytes = Vec::new();
        (&self.file).take(MAX_REPLAY).read_to_end(&mut bytes)?;
        let mut events = Vec::new();
        let mut at = 0usize;
        while let Some(header) = bytes.get(at..at + HEADER) {
            let magic = u32::from_be_bytes(header[0..4].try_into().unwrap_or_default());
            let store = u128::from_be_bytes(header[4..20].try_into().unwrap_or_default());
            let generation = u64::from_be_bytes(header[20..28].try_into().unwrap_or_default());
            let len = u32::from_be_bytes(header[28..32].try_into().unwrap_or_default()) as usize;
            let crc = u32::from_be_bytes(header[32..36].try_into().unwrap_or_default());
            if magic != MAGIC || store != self.store_id || generation != self.generation {
                break;
            }
            let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
                break;
            };
            if crc32fast::hash(payload) != crc {
                break;
            }
            let mut p = payload;
            while let Some((n, rest)) = p.split_first_chunk::<4>() {
                let n = u32::from_be_bytes(*n) as usize;
                let Some(event) = rest.get(..n) else {
                    break;
                };
                events.push(event.to_vec());
                p = &rest[n..];
            }
            at += HEADER + len;
        }
        Ok(events)
    }

    /// Appends one record holding `payload` (a sequence of `u32 length | event`) and
    /// syncs it: when this returns `Ok`, the record survives a crash.
    pub(super) fn append(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "log record too large")
        })?;
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&MAGIC.to_be_bytes());
        record.extend_from_slice(&self.store_id.to_be_bytes());
        record.extend_from_slice(&self.generation.to_be_bytes());
        record.extend_from_slice(&len.to_be_bytes());
        record.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
        record.extend_from_slice(payload);
        let end = self.offset + record.len() as u64;
        if end > self.capacity {
            // Grown (and its new size synced) before the record goes in, so the
            // record's own sync flushes data only, as in an allocated file.
            let mut size = self.capacity.max(INITIAL_CAPACITY);
            while size < end {
                size = size.saturating_mul(2);
            }
            self.grow_to(size)?;
        }
        write_at(&self.file, &record, self.offset)?;
        self.file.sync_data()?;
        self.offset += record.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// After a durable commit has made every record redundant: the next records carry
    /// `generation` and start at the beginning of the file.
    pub(super) fn reset(&mut self, generation: u64) {
        self.generation = generation;
        self.offset = 0;
        self.records = 0;
    }
}

/// Builds the payload entry of one encoded event.
pub(super) fn push_entry(payload: &mut Vec<u8>, event: &[u8]) {
    payload.extend_from_slice(&(event.len() as u32).to_be_bytes());
    payload.extend_from_slice(event);
}

#[cfg(unix)]
fn write_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, offset)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn records_replay_until_a_torn_or_foreign_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.events.log");
        let mut log = EventLog::open(path.clone(), 7, 3).unwrap();
        for i in 0..3u8 {
            let mut p = Vec::new();
            push_entry(&mut p, &[i; 10]);
            push_entry(&mut p, &[i + 100; 3]);
            log.append(&p).unwrap();
        }
        let end = log.offset;
        drop(log);
        let mut again = EventLog::open(path.clone(), 7, 3).unwrap();
        let events = again.replay().unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(events[4], vec![2u8; 10]);
        // Another store's id or another generation: nothing.
        assert!(
            EventLog::open(path.clone(), 8, 3)
                .unwrap()
                .replay()
                .unwrap()
                .is_empty()
        );
        assert!(
            EventLog::open(path.clone(), 7, 4)
                .unwrap()
                .replay()
                .unwrap()
                .is_empty()
        );
        // Tear the last record: the first two still replay.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        write_at(&f, &[0xAA], end - 2).unwrap();
        assert_eq!(
            EventLog::open(path, 7, 3).unwrap().replay().unwrap().len(),
            4
        );
    }

    /// A new log is small, and grows (doubling) as records need room; every record
    /// written replays, across the growth.
    #[test]
    fn the_log_starts_small_and_grows_as_records_need() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.events.log");
        let mut log = EventLog::open(path.clone(), 7, 1).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), INITIAL_CAPACITY);
        let mut written = 0usize;
        while log.offset < 3 * INITIAL_CAPACITY {
            let mut p = Vec::new();
            push_entry(&mut p, &[written as u8; 1000]);
            log.append(&p).unwrap();
            written += 1;
        }
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(size, log.capacity());
        assert!(size >= log.offset, "{size} < {}", log.offset);
        assert!(size <= 4 * INITIAL_CAPACITY, "{size}");
        drop(log);
        let events = EventLog::open(path, 7, 1).unwrap().replay().unwrap();
        assert_eq!(events.len(), written);
        assert_eq!(events[written - 1], vec![(written - 1) as u8; 1000]);
    }
}
