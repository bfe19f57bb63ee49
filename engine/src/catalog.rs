//! The mapping catalogs: OWASP API Security Top 10 (2023), SOC 2 Trust Services Criteria and the
//! CWE ids our rules use. Rule metadata is checked against them at load; an unknown id is a load
//! error, so a typo never reaches a compliance report.

/// OWASP API Security Top 10 (2023): id and name.
pub const OWASP_API_2023: &[(&str, &str)] = &[
    ("API1:2023", "Broken Object Level Authorization"),
    ("API2:2023", "Broken Authentication"),
    ("API3:2023", "Broken Object Property Level Authorization"),
    ("API4:2023", "Unrestricted Resource Consumption"),
    ("API5:2023", "Broken Function Level Authorization"),
    (
        "API6:2023",
        "Unrestricted Access to Sensitive Business Flows",
    ),
    ("API7:2023", "Server Side Request Forgery"),
    ("API8:2023", "Security Misconfiguration"),
    ("API9:2023", "Improper Inventory Management"),
    ("API10:2023", "Unsafe Consumption of APIs"),
];

/// SOC 2 common criteria (2017 TSC, 2022 points of focus) plus the availability and processing
/// integrity criteria our findings touch. Informal short labels: the criteria text is AICPA's.
pub const SOC2: &[(&str, &str)] = &[
    ("CC1.1", "Integrity and ethics"),
    ("CC1.2", "Board oversight"),
    ("CC1.3", "Structure and authority"),
    ("CC1.4", "Competence"),
    ("CC1.5", "Accountability"),
    ("CC2.1", "Quality information"),
    ("CC2.2", "Internal communication"),
    ("CC2.3", "External communication"),
    ("CC3.1", "Objectives"),
    ("CC3.2", "Risk identification"),
    ("CC3.3", "Fraud risk"),
    ("CC3.4", "Change impact"),
    ("CC4.1", "Ongoing evaluations"),
    ("CC4.2", "Deficiency communication"),
    ("CC5.1", "Control activities"),
    ("CC5.2", "Technology general controls"),
    ("CC5.3", "Policies and procedures"),
    ("CC6.1", "Logical access security"),
    ("CC6.2", "User registration and credential removal"),
    ("CC6.3", "Access authorization, modification and removal"),
    ("CC6.4", "Physical access"),
    ("CC6.5", "Asset disposal"),
    ("CC6.6", "External threats"),
    ("CC6.7", "Transmission"),
    ("CC6.8", "Malicious software"),
    ("CC7.1", "Configuration and vulnerability detection"),
    ("CC7.2", "Anomaly monitoring"),
    ("CC7.3", "Security event evaluation"),
    ("CC7.4", "Incident response"),
    ("CC7.5", "Recovery"),
    ("CC8.1", "Change management"),
    ("CC9.1", "Business disruption risk"),
    ("CC9.2", "Vendor risk"),
    ("A1.1", "Capacity"),
    ("PI1.3", "Processing integrity: processing"),
    ("PI1.4", "Processing integrity: output"),
];

/// CWE ids the built-in detections use, with MITRE's titles.
pub const CWE: &[(&str, &str)] = &[
    ("CWE-20", "Improper Input Validation"),
    (
        "CWE-200",
        "Exposure of Sensitive Information to an Unauthorized Actor",
    ),
    ("CWE-204", "Observable Response Discrepancy"),
    (
        "CWE-213",
        "Exposure of Sensitive Information Due to Incompatible Policies",
    ),
    ("CWE-284", "Improper Access Control"),
    ("CWE-285", "Improper Authorization"),
    ("CWE-287", "Improper Authentication"),
    ("CWE-306", "Missing Authentication for Critical Function"),
    (
        "CWE-307",
        "Improper Restriction of Excessive Authentication Attempts",
    ),
    ("CWE-319", "Cleartext Transmission of Sensitive Information"),
    ("CWE-324", "Use of a Key Past its Expiration Date"),
    (
        "CWE-362",
        "Concurrent Execution using Shared Resource with Improper Synchronization ('Race Condition')",
    ),
    (
        "CWE-367",
        "Time-of-check Time-of-use (TOCTOU) Race Condition",
    ),
    (
        "CWE-370",
        "Missing Check for Certificate Revocation after Initial Check",
    ),
    ("CWE-400", "Uncontrolled Resource Consumption"),
    ("CWE-522", "Insufficiently Protected Credentials"),
    ("CWE-524", "Use of Cache Containing Sensitive Information"),
    (
        "CWE-566",
        "Authorization Bypass Through User-Controlled SQL Primary Key",
    ),
    (
        "CWE-598",
        "Use of GET Request Method With Sensitive Query Strings",
    ),
    ("CWE-613", "Insufficient Session Expiration"),
    (
        "CWE-639",
        "Authorization Bypass Through User-Controlled Key",
    ),
    (
        "CWE-672",
        "Operation on a Resource after Expiration or Release",
    ),
    (
        "CWE-770",
        "Allocation of Resources Without Limits or Throttling",
    ),
    ("CWE-798", "Use of Hard-coded Credentials"),
    ("CWE-799", "Improper Control of Interaction Frequency"),
    ("CWE-820", "Missing Synchronization"),
    ("CWE-821", "Incorrect Synchronization"),
    ("CWE-837", "Improper Enforcement of a Single, Unique Action"),
    ("CWE-841", "Improper Enforcement of Behavioral Workflow"),
    ("CWE-862", "Missing Authorization"),
    ("CWE-863", "Incorrect Authorization"),
    (
        "CWE-915",
        "Improperly Controlled Modification of Dynamically-Determined Object Attributes",
    ),
];

/// One of the three mapping catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    /// OWASP API Security Top 10 (2023).
    Owasp,
    /// SOC 2 Trust Services Criteria.
    Soc2,
    /// CWE.
    Cwe,
}

impl Catalog {
    /// The catalog's entries.
    pub fn entries(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Catalog::Owasp => OWASP_API_2023,
            Catalog::Soc2 => SOC2,
            Catalog::Cwe => CWE,
        }
    }

    /// The catalog's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Catalog::Owasp => "OWASP API 2023",
            Catalog::Soc2 => "SOC 2",
            Catalog::Cwe => "CWE",
        }
    }

    /// The title of `id`, if the catalog has it.
    pub fn title(self, id: &str) -> Option<&'static str> {
        self.entries()
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, t)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_know_their_ids_and_nothing_else() {
        assert_eq!(
            Catalog::Owasp.title("API1:2023"),
            Some("Broken Object Level Authorization")
        );
        assert_eq!(Catalog::Owasp.title("API1:2019"), None);
        assert_eq!(
            Catalog::Soc2.title("CC6.1"),
            Some("Logical access security")
        );
        assert_eq!(
            Catalog::Soc2
                .entries()
                .iter()
                .filter(|(i, _)| i.starts_with("CC"))
                .count(),
            33
        );
        assert_eq!(
            Catalog::Cwe.title("CWE-367").map(|t| t.contains("TOCTOU")),
            Some(true)
        );
        assert_eq!(Catalog::Cwe.title("CWE-99999"), None);
    }
}
