//! MITRE ATT&CK ids from a rule's `Reports` (`TA0002:T1059`, `TA0005:T1562.001`) and the names
//! each platform uses for the tactics.

use crate::rule::Rule;

/// Enterprise ATT&CK tactics, current names (v19 renamed TA0005 "Defense Evasion" to
/// "Stealth" and added TA0112), and the name Microsoft Sentinel accepts for each (Sentinel's
/// list predates v19: TA0005 is still `DefenseEvasion`, and TA0112 has none).
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
    ("TA0112", "TA0112", None),
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
