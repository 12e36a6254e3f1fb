//! The shared vocabulary: sources, conditions (with what they imply and their ICD-10
//! codes), drug classes, and the indexes of every name a prescription may use.

use super::*;

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
                Source {
                    citation: format!("{}: \"{}\"", raw.section, raw.text),
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

    pub(super) fn name_indexes(
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

pub(super) fn icd_index(conditions: &[Condition]) -> Vec<(String, usize)> {
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
