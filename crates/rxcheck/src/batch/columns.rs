//! The header row: which column holds which prescription field, worked out once per file.

use crate::request::Field;

/// Column positions of the prescription fields in a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The column of each field, in the order of [`Field::ALL`].
    fields: [Option<usize>; 16],
    pub patient_id: Option<usize>,
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
        let columns = Columns {
            fields: Field::ALL.map(|field| find(field.name())),
            patient_id: find("patient_id"),
            width: names.len(),
        };
        let required = Field::ALL.into_iter().filter(|f| f.info().column_required);
        for field in required {
            if columns.get(field).is_none() {
                return Err(MissingColumn {
                    missing: field.name(),
                    found: found(),
                });
            }
        }
        if columns.get(Field::AgeYears).is_none() && columns.get(Field::BirthDate).is_none() {
            return Err(MissingColumn {
                missing: "birth_date` or `age_years",
                found: found(),
            });
        }
        Ok(columns)
    }

    /// The column of a field, if the header has one.
    pub fn get(&self, field: Field) -> Option<usize> {
        self.fields.get(field.index()).copied().flatten()
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
