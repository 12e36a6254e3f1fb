//! Embeds every `formulary/*.toml` file and every `formulary/cases/*.toml` file in the
//! binary, so adding a drug to the shipped formulary is an edit to TOML alone.

use std::fmt::Write;
use std::path::Path;

fn toml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn list(out: &mut String, name: &str, folder: &str, files: &[String]) {
    let _ = writeln!(out, "const {name}: &[(&str, &str)] = &[");
    for file in files {
        let _ = writeln!(
            out,
            "    (\"{folder}/{file}\", include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/../../{folder}/{file}\"))),"
        );
    }
    let _ = writeln!(out, "];");
}

fn main() {
    // The formulary lives at the top of the repository, where its authors edit it.
    let root = Path::new("../../formulary");
    println!("cargo::rerun-if-changed=../../formulary");
    println!("cargo::rerun-if-changed=../../formulary/cases");
    let mut out = String::new();
    list(&mut out, "FORMULARY_FILES", "formulary", &toml_files(root));
    list(
        &mut out,
        "CASE_FILES",
        "formulary/cases",
        &toml_files(&root.join("cases")),
    );
    let path = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("embedded_files.rs");
    if let Err(e) = std::fs::write(&path, out) {
        panic!("cannot write {}: {e}", path.display());
    }
}
