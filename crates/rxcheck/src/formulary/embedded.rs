//! The formulary shipped inside the binary, so `rxcheck check` works with no set-up. The
//! build script lists every `formulary/*.toml` and `formulary/cases/*.toml` file.

use super::SourceFile;

include!(concat!(env!("OUT_DIR"), "/embedded_files.rs"));

fn sources(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(name, text)| SourceFile {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// The shipped formulary's files, named as they are in the repository.
pub fn embedded_sources() -> Vec<SourceFile> {
    sources(FORMULARY_FILES)
}

/// The worked examples shipped with the formulary.
pub fn embedded_cases() -> Vec<SourceFile> {
    sources(CASE_FILES)
}
