//! Stage two of loading: checks what the raw TOML means (references exist, ranges are sane,
//! units fit their form) and builds the typed [`Formulary`], reporting every problem found.

use super::diagnostic::{Diagnostic, Level, LoadError, SourceFile};
use super::raw::{RawAmountRange, RawDosage, RawDrug, RawFile, RawForm, RawRange, RawRules, Text};
use super::{
    AdministrationRule, AgeRule, Brand, ClassRule, Condition, ConditionRule, DoseRule, Dosing,
    Drug, DrugClass, DrugRef, DuplicateRule, Form, Formulary, Limits, PregnancyRule, Profile, Rule,
    Source, Substance, closest, normalize_icd10, normalize_name,
};
use crate::fasthash::FastMap;
use crate::finding::Severity;
use crate::units::{Amount, Dimension, Strength, parse_quantity, parse_strength};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use toml::Spanned;

use crate::request::{MAX_AGE_YEARS, MAX_GESTATIONAL_WEEK};

/// The tables of ids that rules refer to.
#[derive(Clone, Copy)]
enum Table {
    Sources,
    Conditions,
    Classes,
}

/// A table from one of the files, under its id.
struct Item<T> {
    file: usize,
    id: String,
    value: Spanned<T>,
}

struct Builder<'a> {
    files: &'a [SourceFile],
    diagnostics: Vec<Diagnostic>,
    source_ids: FastMap<String, usize>,
    condition_ids: FastMap<String, usize>,
    class_ids: FastMap<String, usize>,
    rule_sets: HashMap<String, (usize, RawRules)>,
    /// Rule sets already compiled, and the ones being compiled (to catch cycles).
    compiled_sets: HashMap<String, Profile>,
    compiling: Vec<String>,
    /// Every drug name seen so far (normalised), with the drug it names.
    drug_names: FastMap<String, String>,
    /// Every class member as written: normalised name, file and span.
    class_members: Vec<(String, usize, Range<usize>)>,
}

pub(super) fn build(files: &[SourceFile]) -> Result<Formulary, LoadError> {
    let mut b = Builder {
        files,
        diagnostics: Vec::new(),
        source_ids: FastMap::default(),
        condition_ids: FastMap::default(),
        class_ids: FastMap::default(),
        rule_sets: HashMap::new(),
        compiled_sets: HashMap::new(),
        compiling: Vec::new(),
        drug_names: FastMap::default(),
        class_members: Vec::new(),
    };
    let mut parsed = Vec::new();
    for (index, file) in files.iter().enumerate() {
        if let Some(raw) = b.parse_file(index, file) {
            parsed.push((index, raw));
        }
    }
    if files.is_empty() {
        b.diagnostics.push(Diagnostic {
            level: Level::Error,
            file: "(formulary)".into(),
            line: 1,
            column: 1,
            message: "no formulary files found".into(),
            hint: Some("give a `.toml` file or a folder holding some".into()),
            snippet: String::new(),
            width: 1,
        });
    }
    if parsed.is_empty() {
        return Err(b.finish_err());
    }
    let formulary = b.assemble(parsed);
    match formulary {
        Some(f) if !b.has_errors() => Ok(Formulary {
            warnings: b.diagnostics,
            ..f
        }),
        _ => Err(b.finish_err()),
    }
}

fn merge<T>(
    b: &mut Builder<'_>,
    kind: &str,
    parts: Vec<(usize, BTreeMap<String, Spanned<T>>)>,
) -> Vec<Item<T>> {
    let mut items: Vec<Item<T>> = Vec::new();
    for (file, map) in parts {
        for (id, value) in map {
            if items.iter().any(|i| i.id == id) {
                b.error(
                    file,
                    value.span(),
                    format!("{kind} `{id}` is defined twice"),
                    Some("give each one its own id, or merge them".into()),
                );
                continue;
            }
            items.push(Item { file, id, value });
        }
    }
    items
}

impl Builder<'_> {
    fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    fn finish_err(&mut self) -> LoadError {
        let mut diagnostics = std::mem::take(&mut self.diagnostics);
        diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        LoadError { diagnostics }
    }

    fn report(
        &mut self,
        level: Level,
        file: usize,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) {
        if let Some(source) = self.files.get(file) {
            self.diagnostics
                .push(Diagnostic::at(level, source, span, message, hint));
        }
    }

    fn error(&mut self, file: usize, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Level::Error, file, span, message, hint);
    }

    fn warning(&mut self, file: usize, span: Range<usize>, message: String, hint: Option<String>) {
        self.report(Level::Warning, file, span, message, hint);
    }

    /// Parses one file, reporting every schema error rather than the first: after an error
    /// the offending lines are blanked (keeping every offset) and the file is parsed again.
    fn parse_file(&mut self, index: usize, file: &SourceFile) -> Option<RawFile> {
        const MAX_ERRORS: usize = 50;
        let mut text = file.text.clone();
        let mut blanked_keys: Vec<String> = Vec::new();
        for _ in 0..MAX_ERRORS {
            match toml::from_str::<RawFile>(&text) {
                // With errors already reported, the rest is still checked for meaning.
                Ok(raw) => return Some(raw),
                Err(error) => {
                    // A key blanked for having a bad value is then missing: not a new error.
                    let artifact = blanked_keys
                        .iter()
                        .any(|k| error.message().starts_with(&format!("missing field `{k}`")));
                    if artifact {
                        return None;
                    }
                    self.toml_error(index, &error);
                    if let Some(key) = error.span().and_then(|s| line_key(&text, s.start)) {
                        blanked_keys.push(key);
                    }
                    let span = error.span().filter(|s| !s.is_empty())?;
                    // A missing key is reported on its table; blanking that would only
                    // move the table's keys elsewhere and report them again.
                    if error.message().starts_with("missing field") || !blank_lines(&mut text, span)
                    {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn toml_error(&mut self, file: usize, error: &toml::de::Error) {
        let message = error.message().trim();
        let hint = unknown_key_hint(message);
        let span = error.span().unwrap_or(0..0);
        let first_line = message.lines().next().unwrap_or("");
        // `unknown field `x`, expected one of ...`: the list goes into the hint.
        let first_line = match first_line.split_once(", expected") {
            Some((head, _)) if head.starts_with("unknown field") => {
                head.replacen("unknown field", "unknown key", 1)
            }
            _ => first_line.to_string(),
        };
        self.error(file, span, first_line, hint);
    }

    fn assemble(&mut self, parsed: Vec<(usize, RawFile)>) -> Option<Formulary> {
        let mut meta = None;
        let mut conditions = Vec::new();
        let mut classes = Vec::new();
        let mut sources = Vec::new();
        let mut rule_sets = Vec::new();
        let mut drugs = Vec::new();
        for (file, raw) in parsed {
            if let Some(m) = raw.formulary {
                if meta.is_some() {
                    self.error(
                        file,
                        0..0,
                        "`[formulary]` is given in more than one file".into(),
                        None,
                    );
                }
                meta = Some(m);
            }
            conditions.push((file, raw.conditions));
            classes.push((file, raw.classes));
            sources.push((file, raw.sources));
            rule_sets.push((file, raw.rule_sets));
            drugs.push((file, raw.drugs));
        }
        let Some(meta) = meta else {
            self.error(
                0,
                0..0,
                "the formulary has no `[formulary]` table".into(),
                Some("add `[formulary]` with `name`, `version` and `reference`".into()),
            );
            return None;
        };
        let sources = merge(self, "source", sources);
        let conditions = merge(self, "condition", conditions);
        let classes = merge(self, "class", classes);
        let rule_sets = merge(self, "rule set", rule_sets);
        let drugs = merge(self, "drug", drugs);

        let sources = self.build_sources(sources);
        let conditions = self.build_conditions(conditions);
        let icd_prefixes = icd_index(&conditions);
        let classes = self.build_classes(classes);
        let mut set_labels = Vec::new();
        for mut set in rule_sets {
            set_labels.push((set.id.clone(), set.value.get_ref().label.clone()));
            let rules = set.value.get_mut().take_rules();
            self.rule_sets.insert(set.id.clone(), (set.file, rules));
        }
        let set_ids: Vec<String> = self.rule_sets.keys().cloned().collect();
        for id in set_ids {
            self.compile_set(&id);
        }
        let drugs: Vec<Drug> = drugs
            .into_iter()
            .filter_map(|d| self.build_drug(d))
            .collect();
        if drugs.is_empty() {
            self.error(
                0,
                0..0,
                "the formulary has no drugs".into(),
                Some("add a `[drugs.NAME]` table with its forms".into()),
            );
        }
        self.check_class_members();
        let (drug_names, substances) = self.name_indexes(&drugs, &classes);
        Some(Formulary {
            name: meta.name,
            version: meta.version,
            reference: meta.reference,
            condition_ids: self.condition_ids.clone(),
            conditions,
            classes,
            drugs,
            sources,
            rule_sets: set_labels,
            warnings: Vec::new(),
            icd_prefixes,
            identity: super::next_identity(),
            drug_names,
            substances,
        })
    }

    fn build_sources(&mut self, items: Vec<Item<super::raw::RawSource>>) -> Vec<Source> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let raw = item.value.into_inner();
                self.source_ids.insert(item.id.clone(), index);
                Source {
                    citation: format!("{}: \"{}\"", raw.section, raw.text),
                    id: item.id,
                    section: raw.section,
                    text: raw.text,
                }
            })
            .collect()
    }

    fn build_conditions(&mut self, items: Vec<Item<super::raw::RawCondition>>) -> Vec<Condition> {
        for (index, item) in items.iter().enumerate() {
            if !is_snake_id(&item.id) {
                self.error(
                    item.file,
                    item.value.span(),
                    format!("condition id `{}` is not snake_case", item.id),
                    Some("use lower-case letters, digits and `_`".into()),
                );
            }
            self.condition_ids.insert(item.id.clone(), index);
        }
        let mut parents: Vec<Vec<usize>> = Vec::with_capacity(items.len());
        let mut built = Vec::with_capacity(items.len());
        for item in &items {
            let raw = item.value.get_ref();
            let mut own = Vec::new();
            for parent in &raw.parents {
                if let Some(p) = self.condition_ref(item.file, parent) {
                    own.push(p);
                }
            }
            parents.push(own);
            let mut icd10 = Vec::new();
            for code in raw.icd10.iter().chain(&raw.icd10_cm) {
                if normalize_icd10(code.get_ref()).is_none() {
                    self.error(
                        item.file,
                        code.span(),
                        format!("`{}` is not an ICD-10 code", code.get_ref()),
                        Some("write a letter, two digits, and optionally `.` and up to 4 more characters, such as `K25.4`".into()),
                    );
                } else {
                    icd10.push(code.get_ref().clone());
                }
            }
            built.push(Condition {
                id: item.id.clone(),
                label: raw.label.clone(),
                icd10,
                implies: Vec::new(),
            });
        }
        for (index, item) in items.iter().enumerate() {
            let mut implies = vec![index];
            let mut stack = parents.get(index).cloned().unwrap_or_default();
            while let Some(p) = stack.pop() {
                if p == index {
                    self.error(
                        item.file,
                        item.value.span(),
                        format!(
                            "condition `{}` is its own parent (a cycle in `parents`)",
                            item.id
                        ),
                        None,
                    );
                    break;
                }
                if !implies.contains(&p) {
                    implies.push(p);
                    stack.extend(parents.get(p).cloned().unwrap_or_default());
                }
            }
            if let Some(c) = built.get_mut(index) {
                c.implies = implies;
            }
        }
        built
    }

    fn build_classes(&mut self, items: Vec<Item<super::raw::RawClass>>) -> Vec<DrugClass> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                self.class_ids.insert(item.id.clone(), index);
                let raw = item.value.into_inner();
                for m in &raw.members {
                    let name = normalize_name(m.get_ref()).into_owned();
                    self.class_members.push((name, item.file, m.span()));
                }
                DrugClass {
                    id: item.id,
                    label: raw.label,
                    members: raw
                        .members
                        .iter()
                        .map(|m| normalize_name(m.get_ref()).into_owned())
                        .collect(),
                }
            })
            .collect()
    }

    fn name_indexes(
        &mut self,
        drugs: &[Drug],
        classes: &[DrugClass],
    ) -> (FastMap<String, DrugRef>, FastMap<String, Substance>) {
        let mut names: FastMap<String, DrugRef> = FastMap::default();
        let mut substances: FastMap<String, Substance> = FastMap::default();
        for (class_index, class) in classes.iter().enumerate() {
            for member in &class.members {
                let s = substances.entry(member.clone()).or_default();
                if !s.classes.contains(&class_index) {
                    s.classes.push(class_index);
                }
            }
        }
        for (drug_index, drug) in drugs.iter().enumerate() {
            let generic = [drug.id.as_str(), drug.name.as_str()];
            let mut all: Vec<(String, Option<usize>)> = generic
                .iter()
                .copied()
                .chain(drug.aliases.iter().map(String::as_str))
                .map(|n| (normalize_name(n).into_owned(), None))
                .collect();
            for (brand_index, brand) in drug.brands.iter().enumerate() {
                all.extend(
                    brand
                        .names
                        .iter()
                        .map(|n| (normalize_name(n).into_owned(), Some(brand_index))),
                );
            }
            for (name, brand) in all {
                let wanted = DrugRef {
                    drug: drug_index,
                    brand,
                };
                names.entry(name.clone()).or_insert(wanted);
                let s = substances.entry(name).or_default();
                s.drug = Some(drug_index);
                for class in &drug.classes {
                    if !s.classes.contains(class) {
                        s.classes.push(*class);
                    }
                }
            }
        }
        (names, substances)
    }

    fn source_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        let otherwise = "add it under `[sources]`; every rule cites the reference";
        self.resolve(file, id, Table::Sources, otherwise)
    }

    fn condition_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        self.resolve(file, id, Table::Conditions, "add it under `[conditions]`")
    }

    fn class_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        self.resolve(file, id, Table::Classes, "add it under `[classes]`")
    }

    /// Looks an id up in one of the formulary's tables; an unknown id is an error with a
    /// "did you mean" hint when a near miss exists, else `otherwise`.
    fn resolve(&mut self, file: usize, id: &Text, table: Table, otherwise: &str) -> Option<usize> {
        let (ids, kind) = match table {
            Table::Sources => (&self.source_ids, "source"),
            Table::Conditions => (&self.condition_ids, "condition"),
            Table::Classes => (&self.class_ids, "class"),
        };
        let found = ids.get(id.get_ref()).copied();
        if found.is_none() {
            let hint = closest(id.get_ref(), ids.keys().map(String::as_str))
                .map_or_else(|| otherwise.to_string(), |c| format!("did you mean `{c}`?"));
            let message = format!("{kind} `{}` is not defined", id.get_ref());
            self.error(file, id.span(), message, Some(hint));
        }
        found
    }

    fn severity(&mut self, file: usize, text: &Text) -> Option<Severity> {
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

    fn rule(&mut self, file: usize, id: String, severity: &Text, source: &Text) -> Option<Rule> {
        let severity = self.severity(file, severity);
        let source = self.source_ref(file, source);
        Some(Rule {
            rule: id,
            severity: severity?,
            source: source?,
        })
    }

    fn range(
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
    fn compile_rules(&mut self, owner: &str, file: usize, raw: &RawRules) -> Profile {
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

    fn compile_set(&mut self, id: &str) -> Profile {
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

    /// Records that `name` means drug `drug`; a name may belong to one drug only.
    fn claim_name(&mut self, file: usize, span: Range<usize>, name: &str, drug: &str) {
        let name = normalize_name(name).into_owned();
        match self.drug_names.get(&name) {
            Some(owner) if owner != drug => {
                let message = format!("name `{name}` maps to two drugs, `{owner}` and `{drug}`");
                let hint = Some("a name, alias or brand may belong to one drug only".to_string());
                self.error(file, span, message, hint);
            }
            Some(_) => {}
            None => {
                self.drug_names.insert(name, drug.to_string());
            }
        }
    }

    /// Warns of class members that are formulary drugs: the drug's `classes` list says it.
    fn check_class_members(&mut self) {
        let members = std::mem::take(&mut self.class_members);
        for (name, file, span) in members {
            if let Some(drug) = self.drug_names.get(&name).cloned() {
                self.warning(
                    file,
                    span,
                    format!("class member `{name}` is the formulary drug `{drug}`"),
                    Some(format!(
                        "remove it here; `classes` in `[drugs.{drug}]` puts the drug in its classes"
                    )),
                );
            }
        }
    }

    fn build_drug(&mut self, item: Item<RawDrug>) -> Option<Drug> {
        let file = item.file;
        let drug_span = item.value.span();
        let id = item.id;
        let mut raw = item.value.into_inner();
        if !is_snake_id(&id) {
            self.error(
                file,
                drug_span.clone(),
                format!("drug id `{id}` is not snake_case"),
                None,
            );
        }
        self.claim_name(file, drug_span.clone(), &id, &id);
        self.claim_name(file, drug_span.clone(), &raw.name, &id);
        for alias in &raw.aliases {
            self.claim_name(file, alias.span(), alias.get_ref(), &id);
        }
        for brand in raw.brands.values() {
            for name in &brand.get_ref().names {
                self.claim_name(file, name.span(), name.get_ref(), &id);
            }
        }
        let drug_rules = raw.take_rules();
        let drug_profile = self.compile_rules(&id, file, &drug_rules);
        let classes = raw
            .classes
            .iter()
            .filter_map(|c| self.class_ref(file, c))
            .collect();
        let mut forms = Vec::new();
        let mut form_names = FastMap::default();
        for (form_id, mut form) in std::mem::take(&mut raw.forms) {
            let span = form.span();
            let names = std::iter::once(form_id.clone())
                .chain(form.get_ref().aliases.iter().map(|a| a.get_ref().clone()));
            for name in names {
                let name = normalize_name(&name).into_owned();
                if form_names.insert(name.clone(), forms.len()).is_some() {
                    self.error(
                        file,
                        span.clone(),
                        format!("form name `{name}` is used twice in drug `{id}`"),
                        None,
                    );
                }
            }
            let built = self.build_form(&id, &form_id, file, span, form.get_mut(), &drug_profile);
            forms.push(built);
        }
        if forms.is_empty() {
            self.error(
                file,
                drug_span,
                format!("drug `{id}` has no forms"),
                Some(format!("add `[drugs.{id}.forms.tablet]` or another form")),
            );
        }
        let mut brands = Vec::new();
        for (brand_id, brand) in std::mem::take(&mut raw.brands) {
            let brand = brand.into_inner();
            let mut overrides = HashMap::new();
            for (form_id, mut rules) in brand.forms {
                let span = rules.span();
                let Some(&form_index) = form_names.get(&normalize_name(&form_id).into_owned())
                else {
                    self.error(file, span, format!("brand `{brand_id}` overrides form `{form_id}`, which drug `{id}` does not have"), None);
                    continue;
                };
                let own = rules.get_mut().take_rules();
                let owner = format!("{id}.{brand_id}.{form_id}");
                let extra = self.compile_rules(&owner, file, &own);
                let mut profile = forms
                    .get(form_index)
                    .map(|f: &Form| f.profile.clone())
                    .unwrap_or_default();
                // The higher minimum age wins, as everywhere: an override never lowers it.
                merge_profile(&mut profile, &extra);
                overrides.insert(form_index, profile);
            }
            brands.push(Brand {
                id: brand_id,
                names: brand.names.iter().map(|n| n.get_ref().clone()).collect(),
                overrides,
            });
        }
        let combined_daily_max = raw.combined_daily_max.as_ref().and_then(|c| {
            let c = c.get_ref();
            let max_mg = self.amount(file, &c.max, Dimension::Mass);
            let source = self.source_ref(file, &c.source);
            Some(super::CombinedMax {
                rule: format!("{id}.combined_daily_max"),
                max_mg: max_mg?,
                source: source?,
            })
        });
        Some(Drug {
            combined_daily_max,
            id,
            name: raw.name,
            atc: raw.atc.map(Spanned::into_inner),
            classes,
            aliases: raw.aliases.iter().map(|a| a.get_ref().clone()).collect(),
            brands,
            forms,
            form_names,
        })
    }

    fn build_form(
        &mut self,
        drug: &str,
        form_id: &str,
        file: usize,
        span: Range<usize>,
        raw: &mut RawForm,
        drug_profile: &Profile,
    ) -> Form {
        let owner = format!("{drug}.{form_id}");
        let rules = raw.take_rules();
        let own = self.compile_rules(&owner, file, &rules);
        let mut profile = drug_profile.clone();
        merge_profile(&mut profile, &own);
        self.check_pregnancy_overlaps(file, span.clone(), &owner, &profile);

        let dose_dimension = raw.dose_dimension.as_ref().and_then(|d| {
            let found = Dimension::from_name(d.get_ref());
            if found.is_none() {
                self.error(
                    file,
                    d.span(),
                    format!(
                        "dose dimension `{}` is not one of `mass`, `volume`, `length`, `count`",
                        d.get_ref()
                    ),
                    None,
                );
            }
            found
        });
        let strengths: Vec<Strength> = raw
            .strengths
            .iter()
            .filter_map(|s| self.strength(file, s))
            .collect();
        let default_strength = raw.default_strength.as_ref().and_then(|s| {
            let strength = self.strength(file, s)?;
            if !strengths.contains(&strength) {
                self.error(
                    file,
                    s.span(),
                    format!(
                        "default strength `{}` is not among the form's `strengths`",
                        s.get_ref()
                    ),
                    Some("list it under `strengths` too".into()),
                );
            }
            Some(strength)
        });
        let dosing = match (&raw.dosage_unknown, raw.dosage.is_empty()) {
            (Some(_), false) => {
                self.error(
                    file,
                    span.clone(),
                    format!("form `{owner}` has both `dosage` and `dosage_unknown`"),
                    Some("keep the one that matches the reference".into()),
                );
                Dosing::Known(Vec::new())
            }
            (Some(unknown), true) => {
                let u = unknown.get_ref();
                let source = self.source_ref(file, &u.source).unwrap_or(0);
                Dosing::Unknown {
                    rule: format!("{owner}.dosage.unknown"),
                    reason: u.reason.clone(),
                    source,
                }
            }
            (None, true) => {
                self.error(
                    file,
                    span.clone(),
                    format!("form `{owner}` has no dosage"),
                    Some(
                        "add `[[...dosage]]`, or `dosage_unknown` where the reference is silent"
                            .into(),
                    ),
                );
                Dosing::Known(Vec::new())
            }
            (None, false) => {
                if raw.dose_dimension.is_none() {
                    self.error(
                        file,
                        span.clone(),
                        format!("form `{owner}` has a dosage but no `dose_dimension`"),
                        Some(
                            "add `dose_dimension = \"mass\"` (or `volume`, `length`, `count`)"
                                .into(),
                        ),
                    );
                }
                let dimension = dose_dimension.unwrap_or(Dimension::Mass);
                let mut rules = Vec::new();
                for d in &raw.dosage {
                    if let Some(rule) = self.dose_rule(&owner, file, d, dimension, &strengths) {
                        rules.push(rule);
                    }
                }
                Dosing::Known(rules)
            }
        };
        Form {
            id: form_id.to_string(),
            aliases: raw.aliases.iter().map(|a| a.get_ref().clone()).collect(),
            route: raw.route.clone(),
            systemic: raw.systemic,
            dose_dimension,
            unit_names: raw
                .unit_names
                .iter()
                .map(|u| normalize_name(u.get_ref()).into_owned())
                .collect(),
            strengths,
            default_strength,
            dosing,
            profile,
            dose_rule_ids: super::DoseRuleIds::new(&owner),
        }
    }

    fn check_pregnancy_overlaps(
        &mut self,
        file: usize,
        span: Range<usize>,
        owner: &str,
        p: &Profile,
    ) {
        for (i, a) in p.pregnancy.iter().enumerate() {
            for b in p.pregnancy.iter().skip(i + 1) {
                let overlap = a.weeks.0 <= b.weeks.1 && b.weeks.0 <= a.weeks.1;
                if overlap && a.rule.severity != b.rule.severity {
                    self.error(
                        file,
                        span.clone(),
                        format!(
                            "pregnancy rules `{}` ({}) and `{}` ({}) of `{owner}` overlap with different severities",
                            a.rule.rule, a.rule.severity, b.rule.rule, b.rule.severity
                        ),
                        Some("make the week ranges meet without overlapping".into()),
                    );
                }
            }
        }
    }

    fn strength(&mut self, file: usize, text: &Text) -> Option<Strength> {
        match parse_strength(text.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(file, text.span(), format!("strength {e}"), None);
                None
            }
        }
    }

    fn amount(&mut self, file: usize, text: &Text, dimension: Dimension) -> Option<Decimal> {
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

    fn limits(
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

    fn dose_rule(
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
            limit_ids: super::LimitIds::new(&rule),
            rule,
            ages,
            strength,
            per_administration,
            per_day,
            times_per_day,
            max_duration_days,
            source,
        })
    }

    /// Warns of a daily maximum that can never be reached, or is always exceeded.
    #[expect(
        clippy::too_many_arguments,
        reason = "the limits of one dosage entry, each needed for the message"
    )]
    fn check_daily_reachable(
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

/// Adds `extra`'s rules to `into`, skipping any rule id already there; the higher minimum age wins.
fn merge_profile(into: &mut Profile, extra: &Profile) {
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

/// The key (`name` of `name = value`) on the line holding byte `at`, if the line has one.
fn line_key(text: &str, at: usize) -> Option<String> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// Replaces the lines `span` touches with spaces (newlines kept, so every other offset stays
/// valid). Returns false when there was nothing left to blank.
fn blank_lines(text: &mut String, span: Range<usize>) -> bool {
    let start = text
        .get(..span.start)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(span.end.min(text.len())..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| span.end.min(text.len()) + i);
    let Some(region) = text.get(start..end) else {
        return false;
    };
    if region.trim().is_empty() {
        return false;
    }
    // Keep byte offsets: a multi-byte character becomes as many spaces as it had bytes.
    let blanked: String = region
        .chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect();
    text.replace_range(start..end, &blanked);
    true
}

fn icd_index(conditions: &[Condition]) -> Vec<(String, usize)> {
    let mut index = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        for code in &c.icd10 {
            if let Some(norm) = normalize_icd10(code) {
                index.push((norm, i));
            }
        }
    }
    index
}

fn is_snake_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
}

/// For `unknown field `x`, expected one of `a`, `b``: a "did you mean" hint.
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match closest(field, expected.iter().copied()) {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if !expected.is_empty() => Some(format!(
            "expected one of {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => None,
    }
}
