//! Per-partition produce and consume rates measured from the cluster itself, without a
//! metrics stack: two samples of every partition's log-end offset (ListOffsets) and of every
//! consumer group's committed offsets (ListGroups, FindCoordinator, OffsetFetch), a window
//! apart. Offsets count messages; bytes come from the partition's bytes per message,
//! estimated from its size on disk over the offsets its log spans (see docs/snapshot.md for
//! what that estimate can and cannot see).
//!
//! Read-only: the sampler sends no request that changes anything (no commits, no group
//! joins, no topic creation). Bounded: each sample runs under a timeout, retries are
//! counted, and the window is waited on the given `Clock` (virtual time in tests).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use super::admin::{Admin, OffsetSpec};
use super::error::Error;
use crate::model::{BrokerId, Cluster, PartitionRates, TopicPartition};

/// Time as the sampler sees it: the real clock, or a fake's virtual time in tests.
pub trait Clock: Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock (tokio's, so it follows a paused test runtime too).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: tokio::time::Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Shortest and longest sampling window accepted.
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
pub const MAX_WINDOW: Duration = Duration::from_secs(3600);

/// Parses a window such as `60s`, `2m`, `1500ms` or `1h`: an integer and a unit.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("'{text}' is not a duration: give an integer and a unit, e.g. 60s, 2m, 1500ms")
    })?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "" => {
            return Err(format!(
                "'{text}' has no unit: write e.g. {n}s (seconds) or {n}m (minutes)"
            ))
        }
        other => {
            return Err(format!(
                "'{text}': unknown unit '{other}' (use ms, s, m or h)"
            ))
        }
    };
    if d < MIN_WINDOW || d > MAX_WINDOW {
        return Err(format!(
            "'{text}': the window must be between {} s and {} s",
            MIN_WINDOW.as_secs(),
            MAX_WINDOW.as_secs()
        ));
    }
    Ok(d)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// Time between the two samples.
    pub window: Duration,
    /// Bound on each of the two samples (every partition's offsets and every group's
    /// commits): the whole sampling ends within `window + 2 × sample_timeout`.
    pub sample_timeout: Duration,
}

/// Attempts at a group whose coordinator is loading, moving or not available.
pub const GROUP_ATTEMPTS: u32 = 5;
const GROUP_BACKOFF_START: Duration = Duration::from_millis(200);
/// Partitions named in one warning; the rest are counted.
const NAMED_IN_WARNING: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatesError {
    #[error("rate sampling: {0}")]
    Kafka(#[from] Error),
    #[error("rate sampling: the {sample} sample did not finish within {} s", after.as_secs())]
    TimedOut {
        sample: &'static str,
        after: Duration,
    },
    #[error("rate sampling: no partition's offsets could be read (first: {tp}: {reason})")]
    NothingMeasured { tp: TopicPartition, reason: String },
}

/// What the sampling measured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateSample {
    /// Measured partitions (a partition whose offsets could not be read twice is absent).
    pub rates: BTreeMap<TopicPartition, PartitionRates>,
    /// Time between the two log-end samples, in milliseconds.
    pub window_ms: u64,
    /// Consumer groups whose commits were read in both samples.
    pub groups_measured: usize,
    pub warnings: Vec<String>,
}

impl RateSample {
    /// Sets every partition's rates (unmeasured ones: `None`) and the window.
    pub fn apply_to(&self, cluster: &mut Cluster) {
        for p in &mut cluster.partitions {
            p.rates = self.rates.get(&p.tp).copied();
        }
        cluster.rates_window_ms = Some(self.window_ms);
    }
}

/// One reading of every partition's and group's offsets.
struct Reading {
    /// The middle of the time the log-end offsets were read in.
    latest_at: Duration,
    latest: BTreeMap<TopicPartition, i64>,
    /// Per group: the middle of the request its commits were read with, and the commits.
    commits: BTreeMap<String, (Duration, BTreeMap<TopicPartition, i64>)>,
}

/// Partitions, and why they were left out, for one summarised warning.
#[derive(Default)]
struct Failures(BTreeMap<TopicPartition, String>);

impl Failures {
    fn warning(&self, what: &str) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let named: Vec<String> = self
            .0
            .iter()
            .take(NAMED_IN_WARNING)
            .map(|(tp, why)| format!("{tp} ({why})"))
            .collect();
        let more = self.0.len().saturating_sub(NAMED_IN_WARNING);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(format!(
            "{} partition(s) {what}: {}{tail}",
            self.0.len(),
            named.join(", ")
        ))
    }
}

/// True for per-partition answers that mean "ask the new leader": LEADER_NOT_AVAILABLE,
/// NOT_LEADER_OR_FOLLOWER, and a leader the client cannot reach or no longer knows.
fn leader_stale(e: &Error) -> bool {
    matches!(e.code(), Some(5 | 6))
        || matches!(e, Error::UnknownBroker(_))
        || (e.code().is_none() && e.is_retriable())
}

/// True for a group answer that means "find the coordinator again and retry":
/// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
fn coordinator_stale(e: &Error) -> bool {
    matches!(e.code(), Some(14..=16))
}

struct Sampler<'a, A, C> {
    admin: &'a A,
    clock: &'a C,
    brokers: Vec<BrokerId>,
    leaders: BTreeMap<TopicPartition, Option<BrokerId>>,
    warnings: Vec<String>,
}

impl<A: Admin, C: Clock> Sampler<'_, A, C> {
    /// The `spec` offset of every partition, asked of its leader in one request per leader.
    /// Partitions whose leader moved (or is unknown or unreachable) are retried once at the
    /// leader fresh metadata names; what still fails is returned with the reason.
    async fn offsets(
        &mut self,
        spec: OffsetSpec,
    ) -> Result<(BTreeMap<TopicPartition, i64>, Failures), Error> {
        let mut out = BTreeMap::new();
        let mut failed = Failures::default();
        let mut pending: Vec<TopicPartition> = self.leaders.keys().cloned().collect();
        let mut refreshed = false;
        loop {
            let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
            let mut retry: BTreeMap<TopicPartition, String> = BTreeMap::new();
            for tp in pending {
                match self.leaders.get(&tp).copied().flatten() {
                    Some(l) => by_leader.entry(l).or_default().push(tp),
                    None => {
                        retry.insert(tp, "no leader".into());
                    }
                }
            }
            for (leader, tps) in by_leader {
                match self.admin.list_offsets(leader, &tps, spec).await {
                    Ok(answers) => {
                        for tp in tps {
                            match answers.get(&tp) {
                                Some(Ok(o)) => {
                                    out.insert(tp, *o);
                                }
                                Some(Err(e)) if leader_stale(e) => {
                                    retry.insert(tp, e.to_string());
                                }
                                Some(Err(e)) => {
                                    failed.0.insert(tp, e.to_string());
                                }
                                None => {
                                    failed.0.insert(tp, "no answer".into());
                                }
                            }
                        }
                    }
                    Err(e) if leader_stale(&e) => {
                        for tp in tps {
                            retry.insert(tp, e.to_string());
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            if retry.is_empty() {
                break;
            }
            if refreshed {
                failed.0.extend(retry);
                break;
            }
            refreshed = true;
            let topics: Vec<String> = retry
                .keys()
                .map(|tp| tp.topic.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let metadata = self.admin.describe_topics(Some(&topics)).await?;
            for t in &metadata {
                for p in &t.partitions {
                    let tp = TopicPartition::new(t.name.clone(), p.partition);
                    if let Some(slot) = self.leaders.get_mut(&tp) {
                        *slot = p.leader;
                    }
                }
            }
            pending = retry.into_keys().collect();
        }
        Ok((out, failed))
    }

    /// Every group the brokers coordinate, except share groups (they keep no committed
    /// offsets). A broker that is loading its groups is asked again, a bounded number of
    /// times.
    async fn groups(&mut self) -> Result<Vec<String>, Error> {
        let mut groups = BTreeSet::new();
        let mut pending = self.brokers.clone();
        let mut backoff = GROUP_BACKOFF_START;
        for attempt in 1..=GROUP_ATTEMPTS {
            let answers = self.admin.list_groups(&pending).await?;
            let mut retry = Vec::new();
            for b in pending {
                match answers.get(&b) {
                    Some(Ok(list)) => groups.extend(
                        list.iter()
                            .filter(|g| g.group_type.as_deref() != Some("share"))
                            .map(|g| g.group_id.clone()),
                    ),
                    Some(Err(e)) if coordinator_stale(e) && attempt < GROUP_ATTEMPTS => {
                        retry.push(b)
                    }
                    Some(Err(e)) => self.warnings.push(format!(
                        "broker {b}: consumer groups not listed ({e}); the consumption of the groups it coordinates is not counted"
                    )),
                    None => self.warnings.push(format!(
                        "broker {b}: no ListGroups answer; the consumption of the groups it coordinates is not counted"
                    )),
                }
            }
            if retry.is_empty() {
                break;
            }
            pending = retry;
            self.clock.sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        Ok(groups.into_iter().collect())
    }

    /// The committed offsets of `groups`, asked of each group's coordinator. A group whose
    /// coordinator is loading or moved is retried (coordinator looked up again) up to
    /// `GROUP_ATTEMPTS` times; a group that still fails is left out with a warning.
    async fn commits(
        &mut self,
        groups: &[String],
        sample: &str,
    ) -> Result<BTreeMap<String, (Duration, BTreeMap<TopicPartition, i64>)>, Error> {
        let mut out = BTreeMap::new();
        let mut pending: Vec<String> = groups.to_vec();
        let mut backoff = GROUP_BACKOFF_START;
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let last = attempt >= GROUP_ATTEMPTS;
            let mut retry: BTreeMap<String, String> = BTreeMap::new();
            let coordinators = self.admin.find_coordinators(&pending).await?;
            let mut by_coordinator: BTreeMap<BrokerId, Vec<String>> = BTreeMap::new();
            for g in pending {
                match coordinators.get(&g) {
                    Some(Ok(c)) => by_coordinator.entry(*c).or_default().push(g),
                    Some(Err(e)) if coordinator_stale(e) => {
                        retry.insert(g, e.to_string());
                    }
                    Some(Err(e)) => self.group_skipped(&g, sample, &e.to_string()),
                    None => self.group_skipped(&g, sample, "no FindCoordinator answer"),
                }
            }
            for (coordinator, gs) in by_coordinator {
                let asked_at = self.clock.now();
                let answered = self.admin.fetch_committed_offsets(coordinator, &gs).await;
                let at = midpoint(asked_at, self.clock.now());
                let answers = match answered {
                    Ok(a) => a,
                    // The coordinator went away: the group has a new one.
                    Err(e) if e.is_retriable() || matches!(e, Error::UnknownBroker(_)) => {
                        for g in gs {
                            retry.insert(g, e.to_string());
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                for g in gs {
                    match answers.get(&g) {
                        Some(Ok(offsets)) => {
                            let ok: BTreeMap<TopicPartition, i64> = offsets
                                .iter()
                                .filter_map(|(tp, r)| r.as_ref().ok().map(|o| (tp.clone(), *o)))
                                .collect();
                            out.insert(g, (at, ok));
                        }
                        Some(Err(e)) if coordinator_stale(e) => {
                            retry.insert(g, e.to_string());
                        }
                        // Deleted between the samples (or never had offsets): nothing to count.
                        Some(Err(e)) if e.code() == Some(69) => {
                            out.insert(g, (at, BTreeMap::new()));
                        }
                        Some(Err(e)) => self.group_skipped(&g, sample, &e.to_string()),
                        None => self.group_skipped(&g, sample, "no OffsetFetch answer"),
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            if last {
                for (g, why) in retry {
                    self.group_skipped(
                        &g,
                        sample,
                        &format!("still failing after {GROUP_ATTEMPTS} attempts: {why}"),
                    );
                }
                break;
            }
            pending = retry.into_keys().collect();
            self.clock.sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        Ok(out)
    }

    fn group_skipped(&mut self, group: &str, sample: &str, why: &str) {
        self.warnings.push(format!(
            "group '{}': committed offsets not read in the {sample} sample ({why}); its consumption is not counted",
            super::error::one_line(group)
        ));
    }

    /// One full reading: log-end offsets, then (with `groups`) the groups' commits, and with
    /// `earliest` also the log start offsets.
    async fn read(
        &mut self,
        sample: &'static str,
        groups: &[String],
    ) -> Result<(Reading, Failures), Error> {
        let t0 = self.clock.now();
        let (latest, failed) = self.offsets(OffsetSpec::Latest).await?;
        let t1 = self.clock.now();
        let commits = self.commits(groups, sample).await?;
        Ok((
            Reading {
                latest_at: midpoint(t0, t1),
                latest,
                commits,
            },
            failed,
        ))
    }
}

fn midpoint(a: Duration, b: Duration) -> Duration {
    a + b.saturating_sub(a) / 2
}

async fn bounded<T>(
    sample: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, RatesError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(RatesError::TimedOut {
            sample,
            after: limit,
        }),
    }
}

/// Measures the produce and consume rate of every partition of `cluster` over
/// `opts.window`. `cluster` supplies the partitions, their leaders (refreshed when they
/// move), their sizes (for bytes per message) and the brokers to list groups on.
/// `progress` receives one line per step.
pub async fn sample_rates<A: Admin, C: Clock>(
    admin: &A,
    clock: &C,
    cluster: &Cluster,
    opts: &SampleOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RateSample, RatesError> {
    let mut s = Sampler {
        admin,
        clock,
        brokers: cluster.brokers.iter().map(|b| b.id).collect(),
        leaders: cluster
            .partitions
            .iter()
            .map(|p| (p.tp.clone(), p.leader))
            .collect(),
        warnings: Vec::new(),
    };
    if cluster.partitions.is_empty() {
        return Ok(RateSample {
            window_ms: u64::try_from(opts.window.as_millis()).unwrap_or(u64::MAX),
            ..RateSample::default()
        });
    }
    let start = clock.now();
    let (first, earliest, groups, failed_first) = bounded("first", opts.sample_timeout, async {
        let groups = s.groups().await?;
        progress(&format!(
            "rates: first sample: {} partition(s), {} consumer group(s)",
            s.leaders.len(),
            groups.len()
        ));
        let (reading, failed) = s.read("first", &groups).await?;
        let (earliest, failed_earliest) = s.offsets(OffsetSpec::Earliest).await?;
        let mut failed = failed;
        for (tp, why) in failed_earliest.0 {
            failed.0.entry(tp).or_insert(why);
        }
        Ok((reading, earliest, groups, failed))
    })
    .await?;
    if first.latest.is_empty() {
        if let Some((tp, reason)) = failed_first.0.iter().next() {
            return Err(RatesError::NothingMeasured {
                tp: tp.clone(),
                reason: reason.clone(),
            });
        }
    }
    let waited = clock.now().saturating_sub(start);
    let rest = opts.window.saturating_sub(waited);
    progress(&format!(
        "rates: waiting {:.1} s for the second sample",
        rest.as_secs_f64()
    ));
    clock.sleep(rest).await;
    progress("rates: second sample");
    let (second, failed_second) = bounded("second", opts.sample_timeout, async {
        s.read("second", &groups).await
    })
    .await?;

    let mut failed = failed_first;
    for (tp, why) in failed_second.0 {
        failed.0.entry(tp).or_insert(why);
    }
    let mut out = RateSample {
        warnings: std::mem::take(&mut s.warnings),
        ..RateSample::default()
    };
    compute(cluster, &first, &second, &earliest, &mut out);
    if let Some(w) = failed.warning("not measured (offsets unreadable; no rates recorded)") {
        out.warnings.push(w);
    }
    out.groups_measured = groups
        .iter()
        .filter(|g| first.commits.contains_key(*g) && second.commits.contains_key(*g))
        .count();
    progress(&format!(
        "rates: measured {} partition(s), {} group(s) over {:.1} s",
        out.rates.len(),
        out.groups_measured,
        out.window_ms as f64 / 1000.0
    ));
    Ok(out)
}

/// Rates from two readings: messages/s from offset deltas, times bytes per message.
fn compute(
    cluster: &Cluster,
    first: &Reading,
    second: &Reading,
    earliest: &BTreeMap<TopicPartition, i64>,
    out: &mut RateSample,
) {
    let produce_secs = second
        .latest_at
        .saturating_sub(first.latest_at)
        .as_secs_f64();
    out.window_ms = u64::try_from(second.latest_at.saturating_sub(first.latest_at).as_millis())
        .unwrap_or(u64::MAX);
    let mut truncated = Failures::default();
    let mut reset = Failures::default();
    let mut empty_but_written = Failures::default();
    for p in &cluster.partitions {
        let (Some(&l1), Some(&l2), Some(&e1)) = (
            first.latest.get(&p.tp),
            second.latest.get(&p.tp),
            earliest.get(&p.tp),
        ) else {
            continue;
        };
        let produced = if l2 < l1 {
            truncated
                .0
                .insert(p.tp.clone(), format!("log end {l1} -> {l2}"));
            0
        } else {
            l2 - l1
        };
        // Consumed messages per second, summed over groups, each over its own window (a
        // group retried in one sample was read later than the others).
        let mut consumed: i64 = 0;
        let mut consumed_per_sec = 0.0;
        for (group, (at2, c2s)) in &second.commits {
            let (Some((at1, c1s)), Some(c2)) = (first.commits.get(group), c2s.get(&p.tp)) else {
                continue;
            };
            let Some(c1) = c1s.get(&p.tp) else {
                continue;
            };
            let secs = at2.saturating_sub(*at1).as_secs_f64();
            if c2 < c1 {
                reset.0.insert(
                    p.tp.clone(),
                    format!("group '{}' {c1} -> {c2}", super::error::one_line(group)),
                );
            } else if secs > 0.0 {
                consumed = consumed.saturating_add(c2 - c1);
                consumed_per_sec += (c2 - c1) as f64 / secs;
            }
        }
        let span = l1.saturating_sub(e1);
        let bytes_per_message = if span > 0 {
            p.size_bytes as f64 / span as f64
        } else {
            if produced > 0 || consumed > 0 {
                empty_but_written.0.insert(
                    p.tp.clone(),
                    format!("{produced} produced, {consumed} consumed in the window"),
                );
            }
            0.0
        };
        out.rates.insert(
            p.tp.clone(),
            PartitionRates {
                bytes_in_per_sec: per_sec(produced, bytes_per_message, produce_secs),
                bytes_out_per_sec: per_sec_f(consumed_per_sec * bytes_per_message),
            },
        );
    }
    let notes = [
        (
            truncated,
            "had their log-end offset go backwards (truncated, e.g. by an unclean leader election); produce rate recorded as 0",
        ),
        (
            reset,
            "had a committed offset go backwards (offsets reset); that group's consumption recorded as 0",
        ),
        (
            empty_but_written,
            "were empty at the first sample, so their bytes per message is unknown; byte rates recorded as 0",
        ),
    ];
    for (f, what) in notes {
        if let Some(w) = f.warning(what) {
            out.warnings.push(w);
        }
    }
}

/// `messages × bytes_per_message / secs`, rounded; 0 for an empty window.
fn per_sec(messages: i64, bytes_per_message: f64, secs: f64) -> u64 {
    if secs <= 0.0 || messages <= 0 {
        return 0;
    }
    per_sec_f(messages as f64 * bytes_per_message / secs)
}

/// A byte rate rounded to an integer; 0 for anything not a positive finite number.
fn per_sec_f(v: f64) -> u64 {
    let v = v.round();
    if v.is_finite() && v > 0.0 {
        // `as` saturates at u64::MAX for huge values, which is the bound wanted here.
        v as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::fake::{FakeAdmin, FakeEvent, Fault, Method};
    use crate::kafka::snapshot::{snapshot, SnapshotOptions};

    const WINDOW: Duration = Duration::from_secs(60);

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    /// Three brokers; `foo-0` (leader 1) holds 1000 messages in 100 kB (100 B/message) and
    /// receives 50 msg/s; `foo-1` (leader 2) is empty and idle; `bar-0` (leader 3) holds 500
    /// messages in 1 MB (2000 B/message) and receives 2 msg/s. Group `g` (coordinator 2)
    /// consumes `foo-0` at 30 msg/s and `bar-0` at 2 msg/s; group `h` (coordinator 3)
    /// consumes `foo-0` at 10 msg/s.
    fn cluster() -> FakeAdmin {
        FakeAdmin::new()
            .with_broker(1, Some("a"), None)
            .with_broker(2, Some("b"), None)
            .with_broker(3, Some("c"), None)
            .with_partition("foo", 0, &[1, 2], 100_000)
            .with_partition("foo", 1, &[2, 3], 0)
            .with_partition("bar", 0, &[3, 1], 1_000_000)
            .with_log("foo", 0, 0, 1000, 50)
            .with_log("bar", 0, 0, 500, 2)
            .with_group("g", 2)
            .with_commit("g", "foo", 0, 900, 30)
            .with_commit("g", "bar", 0, 400, 2)
            .with_group("h", 3)
            .with_commit("h", "foo", 0, 100, 10)
    }

    async fn sample(admin: &FakeAdmin) -> Result<(Cluster, RateSample), RatesError> {
        let snap = snapshot(admin, &SnapshotOptions::default()).await?;
        let opts = SampleOptions {
            window: WINDOW,
            sample_timeout: Duration::from_secs(30),
        };
        let lines = std::sync::Mutex::new(Vec::new());
        let progress = |l: &str| lines.lock().unwrap().push(l.to_string());
        let out = sample_rates(admin, admin, &snap.cluster, &opts, &progress).await?;
        let lines = lines.into_inner().unwrap();
        assert!(lines[0].starts_with("rates: first sample: 3 partition(s), 2 consumer group(s)"));
        let mut cluster = snap.cluster;
        out.apply_to(&mut cluster);
        Ok((cluster, out))
    }

    fn rates(bytes_in: u64, bytes_out: u64) -> PartitionRates {
        PartitionRates {
            bytes_in_per_sec: bytes_in,
            bytes_out_per_sec: bytes_out,
        }
    }

    #[tokio::test]
    async fn rates_from_offset_deltas_and_bytes_per_message() {
        let admin = cluster();
        let (cluster, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 4000));
        assert_eq!(out.rates[&tp("foo", 1)], rates(0, 0));
        assert_eq!(out.rates[&tp("bar", 0)], rates(4000, 4000));
        assert_eq!(out.window_ms, 60_000);
        assert_eq!(out.groups_measured, 2);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(cluster.rates_window_ms, Some(60_000));
        assert!(cluster.partitions.iter().all(|p| p.rates.is_some()));
        // The window was waited on the clock, and only read calls were made.
        assert_eq!(admin.inspect(|s| s.now_ms), 60_000);
        let calls = admin.inspect(|s| s.calls.clone());
        assert!(
            calls.iter().all(|m| !matches!(
                m,
                Method::AlterReassignments | Method::IncrementalAlterConfigs | Method::ElectLeaders
            )),
            "{calls:?}"
        );
        assert!(admin.inspect(|s| s.configs.is_empty()));
    }

    #[tokio::test]
    async fn a_leader_that_moves_between_samples_is_found_again() {
        let admin = cluster();
        admin.schedule(
            30_000,
            FakeEvent::MoveLeader {
                tp: tp("foo", 0),
                to: 2,
            },
        );
        let (_, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 4000));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        // One metadata refresh for the moved partition (the snapshot made the first one).
        let refreshes = admin.inspect(|s| {
            s.calls
                .iter()
                .filter(|m| **m == Method::DescribeTopics)
                .count()
        });
        assert_eq!(refreshes, 2);
    }

    #[tokio::test]
    async fn a_partition_whose_leader_cannot_be_found_is_left_unmeasured() {
        let admin = cluster();
        // A leader the metadata keeps naming but that keeps refusing: one refresh, then
        // the partition is given up on while the others are measured.
        admin.schedule(
            30_000,
            FakeEvent::MoveLeader {
                tp: tp("foo", 0),
                to: 9,
            },
        );
        let (cluster, out) = sample(&admin).await.unwrap();
        assert!(!out.rates.contains_key(&tp("foo", 0)));
        assert_eq!(out.rates[&tp("bar", 0)], rates(4000, 4000));
        let p = cluster.partitions.iter().find(|p| p.tp == tp("foo", 0));
        assert_eq!(p.map(|p| p.rates), Some(None));
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].starts_with("1 partition(s) not measured")
                && out.warnings[0].contains("foo-0"),
            "{:?}",
            out.warnings
        );
    }

    #[tokio::test]
    async fn a_group_deleted_between_samples_adds_nothing() {
        let admin = cluster();
        admin.schedule(30_000, FakeEvent::DeleteGroup("h".into()));
        let (_, out) = sample(&admin).await.unwrap();
        // Only g's 30 msg/s on foo-0 are counted.
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 3000));
        assert_eq!(out.groups_measured, 2);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[tokio::test]
    async fn a_coordinator_that_moves_between_samples_is_found_again() {
        let admin = cluster();
        admin.schedule(
            30_000,
            FakeEvent::MoveCoordinator {
                group: "g".into(),
                to: 1,
            },
        );
        let (_, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 4000));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[tokio::test]
    async fn truncated_log_gives_rate_0_and_a_warning() {
        let admin = cluster();
        admin.schedule(
            30_000,
            FakeEvent::TruncateLog {
                tp: tp("foo", 0),
                end: 400,
            },
        );
        let (_, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)].bytes_in_per_sec, 0);
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].contains("log-end offset go backwards")
                && out.warnings[0].contains("foo-0 (log end 1000 -> 400)"),
            "{:?}",
            out.warnings
        );
    }

    #[tokio::test]
    async fn a_reset_commit_counts_0_for_that_group() {
        let admin = cluster();
        admin.schedule(
            30_000,
            FakeEvent::ResetCommit {
                group: "g".into(),
                tp: tp("foo", 0),
                offset: 0,
            },
        );
        let (_, out) = sample(&admin).await.unwrap();
        // h's 10 msg/s remain.
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 1000));
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("committed offset go backwards")
                    && w.contains("group 'g' 900 -> 0")),
            "{:?}",
            out.warnings
        );
    }

    #[tokio::test]
    async fn a_loading_coordinator_is_retried() {
        let admin = cluster();
        admin.modify(|s| s.groups.get_mut("g").unwrap().loading_answers = 2);
        let (_, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 4000));
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[tokio::test]
    async fn a_coordinator_that_stays_loading_is_given_up_after_bounded_attempts() {
        let admin = cluster();
        admin.modify(|s| s.groups.get_mut("g").unwrap().loading_answers = u32::MAX);
        let (_, out) = sample(&admin).await.unwrap();
        assert_eq!(out.rates[&tp("foo", 0)], rates(5000, 1000));
        assert_eq!(out.rates[&tp("bar", 0)], rates(4000, 0));
        assert_eq!(out.groups_measured, 1);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        for (w, sample) in out.warnings.iter().zip(["first", "second"]) {
            assert!(
                w.starts_with(&format!(
                    "group 'g': committed offsets not read in the {sample} sample (still failing after 5 attempts: OffsetFetch failed: COORDINATOR_LOAD_IN_PROGRESS (14))"
                )),
                "{w}"
            );
        }
        // Each sample asked g's coordinator GROUP_ATTEMPTS times (h shares none of them).
        let fetches = admin.inspect(|s| {
            s.calls
                .iter()
                .filter(|m| **m == Method::OffsetFetch)
                .count()
        });
        assert_eq!(fetches, 2 * (GROUP_ATTEMPTS as usize + 1));
    }

    #[tokio::test]
    async fn a_refused_list_offsets_fails_the_sampling() {
        let admin = cluster();
        let snap = snapshot(&admin, &SnapshotOptions::default()).await.unwrap();
        admin.fail_next(Method::ListOffsets, Fault::broker_error("ListOffsets", 29));
        let opts = SampleOptions {
            window: WINDOW,
            sample_timeout: Duration::from_secs(30),
        };
        let e = sample_rates(&admin, &admin, &snap.cluster, &opts, &|_| {})
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "rate sampling: ListOffsets failed: TOPIC_AUTHORIZATION_FAILED (29)"
        );
    }

    #[tokio::test]
    async fn a_cluster_that_never_answers_ends_the_sampling_within_its_bound() {
        use crate::kafka::properties::ClientConfig;
        use crate::kafka::testbroker::{FakeBroker, State};
        use crate::kafka::KafkaAdmin;
        use kafka_protocol::messages::ApiKey;
        // The model of a one-broker cluster; the broker behind it answers Metadata but
        // never ListGroups or ListOffsets.
        let model =
            FakeAdmin::new()
                .with_broker(1, None, None)
                .with_partition("foo", 0, &[1], 1000);
        let cluster = snapshot(&model, &SnapshotOptions::default())
            .await
            .unwrap()
            .cluster;
        let broker = FakeBroker::start(State {
            handler: Some(std::sync::Arc::new(|_, _, _| None)),
            ranges: Some(vec![
                (ApiKey::Metadata as i16, 0, 12),
                (ApiKey::ApiVersions as i16, 0, 4),
                (ApiKey::ListOffsets as i16, 1, 10),
                (ApiKey::ListGroups as i16, 0, 5),
            ]),
            ..Default::default()
        })
        .await;
        let cfg = ClientConfig {
            request_timeout: Duration::from_millis(300),
            default_api_timeout: Duration::from_secs(30),
            ..ClientConfig::default()
        };
        let admin = KafkaAdmin::new(&broker.addr(), cfg).unwrap();
        let opts = SampleOptions {
            window: Duration::from_secs(1),
            sample_timeout: Duration::from_secs(1),
        };
        let started = std::time::Instant::now();
        let e = sample_rates(&admin, &SystemClock::new(), &cluster, &opts, &|_| {})
            .await
            .unwrap_err();
        assert_eq!(
            e,
            RatesError::TimedOut {
                sample: "first",
                after: Duration::from_secs(1)
            }
        );
        assert_eq!(
            e.to_string(),
            "rate sampling: the first sample did not finish within 1 s"
        );
        // Far below the client's own 30 s API timeout.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_window("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_window("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_window("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_window("1h"), Ok(Duration::from_secs(3600)));
        for (bad, msg) in [
            ("60", "has no unit"),
            ("s", "not a duration"),
            ("-5s", "not a duration"),
            ("5 sec", "unknown unit"),
            ("500ms", "between 1 s and 3600 s"),
            ("2h", "between 1 s and 3600 s"),
            ("99999999999999999999s", "not a duration"),
        ] {
            let e = parse_window(bad).unwrap_err();
            assert!(e.contains(msg), "{bad}: {e}");
        }
    }

    #[test]
    fn per_sec_rounds_and_saturates() {
        assert_eq!(per_sec(10, 3.0, 4.0), 8);
        assert_eq!(per_sec(0, 100.0, 1.0), 0);
        assert_eq!(per_sec(10, 100.0, 0.0), 0);
        assert_eq!(per_sec(i64::MAX, 1e19, 1.0), u64::MAX);
        assert_eq!(per_sec_f(f64::INFINITY), 0);
        assert_eq!(per_sec_f(f64::NAN), 0);
    }
}
