//! Checks and their uses: TW-TOCTOU-001 (an item read then written without a state condition),
//! TW-TOCTOU-002 (another request wrote the item in between and changed what the check
//! established), TW-TOCTOU-005 (the request's check read eventually consistent state) and
//! TW-TOCTOU-006 (the item changed between the check and a conditional write, which the
//! condition refused).

use std::collections::VecDeque;
use std::fmt::Write as _;

use std::rc::Rc;
use tracewarden_sdk::collections::HashMap;

use tracewarden_sdk::prelude::*;

use crate::model::{DbOp, Guard, Seen, Staleness, seconds, timing};
use crate::options::Options;
use crate::{CHECK_THEN_WRITE, OBSERVED_RACE, RACE_ATTEMPTED, WEAK_CHECK};

/// A successful write kept as a possible interleaved write of another request.
type Write = DbOp;

/// Most reads, and apart most writes, held at once: past it the oldest are forgotten first, so
/// a dense stream (ten thousand calls a second within the check window) keeps the component
/// inside its sandbox; pairs further apart than that many calls are then not made.
pub(crate) const MAX_HELD: usize = 25_000;

#[derive(Default)]
pub(crate) struct Checks {
    /// Base-table reads by the item they read (a query pinned to a partition key: by that key).
    /// Operations are shared ([`Rc`]): one read is held here and, when it may be stale, by its
    /// request too; cloning one would copy a score of strings per event.
    /// Hash maps: only looked up, and items often share a long prefix (`orders/order_id=`),
    /// which an ordered map compares again at every level.
    reads: HashMap<Rc<str>, Vec<Rc<DbOp>>>,
    /// Recent successful writes by item.
    writes: HashMap<Rc<str>, Vec<Rc<Write>>>,
    /// The reads and writes held, oldest first, by stream position and item (entries of reads
    /// already consumed or expired are dropped as they come up).
    read_order: VecDeque<(u64, Rc<str>)>,
    write_order: VecDeque<(u64, Rc<str>)>,
    /// Reads that may have returned stale state, by request.
    stale_reads: HashMap<Rc<str>, Vec<Rc<DbOp>>>,
    last_expiry_ns: i64,
    /// Reads and writes forgotten past [`MAX_HELD`] (not expired), and the most positions
    /// held at once: what `usage` reports to the host.
    forgotten: [u64; 2],
    peak_held: [usize; 2],
}

impl Checks {
    /// Forgets what is older than the check window.
    pub(crate) fn expire(&mut self, now: i64, options: &Options) {
        let window = options.check_window_ns;
        if now.saturating_sub(self.last_expiry_ns) < window / 4 {
            return;
        }
        self.last_expiry_ns = now;
        let fresh = |t: i64| now.saturating_sub(t) <= window;
        self.reads.retain(|_, v| {
            v.retain(|r| fresh(r.seen.time()));
            !v.is_empty()
        });
        self.writes.retain(|_, v| {
            v.retain(|w| fresh(w.seen.time()));
            !v.is_empty()
        });
        self.stale_reads.retain(|_, v| {
            v.retain(|r| fresh(r.seen.time()));
            !v.is_empty()
        });
        // Positions of what expired: keep the orders as short as what is held.
        trim_order(&mut self.read_order, &self.reads, |r| r.seen.seq);
        trim_order(&mut self.write_order, &self.writes, |w| w.seen.seq);
    }

    /// Forgets the oldest reads and writes past [`MAX_HELD`], counting them.
    fn bound(&mut self) {
        let orders = [self.read_order.len(), self.write_order.len()];
        for (peak, held) in self.peak_held.iter_mut().zip(orders) {
            *peak = (*peak).max(held.min(MAX_HELD));
        }
        self.forgotten[0] += forget_oldest(&mut self.read_order, &mut self.reads, |r| r.seen.seq);
        self.forgotten[1] += forget_oldest(&mut self.write_order, &mut self.writes, |w| w.seen.seq);
    }

    /// What the reads and writes held and forgot past [`MAX_HELD`]: reads serve TW-TOCTOU-001
    /// and 002, writes 002. A forgotten read may have been a later write's check.
    pub(crate) fn usage(&self) -> Vec<StateUsage> {
        let reads = self.reads.values().map(Vec::len).sum::<usize>() as u64;
        let writes = self.writes.values().map(Vec::len).sum::<usize>() as u64;
        let [peak_reads, peak_writes] = self.peak_held.map(|p| p as u64);
        let usage = |rule: &RuleMeta, name: &str, entries, peak_entries, evicted| StateUsage {
            rule_id: rule.id.to_owned(),
            name: name.to_owned(),
            entries,
            peak_entries,
            evicted,
            ..StateUsage::default()
        };
        vec![
            usage(
                &CHECK_THEN_WRITE,
                "reads",
                reads,
                peak_reads,
                self.forgotten[0],
            ),
            usage(
                &OBSERVED_RACE,
                "reads",
                reads,
                peak_reads,
                self.forgotten[0],
            ),
            usage(
                &OBSERVED_RACE,
                "writes",
                writes,
                peak_writes,
                self.forgotten[1],
            ),
        ]
    }

    /// A successful operation. `checked`: the items a ConditionCheck of the same transaction
    /// covers.
    /// Returns the check a write without a state condition acted on, if any.
    pub(crate) fn operation(
        &mut self,
        op: &Rc<DbOp>,
        checked: &[Rc<str>],
        options: &Options,
        out: &mut Findings,
    ) -> Option<Seen> {
        if op.is_read() {
            if op.reads_base_table() {
                self.reads
                    .entry(op.item.clone())
                    .or_default()
                    .push(Rc::clone(op));
                self.read_order.push_back((op.seen.seq, op.item.clone()));
                self.bound();
            }
            if let (Some(_), Some(request)) = (&op.staleness, &op.seen.request) {
                self.stale_reads
                    .entry(request.clone())
                    .or_default()
                    .push(Rc::clone(op));
            }
            return None;
        }
        if !op.is_write {
            return None;
        }
        let covered = op.guard == Guard::State || checked.contains(&op.item);
        let mut acted_on = None;
        if !covered && let Some((read, same_request)) = self.take_check(op, options) {
            let finding = check_then_write(&read, op, same_request, options, out);
            out.push(finding);
            if let Some(between) = self.interleaved(&read, op) {
                let transferred =
                    !op.transfer_event.is_empty() && op.transfer_event == between.seen.id();
                // The same identity sent the same idempotent edit twice (a double-submitted
                // `PUT`), and nothing the check established changed (no transfer, no counter
                // moved): a lost update, an occurrence of TW-TOCTOU-001's weakness, not an
                // incident. A repeated `POST` (a redemption) is no double submit.
                let double_submit = !transferred
                    && !between.relative
                    && &*op.method == "PUT"
                    && !between.seen.who.is_empty()
                    && between.seen.who == op.seen.who
                    && between.operation == op.operation
                    && between.update == op.update;
                if !double_submit {
                    out.push(observed_race(
                        &read,
                        &between,
                        op,
                        same_request,
                        transferred,
                    ));
                }
            }
            acted_on = Some(read.seen.clone());
        }
        self.weak_checks(op, checked, options, out);
        self.writes
            .entry(op.item.clone())
            .or_default()
            .push(Rc::clone(op));
        self.write_order.push_back((op.seen.seq, op.item.clone()));
        self.bound();
        acted_on
    }

    /// TW-TOCTOU-006: a conditional write that failed its condition after its request's check
    /// of the item, another request having written the item in between: a race the condition
    /// blocked.
    pub(crate) fn blocked(&self, op: &DbOp, out: &mut Findings) {
        let Some(request) = &op.seen.request else {
            return;
        };
        let Some(read) = self.reads.get(&op.item).and_then(|reads| {
            reads
                .iter()
                .rev()
                .find(|r| r.seen.request.as_ref() == Some(request) && r.seen.seq < op.seen.seq)
        }) else {
            return;
        };
        if let Some(between) = self.interleaved(read, op) {
            out.push(race_attempted(read, &between, op));
        }
    }

    /// The latest read of `write`'s item that it acts on: the same request, or, when a source
    /// does not say which request, the same identity within the check window. It is consumed:
    /// one check backs one finding.
    fn take_check(&mut self, write: &DbOp, options: &Options) -> Option<(Rc<DbOp>, bool)> {
        let mut best: Option<(&str, usize, bool)> = None;
        let mut best_seq = 0;
        let lookups = std::iter::once(&*write.item).chain(
            write
                .parts
                .iter()
                .map(String::as_str)
                .filter(|_| write.parts.len() > 1),
        );
        for item in lookups {
            let Some(reads) = self.reads.get(item) else {
                continue;
            };
            for (i, read) in reads.iter().enumerate() {
                if read.seen.seq >= write.seen.seq || read.seen.seq < best_seq {
                    continue;
                }
                let same_request = match (&read.seen.request, &write.seen.request) {
                    (Some(a), Some(b)) if a == b => Some(true),
                    (Some(_), Some(_)) => None,
                    _ if !read.seen.who.is_empty()
                        && read.seen.who == write.seen.who
                        && write.seen.time().saturating_sub(read.seen.time())
                            <= options.check_window_ns =>
                    {
                        Some(false)
                    }
                    _ => None,
                };
                if let Some(same_request) = same_request {
                    best_seq = read.seen.seq;
                    best = Some((item, i, same_request));
                }
            }
        }
        let (item, i, same_request) = best?;
        let reads = self.reads.get_mut(item)?;
        let read = reads.remove(i);
        if reads.is_empty() {
            self.reads.remove(item);
        }
        Some((read, same_request))
    }

    /// The first successful write of the item by another request or identity between `read` and
    /// `write`, in stream order.
    fn interleaved(&self, read: &DbOp, write: &DbOp) -> Option<Rc<Write>> {
        self.writes
            .get(&write.item)?
            .iter()
            .find(|w| {
                w.seen.seq > read.seen.seq
                    && w.seen.seq < write.seen.seq
                    && w.seen.other_actor(&write.seen) == Some(true)
            })
            .cloned()
    }

    /// TW-TOCTOU-005: stale reads of this write's request that the write depends on and does
    /// not re-check.
    fn weak_checks(
        &mut self,
        write: &DbOp,
        checked: &[Rc<str>],
        options: &Options,
        out: &mut Findings,
    ) {
        let Some(request) = &write.seen.request else {
            return;
        };
        let Some(reads) = self.stale_reads.get_mut(request) else {
            return;
        };
        let mut kept = Vec::with_capacity(reads.len());
        for read in std::mem::take(reads) {
            let relevant = read.seen.seq < write.seen.seq
                && (read.table == write.table
                    || options.auth_tables.iter().any(|t| **t == *read.table));
            let index = matches!(read.staleness, Some(Staleness::Index(_)));
            // A stale read of the written item itself is TW-TOCTOU-001's: its fix (a condition)
            // fixes both.
            let same_item = !index && read.item == write.item;
            let rechecked = checked.contains(&read.item) || (index && write.guard == Guard::State);
            if relevant && !same_item && !rechecked {
                out.push(weak_check(&read, write, request));
            } else {
                kept.push(read);
            }
        }
        *reads = kept;
    }
}

/// Drops the order's entries older than everything `held` still holds.
fn trim_order<T>(
    order: &mut VecDeque<(u64, Rc<str>)>,
    held: &HashMap<Rc<str>, Vec<T>>,
    seq: impl Fn(&T) -> u64,
) {
    let oldest = held.values().flatten().map(seq).min().unwrap_or(u64::MAX);
    while order.front().is_some_and(|(s, _)| *s < oldest) {
        order.pop_front();
    }
}

/// Forgets the oldest held entries while more than [`MAX_HELD`] are ordered.
/// Returns how many held entries it forgot (a position whose entry was consumed or expired
/// forgets nothing).
fn forget_oldest<T>(
    order: &mut VecDeque<(u64, Rc<str>)>,
    held: &mut HashMap<Rc<str>, Vec<T>>,
    seq: impl Fn(&T) -> u64,
) -> u64 {
    let mut forgotten = 0;
    while order.len() > MAX_HELD {
        if let Some((old, item)) = order.pop_front()
            && let Some(entries) = held.get_mut(&item)
        {
            let before = entries.len();
            entries.retain(|e| seq(e) != old);
            forgotten += (before - entries.len()) as u64;
            if entries.is_empty() {
                held.remove(&item);
            }
        }
    }
    forgotten
}

fn guard_text(write: &DbOp) -> String {
    let mut text = String::new();
    push_guard_text(&mut text, write);
    text
}

/// What the write's condition protects, in words, appended to `out`.
fn push_guard_text(out: &mut String, write: &DbOp) {
    // Writing to a `String` cannot fail.
    let _ = match write.guard {
        Guard::None => out.write_str("without a condition"),
        Guard::ExistenceOnly => write!(
            out,
            "with a condition on its key only (`{}`), not on its state",
            write.condition
        ),
        Guard::State => write!(out, "with condition `{}`", write.condition),
    };
}

/// TW-TOCTOU-001 on `write`, checked by `read`: a weakness on every unguarded write, so past a
/// site's first occurrences (`out` says) only its principal, time and confidence, which is all
/// the host reads of them.
fn check_then_write(
    read: &DbOp,
    write: &DbOp,
    same_request: bool,
    options: &Options,
    out: &Findings,
) -> Finding {
    let gap = write.seen.time().saturating_sub(read.seen.time());
    let coarse = read.seen.precision_ns.max(write.seen.precision_ns) as i64;
    let confidence = if write.relative {
        Confidence::Low
    } else if same_request {
        Confidence::High
    } else if coarse >= 1_000_000_000 && gap < coarse {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    let site = write.site();
    if !out.keeps_details(CHECK_THEN_WRITE.id, &site) {
        let latest_ns = read.seen.time().max(write.seen.time());
        return Finding::occurrence(CHECK_THEN_WRITE.id, site, &write.seen.who, latest_ns)
            .confidence(confidence);
    }
    // One buffer: the message of each of a site's first occurrences, each part formatted apart
    // was an allocation of its own.
    let mut message = String::with_capacity(320);
    // Writing to a `String` cannot fail.
    let _ = write!(
        message,
        "`{}` of `{}` then `{}` ",
        read.operation, write.item, write.operation
    );
    push_guard_text(&mut message, write);
    let _ = write!(message, " {} later ", seconds(gap));
    if same_request {
        let _ = write!(
            message,
            "in the same request ({})",
            read.seen.request.as_deref().unwrap_or_default()
        );
    } else {
        let _ = write!(
            message,
            "by `{}` (no shared request id; within the {} window)",
            write.seen.who,
            seconds(options.check_window_ns)
        );
    }
    message.push_str(
        ": the check and the write are separate steps, so the item can change in between.",
    );
    if write.relative {
        message.push_str(
            " The update is relative (it adds to current values), so no update is lost, but a \
             limit the read checked can still be overrun.",
        );
    }
    match &read.staleness {
        Some(Staleness::EventuallyConsistent) => message.push_str(
            " The read was also eventually consistent, so the checked state may already have \
             been stale.",
        ),
        Some(Staleness::Index(_)) | None => {}
    }
    let _ = write!(message, " {}.", timing(&[&read.seen, &write.seen]));
    Finding::new(CHECK_THEN_WRITE.id, message)
        .site(site)
        .principal(&write.seen.who)
        .resource(write.item.to_string())
        .confidence(confidence)
        .with(read.seen.as_evidence("check"))
        .with(write.seen.as_evidence("use"))
}

/// Who made the interleaved write, as a message names them: another principal, else another
/// request.
fn other_writer(between: &Write, write: &DbOp) -> String {
    match (&between.seen.request, &*between.seen.who) {
        (_, who) if !who.is_empty() && who != &*write.seen.who => format!("`{who}`"),
        (Some(request), _) => format!("another request ({request})"),
        _ => "another request".to_owned(),
    }
}

fn race_attempted(read: &DbOp, between: &Write, write: &DbOp) -> Finding {
    let other = other_writer(between, write);
    let message = format!(
        "Race attempted, blocked: `{}` read `{}` ({}), {other} wrote it ({}) {} later, then `{}`'s \
         {} {} failed its condition ({}) {} after its check. The condition caught the change; the \
         request raced a concurrent change of the item. {}.",
        write.seen.who,
        write.item,
        read.operation,
        between.operation,
        seconds(between.seen.time().saturating_sub(read.seen.time())),
        write.seen.who,
        write.operation,
        guard_text(write),
        write.error_code,
        seconds(write.seen.time().saturating_sub(read.seen.time())),
        timing(&[&read.seen, &between.seen, &write.seen]),
    );
    Finding::new(RACE_ATTEMPTED.id, message)
        .principal(&write.seen.who)
        .resource(write.item.to_string())
        .with(read.seen.as_evidence("check"))
        .with(between.seen.as_evidence("interleaved-write"))
        .with(write.seen.as_evidence("blocked-write"))
}

fn observed_race(
    read: &DbOp,
    between: &Write,
    write: &DbOp,
    same_request: bool,
    transferred: bool,
) -> Finding {
    let established =
        read.seen.surely_before(&between.seen) && between.seen.surely_before(&write.seen);
    let other = other_writer(between, write);
    let times = timing(&[&read.seen, &between.seen, &write.seen]);
    let story = format!(
        "`{}` read `{}` ({}), {other} wrote it ({}) {} later, then `{}` wrote it ({}) {} {} after \
         that, {} after its check",
        write.seen.who,
        write.item,
        read.operation,
        between.operation,
        seconds(between.seen.time().saturating_sub(read.seen.time())),
        write.seen.who,
        write.operation,
        guard_text(write),
        seconds(write.seen.time().saturating_sub(between.seen.time())),
        seconds(write.seen.time().saturating_sub(read.seen.time())),
    );
    let changed = if transferred {
        " The interleaved write transferred the item to another owner: the write acted on an \
         object that was no longer the caller's."
    } else {
        ""
    };
    let (message, confidence) = if established {
        (
            format!(
                "Observed race: {story}. The write acted on a check that no longer held.{changed} \
                 {times}."
            ),
            if same_request {
                Confidence::High
            } else {
                Confidence::Medium
            },
        )
    } else {
        (
            format!(
                "Possible race: {story}. The {times} cannot establish the order of the three \
                 calls; confirm with a finer source (DynamoDB wire logs, OpenTelemetry spans)."
            ),
            Confidence::Low,
        )
    };
    Finding::new(OBSERVED_RACE.id, message)
        .principal(&write.seen.who)
        .resource(write.item.to_string())
        .confidence(confidence)
        .with(read.seen.as_evidence("check"))
        .with(between.seen.as_evidence("interleaved-write"))
        .with(write.seen.as_evidence("use"))
}

fn weak_check(read: &DbOp, write: &DbOp, request: &str) -> Finding {
    let stale = match &read.staleness {
        Some(Staleness::Index(index)) => format!(
            "served from index `{index}` (global secondary indexes are always eventually \
             consistent)"
        ),
        _ => "eventually consistent (no `ConsistentRead: true`)".to_owned(),
    };
    let message = format!(
        "In {request}, `{}` of `{}` was {stale}, then `{}` of `{}` {} {} later without \
         re-checking it: the decision may rest on state that had already changed. {}.",
        read.operation,
        read.item,
        write.operation,
        write.item,
        guard_text(write),
        seconds(write.seen.time().saturating_sub(read.seen.time())),
        timing(&[&read.seen, &write.seen]),
    );
    Finding::new(WEAK_CHECK.id, message)
        .site(write.site())
        .principal(&write.seen.who)
        .resource(write.item.to_string())
        .with(read.seen.as_evidence("weak-check"))
        .with(write.seen.as_evidence("use"))
}
