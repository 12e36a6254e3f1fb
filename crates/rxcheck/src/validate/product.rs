//! The product as ordered: a form the reference does not name that another form's rules
//! check (`info`), and a brand or product name ordered in a form it is not made in (`warn`:
//! the order cannot be dispensed as written).

use crate::finding::{Assessment, Category, Severity};
use crate::request::{Request, Target};

pub(super) fn check<'f>(req: &Request<'f, '_>, t: &Target<'f>, out: &mut Assessment<'f>) {
    let f = req.formulary;
    if let Some(eq) = t.equivalent {
        let message = || {
            format!(
                "{} {} is checked by the {} rules: the reference names the form `{}` only, and the formulary treats `{}` as equivalent",
                t.drug.id,
                eq.id,
                t.name(),
                t.form.id,
                eq.id
            )
        };
        out.push(
            Severity::Info,
            Category::Product,
            eq.rule.as_str(),
            message,
            f.citation(eq.source),
        );
    }
    let Some(brand) = t.brand.and_then(|b| t.drug.brands.get(b)) else {
        return;
    };
    let ordered = t.drug.form_label(t.written);
    let message = match t.product {
        Some(product) if product != t.written => format!(
            "`{}` is {} in the form `{}`, but the order is for the form `{}`: confirm the product and the form",
            req.rx.drug.trim(),
            t.drug.id,
            t.drug.form_label(product),
            ordered
        ),
        None if !brand.sold_as.is_empty() && !brand.sold_as.contains(&t.written) => format!(
            "`{}` is made in the form {} only, but the order is for the form `{}`: confirm the product and the form",
            req.rx.drug.trim(),
            brand
                .sold_as
                .iter()
                .map(|at| format!("`{}`", t.drug.form_label(*at)))
                .collect::<Vec<_>>()
                .join(", "),
            ordered
        ),
        _ => return,
    };
    out.push(
        Severity::Warn,
        Category::Product,
        brand.form_rule.as_str(),
        message,
        brand.form_source.map_or("", |s| f.citation(s)),
    );
}
