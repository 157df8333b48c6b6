//! MITRE ATT&CK ids from a rule's `Reports` (`TA0002:T1059`, `TA0005:T1562.001`) and the names
//! each platform uses for the tactics.

use crate::rule::Rule;

/// Enterprise ATT&CK tactics, current names (v19 renamed TA0005 "Defense Evasion" to
/// "Stealth" and added TA0112 "Defense Impairment"), and the name Microsoft Sentinel accepts
/// for each (Sentinel's list predates v19: TA0005 and TA0112 are both `DefenseEvasion`).
const TACTICS: &[(&str, &str, Option<&str>)] = &[
    ("TA0043", "Reconnaissance", Some("Reconnaissance")),
    (
        "TA0042",
        "Resource Development",
        Some("ResourceDevelopment"),
    ),
    ("TA0001", "Initial Access", Some("InitialAccess")),
    ("TA0002", "Execution", Some("Execution")),
    ("TA0003", "Persistence", Some("Persistence")),
    (
        "TA0004",
        "Privilege Escalation",
        Some("PrivilegeEscalation"),
    ),
    ("TA0005", "Stealth", Some("DefenseEvasion")),
    ("TA0006", "Credential Access", Some("CredentialAccess")),
    ("TA0007", "Discovery", Some("Discovery")),
    ("TA0008", "Lateral Movement", Some("LateralMovement")),
    ("TA0009", "Collection", Some("Collection")),
    ("TA0011", "Command and Control", Some("CommandAndControl")),
    ("TA0010", "Exfiltration", Some("Exfiltration")),
    ("TA0040", "Impact", Some("Impact")),
    ("TA0112", "Defense Impairment", Some("DefenseEvasion")),
];

/// The rule's ATT&CK tactic ids and technique ids, in file order, without repeats.
pub fn attack(rule: &Rule) -> (Vec<String>, Vec<String>) {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for (framework, ids) in &rule.reports {
        if !framework.to_ascii_uppercase().contains("MITRE") {
            continue;
        }
        for id in ids {
            for part in id.split(':') {
                let part = part.trim().to_string();
                let list = if part.starts_with("TA") {
                    &mut tactics
                } else if part.starts_with('T') {
                    &mut techniques
                } else {
                    continue;
                };
                if !list.contains(&part) {
                    list.push(part);
                }
            }
        }
    }
    (tactics, techniques)
}

/// The current ATT&CK name of a tactic id.
pub fn tactic_name(id: &str) -> Option<&'static str> {
    TACTICS.iter().find(|t| t.0 == id).map(|t| t.1)
}

/// Sentinel's name for a tactic id, if Sentinel has one.
pub fn sentinel_tactic(id: &str) -> Option<&'static str> {
    TACTICS.iter().find(|t| t.0 == id).and_then(|t| t.2)
}

/// Sentinel's `relevantTechniques` take the parent technique (`T1562`, not `T1562.001`).
pub fn parent_technique(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Sentinel's own technique -> tactics table, for the techniques ruleqc's rules use. Sentinel
/// checks every analytics rule against it (a technique needs its tactics in `tactics`); it is
/// pinned to an older ATT&CK than the current one (T1098 is Persistence only, T1609 Collection).
/// Source: Azure/Azure-Sentinel, `.script/tests/detectionTemplateSchemaValidation/Models/
/// ModelValidationAttributes/KillChainTechniquesHelper.cs` (commit cbdb7dfe). Add a technique's
/// row from there when a rule starts using it.
const SENTINEL_TECHNIQUES: &[(&str, &[&str])] = &[
    ("T1059", &["Execution"]),
    ("T1070", &["DefenseEvasion"]),
    (
        "T1078",
        &[
            "InitialAccess",
            "Persistence",
            "PrivilegeEscalation",
            "DefenseEvasion",
        ],
    ),
    ("T1090", &["CommandAndControl"]),
    ("T1095", &["CommandAndControl"]),
    ("T1098", &["Persistence"]),
    ("T1110", &["CredentialAccess"]),
    ("T1125", &["Collection"]),
    ("T1136", &["Persistence"]),
    ("T1190", &["InitialAccess"]),
    ("T1199", &["InitialAccess"]),
    ("T1485", &["Impact"]),
    ("T1505", &["Persistence"]),
    ("T1537", &["Exfiltration"]),
    ("T1539", &["CredentialAccess"]),
    ("T1548", &["PrivilegeEscalation", "DefenseEvasion"]),
    ("T1552", &["CredentialAccess"]),
    ("T1555", &["CredentialAccess"]),
    (
        "T1556",
        &["Persistence", "DefenseEvasion", "CredentialAccess"],
    ),
    ("T1562", &["DefenseEvasion"]),
    ("T1567", &["Exfiltration"]),
    ("T1609", &["Collection"]),
    ("T1611", &["PrivilegeEscalation"]),
    ("T1621", &["CredentialAccess"]),
];

/// The tactics Sentinel's table lists for a (parent) technique, if ruleqc carries its row.
pub fn sentinel_technique_tactics(technique: &str) -> Option<&'static [&'static str]> {
    SENTINEL_TECHNIQUES
        .iter()
        .find(|t| t.0 == technique)
        .map(|t| t.1)
}
