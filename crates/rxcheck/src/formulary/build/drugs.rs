//! Drugs, their brands and forms: names, routes, strengths and the profile of each form.

use super::*;

impl Builder<'_> {
    /// Records that `name` means drug `drug`; a name may belong to one drug only.
    pub(super) fn claim_name(&mut self, file: usize, span: Range<usize>, name: &str, drug: &str) {
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

    pub(super) fn build_drug(&mut self, item: Item<RawDrug>) -> Option<Drug> {
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
            let brand = brand.get_ref();
            for name in brand.names.iter().chain(brand.products.values().flatten()) {
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
            let at = FormRef {
                form: forms.len(),
                equivalent: None,
            };
            for name in names {
                self.name_form(&mut form_names, file, span.clone(), &name, at, &id);
            }
            let built = self.build_form(&id, &form_id, file, span, form.get_mut(), &drug_profile);
            for (e, (eq_id, raw_eq)) in form.get_ref().equivalent.iter().enumerate() {
                let at = FormRef {
                    form: forms.len(),
                    equivalent: Some(e),
                };
                let names = std::iter::once(eq_id.clone())
                    .chain(raw_eq.get_ref().names.iter().map(|n| n.get_ref().clone()));
                for name in names {
                    self.name_form(&mut form_names, file, raw_eq.span(), &name, at, &id);
                }
            }
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
            let brand_span = brand.span();
            let brand = brand.into_inner();
            let form_at = |b: &mut Self, name: &Text| {
                let found = form_names
                    .get(normalize_name(name.get_ref()).as_ref())
                    .copied();
                if found.is_none() {
                    b.error(
                        file,
                        name.span(),
                        format!(
                            "brand `{brand_id}` names form `{}`, which drug `{id}` does not have",
                            name.get_ref()
                        ),
                        None,
                    );
                }
                found
            };
            let mut products = Vec::new();
            for (form_name, names) in &brand.products {
                let Some(at) = form_names.get(normalize_name(form_name).as_ref()).copied() else {
                    self.error(file, brand_span.clone(), format!("brand `{brand_id}` has products of form `{form_name}`, which drug `{id}` does not have"), None);
                    continue;
                };
                products.push((at, names.iter().map(|n| n.get_ref().clone()).collect()));
            }
            let sold_as: Vec<FormRef> = brand
                .sold_as
                .iter()
                .filter_map(|n| form_at(self, n))
                .collect();
            let form_source = match &brand.source {
                Some(source) => self.source_ref(file, source),
                None => {
                    if !products.is_empty() || !sold_as.is_empty() {
                        self.error(
                            file,
                            brand_span.clone(),
                            format!("brand `{brand_id}` gives `products` or `sold_as` without a `source`"),
                            Some("cite where the brand's forms come from".into()),
                        );
                    }
                    None
                }
            };
            let mut overrides = HashMap::new();
            for (form_id, mut rules) in brand.forms {
                let span = rules.span();
                let Some(form_index) = form_names
                    .get(normalize_name(&form_id).as_ref())
                    .filter(|at| at.equivalent.is_none())
                    .map(|at| at.form)
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
                form_rule: format!("{id}.{brand_id}.form"),
                id: brand_id,
                names: brand.names.iter().map(|n| n.get_ref().clone()).collect(),
                products,
                sold_as,
                form_source,
                overrides,
            });
        }
        let combined_daily_max = raw.combined_daily_max.as_ref().and_then(|c| {
            let c = c.get_ref();
            let max_mg = self.amount(file, &c.max, Dimension::Mass);
            let source = self.source_ref(file, &c.source);
            Some(crate::formulary::CombinedMax {
                rule: format!("{id}.combined_daily_max"),
                max_mg: max_mg?,
                source: source?,
            })
        });
        let rxnorm = self.rxnorm_products(&id, file, &raw.rxnorm, &form_names, &brands);
        let atc = raw
            .atc
            .as_ref()
            .and_then(|atc| self.atc_code(file, atc, &id));
        let any_form_interactions = any_form_interactions(&forms, &brands);
        Some(Drug {
            any_form_interactions,
            combined_daily_max,
            rxnorm,
            atc,
            id,
            name: raw.name,
            classes,
            aliases: raw.aliases.iter().map(|a| a.get_ref().clone()).collect(),
            brands,
            forms,
            form_names,
        })
    }

    /// Records that `name` means a form of drug `drug`; a form name may mean one form only.
    fn name_form(
        &mut self,
        form_names: &mut FastMap<String, FormRef>,
        file: usize,
        span: Range<usize>,
        name: &str,
        at: FormRef,
        drug: &str,
    ) {
        let name = normalize_name(name).into_owned();
        if form_names.insert(name.clone(), at).is_some() {
            self.error(
                file,
                span,
                format!("form name `{name}` is used twice in drug `{drug}`"),
                None,
            );
        }
    }

    pub(super) fn build_form(
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
            atc: self.form_atc(file, raw.atc.as_ref(), &owner),
            equivalents: raw
                .equivalent
                .iter()
                .filter_map(|(eq_id, eq)| {
                    let eq = eq.get_ref();
                    Some(EquivalentForm {
                        rule: format!("{owner}.equivalent.{eq_id}"),
                        id: eq_id.clone(),
                        names: eq.names.iter().map(|n| n.get_ref().clone()).collect(),
                        unit_names: eq
                            .unit_names
                            .iter()
                            .map(|u| normalize_name(u.get_ref()).into_owned())
                            .collect(),
                        source: self.source_ref(file, &eq.source)?,
                    })
                })
                .collect(),
            dose_rule_ids: crate::formulary::DoseRuleIds::new(&owner),
        }
    }

    pub(super) fn check_pregnancy_overlaps(
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
}

/// The interaction rules of every form's profile, then of each brand's overrides (in form
/// order), each rule id once.
fn any_form_interactions(forms: &[Form], brands: &[Brand]) -> Vec<ClassRule> {
    let overrides = brands
        .iter()
        .flat_map(|b| (0..forms.len()).filter_map(|f| b.overrides.get(&f)));
    let mut rules: Vec<ClassRule> = Vec::new();
    for rule in forms
        .iter()
        .map(|f| &f.profile)
        .chain(overrides)
        .flat_map(|p| &p.interactions)
    {
        if !rules.iter().any(|r| r.rule.rule == rule.rule.rule) {
            rules.push(rule.clone());
        }
    }
    rules
}
