//! The header row: which column holds which prescription field, worked out once per file.

/// Column positions of the prescription fields in a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub rx_id: usize,
    pub patient_id: Option<usize>,
    pub drug: usize,
    pub form: usize,
    pub dose: usize,
    pub times_per_day: usize,
    pub strength: Option<usize>,
    pub duration_days: Option<usize>,
    pub age_years: Option<usize>,
    pub birth_date: Option<usize>,
    pub date: Option<usize>,
    pub pregnant: Option<usize>,
    pub gestational_week: Option<usize>,
    pub breastfeeding: Option<usize>,
    pub conditions: Option<usize>,
    pub allergies: Option<usize>,
    pub co_medications: Option<usize>,
    /// How many fields the header has.
    pub width: usize,
}

/// A header that lacks a required column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the header has no `{missing}` column (it has: {found}); check the column names, or the delimiter with --delimiter"
)]
pub struct MissingColumn {
    pub missing: &'static str,
    pub found: String,
}

impl Columns {
    /// Maps header names (any case, surrounding spaces ignored; unknown ones ignored).
    pub fn from_header<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Columns, MissingColumn> {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let found = || {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let require = |name: &'static str| {
            find(name).ok_or_else(|| MissingColumn {
                missing: name,
                found: found(),
            })
        };
        let columns = Columns {
            rx_id: require("rx_id")?,
            drug: require("drug")?,
            form: require("form")?,
            dose: require("dose")?,
            times_per_day: require("times_per_day")?,
            patient_id: find("patient_id"),
            strength: find("strength"),
            duration_days: find("duration_days"),
            age_years: find("age_years"),
            birth_date: find("birth_date"),
            date: find("date"),
            pregnant: find("pregnant"),
            gestational_week: find("gestational_week"),
            breastfeeding: find("breastfeeding"),
            conditions: find("conditions"),
            allergies: find("allergies"),
            co_medications: find("co_medications"),
            width: names.len(),
        };
        if columns.age_years.is_none() && columns.birth_date.is_none() {
            return Err(MissingColumn {
                missing: "birth_date` or `age_years",
                found: found(),
            });
        }
        Ok(columns)
    }
}

/// Picks the delimiter of a header line: whichever of `,`, `;`, tab and `|` it holds most
/// (`,` when it holds none).
pub fn detect_delimiter(header: &[u8]) -> u8 {
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t', b'|']
        .into_iter()
        .rev()
        .max_by_key(|&d| (count(d), d == b','))
        .filter(|&d| count(d) > 0)
        .unwrap_or(b',')
}
