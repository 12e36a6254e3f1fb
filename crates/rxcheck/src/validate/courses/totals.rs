//! The daily total of one drug across a patient's courses, day by day, and its peak over any
//! span of days (a segment tree over the days the total changes: O(log courses) a span).
//! The totals are the sums a sweep over one course's days gives as long as the amounts add up
//! exactly, as doses written as decimals do; amounts of 28 significant digits (a dose written
//! as a fraction such as `250/7 mg`) can differ from such a sweep in the last digit.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The total of some courses' daily amounts on each day it changes.
#[derive(Debug, Default)]
pub struct DailyTotals {
    /// The days the total changes, ascending.
    days: Vec<NaiveDate>,
    /// The total from each of `days` on.
    totals: Vec<Decimal>,
    /// A segment tree over `totals`: each node the first position of its range's highest.
    highest: Vec<u32>,
    events: Vec<(NaiveDate, Decimal, bool)>,
}

impl DailyTotals {
    /// Works the totals out for courses given as (first day, last day or open-ended, amount).
    pub fn build(
        &mut self,
        courses: impl IntoIterator<Item = (NaiveDate, Option<NaiveDate>, Decimal)>,
    ) {
        self.events.clear();
        for (first, last, amount) in courses {
            self.events.push((first, amount, true));
            if let Some(after) = last.and_then(|last| last.succ_opt()) {
                self.events.push((after, amount, false));
            }
        }
        self.events.sort_unstable_by_key(|&(day, _, _)| day);
        self.days.clear();
        self.totals.clear();
        let mut total = Decimal::ZERO;
        for &(day, amount, starts) in &self.events {
            total = if starts {
                total.checked_add(amount).unwrap_or(Decimal::MAX)
            } else {
                total.checked_sub(amount).unwrap_or(Decimal::ZERO)
            };
            if self.days.last() == Some(&day) {
                if let Some(last) = self.totals.last_mut() {
                    *last = total;
                }
            } else {
                self.days.push(day);
                self.totals.push(total);
            }
        }
        let len = self.totals.len();
        self.highest.clear();
        self.highest.resize(2 * len, 0);
        for (position, node) in (0..len as u32).zip(self.highest.iter_mut().skip(len)) {
            *node = position;
        }
        for node in (1..len).rev() {
            let pair = (self.node(2 * node), self.node(2 * node + 1));
            let best = self.first_highest(pair.0, pair.1);
            if let Some(slot) = self.highest.get_mut(node) {
                *slot = best;
            }
        }
    }

    fn node(&self, node: usize) -> Option<u32> {
        self.highest.get(node).copied()
    }

    fn total(&self, position: u32) -> Option<Decimal> {
        self.totals.get(position as usize).copied()
    }

    /// Of two positions, `left` before `right`: the one with the higher total, `left` on a tie.
    fn first_highest(&self, left: Option<u32>, right: Option<u32>) -> u32 {
        match (left, right) {
            (Some(l), Some(r)) if self.total(r) > self.total(l) => r,
            (Some(l), _) => l,
            (None, r) => r.unwrap_or(0),
        }
    }

    /// The highest total from `from` to `to` (`None`: open-ended) and the first day it is
    /// reached; `from` must be one of the days a course starts.
    pub fn peak(&self, from: NaiveDate, to: Option<NaiveDate>) -> Option<(NaiveDate, Decimal)> {
        let len = self.days.len();
        let mut left = self.days.partition_point(|&d| d < from) + len;
        let mut right = match to {
            Some(to) => self.days.partition_point(|&d| d <= to),
            None => len,
        } + len;
        let (mut best_left, mut best_right) = (None, None);
        while left < right {
            if left % 2 == 1 {
                best_left = Some(self.first_highest(best_left, self.node(left)));
                left += 1;
            }
            if right % 2 == 1 {
                right -= 1;
                best_right = Some(self.first_highest(self.node(right), best_right));
            }
            left /= 2;
            right /= 2;
        }
        let position = match (best_left, best_right) {
            (None, None) => return None,
            pair => self.first_highest(pair.0, pair.1),
        };
        Some((*self.days.get(position as usize)?, self.total(position)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(n))
    }

    proptest! {
        #[test]
        fn the_peak_is_the_first_highest_day(
            courses in prop::collection::vec((0u32..40, prop::option::of(0u32..15), 1i64..5), 1..20),
            pick in 0usize..20,
            to in prop::option::of(0u32..60),
        ) {
            let courses: Vec<(NaiveDate, Option<NaiveDate>, Decimal)> = courses
                .iter()
                .map(|&(start, len, amount)| (day(start), len.map(|l| day(start + l)), Decimal::from(amount * 25)))
                .collect();
            let mut totals = DailyTotals::default();
            totals.build(courses.iter().copied());
            let from = courses[pick % courses.len()].0;
            let to = to.map(day).filter(|&to| to >= from);
            let on = |d: NaiveDate| -> Decimal {
                courses.iter().filter(|c| c.0 <= d && c.1.is_none_or(|l| d <= l)).map(|c| c.2).sum()
            };
            let last = to.unwrap_or(day(80));
            let mut expected: Option<(NaiveDate, Decimal)> = None;
            for d in from.iter_days().take_while(|&d| d <= last) {
                let total = on(d);
                if expected.is_none_or(|(_, best)| total > best) {
                    expected = Some((d, total));
                }
            }
            prop_assert_eq!(totals.peak(from, to), expected);
        }
    }
}
