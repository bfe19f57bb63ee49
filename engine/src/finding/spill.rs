//! A finding as compact bytes ([`crate::bytes`]): the record of a sorted run of findings on disk
//! ([`super::store`]). A run is written once and read back up to three times (evidence located,
//! triage, the report); as JSON, that parsing and printing was most of a large scan's last,
//! single-threaded stretch.

use crate::bytes::{Damaged, Reader, Writer, codes};
use crate::ingest::Location;
use crate::rules::{Confidence, FindingClass, Severity};

use super::{Evidence, Example, Finding, Site};

/// Appends the record of `finding` to `out`.
pub(super) fn encode(finding: &Finding, out: &mut Vec<u8>) {
    Writer(out).finding(finding);
}

/// Reads back what [`encode`] wrote: all of `bytes`.
pub(super) fn decode(bytes: &[u8]) -> Result<Finding, Damaged> {
    let mut r = Reader(bytes);
    let finding = r.finding()?;
    r.end()?;
    Ok(finding)
}

impl Writer<'_> {
    fn finding(&mut self, f: &Finding) {
        let Finding {
            rule_id,
            title,
            pack,
            severity,
            confidence,
            message,
            principal,
            resource,
            time,
            time_ns,
            owasp,
            soc2,
            cwe,
            evidence,
            remediation,
            fingerprint,
            class,
            site,
            occurrences,
            principals,
            distinct_principals,
            first_seen,
            last_seen,
            examples,
        } = f;
        self.str(rule_id);
        self.str(title);
        self.str(pack);
        self.byte(severity_code(*severity));
        self.byte(confidence_code(*confidence));
        self.str(message);
        self.str(principal);
        self.str(resource);
        self.str(time);
        self.int(*time_ns);
        self.strs(owasp);
        self.strs(soc2);
        self.strs(cwe);
        self.list(evidence, Writer::evidence);
        self.str(remediation);
        self.str(fingerprint);
        self.byte(class_code(*class));
        self.opt(site.as_ref(), Writer::site);
        self.opt_uint(*occurrences);
        self.strs(principals);
        self.opt_uint(*distinct_principals);
        self.opt(first_seen.as_deref(), Writer::str);
        self.opt(last_seen.as_deref(), Writer::str);
        self.list(examples, Writer::example);
    }

    fn site(&mut self, s: &Site) {
        let Site {
            method,
            route,
            table,
            operation,
        } = s;
        self.str(method);
        self.str(route);
        self.str(table);
        self.str(operation);
    }

    fn example(&mut self, e: &Example) {
        let Example {
            time,
            time_ns,
            message,
            principal,
            resource,
            evidence,
        } = e;
        self.str(time);
        self.int(*time_ns);
        self.str(message);
        self.str(principal);
        self.str(resource);
        self.list(evidence, Writer::evidence);
    }

    fn evidence(&mut self, e: &Evidence) {
        let Evidence {
            event_id,
            role,
            source,
            location,
            time,
            time_ns,
        } = e;
        self.str(event_id);
        self.str(role);
        self.str(source);
        self.opt(location.as_ref(), Writer::location);
        self.opt(time.as_deref(), Writer::str);
        self.opt(*time_ns, Writer::int);
    }

    fn location(&mut self, l: &Location) {
        let Location {
            file,
            record,
            line,
            column,
            offset,
            length,
        } = l;
        self.str(file);
        self.uint(*record);
        self.uint(*line);
        self.uint(*column);
        self.uint(*offset);
        self.uint(*length);
    }
}

impl Reader<'_> {
    fn finding(&mut self) -> Result<Finding, Damaged> {
        Ok(Finding {
            rule_id: self.string()?,
            title: self.string()?,
            pack: self.string()?,
            severity: severity_of(self.byte()?)?,
            confidence: confidence_of(self.byte()?)?,
            message: self.string()?,
            principal: self.string()?,
            resource: self.string()?,
            time: self.string()?,
            time_ns: self.int()?,
            owasp: self.strs()?,
            soc2: self.strs()?,
            cwe: self.strs()?,
            evidence: self.list(Reader::evidence)?,
            remediation: self.string()?,
            fingerprint: self.string()?,
            class: class_of(self.byte()?)?,
            site: self.opt(Reader::site)?,
            occurrences: self.opt_uint()?,
            principals: self.strs()?,
            distinct_principals: self.opt_uint()?,
            first_seen: self.opt(Reader::string)?,
            last_seen: self.opt(Reader::string)?,
            examples: self.list(Reader::example)?,
        })
    }

    fn site(&mut self) -> Result<Site, Damaged> {
        Ok(Site {
            method: self.string()?,
            route: self.string()?,
            table: self.string()?,
            operation: self.string()?,
        })
    }

    fn example(&mut self) -> Result<Example, Damaged> {
        Ok(Example {
            time: self.string()?,
            time_ns: self.int()?,
            message: self.string()?,
            principal: self.string()?,
            resource: self.string()?,
            evidence: self.list(Reader::evidence)?,
        })
    }

    fn evidence(&mut self) -> Result<Evidence, Damaged> {
        Ok(Evidence {
            event_id: self.string()?,
            role: self.string()?,
            source: self.string()?,
            location: self.opt(Reader::location)?,
            time: self.opt(Reader::string)?,
            time_ns: self.opt(Reader::int)?,
        })
    }

    fn location(&mut self) -> Result<Location, Damaged> {
        Ok(Location {
            file: self.string()?,
            record: self.uint()?,
            line: self.uint()?,
            column: self.uint()?,
            offset: self.uint()?,
            length: self.uint()?,
        })
    }
}

codes!(
    Severity,
    severity_code,
    severity_of,
    "severity",
    [Info = 0, Low = 1, Medium = 2, High = 3, Critical = 4]
);
codes!(
    Confidence,
    confidence_code,
    confidence_of,
    "confidence",
    [Low = 0, Medium = 1, High = 2]
);
codes!(
    FindingClass,
    class_code,
    class_of,
    "finding class",
    [Incident = 0, Weakness = 1]
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> + Clone {
        prop_oneof![Just(String::new()), "[a-zé/#:\"\\\\\n]{1,12}"]
    }

    fn evidence() -> impl Strategy<Value = Evidence> {
        let location = (
            text(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(|(file, record, line, column, offset, length)| Location {
                file,
                record,
                line,
                column,
                offset,
                length,
            });
        (
            text(),
            text(),
            text(),
            proptest::option::of(location),
            proptest::option::of(text()),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(
                |(event_id, role, source, location, time, time_ns)| Evidence {
                    event_id,
                    role,
                    source,
                    location,
                    time,
                    time_ns,
                },
            )
    }

    fn example() -> impl Strategy<Value = Example> {
        (
            text(),
            any::<i64>(),
            text(),
            text(),
            text(),
            proptest::collection::vec(evidence(), 0..3),
        )
            .prop_map(
                |(time, time_ns, message, principal, resource, evidence)| Example {
                    time,
                    time_ns,
                    message,
                    principal,
                    resource,
                    evidence,
                },
            )
    }

    fn findings() -> impl Strategy<Value = Finding> {
        let texts = proptest::collection::vec(text(), 0..3);
        let site =
            (text(), text(), text(), text()).prop_map(|(method, route, table, operation)| Site {
                method,
                route,
                table,
                operation,
            });
        let severity = prop_oneof![
            Just(Severity::Info),
            Just(Severity::Low),
            Just(Severity::Medium),
            Just(Severity::High),
            Just(Severity::Critical),
        ];
        let confidence = prop_oneof![
            Just(Confidence::Low),
            Just(Confidence::Medium),
            Just(Confidence::High),
        ];
        let class = prop_oneof![Just(FindingClass::Incident), Just(FindingClass::Weakness)];
        (
            (
                text(),
                text(),
                text(),
                severity,
                confidence,
                text(),
                text(),
                text(),
            ),
            (
                text(),
                any::<i64>(),
                texts.clone(),
                texts.clone(),
                texts.clone(),
            ),
            (
                proptest::collection::vec(evidence(), 0..3),
                text(),
                text(),
                class,
            ),
            (
                proptest::option::of(site),
                proptest::option::of(any::<u64>()),
                texts,
                proptest::option::of(any::<u64>()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::collection::vec(example(), 0..3),
            ),
        )
            .prop_map(
                |(
                    (rule_id, title, pack, severity, confidence, message, principal, resource),
                    (time, time_ns, owasp, soc2, cwe),
                    (evidence, remediation, fingerprint, class),
                    (
                        site,
                        occurrences,
                        principals,
                        distinct_principals,
                        first_seen,
                        last_seen,
                        examples,
                    ),
                )| Finding {
                    rule_id,
                    title,
                    pack,
                    severity,
                    confidence,
                    message,
                    principal,
                    resource,
                    time,
                    time_ns,
                    owasp,
                    soc2,
                    cwe,
                    evidence,
                    remediation,
                    fingerprint,
                    class,
                    site,
                    occurrences,
                    principals,
                    distinct_principals,
                    first_seen,
                    last_seen,
                    examples,
                },
            )
    }

    proptest! {
        #[test]
        fn random_findings_round_trip_exactly(finding in findings()) {
            let mut bytes = Vec::new();
            encode(&finding, &mut bytes);
            prop_assert_eq!(decode(&bytes), Ok(finding.clone()));
            // A record cut anywhere, or followed by more bytes, is damage, never another finding.
            for cut in 0..bytes.len() {
                prop_assert!(decode(bytes.get(..cut).unwrap()).is_err());
            }
            bytes.push(0);
            prop_assert_eq!(decode(&bytes), Err(Damaged("bytes after a record")));
        }
    }
}
