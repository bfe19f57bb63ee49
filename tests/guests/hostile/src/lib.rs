//! A rule that reports every DB event it sees until it meets an event on the table `boom`, then
//! misbehaves as its feature says: `looping` spins forever, `hungry` allocates without bound,
//! `trapping` panics. The end-to-end tests prove the host stops each one, names it, and keeps the
//! other rules' findings.

use tracewarden_sdk::prelude::*;

#[cfg(feature = "looping")]
const ID: &str = "TEST-LOOP";
#[cfg(feature = "hungry")]
const ID: &str = "TEST-HUNGRY";
#[cfg(feature = "trapping")]
const ID: &str = "TEST-TRAP";
#[cfg(not(any(feature = "looping", feature = "hungry", feature = "trapping")))]
const ID: &str = "TEST-TAME";

/// The misbehaving rule.
#[derive(Default)]
pub struct Hostile {
    hoard: Vec<Vec<u8>>,
}

impl Hostile {
    fn misbehave(&mut self) {
        std::hint::black_box(&self.hoard);
        #[cfg(feature = "looping")]
        loop {
            std::hint::black_box(&mut self.hoard);
        }
        #[cfg(feature = "hungry")]
        loop {
            // Untouched 16 MiB capacity: the memory cap must stop it, not the CPU budget.
            self.hoard
                .push(std::hint::black_box(Vec::with_capacity(16 << 20)));
        }
        #[cfg(feature = "trapping")]
        {
            let depth = std::hint::black_box(self.hoard.len());
            #[expect(clippy::panic, reason = "the point of this test rule")]
            {
                panic!("deliberate failure after {depth} hoarded buffers");
            }
        }
    }
}

impl Rule for Hostile {
    fn rules() -> Vec<RuleMeta> {
        vec![RuleMeta {
            id: ID,
            title: "Misbehaving test rule",
            severity: Severity::Info,
            kinds: &[EventKind::DbOperation],
            ..RuleMeta::DEFAULT
        }]
    }

    fn on_event(&mut self, event: &Event<'_>, out: &mut Findings) {
        let Some(db) = event.db() else { return };
        if db.table == "boom" {
            self.misbehave();
        }
        out.push(Finding::new(ID, "seen").evidence(event, "seen"));
    }
}

tracewarden_sdk::export_rule!(Hostile);
