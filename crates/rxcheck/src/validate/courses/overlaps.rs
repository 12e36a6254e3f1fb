//! Sets of one patient's courses indexed by their days: how many courses of a set run during
//! a span of days (two binary searches), and which of them come first in row order, answered
//! for many spans at once by a sweep over the last days with a Fenwick tree over the first
//! days: O((courses + spans) log courses).

use chrono::NaiveDate;

/// How many courses a [`FirstCourses`] keeps: the five other rows a finding describes, the
/// sixth it names, and its own row when that is one of the set.
const KEPT: usize = 7;

/// The first courses (indices in row order, ascending) of some set, at most [`KEPT`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FirstCourses {
    indices: [u32; KEPT],
    len: u8,
}

impl FirstCourses {
    pub fn as_slice(&self) -> &[u32] {
        self.indices.get(..usize::from(self.len)).unwrap_or(&[])
    }

    fn last(&self) -> Option<u32> {
        self.as_slice().last().copied()
    }

    fn is_full(&self) -> bool {
        usize::from(self.len) == KEPT
    }

    fn insert(&mut self, index: u32) {
        if self.is_full() && self.last().is_some_and(|last| last <= index) {
            return;
        }
        let at = self.as_slice().partition_point(|&i| i < index);
        let len = (usize::from(self.len) + 1).min(KEPT);
        if let Some(shifted) = self.indices.get_mut(at..len) {
            shifted.rotate_right(1);
            if let Some(slot) = shifted.first_mut() {
                *slot = index;
            }
        }
        self.len = len as u8;
    }

    /// The courses `0..count` (at most [`KEPT`] of them).
    pub fn first(count: u32) -> FirstCourses {
        let mut kept = FirstCourses::default();
        for i in 0..count {
            kept.insert(i);
        }
        kept
    }

    /// The same courses but `index`.
    pub fn without(&self, index: u32) -> FirstCourses {
        let mut kept = FirstCourses::default();
        for &i in self.as_slice().iter().filter(|&&i| i != index) {
            kept.insert(i);
        }
        kept
    }

    /// Keeps the first of both (their indices are distinct).
    pub fn merge(&mut self, other: &FirstCourses) {
        if other.len == 0 || self.is_full() && self.last() < other.as_slice().first().copied() {
            return;
        }
        let mut merged = FirstCourses::default();
        let (mut mine, mut theirs) = (self.as_slice().iter(), other.as_slice().iter());
        let (mut a, mut b) = (mine.next(), theirs.next());
        for slot in &mut merged.indices {
            let next = match (a, b) {
                (Some(x), Some(y)) if x < y => {
                    a = mine.next();
                    *x
                }
                (_, Some(y)) => {
                    b = theirs.next();
                    *y
                }
                (Some(x), None) => {
                    a = mine.next();
                    *x
                }
                (None, None) => break,
            };
            *slot = next;
            merged.len += 1;
        }
        *self = merged;
    }
}

/// Which courses of a set to find: those running on some day from `from` to `to`.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub set: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Sets of courses; a course's last day is the latest date when it is open-ended.
#[derive(Debug, Default)]
pub struct CourseSets {
    /// Each set's range in the arrays below.
    sets: Vec<(u32, u32)>,
    /// The first days, sorted within each set.
    starts: Vec<NaiveDate>,
    /// The last days, sorted within each set.
    ends: Vec<NaiveDate>,
    /// Each course of `ends`: its first day and index.
    by_end: Vec<(NaiveDate, u32)>,
    /// The sweep's Fenwick tree over a set's first days.
    tree: Vec<FirstCourses>,
    order: Vec<u32>,
    spans: Vec<(NaiveDate, NaiveDate, u32)>,
}

impl CourseSets {
    pub fn clear(&mut self) {
        self.sets.clear();
        self.starts.clear();
        self.ends.clear();
        self.by_end.clear();
    }

    /// Adds a set of courses, given as (first day, last day, index); returns its number.
    pub fn add(&mut self, courses: impl IntoIterator<Item = (NaiveDate, NaiveDate, u32)>) -> u32 {
        let at = self.starts.len();
        self.spans.clear();
        self.spans.extend(courses);
        self.spans.sort_unstable_by_key(|&(_, last, _)| last);
        self.starts
            .extend(self.spans.iter().map(|&(first, _, _)| first));
        if let Some(starts) = self.starts.get_mut(at..) {
            starts.sort_unstable();
        }
        self.ends
            .extend(self.spans.iter().map(|&(_, last, _)| last));
        self.by_end
            .extend(self.spans.iter().map(|&(first, _, index)| (first, index)));
        let number = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        self.sets.push((
            u32::try_from(at).unwrap_or(u32::MAX),
            u32::try_from(self.spans.len()).unwrap_or(u32::MAX),
        ));
        number
    }

    fn range(&self, set: u32) -> std::ops::Range<usize> {
        let (at, len) = self.sets.get(set as usize).copied().unwrap_or((0, 0));
        at as usize..at as usize + len as usize
    }

    /// How many courses of `set` run on some day from `from` to `to` (`from <= to`).
    pub fn count(&self, set: u32, from: NaiveDate, to: NaiveDate) -> u32 {
        let range = self.range(set);
        let starts = self.starts.get(range.clone()).unwrap_or(&[]);
        let ends = self.ends.get(range).unwrap_or(&[]);
        // A course that starts after `to` cannot also end before `from`.
        let starting_after = starts.len() - starts.partition_point(|&s| s <= to);
        let ended_before = ends.partition_point(|&e| e < from);
        (starts.len() - starting_after - ended_before) as u32
    }

    /// Answers every query, handing `found` each query's number and the first courses it
    /// finds: per set, the queries from the latest `from` down, adding the courses that end on
    /// or after it to a Fenwick tree indexed by their first days.
    pub fn answer(&mut self, queries: &[Query], mut found: impl FnMut(usize, &FirstCourses)) {
        self.order.clear();
        self.order.extend(0..queries.len() as u32);
        self.order.sort_unstable_by_key(|&q| {
            queries
                .get(q as usize)
                .map(|q| (q.set, std::cmp::Reverse(q.from)))
        });
        let mut current = None;
        let mut added = 0;
        for &q in &self.order {
            let Some(query) = queries.get(q as usize) else {
                continue;
            };
            let range = self.range(query.set);
            let starts = self.starts.get(range.clone()).unwrap_or(&[]);
            let ends = self.ends.get(range.clone()).unwrap_or(&[]);
            let by_end = self.by_end.get(range).unwrap_or(&[]);
            if current != Some(query.set) {
                current = Some(query.set);
                added = ends.len();
                self.tree.clear();
                self.tree.resize(starts.len() + 1, FirstCourses::default());
            }
            while let Some(&(first, index)) = added
                .checked_sub(1)
                .filter(|&i| ends.get(i).is_some_and(|&e| e >= query.from))
                .and_then(|i| by_end.get(i))
            {
                added -= 1;
                let mut node = starts.partition_point(|&s| s < first) + 1;
                while let Some(slot) = self.tree.get_mut(node) {
                    slot.insert(index);
                    node += node & node.wrapping_neg();
                }
            }
            let mut node = starts.partition_point(|&s| s <= query.to);
            let mut first = FirstCourses::default();
            while let Some(slot) = self.tree.get(node).filter(|_| node > 0) {
                first.merge(slot);
                node &= node - 1;
            }
            found(q as usize, &first);
        }
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
        fn counts_and_first_courses_match_a_scan(
            spans in prop::collection::vec((0u32..40, 0u32..15), 0..30),
            queries in prop::collection::vec((0u32..50, 0u32..10), 1..10),
        ) {
            let courses: Vec<(NaiveDate, NaiveDate, u32)> = spans
                .iter()
                .enumerate()
                .map(|(i, &(start, len))| (day(start), day(start + len), i as u32))
                .collect();
            let mut sets = CourseSets::default();
            // The courses in a scrambled order: the answers must not depend on it.
            let set = sets.add(courses.iter().rev().copied());
            let asked: Vec<Query> = queries
                .iter()
                .map(|&(from, len)| Query { set, from: day(from), to: day(from + len) })
                .collect();
            let mut answers = vec![FirstCourses::default(); asked.len()];
            sets.answer(&asked, |q, first| answers[q] = *first);
            for (query, first) in asked.iter().zip(&answers) {
                let running: Vec<u32> = courses
                    .iter()
                    .filter(|&&(first, last, _)| first <= query.to && last >= query.from)
                    .map(|&(_, _, i)| i)
                    .collect();
                prop_assert_eq!(sets.count(set, query.from, query.to) as usize, running.len());
                let kept = running.len().min(KEPT);
                prop_assert_eq!(first.as_slice(), &running[..kept]);
            }
        }
    }
}
