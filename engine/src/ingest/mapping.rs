//! Declared field mappings, for request logs whose field names no built-in name fits: a TOML
//! `[inputs.NAME]` table (in `--map FILE`, or in the rule-config file) says which lines it applies
//! to and where each event field is, as dotted paths that match nested and flattened members
//! alike. A mapped field wins over the reader's built-in names; a field not mapped is still
//! looked up by them. `docs/inputs.md` has examples.

use super::InputFormat;
use super::fields::normalize_path;

/// The table of a config file that holds the mappings.
pub const INPUTS_TABLE: &str = "inputs";

/// How a numeric time counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Epoch seconds.
    Seconds,
    /// Epoch milliseconds.
    Millis,
    /// Epoch microseconds.
    Micros,
    /// Epoch nanoseconds.
    Nanos,
}

/// One declared mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMapping {
    /// Its name (`[inputs.NAME]`), shown in reports.
    pub name: String,
    /// The format its lines are read as (only `dynamodb_wire` for now).
    pub format: InputFormat,
    /// The lines it applies to: every (path, value) must match (compared as text); empty: all.
    pub when: Vec<(Vec<String>, String)>,
    /// Numeric times count in this unit (else guessed from their magnitude).
    pub time_unit: Option<TimeUnit>,
    /// Where each event field is, as normalized paths.
    pub fields: FieldPaths,
}

/// A path per event field; `None`: the built-in names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldPaths {
    /// The call's time.
    pub time: Option<Vec<String>>,
    /// The DynamoDB operation.
    pub operation: Option<Vec<String>>,
    /// The request body (an object, or a JSON string of one).
    pub request: Option<Vec<String>>,
    /// The table, when there is no body.
    pub table: Option<Vec<String>>,
    /// The item key (an object), when there is no body.
    pub key: Option<Vec<String>>,
    /// The condition expression, when there is no body.
    pub condition: Option<Vec<String>>,
    /// The HTTP status of the call.
    pub status: Option<Vec<String>>,
    /// The service's error code.
    pub error: Option<Vec<String>>,
    /// The service's error message.
    pub error_message: Option<Vec<String>>,
    /// The AWS request id.
    pub aws_request_id: Option<Vec<String>>,
    /// The application's request id (what links the call to its HTTP request).
    pub app_request_id: Option<Vec<String>>,
    /// The end user or principal.
    pub principal: Option<Vec<String>>,
    /// The tenant.
    pub tenant: Option<Vec<String>>,
    /// The API or access key id.
    pub key_id: Option<Vec<String>>,
    /// The W3C trace id.
    pub trace_id: Option<Vec<String>>,
    /// The span id.
    pub span_id: Option<Vec<String>>,
}

const FIELDS: &[&str] = &[
    "time",
    "operation",
    "request",
    "table",
    "key",
    "condition",
    "status",
    "error",
    "error_message",
    "aws_request_id",
    "app_request_id",
    "principal",
    "tenant",
    "key_id",
    "trace_id",
    "span_id",
];

impl InputMapping {
    /// Whether `fields` (a line) is one this mapping applies to.
    pub(super) fn applies(&self, fields: &super::fields::Fields<'_>) -> bool {
        self.when.iter().all(|(path, want)| {
            fields
                .at(path)
                .and_then(super::fields::scalar_text)
                .is_some_and(|got| got == *want)
        })
    }
}

/// Reads the `[inputs.NAME]` tables of a TOML document's text (a `--map` file, or a rule-config
/// file: other tables are left alone). Every problem names the mapping and the key.
pub fn parse_mappings(text: &str) -> Result<Vec<InputMapping>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    mappings_of(&table)
}

/// [`parse_mappings`] on a parsed document.
fn mappings_of(table: &toml::Table) -> Result<Vec<InputMapping>, String> {
    let Some(inputs) = table.get(INPUTS_TABLE) else {
        return Ok(Vec::new());
    };
    let inputs = inputs.as_table().ok_or_else(|| {
        format!("`{INPUTS_TABLE}` must be a table of mappings, like `[{INPUTS_TABLE}.my-app]`")
    })?;
    let mut out = Vec::new();
    for (name, value) in inputs {
        let t = value.as_table().ok_or_else(|| {
            format!("`{INPUTS_TABLE}.{name}` must be a table, like `[{INPUTS_TABLE}.{name}]`")
        })?;
        out.push(mapping(name, t)?);
    }
    Ok(out)
}

fn mapping(name: &str, t: &toml::Table) -> Result<InputMapping, String> {
    let at = |key: &str| format!("`{INPUTS_TABLE}.{name}.{key}`");
    let text = |key: &str| -> Result<Option<String>, String> {
        match t.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(format!(
                "{} is `{other}`: expected a dotted path as a string, like `\"aws.input\"`",
                at(key)
            )),
        }
    };
    let format = match t.get("format") {
        Some(toml::Value::String(f)) => f
            .parse::<InputFormat>()
            .map_err(|e| format!("{}: {e}", at("format")))?,
        None => InputFormat::DynamoDbWire,
        Some(other) => {
            return Err(format!(
                "{} is `{other}`: expected `\"dynamodb_wire\"`",
                at("format")
            ));
        }
    };
    if format != InputFormat::DynamoDbWire {
        return Err(format!(
            "{} is `{}`: mappings read DynamoDB request logs (`dynamodb_wire`) only",
            at("format"),
            format.as_str()
        ));
    }
    let time_unit = match text("time_unit")?.as_deref() {
        None => None,
        Some("s") => Some(TimeUnit::Seconds),
        Some("ms") => Some(TimeUnit::Millis),
        Some("us") => Some(TimeUnit::Micros),
        Some("ns") => Some(TimeUnit::Nanos),
        Some(other) => {
            return Err(format!(
                "{} is `{other}`: expected `s`, `ms`, `us` or `ns`",
                at("time_unit")
            ));
        }
    };
    let mut when = Vec::new();
    match t.get("when") {
        None => {}
        Some(toml::Value::Table(w)) => {
            for (path, value) in w {
                let want = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(format!(
                            "{} is `{other}`: expected a string, integer or boolean to compare with",
                            at(&format!("when.{path}"))
                        ));
                    }
                };
                when.push((normalize_path(path), want));
            }
        }
        Some(other) => {
            return Err(format!(
                "{} is `{other}`: expected a table of path = value, like `when = {{ msg = \"dynamodb call\" }}`",
                at("when")
            ));
        }
    }
    for key in t.keys() {
        if !FIELDS.contains(&key.as_str())
            && !matches!(key.as_str(), "format" | "when" | "time_unit")
        {
            return Err(format!(
                "{} is not a mapping key: expected `format`, `when`, `time_unit` or a field ({})",
                at(key),
                FIELDS.join(", ")
            ));
        }
    }
    let path = |key: &str| -> Result<Option<Vec<String>>, String> {
        Ok(text(key)?.map(|p| normalize_path(&p)))
    };
    Ok(InputMapping {
        name: name.to_owned(),
        format,
        when,
        time_unit,
        fields: FieldPaths {
            time: path("time")?,
            operation: path("operation")?,
            request: path("request")?,
            table: path("table")?,
            key: path("key")?,
            condition: path("condition")?,
            status: path("status")?,
            error: path("error")?,
            error_message: path("error_message")?,
            aws_request_id: path("aws_request_id")?,
            app_request_id: path("app_request_id")?,
            principal: path("principal")?,
            tenant: path("tenant")?,
            key_id: path("key_id")?,
            trace_id: path("trace_id")?,
            span_id: path("span_id")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<InputMapping>, String> {
        parse_mappings(text)
    }

    #[test]
    fn a_mapping_names_paths_and_a_condition() {
        let m = parse(
            r#"
            [toctou]
            check_window_ms = 5
            [inputs.orders-api]
            when = { msg = "ddb", level = 30 }
            time = "ts"
            time_unit = "s"
            operation = "call.op"
            request = "call.args"
            principal = "ctx.who"
            "#,
        )
        .unwrap();
        assert_eq!(m.len(), 1);
        let m = &m[0];
        assert_eq!(m.name, "orders-api");
        assert_eq!(m.time_unit, Some(TimeUnit::Seconds));
        assert_eq!(
            m.when,
            [
                (vec!["level".to_owned()], "30".to_owned()),
                (vec!["msg".to_owned()], "ddb".to_owned())
            ]
        );
        assert_eq!(m.fields.operation, Some(vec!["call".into(), "op".into()]));
        assert_eq!(m.fields.principal, Some(vec!["ctx".into(), "who".into()]));
        assert_eq!(m.fields.table, None);
    }

    #[test]
    fn every_mistake_names_the_mapping_and_key() {
        for (text, message) in [
            (
                "[inputs.a]\ntimestamp = \"t\"",
                "`inputs.a.timestamp` is not a mapping key: expected `format`, `when`, `time_unit` or a field (time, operation, request, table, key, condition, status, error, error_message, aws_request_id, app_request_id, principal, tenant, key_id, trace_id, span_id)",
            ),
            (
                "[inputs.a]\ntime = 3",
                "`inputs.a.time` is `3`: expected a dotted path as a string, like `\"aws.input\"`",
            ),
            (
                "[inputs.a]\ntime_unit = \"days\"",
                "`inputs.a.time_unit` is `days`: expected `s`, `ms`, `us` or `ns`",
            ),
            (
                "[inputs.a]\nformat = \"har\"",
                "`inputs.a.format` is `har`: mappings read DynamoDB request logs (`dynamodb_wire`) only",
            ),
            (
                "inputs = 1",
                "`inputs` must be a table of mappings, like `[inputs.my-app]`",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err(), message, "{text}");
        }
    }
}
