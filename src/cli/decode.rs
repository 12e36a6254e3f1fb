//! The input as UTF-8: decoded as its byte order mark says (whatever `--encoding` says), or
//! from `--encoding`, and otherwise passed through as it is (UTF-8 is checked, with the line of a bad byte,
//! as the input is split into rows). Decoding stops at the first byte sequence that is not of
//! the encoding: nothing is replaced or guessed.

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8};
use std::io::{self, Read};

/// How much input is decoded at a time.
const CHUNK: usize = 64 * 1024;

/// `input` as UTF-8, read as its byte order mark says, else as `encoding` says.
pub fn decoded<R: Read + Send + 'static>(
    input: R,
    encoding: Option<&'static Encoding>,
) -> Box<dyn Read + Send> {
    let decoder = encoding
        .filter(|&e| e != UTF_8)
        .map(Encoding::new_decoder_with_bom_removal);
    Box::new(Decoded {
        input,
        sniff: true,
        decoder,
        raw: Vec::new(),
        consumed: 0,
        out: Vec::new(),
        given: 0,
        lines: 0,
        bad: None,
        eof: false,
        finished: false,
    })
}

struct Decoded<R> {
    input: R,
    /// The byte order mark is still to be looked for.
    sniff: bool,
    /// `None`: the input is passed through.
    decoder: Option<Decoder>,
    /// Input read and not yet decoded.
    raw: Vec<u8>,
    /// Input bytes decoded so far, for the place of a bad one.
    consumed: u64,
    /// Decoded text, handed out from `given` on.
    out: Vec<u8>,
    given: usize,
    /// Line breaks in the text decoded so far, for the line of a bad byte.
    lines: u64,
    /// Bytes that cannot be decoded, reported once the text before them is handed out.
    bad: Option<io::Error>,
    eof: bool,
    /// The decoder has taken the end of the input.
    finished: bool,
}

impl<R: Read> Decoded<R> {
    /// Reads more input into `raw`; notes the end of the input.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        let start = self.raw.len();
        self.raw.resize(start + want, 0);
        let read = loop {
            match self
                .input
                .read(self.raw.get_mut(start..).unwrap_or_default())
            {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = read.inspect_err(|_| self.raw.truncate(start))?;
        self.raw.truncate(start + n);
        self.eof |= n == 0;
        Ok(())
    }

    /// Looks for a byte order mark, which says the encoding (a UTF-8 one is then left to the
    /// row splitter); without one, for UTF-16 text without its mark, unless an encoding was
    /// given.
    fn sniff(&mut self) -> io::Result<()> {
        self.sniff = false;
        while self.raw.len() < 3 && !self.eof {
            self.fill(3 - self.raw.len())?;
        }
        if let Some((encoding, _)) = Encoding::for_bom(&self.raw) {
            self.decoder = (encoding != UTF_8).then(|| encoding.new_decoder_with_bom_removal());
        } else if let (None, [first, second, ..]) = (&self.decoder, &self.raw[..]) {
            // Text starting with a NUL byte is UTF-16 without its mark, not UTF-8.
            let order = match (*first, *second) {
                (0, 0) => None,
                (0, _) => Some("utf-16be"),
                (_, 0) => Some("utf-16le"),
                _ => None,
            };
            if let Some(order) = order {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the input looks like UTF-16 without a byte order mark (a NUL byte in its first two); give --encoding {order}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.sniff {
            self.sniff()?;
        }
        if self.decoder.is_none() {
            if self.raw.is_empty() {
                return self.input.read(buf);
            }
            let n = self.raw.as_slice().read(buf)?;
            self.raw.drain(..n);
            return Ok(n);
        }
        loop {
            let n = self.out.get(self.given..).unwrap_or_default().read(buf)?;
            if n > 0 || buf.is_empty() {
                self.given += n;
                return Ok(n);
            }
            if let Some(bad) = self.bad.take() {
                return Err(bad);
            }
            if self.finished {
                return Ok(0);
            }
            if self.raw.len() < CHUNK && !self.eof {
                self.fill(CHUNK - self.raw.len())?;
            }
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let room = decoder
                .max_utf8_buffer_length_without_replacement(self.raw.len())
                .unwrap_or(self.raw.len() * 3 + 16);
            self.out.clear();
            self.out.resize(room.max(4), 0);
            self.given = 0;
            let (result, read, written) =
                decoder.decode_to_utf8_without_replacement(&self.raw, &mut self.out, self.eof);
            self.out.truncate(written);
            self.raw.drain(..read);
            self.consumed += read as u64;
            self.lines += self.out.iter().filter(|&&b| b == b'\n').count() as u64;
            match result {
                DecoderResult::Malformed(bad, after) => {
                    let at = self.consumed - u64::from(bad) - u64::from(after);
                    self.bad = Some(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "line {} is not {} (the bytes at offset {at} cannot be decoded); give the file's encoding with --encoding",
                            self.lines + 1,
                            decoder.encoding().name()
                        ),
                    ));
                }
                DecoderResult::InputEmpty => self.finished = self.eof,
                DecoderResult::OutputFull => {}
            }
        }
    }
}
