//! Little-endian records: fields put into a byte buffer one after another, and taken back in
//! the same order; records framed by their length. What a run keeps outside memory (course
//! records, findings across rows) is written this way.

use rust_decimal::Decimal;
use std::io::{self, BufRead};

/// Appends records' fields to a buffer.
pub(crate) trait Put {
    fn put_u8(&mut self, n: u8);
    fn put_u32(&mut self, n: u32);
    fn put_str(&mut self, s: &str);
    fn put_decimal(&mut self, d: Decimal);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, n: u8) {
        self.push(n);
    }

    fn put_u32(&mut self, n: u32) {
        self.extend_from_slice(&n.to_le_bytes());
    }

    fn put_str(&mut self, s: &str) {
        self.put_u32(u32::try_from(s.len()).unwrap_or(u32::MAX));
        self.extend_from_slice(s.as_bytes());
    }

    fn put_decimal(&mut self, d: Decimal) {
        self.extend_from_slice(&d.serialize());
    }
}

/// Reads records' fields back, in the order [`Put`] wrote them, from a buffer.
pub(crate) struct Take<'b>(pub &'b [u8]);

impl<'b> Take<'b> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.bytes::<1>().map(|[b]| b)
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.bytes().map(u32::from_le_bytes)
    }

    pub fn str(&mut self) -> Option<&'b str> {
        std::str::from_utf8(self.text()?).ok()
    }

    pub fn decimal(&mut self) -> Option<Decimal> {
        self.bytes().map(Decimal::deserialize)
    }

    /// A string's bytes, unchecked.
    pub fn text(&mut self) -> Option<&'b [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        let (text, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(text)
    }
}

/// Reads one length-prefixed record from `input` into `record`; `false` at the end (a stream
/// that ends inside a record is an error).
pub(crate) fn read_record(input: &mut dyn BufRead, record: &mut Vec<u8>) -> io::Result<bool> {
    if input.fill_buf()?.is_empty() {
        return Ok(false);
    }
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    record.clear();
    record.resize(u32::from_le_bytes(len) as usize, 0);
    input.read_exact(record)?;
    Ok(true)
}

/// Appends `body` (a record's fields) to `out` behind its length.
pub(crate) fn frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.put_u32(0);
    body(out);
    let len = u32::try_from(out.len() - at - 4).unwrap_or(u32::MAX);
    if let Some(slot) = out.get_mut(at..at + 4) {
        slot.copy_from_slice(&len.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_that_ends_inside_a_record_is_an_error_not_its_end() {
        let mut record = Vec::new();
        let mut whole = Vec::new();
        frame(&mut whole, |r| r.put_str("course"));
        assert!(read_record(&mut &whole[..], &mut record).unwrap());
        assert!(!read_record(&mut &[][..], &mut record).unwrap());
        for cut in 1..whole.len() {
            assert!(
                read_record(&mut &whole[..cut], &mut record).is_err(),
                "cut at {cut}"
            );
        }
    }
}
