//! The formulary shipped inside the binary, so `rxcheck check` works with no set-up.

use super::SourceFile;

const FILES: [(&str, &str); 5] = [
    (
        "formulary/formulary.toml",
        include_str!("../../formulary/formulary.toml"),
    ),
    (
        "formulary/shared.toml",
        include_str!("../../formulary/shared.toml"),
    ),
    (
        "formulary/nimesulide.toml",
        include_str!("../../formulary/nimesulide.toml"),
    ),
    (
        "formulary/diclofenac.toml",
        include_str!("../../formulary/diclofenac.toml"),
    ),
    (
        "formulary/indomethacin.toml",
        include_str!("../../formulary/indomethacin.toml"),
    ),
];

/// The shipped formulary's files, named as they are in the repository.
pub fn embedded_sources() -> Vec<SourceFile> {
    FILES
        .iter()
        .map(|(name, text)| SourceFile {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// The worked examples shipped with the formulary.
pub fn embedded_cases() -> Vec<SourceFile> {
    vec![SourceFile {
        name: "formulary/cases/shipped.toml".to_string(),
        text: include_str!("../../formulary/cases/shipped.toml").to_string(),
    }]
}
