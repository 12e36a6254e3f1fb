//! Quantities with exact decimal arithmetic: doses (`50 mg`, `50-100 mg`, `1/2 tablet`,
//! `3 ml`, `10 cm`) and strengths (`100 mg`, `75 mg/3 ml`, `5%`).

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// The kind of amount a dose measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Milligrams (of the active substance, or of the product for topical forms).
    Mass,
    /// Millilitres.
    Volume,
    /// Centimetres (a strip of ointment).
    Length,
    /// Whole units of the form (tablets, suppositories, ampoules).
    Count,
}

impl Dimension {
    /// The name used in the formulary and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Mass => "mass",
            Dimension::Volume => "volume",
            Dimension::Length => "length",
            Dimension::Count => "count",
        }
    }

    /// Parses a dimension name as written in the formulary.
    pub fn from_name(name: &str) -> Option<Dimension> {
        match name {
            "mass" => Some(Dimension::Mass),
            "volume" => Some(Dimension::Volume),
            "length" => Some(Dimension::Length),
            "count" => Some(Dimension::Count),
            _ => None,
        }
    }

    /// The base unit amounts of this dimension are kept in.
    pub fn base_unit(self) -> &'static str {
        match self {
            Dimension::Mass => "mg",
            Dimension::Volume => "ml",
            Dimension::Length => "cm",
            Dimension::Count => "unit",
        }
    }
}

/// An amount in the base unit of its dimension (mg, ml, cm, units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    pub value: Decimal,
    pub dimension: Dimension,
}

/// Why a quantity could not be read. Messages name what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("is empty")]
    Empty,
    #[error("`{0}` is not a number followed by a unit, such as `50 mg`")]
    Malformed(String),
    #[error("`{0}` must be greater than zero")]
    NotPositive(String),
    #[error("`{0}` is implausibly large")]
    TooLarge(String),
    #[error("`{0}` uses `,` ambiguously; write the decimal point as `.`")]
    AmbiguousComma(String),
    #[error(
        "`{0}` may use `.` between thousands (`1.000` as 1000); write the number without it, or with fewer decimals"
    )]
    AmbiguousPoint(String),
    #[error("`{0}` has no unit; add one, such as `mg`")]
    NoUnit(String),
    #[error("range `{0}` goes down: its first number must not exceed the second")]
    BackwardsRange(String),
}

/// The largest number a quantity may be written with; anything above is a typo, not a dose.
const MAX_WRITTEN_VALUE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// A unit of measure as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A known physical unit with its factor to the base unit of its dimension.
    Measure {
        dimension: Dimension,
        factor: Decimal,
    },
    /// A word such as `tablet`: a count, if the form accepts the word.
    Word,
}

/// The dimension of a unit of measure (`mg`, `ml`, `мг`) and its factor to the base unit;
/// `None` for anything else.
pub(crate) fn physical_unit(unit: &str) -> Option<(Dimension, Decimal)> {
    let lower = unit.to_ascii_lowercase();
    let thousandth = Decimal::new(1, 3);
    let thousand = Decimal::from(1000);
    let one = Decimal::ONE;
    Some(match lower.as_str() {
        "mcg" | "ug" | "microgram" | "micrograms" => (Dimension::Mass, thousandth),
        "mg" | "milligram" | "milligrams" => (Dimension::Mass, one),
        "g" | "gram" | "grams" => (Dimension::Mass, thousand),
        "ml" | "millilitre" | "millilitres" | "milliliter" | "milliliters" => {
            (Dimension::Volume, one)
        }
        "l" | "litre" | "liter" => (Dimension::Volume, thousand),
        "cm" => (Dimension::Length, one),
        "mm" => (Dimension::Length, Decimal::new(1, 1)),
        _ => match unit.to_lowercase().as_str() {
            "µg" | "μg" | "мкг" => (Dimension::Mass, thousandth),
            // As Russian prescriptions write them.
            "мг" => (Dimension::Mass, one),
            "г" => (Dimension::Mass, thousand),
            "мл" => (Dimension::Volume, one),
            "л" => (Dimension::Volume, thousand),
            "см" => (Dimension::Length, one),
            "мм" => (Dimension::Length, Decimal::new(1, 1)),
            _ => return None,
        },
    })
}

/// A number and the unit text after it, as read from text like `0.5 tablet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity<'a> {
    pub value: Decimal,
    pub unit: &'a str,
}

impl Quantity<'_> {
    /// Classifies the unit: a physical measure or a word (a count, for the form to accept).
    pub fn unit_kind(&self) -> Unit {
        match physical_unit(self.unit) {
            Some((dimension, factor)) => Unit::Measure { dimension, factor },
            None => Unit::Word,
        }
    }

    /// Converts a physical measure to its base unit; `None` for words.
    pub fn to_amount(&self) -> Option<Result<Amount, QuantityError>> {
        match self.unit_kind() {
            Unit::Measure { dimension, factor } => Some(
                self.value
                    .checked_mul(factor)
                    .map(|value| Amount { value, dimension })
                    .ok_or_else(|| QuantityError::TooLarge(self.value.to_string())),
            ),
            Unit::Word => None,
        }
    }
}

/// Reads a non-negative number: digits with an optional decimal point (`.` or an unambiguous
/// `,`), a fraction such as `1/2`, or `½`.
fn parse_number(text: &str, whole: &str) -> Result<Decimal, QuantityError> {
    let malformed = || QuantityError::Malformed(whole.to_string());
    match text {
        "½" => return Ok(Decimal::new(5, 1)),
        "¼" => return Ok(Decimal::new(25, 2)),
        "¾" => return Ok(Decimal::new(75, 2)),
        _ => {}
    }
    if let Some((num, den)) = text.split_once('/') {
        let num = parse_plain_number(num.trim(), whole)?;
        let den = parse_plain_number(den.trim(), whole)?;
        if den.is_zero() {
            return Err(malformed());
        }
        return num.checked_div(den).ok_or_else(malformed);
    }
    parse_plain_number(text, whole)
}

fn parse_plain_number(text: &str, whole: &str) -> Result<Decimal, QuantityError> {
    let malformed = || QuantityError::Malformed(whole.to_string());
    if text.is_empty() || text.len() > 24 {
        return Err(if text.len() > 24 {
            QuantityError::TooLarge(whole.to_string())
        } else {
            malformed()
        });
    }
    let mut seen_point = false;
    for (i, c) in text.char_indices() {
        match c {
            '0'..='9' => {}
            '.' | ',' if !seen_point && i > 0 && i + 1 < text.len() => {
                seen_point = true;
                // Three digits after it may be thousands, as many locales write them: after
                // a point, when they end in a zero nobody writes in a decimal (`1.000`,
                // `1.500`; not `0.125` or `100.001`).
                if text.len() - i - 1 == 3 {
                    if c == ',' {
                        return Err(QuantityError::AmbiguousComma(whole.to_string()));
                    }
                    if !text.starts_with('0') && text.ends_with('0') {
                        return Err(QuantityError::AmbiguousPoint(whole.to_string()));
                    }
                }
            }
            _ => return Err(malformed()),
        }
    }
    let normalized;
    let text = if text.contains(',') {
        normalized = text.replace(',', ".");
        normalized.as_str()
    } else {
        text
    };
    let value = Decimal::from_str(text).map_err(|_| QuantityError::TooLarge(whole.to_string()))?;
    if value > MAX_WRITTEN_VALUE {
        return Err(QuantityError::TooLarge(whole.to_string()));
    }
    Ok(value)
}

/// Splits `50 mg` / `50mg` / `0.5 tablet` into number and unit text.
fn split_number_unit(text: &str) -> (&str, &str) {
    let end = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '/' | '½' | '¼' | '¾')))
        .map_or(text.len(), |(i, _)| i);
    let (number, unit) = text.split_at_checked(end).unwrap_or((text, ""));
    (number.trim(), unit.trim())
}

/// Parses a single quantity such as `50 mg` or `1/2 tablet`. The unit may be empty.
pub fn parse_quantity(text: &str) -> Result<Quantity<'_>, QuantityError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let (number, unit) = split_number_unit(text);
    if number.is_empty() {
        return Err(QuantityError::Malformed(text.to_string()));
    }
    if !unit.is_empty()
        && !unit
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
    {
        return Err(QuantityError::Malformed(text.to_string()));
    }
    let value = parse_number(number, text)?;
    if value.is_zero() {
        return Err(QuantityError::NotPositive(text.to_string()));
    }
    Ok(Quantity { value, unit })
}

/// A prescribed dose: a single quantity, or a range of which the top is what gets checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dose<'a> {
    /// The lowest amount of a range (equal to `top` for a single amount).
    pub low: Decimal,
    /// The highest amount the patient may take at one administration.
    pub top: Quantity<'a>,
}

/// Parses a dose: `50 mg`, `0.1 g`, `1/2 tablet`, or a range `50-100 mg`, `50 mg - 0.1 g`,
/// `50 to 100 mg`. A range's parts must share a dimension; its top is what gets checked.
pub fn parse_dose(text: &str) -> Result<Dose<'_>, QuantityError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    if text.starts_with('-') {
        return Err(QuantityError::NotPositive(text.to_string()));
    }
    let to = text.as_bytes().windows(4).position(|w| w == b" to ");
    let split = to.map(|i| (i, i + 4)).or_else(|| {
        text.find(['-', '–']).map(|i| {
            (
                i,
                i + text
                    .get(i..)
                    .and_then(|t| t.chars().next())
                    .map_or(1, char::len_utf8),
            )
        })
    });
    let Some((end_low, start_high)) = split else {
        let top = parse_quantity(text)?;
        if top.unit.is_empty() {
            return Err(QuantityError::NoUnit(text.to_string()));
        }
        return Ok(Dose {
            low: top.value,
            top,
        });
    };
    let low_text = text.get(..end_low).unwrap_or("").trim();
    let high_text = text.get(start_high..).unwrap_or("").trim();
    let top = parse_quantity(high_text).map_err(|e| rewrap(e, text))?;
    if top.unit.is_empty() {
        return Err(QuantityError::NoUnit(text.to_string()));
    }
    let low = parse_quantity(low_text).map_err(|e| rewrap(e, text))?;
    let low_value = if low.unit.is_empty() {
        low.value
    } else {
        convert_like(&low, &top).ok_or_else(|| QuantityError::Malformed(text.to_string()))?
    };
    if low_value > top.value {
        return Err(QuantityError::BackwardsRange(text.to_string()));
    }
    Ok(Dose {
        low: low_value,
        top,
    })
}

/// Expresses `q` in the unit of `like` when both are measures of one dimension, or the same word.
fn convert_like(q: &Quantity<'_>, like: &Quantity<'_>) -> Option<Decimal> {
    match (q.unit_kind(), like.unit_kind()) {
        (
            Unit::Measure {
                dimension: d1,
                factor: f1,
            },
            Unit::Measure {
                dimension: d2,
                factor: f2,
            },
        ) if d1 == d2 => q.value.checked_mul(f1)?.checked_div(f2),
        (Unit::Word, Unit::Word) if q.unit.eq_ignore_ascii_case(like.unit) => Some(q.value),
        _ => None,
    }
}

fn rewrap(error: QuantityError, whole: &str) -> QuantityError {
    match error {
        QuantityError::Empty => QuantityError::Malformed(whole.to_string()),
        QuantityError::NotPositive(_) => QuantityError::NotPositive(whole.to_string()),
        QuantityError::TooLarge(_) => QuantityError::TooLarge(whole.to_string()),
        QuantityError::AmbiguousComma(_) => QuantityError::AmbiguousComma(whole.to_string()),
        QuantityError::AmbiguousPoint(_) => QuantityError::AmbiguousPoint(whole.to_string()),
        _ => QuantityError::Malformed(whole.to_string()),
    }
}

/// How much active substance a unit of a product holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// Milligrams per unit (a tablet, a suppository).
    PerUnit(Decimal),
    /// Milligrams in a volume of solution (an ampoule of `75 mg/3 ml`).
    Concentration { mg: Decimal, ml: Decimal },
    /// Percent by weight (an ointment of `5%`).
    Percent(Decimal),
}

impl Strength {
    /// Mass of active substance in one unit of the form, where the strength tells it: a
    /// tablet's mass, or an ampoule's `75 mg/3 ml`. A concentration per millilitre
    /// (`25 mg/ml`) does not say how much one ampoule holds.
    pub fn mg_per_unit(self) -> Option<Decimal> {
        match self {
            Strength::PerUnit(mg) => Some(mg),
            Strength::Concentration { mg, ml } if ml != Decimal::ONE => Some(mg),
            Strength::Concentration { .. } | Strength::Percent(_) => None,
        }
    }

    /// Milligrams per millilitre, for a solution.
    pub fn mg_per_ml(self) -> Option<Decimal> {
        match self {
            Strength::Concentration { mg, ml } => mg.checked_div(ml),
            _ => None,
        }
    }
}

impl fmt::Display for Strength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strength::PerUnit(mg) => write!(f, "{} mg", mg.normalize()),
            Strength::Concentration { mg, ml } => {
                write!(f, "{} mg/{} ml", mg.normalize(), ml.normalize())
            }
            Strength::Percent(p) => write!(f, "{}%", p.normalize()),
        }
    }
}

/// Why a strength could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrengthError {
    #[error("{0}")]
    Quantity(#[from] QuantityError),
    #[error("`{0}` is not a strength; write it as `100 mg`, `75 mg/3 ml` or `5%`")]
    NotAStrength(String),
}

/// Parses a strength: `100 mg`, `0.1 g`, `75 mg/3 ml`, `25 mg/ml`, `5%`, `5 percent`.
pub fn parse_strength(text: &str) -> Result<Strength, StrengthError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(QuantityError::Empty.into());
    }
    let not_a_strength = || StrengthError::NotAStrength(text.to_string());
    let lower = text.to_ascii_lowercase();
    if let Some(number) = lower
        .strip_suffix('%')
        .or_else(|| lower.strip_suffix("percent"))
    {
        let value = parse_plain_number(number.trim(), text)?;
        if value.is_zero() || value > Decimal::ONE_HUNDRED {
            return Err(not_a_strength());
        }
        return Ok(Strength::Percent(value));
    }
    if let Some((mass, volume)) = text.split_once('/') {
        let mass = parse_quantity(mass)?;
        let mg = match mass.to_amount() {
            Some(Ok(Amount {
                value,
                dimension: Dimension::Mass,
            })) => value,
            Some(Err(e)) => return Err(e.into()),
            _ => return Err(not_a_strength()),
        };
        let volume = volume.trim();
        let volume_qty = if volume
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            Quantity {
                value: Decimal::ONE,
                unit: volume,
            }
        } else {
            parse_quantity(volume)?
        };
        return match volume_qty.to_amount() {
            Some(Ok(Amount {
                value,
                dimension: Dimension::Volume,
            })) => Ok(Strength::Concentration { mg, ml: value }),
            Some(Err(e)) => Err(e.into()),
            _ => Err(not_a_strength()),
        };
    }
    let quantity = parse_quantity(text)?;
    match quantity.to_amount() {
        Some(Ok(Amount {
            value,
            dimension: Dimension::Mass,
        })) => Ok(Strength::PerUnit(value)),
        Some(Err(e)) => Err(e.into()),
        _ => Err(not_a_strength()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mg(text: &str) -> Decimal {
        let dose = parse_dose(text).unwrap();
        dose.top.to_amount().unwrap().unwrap().value
    }

    #[test]
    fn units_convert_exactly() {
        assert_eq!(mg("0.1 g"), Decimal::from(100));
        assert_eq!(mg("100000 mcg"), Decimal::from(100));
        assert_eq!(mg("100mg"), Decimal::from(100));
        assert_eq!(mg("250 µg"), Decimal::new(25, 2));
        assert_eq!(mg("0,5 g"), Decimal::from(500));
    }

    #[test]
    fn ranges_are_checked_at_their_top() {
        assert_eq!(mg("50-100 mg"), Decimal::from(100));
        assert_eq!(mg("50 mg - 0.1 g"), Decimal::from(100));
        assert_eq!(mg("50 to 100 mg"), Decimal::from(100));
        assert!(matches!(
            parse_dose("100-50 mg"),
            Err(QuantityError::BackwardsRange(_))
        ));
    }

    #[test]
    fn fractions_of_units() {
        let dose = parse_dose("1/2 tablet").unwrap();
        assert_eq!(dose.top.value, Decimal::new(5, 1));
        assert_eq!(dose.top.unit, "tablet");
        assert_eq!(
            parse_dose("½ tablet").unwrap().top.value,
            Decimal::new(5, 1)
        );
    }

    #[test]
    fn bad_doses_are_errors() {
        for bad in [
            "",
            "-5 mg",
            "0 mg",
            "abc",
            "mg",
            "50",
            "1e9 mg",
            "5 m g!",
            "1,000 mg",
            "1.000 mg",
            "12.500 mg",
            "1.250 mg",
            "99999999999999999999999999999 mg",
            "2000000 mg",
            "1/0 tablet",
        ] {
            assert!(parse_dose(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn a_point_before_three_digits_ending_in_zero_may_be_thousands() {
        assert_eq!(
            parse_dose("1.000 mg"),
            Err(QuantityError::AmbiguousPoint("1.000 mg".into()))
        );
        assert_eq!(
            parse_dose("0.125 mg").unwrap().top.value,
            Decimal::new(125, 3)
        );
        assert_eq!(
            parse_dose("1.25 mg").unwrap().top.value,
            Decimal::new(125, 2)
        );
        assert_eq!(
            parse_dose("100.001 mg").unwrap().top.value,
            Decimal::new(100001, 3)
        );
    }

    #[test]
    fn strengths() {
        assert_eq!(
            parse_strength("100 mg").unwrap(),
            Strength::PerUnit(Decimal::from(100))
        );
        let s = parse_strength("75 mg/3 ml").unwrap();
        assert_eq!(s.mg_per_ml(), Some(Decimal::from(25)));
        assert_eq!(s.mg_per_unit(), Some(Decimal::from(75)));
        assert_eq!(
            parse_strength("25 mg/ml").unwrap(),
            Strength::Concentration {
                mg: Decimal::from(25),
                ml: Decimal::ONE
            }
        );
        assert_eq!(
            parse_strength("5%").unwrap(),
            Strength::Percent(Decimal::from(5))
        );
        assert!(parse_strength("3 ml").is_err());
        assert!(parse_strength("150%").is_err());
    }
}
