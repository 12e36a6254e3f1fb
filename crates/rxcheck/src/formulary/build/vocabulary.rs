//! The shared vocabulary: sources, conditions (with what they imply and their ICD-10
//! codes), drug classes, and the indexes of every name a prescription may use.

use super::*;
use crate::fasthash::FastSet;

impl Builder<'_> {
    pub(super) fn build_sources(
        &mut self,
        items: Vec<Item<crate::formulary::raw::RawSource>>,
    ) -> Vec<Source> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let raw = item.value.into_inner();
                self.source_ids.insert(item.id.clone(), index);
                let citation = format!("{}: \"{}\"", raw.section, raw.text);
                self.citations.push(citation.clone());
                Source {
                    citation,
                    id: item.id,
                    section: raw.section,
                    text: raw.text,
                }
            })
            .collect()
    }

    pub(super) fn build_conditions(
        &mut self,
        items: Vec<Item<crate::formulary::raw::RawCondition>>,
    ) -> Vec<Condition> {
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
            let mut own_codes = |codes: &[Text]| -> Vec<String> {
                let mut valid = Vec::new();
                for code in codes {
                    if normalize_icd10(code.get_ref()).is_none() {
                        self.error(
                            item.file,
                            code.span(),
                            format!("`{}` is not an ICD-10 code", code.get_ref()),
                            Some("write a letter, two digits, and optionally `.` and up to 4 more characters, such as `K25.4`".into()),
                        );
                    } else {
                        valid.push(code.get_ref().clone());
                    }
                }
                valid
            };
            let icd10 = own_codes(&raw.icd10);
            let icd10_cm = own_codes(&raw.icd10_cm);
            let mut excluded_prefixes = Vec::new();
            for code in raw.icd10_exclude.iter().chain(&raw.icd10_cm_exclude) {
                let Some(excluded) = normalize_icd10(code.get_ref()) else {
                    self.error(
                        item.file,
                        code.span(),
                        format!("`{}` is not an ICD-10 code", code.get_ref()),
                        None,
                    );
                    continue;
                };
                let under_own = icd10
                    .iter()
                    .chain(&icd10_cm)
                    .filter_map(|c| normalize_icd10(c))
                    .any(|own| excluded.starts_with(own.as_str()));
                if !under_own {
                    self.error(
                        item.file,
                        code.span(),
                        format!(
                            "exclusion `{}` excludes nothing: it is not under any code of `{}`",
                            code.get_ref(),
                            item.id
                        ),
                        Some("an exclusion narrows one of the condition's own codes".into()),
                    );
                }
                excluded_prefixes.push(excluded);
            }
            let written = |codes: &[Text]| codes.iter().map(|c| c.get_ref().clone()).collect();
            let snomed = self.snomed_codes(item.file, &raw.snomed);
            built.push(Condition {
                id: item.id.clone(),
                label: raw.label.clone(),
                icd10,
                icd10_cm,
                icd10_exclude: written(&raw.icd10_exclude),
                icd10_cm_exclude: written(&raw.icd10_cm_exclude),
                excluded_prefixes,
                synonyms: raw.synonyms.iter().map(|s| s.get_ref().clone()).collect(),
                snomed,
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
        self.index_condition_names(&items, &built);
        self.check_code_collisions(&items, &built);
        self.check_snomed_collisions(&items, &built);
        built
    }

    /// Every name a condition may be given by, each naming one condition only.
    fn index_condition_names(
        &mut self,
        items: &[Item<crate::formulary::raw::RawCondition>],
        built: &[Condition],
    ) {
        // Ids first, so a label or synonym that repeats another condition's id is reported
        // where it is written.
        for (index, condition) in built.iter().enumerate() {
            self.condition_names
                .insert(normalize_name(&condition.id).into_owned(), index);
        }
        for (index, (item, condition)) in items.iter().zip(built).enumerate() {
            let raw = item.value.get_ref();
            let label = (
                normalize_name(&condition.label).into_owned(),
                item.value.span(),
            );
            let synonyms = raw
                .synonyms
                .iter()
                .map(|s| (normalize_name(s.get_ref()).into_owned(), s.span()));
            for (name, span) in std::iter::once(label).chain(synonyms) {
                match self.condition_names.get(&name) {
                    Some(&other) if other != index => {
                        let other = built.get(other).map_or("", |c| c.id.as_str());
                        self.error(
                            item.file,
                            span,
                            format!("condition name `{name}` is also a name of `{other}`"),
                            Some("a name must mean one condition".into()),
                        );
                    }
                    _ => {
                        self.condition_names.insert(name, index);
                    }
                }
            }
        }
    }

    /// Warns of two conditions whose codes take in the same codes when neither implies the
    /// other and neither says it `overlaps` the other: an accident of prefix matching. Codes
    /// are looked up by prefix in a map, and at most a few collisions are reported.
    fn check_code_collisions(
        &mut self,
        items: &[Item<crate::formulary::raw::RawCondition>],
        built: &[Condition],
    ) {
        const REPORTED: usize = 20;
        let mut by_code: FastMap<String, Vec<usize>> = FastMap::default();
        for (index, condition) in built.iter().enumerate() {
            for code in condition.codes().filter_map(|c| normalize_icd10(c)) {
                by_code.entry(code).or_default().push(index);
            }
        }
        let declared = |a: usize, b: &str| {
            items
                .get(a)
                .is_some_and(|i| i.value.get_ref().overlaps.iter().any(|o| o.get_ref() == b))
        };
        let mut reported = 0;
        for (a, (item, ca)) in items.iter().zip(built).enumerate() {
            let codes = ca.codes().filter_map(|c| normalize_icd10(c));
            // Each code with each of its prefixes: a shorter code of another condition takes
            // this one in (the other way round is found from the other condition).
            let hit = codes.flat_map(|code| {
                (3..=code.len())
                    .filter_map(|n| code.get(..n).map(str::to_string))
                    .filter_map(|prefix| by_code.get(&prefix))
                    .flatten()
                    .map(|b| (*b, code.clone()))
                    .collect::<Vec<_>>()
            });
            let collision = hit.into_iter().find(|(b, _)| {
                let Some(cb) = built.get(*b) else {
                    return false;
                };
                *b != a
                    && !ca.implies.contains(b)
                    && !cb.implies.contains(&a)
                    && !declared(a, &cb.id)
                    && !declared(*b, &ca.id)
            });
            let Some((b, code)) = collision else {
                continue;
            };
            let other = built.get(b).map_or("", |c| c.id.as_str());
            self.warning(
                item.file,
                item.value.span(),
                format!(
                    "conditions `{}` and `{other}` both take in ICD-10 `{}`",
                    ca.id,
                    dotted(&code)
                ),
                Some(format!(
                    "if that is meant, say `overlaps = [\"{other}\"]`; else narrow a code or add `icd10_exclude`"
                )),
            );
            reported += 1;
            if reported >= REPORTED {
                break;
            }
        }
    }

    pub(super) fn build_classes(
        &mut self,
        items: Vec<Item<crate::formulary::raw::RawClass>>,
    ) -> Vec<DrugClass> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                self.class_ids.insert(item.id.clone(), index);
                let raw = item.value.into_inner();
                let names =
                    raw.members
                        .iter()
                        .map(|m| (m, m))
                        .chain(raw.substances.iter().flat_map(|s| {
                            let s = s.get_ref();
                            std::iter::once(&s.name)
                                .chain(&s.names)
                                .map(move |n| (n, &s.name))
                        }));
                let mut members = Vec::new();
                let mut listed = FastSet::default();
                for (m, first) in names {
                    let name = normalize_name(m.get_ref()).into_owned();
                    if !listed.insert(name.clone()) {
                        self.error(
                            item.file,
                            m.span(),
                            format!("`{name}` is listed twice in class `{}`", item.id),
                            None,
                        );
                        continue;
                    }
                    self.class_members.push((name.clone(), item.file, m.span()));
                    members.push((name, normalize_name(first.get_ref()).into_owned()));
                }
                let own = normalize_name(&item.id).into_owned();
                let class_names: Vec<String> = std::iter::once(own.clone())
                    .chain(std::iter::once(format!("{own}s")))
                    .chain(
                        raw.names
                            .iter()
                            .map(|n| normalize_name(n.get_ref()).into_owned()),
                    )
                    .collect();
                for name in &class_names {
                    self.class_names.insert(name.clone(), index);
                }
                let notes =
                    raw.substances
                        .iter()
                        .filter_map(|s| {
                            let s = s.get_ref();
                            let note = s.note.clone()?;
                            let names = std::iter::once(&s.name).chain(&s.names);
                            Some(names.map(move |n| {
                                (normalize_name(n.get_ref()).into_owned(), note.clone())
                            }))
                        })
                        .flatten()
                        .collect();
                DrugClass {
                    id: item.id,
                    label: raw.label,
                    source: raw.source,
                    names: class_names,
                    members,
                    notes,
                }
            })
            .collect()
    }

    /// Every name a prescription may give a drug by, with the drug it means; and the known
    /// substances (class members and formulary drugs), with where each name's substance is.
    pub(super) fn name_indexes(
        &mut self,
        drugs: &[Drug],
        classes: &[DrugClass],
    ) -> (FastMap<String, DrugRef>, SubstanceNames) {
        let mut names: FastMap<String, DrugRef> = FastMap::default();
        let mut known = SubstanceNames::default();
        for (class_index, class) in classes.iter().enumerate() {
            // Each member's note by its name, the first given when a name has two.
            let notes: FastMap<&str, &String> = (class.notes.iter().rev())
                .map(|(name, note)| (name.as_str(), note))
                .collect();
            for (member, first) in &class.members {
                // Every name of a member is the substance of its first name.
                let at = substance_place(&mut known, first.clone());
                known.0.entry(member.clone()).or_insert(at);
                let Some(s) = substance_named(&mut known, member.clone()) else {
                    continue;
                };
                if !s.classes.contains(&class_index) {
                    s.classes.push(class_index);
                }
                if let Some(&note) = notes.get(member.as_str()) {
                    s.notes.push((class_index, note.clone()));
                }
            }
        }
        for (drug_index, drug) in drugs.iter().enumerate() {
            let generic = [drug.id.as_str(), drug.name.as_str()];
            let mut all: Vec<(String, Option<usize>, Option<FormRef>)> = generic
                .iter()
                .copied()
                .chain(drug.aliases.iter().map(String::as_str))
                .map(|n| (normalize_name(n).into_owned(), None, None))
                .collect();
            for (brand_index, brand) in drug.brands.iter().enumerate() {
                all.extend(
                    brand
                        .names
                        .iter()
                        .map(|n| (normalize_name(n).into_owned(), Some(brand_index), None)),
                );
                for (at, names) in &brand.products {
                    all.extend(
                        names.iter().map(|n| {
                            (normalize_name(n).into_owned(), Some(brand_index), Some(*at))
                        }),
                    );
                }
            }
            for (name, brand, product) in all {
                let wanted = DrugRef {
                    drug: drug_index,
                    brand,
                    product,
                };
                names.entry(name.clone()).or_insert(wanted);
                let Some(s) = substance_named(&mut known, name) else {
                    continue;
                };
                s.drug = Some(drug_index);
                for class in &drug.classes {
                    if !s.classes.contains(class) {
                        s.classes.push(*class);
                    }
                }
            }
        }
        (names, known)
    }

    pub(super) fn source_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        let otherwise = "add it under `[sources]`; every rule cites the reference";
        self.resolve(file, id, Table::Sources, otherwise)
    }

    pub(super) fn condition_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        self.resolve(file, id, Table::Conditions, "add it under `[conditions]`")
    }

    pub(super) fn class_ref(&mut self, file: usize, id: &Text) -> Option<usize> {
        self.resolve(file, id, Table::Classes, "add it under `[classes]`")
    }

    /// Looks an id up in one of the formulary's tables; an unknown id is an error with a
    /// "did you mean" hint when a near miss exists, else `otherwise`.
    pub(super) fn resolve(
        &mut self,
        file: usize,
        id: &Text,
        table: Table,
        otherwise: &str,
    ) -> Option<usize> {
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

    /// The allergens of kinds no rule is about, and the index of their names.
    pub(super) fn build_allergens(
        &mut self,
        items: Vec<Item<crate::formulary::raw::RawAllergen>>,
    ) -> Vec<Allergen> {
        let in_a_class: FastSet<String> = (self.class_members.iter())
            .map(|(member, _, _)| member.clone())
            .collect();
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let raw = item.value.into_inner();
                let mut names = Vec::new();
                for n in &raw.names {
                    let name = normalize_name(n.get_ref()).into_owned();
                    if let Some(&other) = self.allergen_names.get(&name) {
                        if other != index {
                            self.error(
                                item.file,
                                n.span(),
                                format!("allergen name `{name}` is listed under two allergens"),
                                None,
                            );
                        }
                        continue;
                    }
                    if in_a_class.contains(&name) {
                        self.error(
                            item.file,
                            n.span(),
                            format!("allergen name `{name}` is also a member of a drug class"),
                            Some("an allergen is something no rule is about; keep it in the class only".into()),
                        );
                    }
                    self.allergen_names.insert(name.clone(), index);
                    names.push(name);
                }
                Allergen {
                    id: item.id,
                    label: raw.label,
                    names,
                }
            })
            .collect()
    }

    /// Warns of class members that are formulary drugs: the drug's `classes` list says it.
    pub(super) fn check_class_members(&mut self) {
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
}

pub(super) fn icd_index(conditions: &[Condition]) -> FastMap<String, Vec<(u32, usize)>> {
    let mut index: FastMap<String, Vec<(u32, usize)>> = FastMap::default();
    let mut place = 0u32;
    for (i, c) in conditions.iter().enumerate() {
        for code in c.codes() {
            if let Some(norm) = normalize_icd10(code) {
                index.entry(norm).or_default().push((place, i));
                place += 1;
            }
        }
    }
    index
}

/// A normalised ICD-10 code (`K250`) as it is written (`K25.0`).
fn dotted(code: &str) -> String {
    match (code.get(..3), code.get(3..)) {
        (Some(category), Some(rest)) if !rest.is_empty() => format!("{category}.{rest}"),
        _ => code.to_string(),
    }
}

/// Each name a substance is known by, with its place among the substances; and the substances.
type SubstanceNames = (FastMap<String, usize>, Vec<Substance>);

/// The substance `name` is known as, made when the name is new.
fn substance_named(known: &mut SubstanceNames, name: String) -> Option<&mut Substance> {
    let at = substance_place(known, name);
    known.1.get_mut(at)
}

/// Where the substance `name` is known as is among the substances, made when the name is new.
fn substance_place((names, substances): &mut SubstanceNames, name: String) -> usize {
    *names.entry(name).or_insert_with(|| {
        substances.push(Substance::default());
        substances.len() - 1
    })
}
