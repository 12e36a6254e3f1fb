//! Parsing doses, strengths, dates, flags, ICD-10 codes and names never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rxcheck::request::{parse_date, parse_flag, parse_whole};
use rxcheck::units::{parse_dose, parse_quantity, parse_strength};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(dose) = parse_dose(&text) {
        let _ = dose.top.to_amount();
    }
    let _ = parse_quantity(&text);
    if let Ok(strength) = parse_strength(&text) {
        let _ = (strength.mg_per_ml(), strength.mg_per_unit(), strength.to_string());
    }
    let _ = parse_date(&text);
    let _ = parse_flag(&text);
    let _ = parse_whole(&text, 1, 1000);
    let _ = rxcheck::formulary::normalize_icd10(&text);
    let _ = rxcheck::formulary::normalize_name(&text);
});
