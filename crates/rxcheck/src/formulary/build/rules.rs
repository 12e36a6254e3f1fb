//! Rules with a severity and a source, and the rule sets and profiles they are compiled into.

use super::*;

impl Builder<'_> {
    pub(super) fn severity(&mut self, file: usize, text: &Text) -> Option<Severity> {
        let found = Severity::from_formulary(text.get_ref());
        if found.is_none() {
            self.error(
                file,
                text.span(),
                format!(
                    "severity `{}` is not one of `info`, `warn`, `reject`",
                    text.get_ref()
                ),
                closest(text.get_ref(), ["info", "warn", "reject"].into_iter())
                    .map(|c| format!("did you mean `{c}`?")),
            );
        }
        found
    }

    pub(super) fn rule(
        &mut self,
        file: usize,
        id: String,
        severity: &Text,
        source: &Text,
    ) -> Option<Rule> {
        let severity = self.severity(file, severity);
        let source = self.source_ref(file, source);
        Some(Rule {
            rule: id,
            severity: severity?,
            source: source?,
        })
    }

    pub(super) fn range(
        &mut self,
        file: usize,
        range: &Spanned<RawRange>,
        what: &str,
        bounds: (u32, u32),
    ) -> Option<(u32, u32)> {
        let raw = range.get_ref();
        let mut value = |v: &Option<Spanned<i64>>, default: u32| -> Option<u32> {
            match v {
                None => Some(default),
                Some(v) => match u32::try_from(*v.get_ref()) {
                    Ok(n) if (bounds.0..=bounds.1).contains(&n) => Some(n),
                    _ => {
                        self.error(
                            file,
                            v.span(),
                            format!(
                                "{what} {} is outside {}-{}",
                                v.get_ref(),
                                bounds.0,
                                bounds.1
                            ),
                            None,
                        );
                        None
                    }
                },
            }
        };
        let min = value(&raw.min, bounds.0);
        let max = value(&raw.max, bounds.1);
        let (min, max) = (min?, max?);
        if min > max {
            self.error(
                file,
                range.span(),
                format!("{what} range goes down: min {min} is above max {max}"),
                Some("swap `min` and `max`".into()),
            );
            return None;
        }
        Some((min, max))
    }

    /// Compiles one owner's rules (without the sets it uses) into a profile.
    pub(super) fn compile_rules(&mut self, owner: &str, file: usize, raw: &RawRules) -> Profile {
        let mut p = Profile::default();
        if let Some(age) = &raw.min_age {
            let a = age.get_ref();
            let years = match u32::try_from(*a.years.get_ref()) {
                Ok(y) if y <= MAX_AGE_YEARS => Some(y),
                _ => {
                    self.error(
                        file,
                        a.years.span(),
                        format!(
                            "minimum age {} is outside 0-{MAX_AGE_YEARS}",
                            a.years.get_ref()
                        ),
                        None,
                    );
                    None
                }
            };
            let source = self.source_ref(file, &a.source);
            if let (Some(years), Some(source)) = (years, source) {
                p.min_age = Some(AgeRule {
                    rule: format!("{owner}.min_age"),
                    years,
                    source,
                });
            }
        }
        for c in &raw.contraindications {
            let c = c.get_ref();
            let condition = self.condition_ref(file, &c.condition);
            let rule = self.rule(
                file,
                format!("{owner}.contraindication.{}", c.condition.get_ref()),
                &c.severity,
                &c.source,
            );
            if let (Some(condition), Some(rule)) = (condition, rule) {
                p.contraindications.push(ConditionRule { condition, rule });
            }
        }
        for r in &raw.pregnancy {
            let weeks = self.range(
                file,
                &r.get_ref().weeks,
                "gestational week",
                (0, MAX_GESTATIONAL_WEEK),
            );
            let r = r.get_ref();
            let id = match weeks {
                Some((min, max)) => format!("{owner}.pregnancy.weeks_{min}_{max}"),
                None => String::new(),
            };
            let rule = self.rule(file, id, &r.severity, &r.source);
            if let (Some(weeks), Some(rule)) = (weeks, rule) {
                p.pregnancy.push(PregnancyRule { weeks, rule });
            }
        }
        for (i, r) in raw.breastfeeding.iter().enumerate() {
            let r = r.get_ref();
            let id = if i == 0 {
                format!("{owner}.breastfeeding")
            } else {
                format!("{owner}.breastfeeding.{}", i + 1)
            };
            if let Some(rule) = self.rule(file, id, &r.severity, &r.source) {
                p.breastfeeding.push(rule);
            }
        }
        for (i, r) in raw.allergy.iter().enumerate() {
            let r = r.get_ref();
            let classes: Vec<usize> = r
                .classes
                .iter()
                .filter_map(|c| self.class_ref(file, c))
                .collect();
            let id = if i == 0 {
                format!("{owner}.allergy")
            } else {
                format!("{owner}.allergy.{}", i + 1)
            };
            if let Some(rule) = self.rule(file, id, &r.severity, &r.source) {
                p.allergy.push(ClassRule { classes, rule });
            }
        }
        for r in &raw.interactions {
            let r = r.get_ref();
            let class = self.class_ref(file, &r.class);
            let id = format!("{owner}.interaction.{}", r.class.get_ref());
            let rule = self.rule(file, id, &r.severity, &r.source);
            if let (Some(class), Some(rule)) = (class, rule) {
                p.interactions.push(ClassRule {
                    classes: vec![class],
                    rule,
                });
            }
        }
        for r in &raw.duplicate_therapy {
            let r = r.get_ref();
            let class = self.class_ref(file, &r.class);
            let id = format!("{owner}.duplicate_therapy.{}", r.class.get_ref());
            let rule = self.rule(file, id, &r.severity, &r.source);
            let topical = match &r.topical_severity {
                Some(t) => self.severity(file, t),
                None => Some(Severity::Info),
            };
            if let (Some(class), Some(rule), Some(topical_severity)) = (class, rule, topical) {
                p.duplicate_therapy.push(DuplicateRule {
                    class,
                    rule,
                    topical_severity,
                });
            }
        }
        for r in &raw.administration {
            let r = r.get_ref();
            let id = format!("{owner}.administration.{}", r.id.get_ref());
            let severity = match &r.severity {
                Some(s) => self.severity(file, s),
                None => Some(Severity::Info),
            };
            let source = self.source_ref(file, &r.source);
            if let (Some(severity), Some(source)) = (severity, source) {
                p.administration.push(AdministrationRule {
                    note: r.note.clone(),
                    rule: Rule {
                        rule: id,
                        severity,
                        source,
                    },
                });
            }
        }
        for used in &raw.uses {
            let name = used.get_ref();
            if self.rule_sets.contains_key(name) || self.compiled_sets.contains_key(name) {
                if self.compiling.contains(name) {
                    self.error(
                        file,
                        used.span(),
                        format!("rule set `{name}` uses itself (a cycle in `uses`)"),
                        None,
                    );
                    continue;
                }
                let set = self.compile_set(name);
                merge_profile(&mut p, &set);
            } else {
                let hint = closest(name, self.rule_sets.keys().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"))
                    .or_else(|| Some("define it under `[rule_sets]`".into()));
                self.error(
                    file,
                    used.span(),
                    format!("rule set `{name}` is not defined"),
                    hint,
                );
            }
        }
        p
    }

    pub(super) fn compile_set(&mut self, id: &str) -> Profile {
        if let Some(done) = self.compiled_sets.get(id) {
            return done.clone();
        }
        let Some((file, rules)) = self.rule_sets.remove(id) else {
            return Profile::default();
        };
        self.compiling.push(id.to_string());
        let profile = self.compile_rules(id, file, &rules);
        self.compiling.pop();
        self.compiled_sets.insert(id.to_string(), profile.clone());
        profile
    }
}

/// Adds `extra`'s rules to `into`, skipping any rule id already there; the higher minimum age wins.
pub(super) fn merge_profile(into: &mut Profile, extra: &Profile) {
    fn add<T: Clone>(into: &mut Vec<T>, extra: &[T], id: impl Fn(&T) -> &str) {
        for item in extra {
            if !into.iter().any(|existing| id(existing) == id(item)) {
                into.push(item.clone());
            }
        }
    }
    if let Some(age) = &extra.min_age {
        if into.min_age.as_ref().is_none_or(|a| a.years < age.years) {
            into.min_age = Some(age.clone());
        }
    }
    add(&mut into.contraindications, &extra.contraindications, |r| {
        &r.rule.rule
    });
    add(&mut into.pregnancy, &extra.pregnancy, |r| &r.rule.rule);
    add(&mut into.breastfeeding, &extra.breastfeeding, |r| &r.rule);
    add(&mut into.allergy, &extra.allergy, |r| &r.rule.rule);
    add(&mut into.interactions, &extra.interactions, |r| {
        &r.rule.rule
    });
    add(&mut into.duplicate_therapy, &extra.duplicate_therapy, |r| {
        &r.rule.rule
    });
    add(&mut into.administration, &extra.administration, |r| {
        &r.rule.rule
    });
}
