//! Room outside memory for a run's working data: byte streams written once and then read
//! back, held in memory until the caller's spill files take them ([`SpillTo`]). The library
//! opens no file itself: the caller hands it a way to make temporary files.

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
        // Room for them all at once, not grown (and copied) as they are read.
        let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::{Put, Take, frame, read_record};
    use rust_decimal::Decimal;

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
