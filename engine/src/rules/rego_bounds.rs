//! Bounds on what a Rego rule can make from a few bytes. regorus's timer stops long evaluations,
//! but only between interpreter steps: one builtin call that builds a huge value
//! (`numbers.range(1, 1e9)`, `replace(s, "", s)`, `sprintf("%04000000000d", [1])`) runs to the end
//! of its allocation first. regorus's own allocation limits need its process-wide global
//! allocator, which a library must not impose on the program embedding it. So the builtins whose
//! output size a rule controls with a number or a pattern are replaced (regorus looks extensions up
//! before builtins) by versions that refuse, with a named error, to build more than these bounds;
//! `sprintf` widths are checked when the rule loads.

use regorus::{Engine, Value};

/// The builtins replaced by bounded versions: a rule calling one is evaluated by the interpreter,
/// which calls extensions (`rego_eval`).
pub(super) const BOUNDED: &[&str] = &["numbers.range", "numbers.range_step", "replace"];

/// Most elements `numbers.range` / `numbers.range_step` build in one call.
pub const MAX_RANGE_ELEMENTS: u64 = 100_000;
/// Most bytes `replace` builds in one call.
pub const MAX_REPLACED_BYTES: usize = 16 << 20;
/// Widest `sprintf` field (`%10000d`) a rule may format.
pub const MAX_SPRINTF_WIDTH: u64 = 10_000;

/// Why a bounded builtin refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// Registers the bounded builtins on `engine` (before its policy is added).
pub(super) fn install(engine: &mut Engine) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot bound the builtins: {e}");
    engine
        .add_extension(
            "numbers.range".to_owned(),
            2,
            Box::new(|args: Vec<Value>| Ok(range("numbers.range", &args, None)?)),
        )
        .map_err(|e| err(&e))?;
    engine
        .add_extension(
            "numbers.range_step".to_owned(),
            3,
            Box::new(|args: Vec<Value>| {
                let step = match args.get(2) {
                    Some(v) => Some(integer("numbers.range_step", v)?),
                    None => None,
                };
                Ok(range("numbers.range_step", &args, step)?)
            }),
        )
        .map_err(|e| err(&e))?;
    engine
        .add_extension(
            "replace".to_owned(),
            3,
            Box::new(|args: Vec<Value>| Ok(replace(&args)?)),
        )
        .map_err(|e| err(&e))?;
    Ok(())
}

fn integer(name: &str, v: &Value) -> Result<i64, Refused> {
    v.as_number()
        .ok()
        .and_then(|n| n.as_i64())
        .ok_or_else(|| Refused(format!("{name}: operand must be an integer")))
}

/// `numbers.range(a, b)` (`step` None: ±1 toward `b`) or `numbers.range_step(a, b, step)` (only
/// the values from `a` toward `b` that `step` reaches), refusing more than
/// [`MAX_RANGE_ELEMENTS`] elements.
fn range(name: &str, args: &[Value], step: Option<i64>) -> Result<Value, Refused> {
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
        return Err(Refused(format!("{name}: expected 2 operands")));
    };
    let (a, b) = (integer(name, a)?, integer(name, b)?);
    let step = match step {
        Some(s) if s <= 0 => {
            return Err(Refused(format!("{name}: step must be a positive integer")));
        }
        Some(s) => s,
        None => 1,
    };
    let count = a.abs_diff(b) / step.unsigned_abs() + 1;
    if count > MAX_RANGE_ELEMENTS {
        return Err(Refused(format!(
            "{name}: {count} elements exceed the bound of {MAX_RANGE_ELEMENTS} a rule may build"
        )));
    }
    let down = b < a;
    let values: Vec<Value> = (0..count)
        .map(|i| {
            // In range: |i * step| <= |b - a|.
            let offset = i.saturating_mul(step.unsigned_abs());
            let v = if down {
                a.saturating_sub_unsigned(offset)
            } else {
                a.saturating_add_unsigned(offset)
            };
            Value::from(v)
        })
        .collect();
    Ok(Value::from(values))
}

/// `replace(s, old, new)`, refusing a result over [`MAX_REPLACED_BYTES`].
fn replace(args: &[Value]) -> Result<Value, Refused> {
    let text = |i: usize| -> Result<&str, Refused> {
        args.get(i)
            .and_then(|v| v.as_string().ok())
            .map(|s| s.as_ref())
            .ok_or_else(|| Refused(format!("replace: operand {} must be a string", i + 1)))
    };
    let (s, old, new) = (text(0)?, text(1)?, text(2)?);
    let hits = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    let size = (s.len() - hits * old.len()).saturating_add(hits.saturating_mul(new.len()));
    if size > MAX_REPLACED_BYTES {
        return Err(Refused(format!(
            "replace: a result of {size} bytes exceeds the bound of {MAX_REPLACED_BYTES} a rule may build"
        )));
    }
    Ok(Value::from(s.replace(old, new)))
}

/// The widths of a `sprintf` format over [`MAX_SPRINTF_WIDTH`], as problems.
pub(super) fn sprintf_width_problem(format: &str) -> Option<String> {
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        let mut width: u64 = 0;
        while let Some(d) = chars
            .peek()
            .and_then(|c| c.to_digit(10).or((*c == '.').then_some(0)))
        {
            chars.next();
            width = width.saturating_mul(10).saturating_add(u64::from(d));
            if width > MAX_SPRINTF_WIDTH {
                return Some(format!(
                    "formats a `sprintf` field wider than {MAX_SPRINTF_WIDTH} characters"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(policy_body: &str) -> Result<String, String> {
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(true);
        install(&mut engine)?;
        engine
            .add_policy(
                "t.rego".into(),
                format!("package t\nimport rego.v1\n{policy_body}"),
            )
            .map_err(|e| e.to_string())?;
        engine
            .eval_rule("data.t.x".into())
            .map(|v| {
                let json: serde_json::Value =
                    serde_json::from_str(&v.to_json_str().unwrap_or_default()).unwrap_or_default();
                json.to_string()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ranges_are_built_as_before_within_the_bound() {
        assert_eq!(eval("x := numbers.range(1, 4)"), Ok("[1,2,3,4]".to_owned()));
        assert_eq!(eval("x := numbers.range(3, 1)"), Ok("[3,2,1]".to_owned()));
        assert_eq!(
            eval("x := numbers.range_step(0, 10, 4)"),
            Ok("[0,4,8]".to_owned())
        );
        assert_eq!(
            eval("x := numbers.range_step(10, 0, 4)"),
            Ok("[10,6,2]".to_owned())
        );
        assert_eq!(
            eval(r#"x := replace("a-b-c", "-", "+")"#),
            Ok(r#""a+b+c""#.to_owned())
        );
    }

    #[test]
    fn a_range_or_replacement_past_its_bound_is_a_named_error() {
        // Reproducer: `numbers.range(1, 1e9)` grew past 9 GB; the 10 s timer never fired.
        let e = eval("x := count(numbers.range(1, 1000000000))").unwrap_err();
        assert!(
            e.contains("numbers.range: 1000000000 elements exceed the bound of 100000"),
            "{e}"
        );
        let e = eval("x := numbers.range_step(1, 1000000000, 2)").unwrap_err();
        assert!(e.contains("500000000 elements exceed"), "{e}");
        let e = eval(
            r#"s := concat("", [format_int(c, 10) | some c in numbers.range(1, 5000)])
y := replace(replace(s, "", "xxxxxxxxxxxxxxxx"), "", "yyyyyyyyyyyyyyyy")
x := count(replace(y, "", "zzzzzzzzzzzzzzzz"))"#,
        )
        .unwrap_err();
        assert!(e.contains("exceeds the bound of 16777216"), "{e}");
    }

    #[test]
    fn sprintf_widths_are_checked() {
        assert_eq!(sprintf_width_problem("%s is %05d, 100%%"), None);
        assert_eq!(sprintf_width_problem("%.2f"), None);
        assert!(sprintf_width_problem("%04000000000d").is_some());
        assert!(sprintf_width_problem("%10001s").is_some());
    }
}
