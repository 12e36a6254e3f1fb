//! Dosage statements: amounts in the form's dimension, limits, and their consistency.

use super::*;

impl Builder<'_> {
    pub(super) fn strength(&mut self, file: usize, text: &Text) -> Option<Strength> {
        match parse_strength(text.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(file, text.span(), format!("strength {e}"), None);
                None
            }
        }
    }

    pub(super) fn amount(
        &mut self,
        file: usize,
        text: &Text,
        dimension: Dimension,
    ) -> Option<Decimal> {
        let parsed = parse_quantity(text.get_ref());
        let amount = match parsed.map(|q| q.to_amount()) {
            Ok(Some(Ok(a))) => a,
            Ok(Some(Err(e))) | Err(e) => {
                self.error(file, text.span(), format!("dose {e}"), None);
                return None;
            }
            Ok(None) => {
                self.error(
                    file,
                    text.span(),
                    format!("`{}` has no known unit", text.get_ref()),
                    Some("use mg, g, mcg, ml, cm or mm".into()),
                );
                return None;
            }
        };
        let Amount {
            value,
            dimension: got,
        } = amount;
        if got != dimension {
            self.error(
                file,
                text.span(),
                format!(
                    "`{}` is a {}, but the form's doses are measured in {}",
                    text.get_ref(),
                    got.as_str(),
                    dimension.as_str()
                ),
                Some(format!("write it in {}", dimension.base_unit())),
            );
            return None;
        }
        Some(value)
    }

    pub(super) fn limits(
        &mut self,
        file: usize,
        raw: &Spanned<RawAmountRange>,
        dimension: Dimension,
        what: &str,
    ) -> Limits {
        let r = raw.get_ref();
        let min = r.min.as_ref().and_then(|t| self.amount(file, t, dimension));
        let usual_max = r
            .usual_max
            .as_ref()
            .and_then(|t| self.amount(file, t, dimension));
        let max = r.max.as_ref().and_then(|t| self.amount(file, t, dimension));
        let unit = dimension.base_unit();
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                self.error(
                    file,
                    raw.span(),
                    format!("{what}: min {lo} {unit} is above max {hi} {unit}"),
                    Some("swap `min` and `max`".into()),
                );
            }
        }
        if let (Some(usual), Some(hi)) = (usual_max, max) {
            if usual > hi {
                self.error(
                    file,
                    raw.span(),
                    format!("{what}: usual_max {usual} {unit} is above max {hi} {unit}"),
                    None,
                );
            }
        }
        if let (Some(lo), Some(usual)) = (min, usual_max) {
            if lo > usual {
                self.error(
                    file,
                    raw.span(),
                    format!("{what}: min {lo} {unit} is above usual_max {usual} {unit}"),
                    None,
                );
            }
        }
        Limits {
            min,
            usual_max,
            max,
        }
    }

    pub(super) fn dose_rule(
        &mut self,
        owner: &str,
        file: usize,
        raw: &Spanned<RawDosage>,
        dimension: Dimension,
        strengths: &[Strength],
    ) -> Option<DoseRule> {
        let span = raw.span();
        let d = raw.get_ref();
        let rule = match &d.id {
            Some(id) => format!("{owner}.dosage.{}", id.get_ref()),
            None => format!("{owner}.dosage"),
        };
        let ages = d
            .ages
            .as_ref()
            .and_then(|a| self.range(file, a, "age", (0, MAX_AGE_YEARS)));
        let strength = d.strength.as_ref().and_then(|s| {
            let strength = self.strength(file, s)?;
            if !strengths.contains(&strength) {
                self.error(
                    file,
                    s.span(),
                    format!(
                        "dosage strength `{}` is not among the form's `strengths`",
                        s.get_ref()
                    ),
                    None,
                );
            }
            Some(strength)
        });
        let per_administration = d
            .dose_per_administration
            .as_ref()
            .map(|l| self.limits(file, l, dimension, "dose_per_administration"))
            .unwrap_or_default();
        let per_day = d
            .dose_per_day
            .as_ref()
            .map(|l| self.limits(file, l, dimension, "dose_per_day"))
            .unwrap_or_default();
        let times_per_day = match &d.times_per_day {
            Some(t) => {
                let r = self.range(file, t, "times per day", (1, 1000))?;
                (
                    t.get_ref().min.as_ref().map(|_| r.0),
                    t.get_ref().max.as_ref().map(|_| r.1),
                )
            }
            None => (None, None),
        };
        let max_duration_days = match &d.max_duration_days {
            Some(v) => match u32::try_from(*v.get_ref()) {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    self.error(
                        file,
                        v.span(),
                        format!(
                            "max_duration_days {} must be a whole number of at least 1",
                            v.get_ref()
                        ),
                        None,
                    );
                    None
                }
            },
            None => None,
        };
        let source = self.source_ref(file, &d.source)?;
        let below_minimum = d
            .below_minimum
            .as_ref()
            .and_then(|b| self.below_minimum(file, b, dimension, source, &per_day));
        // Judged on what is written, so a limit that failed to parse is not reported twice.
        let written = |r: &Option<Spanned<RawAmountRange>>| {
            r.as_ref().is_some_and(|r| {
                let r = r.get_ref();
                r.min.is_some() || r.usual_max.is_some() || r.max.is_some()
            })
        };
        let has_limit = written(&d.dose_per_administration)
            || written(&d.dose_per_day)
            || d.times_per_day.is_some()
            || d.max_duration_days.is_some();
        if !has_limit {
            self.error(file, span.clone(), format!("dosage `{rule}` sets no limit"), Some("give `dose_per_administration`, `dose_per_day`, `times_per_day` or `max_duration_days`".into()));
        }
        self.check_daily_reachable(
            file,
            span,
            &rule,
            dimension,
            &per_administration,
            &per_day,
            times_per_day,
        );
        Some(DoseRule {
            limit_ids: crate::formulary::LimitIds::new(&rule),
            rule,
            ages,
            strength,
            per_administration,
            per_day,
            times_per_day,
            max_duration_days,
            source,
            below_minimum,
        })
    }

    /// The grading of endorsed below-minimum doses: `info` or `warn` (never a `reject`, which
    /// would make a lower dose worse than a missing endorsement), with a daily floor under
    /// the entry's daily minimum.
    fn below_minimum(
        &mut self,
        file: usize,
        raw: &Spanned<RawBelowMinimum>,
        dimension: Dimension,
        dosage_source: usize,
        per_day: &Limits,
    ) -> Option<BelowMinimum> {
        let b = raw.get_ref();
        let severity = self.severity(file, &b.severity)?;
        if severity == Severity::Reject {
            self.error(
                file,
                b.severity.span(),
                "below_minimum severity `reject` would grade an endorsed dose above an unendorsed one".into(),
                Some("use `info` (or `warn`)".into()),
            );
        }
        let source = self.source_ref(file, &b.source)?;
        let daily_floor = match &b.daily_floor {
            Some(text) => {
                let floor = self.amount(file, text, dimension)?;
                if per_day.min.is_none_or(|min| floor >= min) {
                    self.error(
                        file,
                        text.span(),
                        format!(
                            "daily_floor `{}` must be below the entry's `dose_per_day.min`",
                            text.get_ref()
                        ),
                        None,
                    );
                }
                Some(floor)
            }
            None => None,
        };
        let citation = match (
            self.citations.get(dosage_source),
            self.citations.get(source),
        ) {
            (Some(dose), Some(endorsement)) if dosage_source != source => {
                format!("{dose} {endorsement}")
            }
            (_, Some(endorsement)) => endorsement.clone(),
            _ => String::new(),
        };
        Some(BelowMinimum {
            severity,
            daily_floor,
            citation,
        })
    }

    /// Warns of a daily maximum that can never be reached, or is always exceeded.
    #[expect(
        clippy::too_many_arguments,
        reason = "the limits of one dosage entry, each needed for the message"
    )]
    pub(super) fn check_daily_reachable(
        &mut self,
        file: usize,
        span: Range<usize>,
        rule: &str,
        dimension: Dimension,
        single: &Limits,
        daily: &Limits,
        times: (Option<u32>, Option<u32>),
    ) {
        let Some(daily_max) = daily.max else { return };
        let unit = dimension.base_unit();
        if let (Some(single_max), Some(times_max)) = (single.max, times.1) {
            if let Some(most) = single_max.checked_mul(Decimal::from(times_max)) {
                if most < daily_max {
                    self.warning(file, span.clone(), format!("`{rule}`: the daily maximum {daily_max} {unit} can never be reached ({single_max} {unit} x {times_max} = {most} {unit})"), Some("check the single-dose maximum, the frequency and the daily maximum".into()));
                }
            }
        }
        if let (Some(single_min), Some(times_min)) = (single.min, times.0) {
            if let Some(least) = single_min.checked_mul(Decimal::from(times_min)) {
                if least > daily_max {
                    self.warning(file, span, format!("`{rule}`: the daily maximum {daily_max} {unit} is always exceeded ({single_min} {unit} x {times_min} = {least} {unit})"), Some("check the single-dose minimum, the frequency and the daily maximum".into()));
                }
            }
        }
    }
}
