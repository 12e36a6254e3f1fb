//! The one table of prescription fields: the CSV column names, the `check` flags and the case
//! file keys all come from here.

/// A field of a prescription, in the order of [`Field::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    RxId,
    Drug,
    Form,
    Strength,
    UnitVolume,
    Dose,
    TimesPerDay,
    DurationDays,
    AgeYears,
    BirthDate,
    Sex,
    Date,
    Pregnant,
    GestationalWeek,
    Breastfeeding,
    Conditions,
    Allergies,
    CoMedications,
}

/// What the table says of one field.
#[derive(Debug, Clone, Copy)]
pub struct FieldInfo {
    /// The CSV column and case file key (`times_per_day`).
    pub name: &'static str,
    /// The `check` flag, without its dashes (`times-per-day`, `condition`).
    pub flag: &'static str,
    /// The flag's help line.
    pub help: &'static str,
    /// A `;`-separated list; its flag may be repeated.
    pub list: bool,
    /// A file without this column cannot be checked.
    pub column_required: bool,
    /// `check` cannot run without this flag.
    pub flag_required: bool,
    /// A value may start with `-` (a negative number is the validator's to judge, not a flag).
    pub numeric: bool,
}

const fn info(name: &'static str, flag: &'static str, help: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        flag,
        help,
        list: false,
        column_required: false,
        flag_required: false,
        numeric: false,
    }
}

impl FieldInfo {
    const fn list(mut self) -> Self {
        self.list = true;
        self
    }
    const fn required(mut self) -> Self {
        self.column_required = true;
        self.flag_required = true;
        self
    }
    const fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }
}

impl Field {
    /// How many fields there are.
    pub const COUNT: usize = 18;

    /// Every field, in declaration order (the order of [`super::Prescription::from_fields`]).
    pub const ALL: [Field; Field::COUNT] = [
        Field::RxId,
        Field::Drug,
        Field::Form,
        Field::Strength,
        Field::UnitVolume,
        Field::Dose,
        Field::TimesPerDay,
        Field::DurationDays,
        Field::AgeYears,
        Field::BirthDate,
        Field::Sex,
        Field::Date,
        Field::Pregnant,
        Field::GestationalWeek,
        Field::Breastfeeding,
        Field::Conditions,
        Field::Allergies,
        Field::CoMedications,
    ];

    /// The table entry of this field.
    pub const fn info(self) -> FieldInfo {
        match self {
            Field::RxId => {
                let mut rx_id = info("rx_id", "rx-id", "Prescription id, echoed in the output");
                rx_id.column_required = true;
                rx_id
            }
            Field::Drug => info(
                "drug",
                "drug",
                "Drug: generic name, alias or brand (diclofenac, Voltaren, ...)",
            )
            .required(),
            Field::Form => info(
                "form",
                "form",
                "Dosage form (tablet, suppository, injection, gel, ointment, ...)",
            )
            .required(),
            Field::Strength => info(
                "strength",
                "strength",
                "Strength of the product: `50 mg`, `75 mg/3 ml`, `5%`",
            ),
            Field::UnitVolume => info(
                "unit_volume",
                "unit-volume",
                "Volume of one ampoule or other container of a solution, such as `3 ml`, for a dose that counts them when the strength is per ml",
            ),
            Field::Dose => info(
                "dose",
                "dose",
                "Dose per administration: `50 mg`, `0.1 g`, `1 tablet`, `3 ml`, `10 cm`, `50-100 mg`",
            )
            .required()
            .numeric(),
            Field::TimesPerDay => info(
                "times_per_day",
                "times-per-day",
                "Administrations per day: a whole number, or qd, bid, tid, qid, q8h, every 8 hours, 3x, 3 times a day",
            )
            .required()
            .numeric(),
            Field::DurationDays => {
                info("duration_days", "duration-days", "Course length in days").numeric()
            }
            Field::AgeYears => info(
                "age_years",
                "age-years",
                "Age in completed years (birth date wins when both are given)",
            )
            .numeric(),
            Field::BirthDate => info(
                "birth_date",
                "birth-date",
                "Birth date, YYYY-MM-DD (or as --date-format says)",
            ),
            Field::Sex => info(
                "sex",
                "sex",
                "Sex: female, male or unknown (also f, m, w, ж, м); pregnancy and breastfeeding are asked of female or unknown patients of childbearing age",
            ),
            Field::Date => info(
                "date",
                "date",
                "Prescription date, YYYY-MM-DD (or as --date-format says) [default: the as-of date]",
            ),
            Field::Pregnant => info(
                "pregnant",
                "pregnant",
                "Is the patient pregnant: yes, no or unknown",
            ),
            Field::GestationalWeek => info(
                "gestational_week",
                "gestational-week",
                "Completed weeks of pregnancy, 0-45",
            )
            .numeric(),
            Field::Breastfeeding => info(
                "breastfeeding",
                "breastfeeding",
                "Is the patient breastfeeding: yes, no or unknown",
            ),
            Field::Conditions => info(
                "conditions",
                "condition",
                "Condition id or ICD-10 code (repeatable, or `;`-separated)",
            )
            .list(),
            Field::Allergies => info(
                "allergies",
                "allergy",
                "Drug or class the patient is allergic to (repeatable, or `;`-separated)",
            )
            .list(),
            Field::CoMedications => info(
                "co_medications",
                "co-medication",
                "Another drug the patient takes (repeatable, or `;`-separated)",
            )
            .list(),
        }
    }

    /// The CSV column and case file key.
    pub const fn name(self) -> &'static str {
        self.info().name
    }

    /// The field named `name` exactly (a column, after the header's own normalising).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The position of this field in [`Field::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}
