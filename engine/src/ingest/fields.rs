//! Loose lookup of the fields of a log line an application wrote: every logger names them its own
//! way (`time`, `ts`, `@timestamp`, `asctime`; `operation`, `commandName`, `operation_name`;
//! the request body under `request`, `params`, `input`, nested or flattened into dotted keys).
//! A line's members are flattened into paths whose segments are compared case-, `_`-, `-`-,
//! `@`- and `$`-insensitively, so `aws.requestId`, `aws_request_id` and `{"aws": {"request_id"}}`
//! are one name. A declared mapping ([`super::mapping`]) names a path outright and wins over the
//! built-in names.

use serde_json::{Map, Value};
use smallvec::SmallVec;
use smol_str::SmolStr;

/// How deep a line is searched (the request body itself is not flattened).
const MAX_DEPTH: usize = 5;

/// One member of a line: its path (normalized and as written) and value.
#[derive(Debug)]
pub(super) struct Leaf<'v> {
    /// Normalized segments (`["aws", "requestid"]`); a member name is short, held inline.
    pub norm: SmallVec<[SmolStr; 4]>,
    /// Segments as written (`["aws", "requestId"]`).
    pub orig: SmallVec<[&'v str; 4]>,
    pub value: &'v Value,
    /// [`Tag`] of the last normalized segment: [`Fields::find`] compares it before the text.
    last: Tag,
    /// Whether the member lies in an item key or item (`aws.dynamodb.key.user_id`): data, not
    /// one of the line's own fields.
    in_data: bool,
}

/// A normalized name's length and first eight bytes: equal tags of names up to eight bytes
/// long mean equal names; longer ones are compared in full after their tags match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag(u64, usize);

impl Tag {
    fn of(name: &str) -> Tag {
        let mut head = [0u8; 8];
        for (h, b) in head.iter_mut().zip(name.bytes()) {
            *h = b;
        }
        Tag(u64::from_le_bytes(head), name.len())
    }

    /// Whether the name tagged is `name`, given that `name`'s tag is `self`.
    fn names(self, tagged: &Leaf<'_>, name: &str) -> bool {
        tagged.last == self && (self.1 <= 8 || tagged.norm.last().is_some_and(|last| last == name))
    }
}

/// A line's members, flattened, in document order.
#[derive(Debug)]
pub(super) struct Fields<'v> {
    pub leaves: Vec<Leaf<'v>>,
}

/// A path segment compared loosely: lower case, without `_`, `-`, `@`, `$` and spaces.
pub(super) fn normalize(segment: &str) -> String {
    normalized(segment).into()
}

/// [`normalize`], without allocating for a name of up to 23 bytes (most member names are).
fn normalized(segment: &str) -> SmolStr {
    if let Some(name) = crate::names::ascii_folded(segment, b"_-@$ ") {
        return name;
    }
    segment
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '@' | '$' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether normalized segments `norm` begin with the normalized `path`.
pub(super) fn starts_with(norm: &[SmolStr], path: &[String]) -> bool {
    norm.len() >= path.len() && norm.iter().zip(path).all(|(a, b)| a == b)
}

/// A dotted path (`aws.dynamodb.table_name`), normalized segment by segment.
pub(super) fn normalize_path(path: &str) -> Vec<String> {
    path.split('.').map(normalize).collect()
}

impl<'v> Fields<'v> {
    /// Flattens `obj`. Objects are kept as leaves too (a `key` object, an `error` object); the
    /// members of an object that is a DynamoDB request body are not descended into.
    pub(super) fn of(obj: &'v Map<String, Value>) -> Fields<'v> {
        let mut leaves = Vec::new();
        walk(
            obj,
            &mut SmallVec::new(),
            &mut SmallVec::new(),
            &mut leaves,
            0,
        );
        Fields { leaves }
    }

    /// The first member (in document order) at exactly `path` (normalized, dotted).
    pub(super) fn at(&self, path: &[String]) -> Option<&'v Value> {
        self.leaves
            .iter()
            .find(|l| l.norm.len() == path.len() && starts_with(&l.norm, path))
            .map(|l| l.value)
            .filter(|v| !v.is_null())
    }

    /// The first member named `names[0]`, else `names[1]`, … (by last segment, at any depth)
    /// whose value `accept` takes. `parents`, if not empty, restricts matches to members whose
    /// parent segment is one of them; `top` to top-level members.
    pub(super) fn find<T>(
        &self,
        names: &[&str],
        scope: Scope<'_>,
        accept: impl Fn(&Leaf<'v>) -> Option<T>,
    ) -> Option<T> {
        for name in names {
            let tag = Tag::of(name);
            for leaf in &self.leaves {
                // Members of an item key or item (`aws.dynamodb.key.user_id`) are data, not
                // the line's own fields.
                if !tag.names(leaf, name) || leaf.in_data || leaf.value.is_null() {
                    continue;
                }
                let in_scope = match scope {
                    Scope::Any => true,
                    Scope::Top => leaf.norm.len() == 1,
                    Scope::Under(parents) => {
                        leaf.norm.len() >= 2
                            && leaf
                                .norm
                                .get(leaf.norm.len() - 2)
                                .is_some_and(|p| parents.contains(&p.as_str()))
                    }
                };
                if in_scope && let Some(v) = accept(leaf) {
                    return Some(v);
                }
            }
        }
        None
    }

    /// The first object (document order) that is a DynamoDB request body: it names a table
    /// (`TableName`) or holds `RequestItems` / `TransactItems` / `Statement`.
    pub(super) fn body(&self) -> Option<&'v Map<String, Value>> {
        self.leaves
            .iter()
            .filter_map(|l| l.value.as_object())
            .find(|o| is_body(o))
    }
}

/// Where [`Fields::find`] looks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope<'a> {
    /// At any depth.
    Any,
    /// Top-level members only.
    Top,
    /// Members whose parent is one of these (normalized) names.
    Under(&'a [&'a str]),
}

/// Whether `obj` is a DynamoDB request body: it names a table (`TableName`) or holds
/// `RequestItems` / `TransactItems` / `Statement`.
pub(super) fn is_body(obj: &Map<String, Value>) -> bool {
    obj.iter().any(|(k, v)| {
        (k.eq_ignore_ascii_case("TableName") && v.is_string())
            || ((k.eq_ignore_ascii_case("RequestItems") || k.eq_ignore_ascii_case("TransactItems"))
                && (v.is_object() || v.is_array()))
            || (k.eq_ignore_ascii_case("Statement") && v.is_string())
    })
}

fn walk<'v>(
    obj: &'v Map<String, Value>,
    norm: &mut SmallVec<[SmolStr; 4]>,
    orig: &mut SmallVec<[&'v str; 4]>,
    leaves: &mut Vec<Leaf<'v>>,
    depth: usize,
) {
    for (name, value) in obj {
        // A flattened key (`aws.dynamodb.table_name`) is a path of its own.
        let mut added = 0;
        for p in name.split('.') {
            norm.push(normalized(p));
            orig.push(p);
            added += 1;
        }
        let last = norm.last().map(|l| Tag::of(l)).unwrap_or(Tag(0, 0));
        let in_data = norm
            .iter()
            .take(norm.len().saturating_sub(1))
            .any(|s| matches!(s.as_str(), "key" | "item" | "items"));
        leaves.push(Leaf {
            norm: norm.clone(),
            orig: orig.clone(),
            value,
            last,
            in_data,
        });
        if let Value::Object(inner) = value
            && depth < MAX_DEPTH
            && !is_body(inner)
        {
            walk(inner, norm, orig, leaves, depth + 1);
        }
        for _ in 0..added {
            norm.pop();
            orig.pop();
        }
    }
}

/// A scalar as text: strings as they are, numbers and booleans as JSON writes them.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flattened_members_are_one_path() {
        let obj: Map<String, Value> = serde_json::from_str(
            r#"{"aws": {"requestId": "A"}, "aws.dynamodb.table_name": "t",
                "input": {"TableName": "orders", "Key": {"pk": {"S": "1"}}}}"#,
        )
        .unwrap();
        let f = Fields::of(&obj);
        assert_eq!(
            f.at(&normalize_path("AWS.request_id")),
            Some(&Value::from("A"))
        );
        assert_eq!(
            f.at(&normalize_path("aws.dynamodb.tableName")),
            Some(&Value::from("t"))
        );
        // The body is found, and its members are not flattened.
        assert_eq!(
            f.body().and_then(|b| b.get("TableName")),
            Some(&Value::from("orders"))
        );
        assert!(f.at(&normalize_path("input.Key")).is_none());
        let id = f.find(&["requestid"], Scope::Under(&["aws"]), |l| {
            l.value.as_str().map(str::to_owned)
        });
        assert_eq!(id.as_deref(), Some("A"));
        assert!(
            f.find(&["requestid"], Scope::Top, |l| l
                .value
                .as_str()
                .map(str::to_owned))
                .is_none()
        );
    }

    #[test]
    fn names_alike_in_their_first_eight_bytes_are_told_apart() {
        let obj: Map<String, Value> = serde_json::from_str(
            r#"{"request_idx": "X", "requestid": "A", "request_kind": "K", "key": {"ts": 1},
                "Very-Long_Member@Name.With.Dots": "v", "ts": 2}"#,
        )
        .unwrap();
        let f = Fields::of(&obj);
        let text = |l: &Leaf<'_>| scalar_text(l.value);
        assert_eq!(
            f.find(&["requestid"], Scope::Any, text).as_deref(),
            Some("A")
        );
        assert_eq!(f.find(&["requestidy"], Scope::Any, text), None);
        assert_eq!(
            f.find(&["requestkind"], Scope::Any, text).as_deref(),
            Some("K")
        );
        assert_eq!(f.find(&["requestkine"], Scope::Any, text), None);
        assert_eq!(
            f.find(&["requestidx"], Scope::Any, text).as_deref(),
            Some("X")
        );
        assert_eq!(f.find(&["verylongmembername"], Scope::Any, text), None);
        assert_eq!(f.find(&["dots"], Scope::Any, text).as_deref(), Some("v"));
        // The item key's `ts` is data; the line's own `ts` is found.
        assert_eq!(f.find(&["ts"], Scope::Any, text).as_deref(), Some("2"));
        assert_eq!(
            normalized("Very-Long_Member@Name$With Spaces"),
            "verylongmembernamewithspaces"
        );
        let long = "A_".repeat(100);
        assert_eq!(normalized(&long), "a".repeat(100));
    }
}
