//! Loading a formulary from arbitrary TOML never panics; it loads or reports diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxcheck::formulary::{Formulary, SourceFile};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let file = SourceFile { name: "fuzz.toml".into(), text };
    match Formulary::load(&[file]) {
        Ok(f) => {
            let _ = rxcheck::formulary::describe::describe(&f, None, None);
        }
        Err(e) => {
            for d in &e.diagnostics {
                let _ = d.render();
            }
            let _ = e.to_string();
        }
    }
});
