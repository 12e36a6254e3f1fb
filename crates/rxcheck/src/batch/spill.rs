//! Room outside memory for a run's working data: byte streams written once and then read
//! back, held in memory until the caller's spill files take them ([`SpillTo`]), and the
//! little-endian records they hold. The library opens no file itself: the caller hands it a
//! way to make temporary files.

use rust_decimal::Decimal;
use std::fmt;
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

/// A temporary file (or anything that stores bytes and reads them back).
pub trait SpillFile: Read + Write + Seek + Send {}

impl<T: Read + Write + Seek + Send> SpillFile for T {}

/// Makes the temporary files a run spills its working data to, such as
/// `SpillTo::new(|| tempfile::tempfile())`.
#[derive(Clone)]
pub struct SpillTo(Arc<dyn Fn() -> io::Result<Box<dyn SpillFile>> + Send + Sync>);

impl SpillTo {
    pub fn new<F: SpillFile + 'static>(
        make: impl Fn() -> io::Result<F> + Send + Sync + 'static,
    ) -> SpillTo {
        SpillTo(Arc::new(
            move || Ok(Box::new(make()?) as Box<dyn SpillFile>),
        ))
    }

    fn file(&self) -> io::Result<Box<dyn SpillFile>> {
        (self.0)()
    }
}

impl fmt::Debug for SpillTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpillTo(..)")
    }
}

/// Bytes written once, then read back from the start: in memory until [`Stream::spill`]
/// moves them to a spill file, which takes every later write.
#[derive(Default)]
pub(crate) struct Stream {
    memory: Vec<u8>,
    file: Option<BufWriter<Box<dyn SpillFile>>>,
    /// Bytes written in all.
    pub len: u64,
}

impl Stream {
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        match &mut self.file {
            Some(file) => file.write_all(bytes),
            None => {
                self.memory.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Bytes held in memory.
    pub fn in_memory(&self) -> usize {
        self.memory.len()
    }

    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Moves the bytes held in memory to a new spill file, which takes every later write.
    pub fn spill(&mut self, to: &SpillTo) -> io::Result<()> {
        if self.file.is_none() {
            self.file = Some(BufWriter::with_capacity(64 * 1024, to.file()?));
        }
        if let Some(file) = &mut self.file {
            file.write_all(&self.memory)?;
        }
        self.memory = Vec::new();
        Ok(())
    }

    /// All the bytes.
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        if self.file.is_none() {
            return Ok(self.memory);
        }
        let mut bytes = Vec::new();
        self.into_reader()?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    /// The bytes, from the start.
    pub fn into_reader(self) -> io::Result<Box<dyn BufRead + Send>> {
        match self.file {
            None => Ok(Box::new(Cursor::new(self.memory))),
            Some(file) => {
                let mut file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                file.seek(SeekFrom::Start(0))?;
                Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
            }
        }
    }
}

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

/// Reads one length-prefixed record from `input` into `record`; `false` at the end.
pub(crate) fn read_record(input: &mut dyn BufRead, record: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
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
    fn records_come_back_as_written_from_memory_and_from_a_spill_file() {
        let to = SpillTo::new(|| Ok(Cursor::new(Vec::new())));
        for spill_after in [None, Some(1)] {
            let mut stream = Stream::default();
            for (n, text) in [(1u32, "one"), (2, ""), (3, "три")] {
                let mut record = Vec::new();
                frame(&mut record, |r| {
                    r.put_u32(n);
                    r.put_str(text);
                    r.put_decimal(Decimal::new(125, 1));
                });
                stream.write(&record).unwrap();
                if spill_after == Some(n) {
                    stream.spill(&to).unwrap();
                }
            }
            assert_eq!(stream.is_spilled(), spill_after.is_some());
            let mut reader = stream.into_reader().unwrap();
            let mut record = Vec::new();
            let mut seen = Vec::new();
            while read_record(&mut reader, &mut record).unwrap() {
                let mut take = Take(&record);
                let n = take.u32().unwrap();
                let text = take.str().unwrap().to_string();
                assert_eq!(take.decimal(), Some(Decimal::new(125, 1)));
                seen.push((n, text));
            }
            assert_eq!(
                seen,
                [(1, "one".into()), (2, String::new()), (3, "три".into())]
            );
        }
    }
}
