//! The Rego rule host (regorus). A rule module is `package tracewarden.rules.<name>` with a plain
//! `metadata` object and a `findings` set; it sees a batch of events as `input.events`: those of
//! the batch it is sent that its metadata's `where` admits (`rego_filter`), as values shared with
//! the other Rego rules (`rego_input`). Each module is parsed, checked and warmed up once at load;
//! each scan works on a clone. Its findings are read by `rego_findings`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use regorus::{Engine, Value};

use super::config::PackConfig;
use super::meta::RuleMeta;
use super::rego_eval::{Compiled, Evaluator, TIME_LIMIT};
use super::rego_filter::Where;
use super::rego_input::{self, SharedValue};
use super::rego_reads::Reads;
use crate::event::Event;
use crate::finding::RawFinding;

const PACKAGE_PREFIX: &str = "data.tracewarden.rules.";

/// Builtins refused even though regorus has them: their results depend on the clock, randomness
/// or the host, so a scan would not be reproducible. "Now" is the log's time.
const NON_DETERMINISTIC: &[&str] = &["time.now_ns", "rand.intn", "uuid.rfc4122", "opa.runtime"];

/// A loaded, warmed Rego rule.
#[derive(Clone)]
pub struct RegoRule {
    meta: RuleMeta,
    /// The events the rule can report on (its metadata's `where`).
    filter: Where,
    /// What it reads of each event (its metadata's `reads`).
    reads: Arc<Reads>,
    /// The module, warmed up, for the interpreter (its timer set).
    engine: Engine,
    findings_path: String,
    /// `findings` compiled for the VM, unless the interpreter must evaluate it (`rego_eval`).
    compiled: Option<Compiled>,
    time_limit: Duration,
}

impl std::fmt::Debug for RegoRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoRule")
            .field("meta", &self.meta)
            .finish()
    }
}

impl RegoRule {
    /// Parses and checks `source` (named `file`), gives it its pack's options as `data.config`,
    /// reads its metadata and runs one warm-up evaluation. Returns every problem found.
    pub fn load(file: &str, source: &str, config: &PackConfig) -> Result<RegoRule, Vec<String>> {
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(true);
        super::rego_bounds::install(&mut engine).map_err(|e| vec![e])?;
        let data = serde_json::json!({ "config": config.to_json() }).to_string();
        Value::from_json_str(&data)
            .and_then(|d| engine.add_data(d))
            .map_err(|e| vec![format!("cannot give the rule its options: {e}")])?;
        engine
            .add_policy(file.to_owned(), source.to_owned())
            .map_err(|e| vec![format!("does not parse: {}", summary(&e))])?;
        let mut problems = Vec::new();
        let package = match engine.get_packages().ok().as_deref() {
            Some([p])
                if p.strip_prefix(PACKAGE_PREFIX)
                    .is_some_and(|n| !n.is_empty() && !n.contains('.')) =>
            {
                p.clone()
            }
            Some([p]) => {
                problems.push(format!(
                    "package `{}` is not `tracewarden.rules.<name>`",
                    p.trim_start_matches("data.")
                ));
                return Err(problems);
            }
            _ => return Err(vec!["expected exactly one package".to_owned()]),
        };
        let (builtin_problems, interpreter_only) = inspect(&engine);
        problems.extend(builtin_problems);

        let mut filter = Where::default();
        let mut reads = Reads::All;
        let meta = match engine.eval_rule(format!("{package}.metadata")) {
            Ok(Value::Undefined) => {
                problems.push("has no `metadata` object".to_owned());
                None
            }
            Ok(mut v) => {
                match take_where(&mut v) {
                    Ok(w) => filter = w,
                    Err(e) => problems.extend(e),
                }
                match take_reads(&mut v) {
                    Ok(r) => reads = r,
                    Err(e) => problems.extend(e),
                }
                match v.to_json_str().map_err(|e| e.to_string()).and_then(|json| {
                    serde_json::from_str::<RuleMeta>(&json).map_err(|e| e.to_string())
                }) {
                    Ok(meta) => Some(meta),
                    Err(e) => {
                        problems.push(format!("invalid `metadata`: {e}"));
                        None
                    }
                }
            }
            Err(e) if is_missing_rule(&e) => {
                problems.push("has no `metadata` object".to_owned());
                None
            }
            Err(e) => {
                problems.push(format!("`metadata` does not evaluate: {}", summary(&e)));
                None
            }
        };
        if let Some(meta) = &meta {
            problems.extend(meta.problems());
        }
        let findings_path = format!("{package}.findings");
        // Warm-up: evaluating once before cloning keeps clones cheap, and proves `findings` exists.
        engine.set_input(empty_input());
        let mut compiled = None;
        match engine.eval_rule(findings_path.clone()) {
            Ok(warm @ Value::Set(_)) if !interpreter_only => {
                compiled = Compiled::new(&engine, &findings_path, &empty_input(), &warm);
            }
            Ok(Value::Set(_)) => {}
            Ok(Value::Undefined) => problems.push("has no `findings` set".to_owned()),
            Err(e) if is_missing_rule(&e) => problems.push("has no `findings` set".to_owned()),
            Ok(_) => problems
                .push("`findings` is not a set (use `findings contains f if { ... }`)".to_owned()),
            Err(e) => problems.push(format!(
                "`findings` does not evaluate on an empty batch: {}",
                summary(&e)
            )),
        }
        engine.set_execution_timer_config(super::rego_eval::timer(TIME_LIMIT));
        match meta {
            Some(meta) if problems.is_empty() => Ok(RegoRule {
                meta,
                filter,
                reads: Arc::new(reads),
                engine,
                findings_path,
                compiled,
                time_limit: TIME_LIMIT,
            }),
            _ => Err(problems),
        }
    }

    /// The rule's metadata.
    pub fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    /// The events the rule can report on.
    #[cfg(test)]
    pub(super) fn filter(&self) -> &Where {
        &self.filter
    }

    /// What the rule reads of each event.
    pub(super) fn reads(&self) -> &Reads {
        &self.reads
    }

    /// The fields of an event the rule reads (its metadata's `reads`, with `id`), as paths of
    /// the event's JSON form; `None` when it is given whole events.
    pub fn reads_paths(&self) -> Option<Vec<String>> {
        self.reads.paths()
    }

    /// The same rule given whole events.
    #[cfg(test)]
    pub(super) fn reading_all(&self) -> RegoRule {
        RegoRule {
            reads: Arc::new(Reads::All),
            ..self.clone()
        }
    }

    /// Whether its metadata declares `where` or `reads`, which only the rule's author can
    /// keep exact.
    pub(super) fn declares_what_it_reads(&self) -> bool {
        !self.filter.admits_all() || *self.reads != Reads::All
    }

    /// The same rule given whole events and evaluating every event it is sent, as if its
    /// metadata declared neither `where` nor `reads`: what `rules test` checks them against.
    pub(super) fn undeclared(&self) -> RegoRule {
        RegoRule {
            filter: Where::default(),
            reads: Arc::new(Reads::All),
            ..self.clone()
        }
    }

    /// The same rule evaluating every event it is sent.
    #[cfg(test)]
    pub(super) fn without_filter(&self) -> RegoRule {
        RegoRule {
            filter: Where::default(),
            ..self.clone()
        }
    }

    /// The same rule stopped after `limit` instead of [`TIME_LIMIT`].
    #[cfg(test)]
    pub(super) fn with_time_limit(mut self, limit: Duration) -> RegoRule {
        self.engine
            .set_execution_timer_config(super::rego_eval::timer(limit));
        self.time_limit = limit;
        self
    }

    /// The same rule evaluated by the interpreter.
    #[cfg(test)]
    pub(super) fn interpreted(&self) -> RegoRule {
        RegoRule {
            compiled: None,
            ..self.clone()
        }
    }

    /// A copy for one scan, building the events' values with what it reads.
    pub(crate) fn session(&self) -> RegoSession {
        RegoSession {
            evaluator: Evaluator::new(
                self.compiled.as_ref(),
                &self.engine,
                &self.findings_path,
                self.time_limit,
            ),
            rule_id: self.meta.id.clone(),
            filter: self.filter.clone(),
            reads: Arc::clone(&self.reads),
        }
    }
}

/// A regorus error without the source lines it quotes: `file:line:col: message`. A refusal names
/// where and what, never the file's content.
pub(super) fn summary(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let at = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("--> "))
        .map(str::trim);
    let message = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("error: "))
        .map(str::trim);
    match (at, message) {
        (Some(at), Some(message)) => format!("{at}: {message}"),
        (None, Some(message)) => message.to_owned(),
        // No quoted source: the first line is the message.
        _ => text.lines().next().unwrap_or_default().to_owned(),
    }
}

/// Removes `where` from the metadata object `meta` and reads it (none: every event).
fn take_where(meta: &mut Value) -> Result<Where, Vec<String>> {
    match meta.as_object_mut() {
        Ok(fields) => fields
            .remove(&Value::from("where"))
            .map_or(Ok(Where::default()), |w| Where::parse(&w)),
        Err(_) => Ok(Where::default()),
    }
}

/// Removes `reads` from the metadata object `meta` and reads it (none: every field).
fn take_reads(meta: &mut Value) -> Result<Reads, Vec<String>> {
    match meta.as_object_mut() {
        Ok(fields) => fields
            .remove(&Value::from("reads"))
            .map_or(Ok(Reads::All), |r| Reads::parse(&r)),
        Err(_) => Ok(Reads::All),
    }
}

/// regorus's error for evaluating a rule the policy does not declare.
fn is_missing_rule(e: &impl std::fmt::Display) -> bool {
    e.to_string().contains("not a valid rule path")
}

fn empty_input() -> Value {
    Value::from_json_str(r#"{"events":[]}"#).unwrap_or(Value::Undefined)
}

/// Every function a policy calls that is neither defined in the module nor a regorus builtin, and
/// every non-deterministic builtin; and whether only the interpreter may evaluate it: it calls a
/// builtin the host bounds, or `print` (which the VM does not have).
fn inspect(engine: &Engine) -> (Vec<String>, bool) {
    let ast = match engine
        .get_ast_as_json()
        .map(|s| serde_json::from_str::<serde_json::Value>(&s))
    {
        Ok(Ok(ast)) => ast,
        Ok(Err(e)) => return (vec![format!("cannot inspect the policy: {e}")], true),
        Err(e) => return (vec![format!("cannot inspect the policy: {e}")], true),
    };
    let mut defined = BTreeSet::new();
    let mut called = BTreeSet::new();
    let mut problems = Vec::new();
    collect_functions(&ast, &mut defined, &mut called, &mut problems);
    let interpreter_only = called
        .iter()
        .any(|name| name == "print" || super::rego_bounds::BOUNDED.contains(&name.as_str()));
    for name in called {
        if defined.contains(&name) {
            continue;
        }
        if NON_DETERMINISTIC.contains(&name.as_str()) {
            problems.push(format!(
                "calls `{name}`, which is not deterministic: rules must take time and ids from events"
            ));
        } else if !regorus::unstable::BUILTINS.contains_key(name.as_str()) && !is_operator(&name) {
            problems.push(format!(
                "calls `{name}`, which this engine (regorus) does not provide"
            ));
        }
    }
    (problems, interpreter_only)
}

/// Names regorus evaluates directly rather than through its builtin table.
fn is_operator(name: &str) -> bool {
    matches!(
        name,
        "print"
            | "equal"
            | "neq"
            | "lt"
            | "lte"
            | "gt"
            | "gte"
            | "plus"
            | "minus"
            | "mul"
            | "div"
            | "rem"
    )
}

/// Walks the AST JSON: function definitions are rules whose head is `Func`; calls are `Call`
/// nodes whose `fcn` is a `Var` or a dotted `RefDot` chain.
fn collect_functions(
    node: &serde_json::Value,
    defined: &mut BTreeSet<String>,
    called: &mut BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    match node {
        serde_json::Value::Object(map) => {
            let call = map.get("Call");
            if let Some(name) = call.and_then(|c| c.get("fcn")).and_then(path_of) {
                if name == "sprintf" {
                    // Its widths make strings of any size: the format must be a literal whose
                    // widths are in bounds.
                    let format = call
                        .and_then(|c| c.pointer("/params/0/String/value"))
                        .and_then(serde_json::Value::as_str);
                    match format {
                        Some(f) => problems.extend(super::rego_bounds::sprintf_width_problem(f)),
                        None => problems.push(
                            "calls `sprintf` with a format that is not a string literal (its \
                             widths could not be bounded)"
                                .to_owned(),
                        ),
                    }
                }
                called.insert(name);
            }
            if let Some(name) = map
                .get("Func")
                .and_then(|f| f.get("refr"))
                .and_then(path_of)
            {
                defined.insert(name);
            }
            for v in map.values() {
                collect_functions(v, defined, called, problems);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                collect_functions(v, defined, called, problems);
            }
        }
        _ => {}
    }
}

/// `a.b.c` from a `Var` / `RefDot` expression, as regorus serializes them.
fn path_of(expr: &serde_json::Value) -> Option<String> {
    if let Some(var) = expr.get("Var") {
        return var_name(var);
    }
    let dot = expr.get("RefDot")?;
    let base = path_of(dot.get("refr")?)?;
    let field = dot.get("field").and_then(var_name)?;
    Some(format!("{base}.{field}"))
}

/// The name inside a `[span, value]` pair or a `{span, value}` object.
fn var_name(v: &serde_json::Value) -> Option<String> {
    let value = match v {
        serde_json::Value::Array(parts) => parts.get(1)?,
        serde_json::Value::Object(map) => map.get("value").or_else(|| map.get("name"))?,
        _ => return None,
    };
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        other => other
            .get("String")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
    }
}

/// One Rego rule's evaluation state for a scan.
pub(crate) struct RegoSession {
    evaluator: Evaluator,
    rule_id: String,
    filter: Where,
    /// What the events' values hold: what the rule reads (as every rule sharing them does).
    reads: Arc<Reads>,
}

impl RegoSession {
    /// Evaluates `findings` over the events of one batch its `where` admits (none: no
    /// evaluation); `values` are the slots of the events' values, one per event, shared with the
    /// other Rego rules.
    pub(crate) fn on_events(
        &mut self,
        events: &[&Event],
        values: &[&SharedValue],
    ) -> Result<Vec<RawFinding>, String> {
        if values.len() != events.len() {
            return Err(format!(
                "the host sent {} events with {} values",
                events.len(),
                values.len()
            ));
        }
        let mut admitted = Vec::with_capacity(events.len());
        let mut input = Vec::with_capacity(events.len());
        for (e, v) in events.iter().zip(values) {
            if self.filter.admits(e) {
                admitted.push(*e);
                input.push(v.get(e, &self.reads).clone());
            }
        }
        if admitted.is_empty() {
            // A finding cites events of its batch: an empty batch has none to report.
            return Ok(Vec::new());
        }
        let value = self
            .evaluator
            .eval(rego_input::input(input))
            .map_err(|e| format!("evaluation failed: {e}"))?;
        super::rego_findings::read(&value, &admitted, &self.rule_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DbOperation, Detail, Outcome, SourceRef};
    use crate::rules::Severity;
    use std::time::Duration;

    const META: &str = r#"metadata := {"id": "T-1", "title": "t", "severity": "low", "confidence": "high", "class": "incident"}"#;

    fn load(body: &str) -> Result<RegoRule, Vec<String>> {
        RegoRule::load(
            "t.rego",
            &format!("package tracewarden.rules.t\n{body}"),
            &PackConfig::default(),
        )
    }

    /// Evaluates `rule` over `events`, values made for the occasion.
    fn run(rule: &RegoRule, events: &[Event]) -> Result<Vec<RawFinding>, String> {
        let refs: Vec<&Event> = events.iter().collect();
        let slots: Vec<SharedValue> = events.iter().map(|_| SharedValue::default()).collect();
        let values: Vec<&SharedValue> = slots.iter().collect();
        rule.session().on_events(&refs, &values)
    }

    fn event(id: &str) -> Event {
        Event {
            facts: Default::default(),
            id: id.into(),
            time_ns: 7,
            precision_ns: 1,
            source: SourceRef {
                file: "f".into(),
                record: 1,
                line: Some(2),
                format: "events".into(),
            },
            actor: Default::default(),
            correlation: Default::default(),
            outcome: Outcome::Success,
            detail: Detail::DbOperation(DbOperation::default()),
            attributes: Default::default(),
        }
    }

    #[test]
    fn the_package_must_be_under_tracewarden_rules() {
        let err = RegoRule::load(
            "t.rego",
            "package acme.t\nfindings := set()",
            &PackConfig::default(),
        )
        .unwrap_err();
        assert_eq!(err, ["package `acme.t` is not `tracewarden.rules.<name>`"]);
    }

    #[test]
    fn metadata_and_findings_are_required() {
        assert_eq!(
            load("x := 1").unwrap_err(),
            ["has no `metadata` object", "has no `findings` set"]
        );
        let err = load(&format!("{META}\nfindings := 3")).unwrap_err();
        assert_eq!(
            err,
            ["`findings` is not a set (use `findings contains f if { ... }`)"]
        );
        let err = load(
            r#"metadata := {"id": "T-1", "title": "t", "severity": "severe", "confidence": "high", "class": "incident"}
findings contains 1 if false"#,
        )
        .unwrap_err();
        assert!(
            err[0].starts_with("invalid `metadata`: unknown variant `severe`"),
            "{err:?}"
        );
    }

    #[test]
    fn findings_resolve_evidence_against_the_batch() {
        let rule = load(&format!(
            "{META}\nfindings contains f if {{ some e in input.events\n f := {{\"message\": \"m\", \"evidence\": [e.id], \"severity\": \"high\"}} }}"
        ))
        .unwrap();
        let found = run(&rule, &[event("a")]).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Some(Severity::High));
        assert_eq!(found[0].time_ns, 7);
        assert_eq!(found[0].evidence[0].source, "f:2");
    }

    #[test]
    fn where_spares_the_rule_the_events_it_turns_away() {
        let rule = load(
            r#"metadata := {"id": "T-1", "title": "t", "severity": "low", "confidence": "high", "class": "incident", "where": {"outcome": "success"}}
findings contains f if { some e in input.events
 f := {"message": sprintf("%d", [count(input.events)]), "evidence": [e.id]} }"#,
        )
        .unwrap();
        assert!(rule.meta().kinds.is_empty());
        let mut denied = event("b");
        denied.outcome = Outcome::Denied;
        let found = run(&rule, &[event("a"), denied.clone(), event("c")]).unwrap();
        assert_eq!(
            found.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(),
            ["2", "2"]
        );
        assert_eq!(run(&rule, &[denied]).unwrap(), []);
        let err = load(&format!(
            "{}\nfindings := set()",
            META.replace("}", r#", "where": {"outcome": "ok"}}"#)
        ))
        .unwrap_err();
        assert_eq!(
            err,
            [
                "`where.outcome`: `ok` is not one of `success`, `denied`, `not_found`, `conflict`, `throttled`, `error`, `unknown`"
            ]
        );
    }

    #[test]
    fn rules_run_on_the_vm_unless_they_call_a_bounded_builtin() {
        let body = |call: &str| {
            format!(
                "{META}\nfindings contains f if {{ some e in input.events\n x := {call}\n f := {{\"message\": sprintf(\"%v\", [x]), \"evidence\": [e.id]}} }}"
            )
        };
        assert!(
            load(&body("upper(e.id)"))
                .unwrap()
                .session()
                .evaluator
                .is_vm()
        );
        for call in [
            "numbers.range(1, 2)",
            "numbers.range_step(1, 5, 2)",
            r#"replace(e.id, "a", "b")"#,
            "print(e.id)",
        ] {
            let rule = load(&body(call)).unwrap();
            assert!(!rule.session().evaluator.is_vm(), "{call}");
            assert_eq!(run(&rule, &[event("a")]).unwrap().len(), 1, "{call}");
        }
        // The VM compiles no reference to `data` itself: the interpreter takes the rule.
        let rule = load(&body(r#"object.get(data, ["config", "x"], 1)"#)).unwrap();
        assert!(!rule.session().evaluator.is_vm());
        assert_eq!(run(&rule, &[event("a")]).unwrap()[0].message, "1");
    }

    #[test]
    fn both_evaluators_stop_at_the_time_limit() {
        // 256^4 steps: hours, whatever the evaluator.
        let rule = load(&format!(
            "{META}\nfindings contains f if {{ some e in input.events\n count([1 | some a in input.events; some b in input.events; some c in input.events; some d in input.events]) < 0\n f := {{\"message\": \"m\", \"evidence\": [e.id]}} }}"
        ))
        .unwrap()
        .with_time_limit(Duration::from_millis(200));
        let events: Vec<Event> = (0..256).map(|i| event(&i.to_string())).collect();
        for rule in [rule.clone(), rule.interpreted()] {
            let vm = rule.session().evaluator.is_vm();
            let started = std::time::Instant::now();
            let err = run(&rule, &events).unwrap_err();
            assert!(
                err.starts_with("evaluation failed: ")
                    && err.to_lowercase().contains("exceeded time limit"),
                "vm {vm}: {err}"
            );
            assert!(started.elapsed() < Duration::from_secs(5), "vm {vm}");
        }
        assert!(rule.session().evaluator.is_vm());
    }

    /// A scope rule naming a scope the key lost: a finding, where two definitions of `lost`
    /// giving different sets stopped the rule. The first rule that applies decides.
    #[test]
    fn key002_judges_a_use_by_the_first_scope_rule_that_applies() {
        use crate::rules::rego_filter::tests::evaluate;
        use crate::rules::rego_input::tests::fixture_events;
        use crate::rules::{RuleSet, RuleSetOptions, Runtime, parse_rule_config};
        let events = fixture_events();
        // Bob's key lost `orders:write` (inventory/changes.csv), then deleted an order.
        let delete = "but `DELETE /orders/o-2002` succeeded after it, which needs";
        for (rules, needs) in [
            (
                r#"["DELETE /orders = orders:write"]"#,
                Some("`orders:write`"),
            ),
            (
                r#"["DELETE /orders = orders:write", "DELETE /orders/o = orders:admin"]"#,
                Some("`orders:write`"),
            ),
            (
                r#"["DELETE /orders/o = orders:admin", "DELETE /orders = orders:write"]"#,
                None,
            ),
        ] {
            let options = RuleSetOptions {
                config: parse_rule_config(&format!("[stale-keys]\nscope_rules = {rules}")).unwrap(),
                ..RuleSetOptions::default()
            };
            let set = RuleSet::load(&options).unwrap();
            let Some(rule) =
                set.packs()
                    .iter()
                    .flat_map(|p| &p.files)
                    .find_map(|f| match &f.runtime {
                        Runtime::Rego(r) if r.meta().id == "TW-KEY-002" => Some(r),
                        _ => None,
                    })
            else {
                panic!("TW-KEY-002 is built in");
            };
            let sent: Vec<&Event> = events.iter().filter(|e| rule.meta().wants(e)).collect();
            for rule in [RegoRule::clone(rule), rule.interpreted()] {
                let found: Vec<String> = evaluate(&rule, &sent)
                    .into_iter()
                    .filter(|f| f.contains(delete))
                    .collect();
                match needs {
                    Some(scope) => assert!(
                        found.len() == 1 && found[0].contains(&format!("{delete} {scope}")),
                        "{rules}: {found:?}"
                    ),
                    None => assert_eq!(found, Vec::<String>::new(), "{rules}"),
                }
            }
        }
    }

    /// The VM and the interpreter make the same findings of every built-in Rego rule (and
    /// TW-DDB-001's Rego reference), over every fixture event and variants of them, with the
    /// packs' options and with scope rules.
    #[test]
    fn the_vm_agrees_with_the_interpreter_on_the_built_in_rules() {
        use crate::rules::rego_filter::tests::evaluate;
        use crate::rules::rego_filter::tests::with_rego_reference;
        use crate::rules::rego_input::tests::{fixture_events, variants};
        use crate::rules::{Runtime, parse_rule_config};
        let events = variants(&fixture_events());
        let scope_rules = parse_rule_config(
            r#"[stale-keys]
scope_rules = ["DELETE /orders = orders:admin", "PUT /v2/orders = orders:write", "GetItem docs = docs:read", "UpdateItem api_keys = keys:admin"]"#,
        )
        .unwrap();
        let mut checked = 0;
        for config in [Default::default(), scope_rules] {
            let (_reference, rules) = with_rego_reference(config);
            for file in rules.packs().iter().flat_map(|p| &p.files) {
                let Runtime::Rego(rule) = &file.runtime else {
                    continue;
                };
                let id = &rule.meta().id;
                assert!(rule.session().evaluator.is_vm(), "{id} runs on the VM");
                let rule = rule.without_filter();
                let sent: Vec<&Event> = events.iter().filter(|e| rule.meta().wants(e)).collect();
                let interpreted = evaluate(&rule.interpreted(), &sent);
                assert!(!interpreted.is_empty(), "{id}");
                assert_eq!(evaluate(&rule, &sent), interpreted, "{id}");
                checked += 1;
            }
        }
        assert_eq!(checked, 6);
    }

    #[test]
    fn the_pack_options_are_data_config() {
        let declared: toml::Table = toml::from_str("min_status = 400").unwrap();
        let config = PackConfig::declared(&declared)
            .unwrap()
            .with_overrides(&toml::from_str("min_status = 500").unwrap())
            .unwrap();
        let rule = RegoRule::load(
            "t.rego",
            &format!(
                "package tracewarden.rules.t\n{META}\nfindings contains f if {{ some e in input.events\n f := {{\"message\": sprintf(\"%d\", [data.config.min_status]), \"evidence\": [e.id]}} }}"
            ),
            &config,
        )
        .unwrap();
        assert_eq!(run(&rule, &[event("a")]).unwrap()[0].message, "500");
    }

    #[test]
    fn a_malformed_finding_or_unknown_evidence_fails_the_rule() {
        let rule = load(&format!(
            "{META}\nfindings contains {{\"msg\": \"x\"}} if true"
        ))
        .unwrap();
        let events = [event("a")];
        let err = run(&rule, &events).unwrap_err();
        assert!(
            err.starts_with("finding 1 is malformed: unknown field `msg`"),
            "{err}"
        );
        let rule = load(&format!(
            "{META}\nfindings contains {{\"message\": \"x\", \"evidence\": [\"zz\"]}} if true"
        ))
        .unwrap();
        assert_eq!(
            run(&rule, &events).unwrap_err(),
            "evidence `zz` is not an event of the batch"
        );
    }
}
