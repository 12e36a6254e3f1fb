//! Splits CSV input into rows without ever losing one: a BOM is dropped, CRLF, LF and a lone
//! CR (old Mac exports) each end a row, quoted fields may span lines, and a quote that never closes (or runs past the field
//! limit) makes only its own line an invalid row; reading resumes on the next line. Once the
//! header's width is known, a quoted field that spans lines but makes a row of the wrong
//! width, or is closed by a quote with text after it (`100 m"g`), is a stray quote too: its
//! line is the invalid row, and each following line is read as a row of its own.

use std::io::{self, Read};
use std::ops::Range;

/// How a row came out of the splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A complete row, ready for field parsing.
    Complete,
    /// A quoted field opened on this row's line and never closed within the limit.
    UnbalancedQuote,
    /// The row is longer than the row limit; its bytes were dropped.
    TooLong,
}

/// One row: where it starts, what kind it is, and its bytes in the caller's buffer (without
/// the line terminator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSpan {
    /// 1-based line at which the row starts.
    pub line: u64,
    pub kind: RowKind,
    pub bytes: Range<usize>,
    /// The row has no quote: its fields are what lies between its delimiters.
    pub plain: bool,
}

const CHUNK: usize = 1 << 20;

/// `data[range]`, or nothing when the range is out of bounds.
fn slice(data: &[u8], range: Range<usize>) -> &[u8] {
    data.get(range).unwrap_or_default()
}

/// `data[from..]`, or nothing when `from` is out of bounds.
fn tail(data: &[u8], from: usize) -> &[u8] {
    data.get(from..).unwrap_or_default()
}

/// Where the first line break at or after `from` is: a `\n` or a `\r`.
fn next_break(data: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', tail(data, from)).map(|i| from + i)
}

/// How many line breaks `bytes` holds, a `\r\n` counting once.
fn count_breaks(bytes: &[u8]) -> u64 {
    let lone_returns = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .count();
    memchr::memchr_iter(b'\n', bytes).count() as u64 + lone_returns as u64
}

/// Reads rows from any byte stream, in bounded memory.
pub struct RowSplitter<R> {
    input: R,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    pos: usize,
    /// End of valid data in `buf`.
    filled: usize,
    eof: bool,
    /// Line number of the byte at `pos`.
    line: u64,
    max_field_bytes: usize,
    max_row_bytes: usize,
    started: bool,
    /// Bytes consumed so far (for progress).
    consumed: u64,
    /// The header's field count, once known.
    width: Option<usize>,
}

enum Scan {
    /// A row ends at `end` (exclusive, terminator not included); the next starts at `next`.
    /// `breaks` line breaks are inside its quoted fields.
    Row {
        end: usize,
        next: usize,
        breaks: u64,
        plain: bool,
    },
    /// A quote opened at `quote` never closes within the limit.
    Unbalanced { quote: usize },
    /// More input is needed to decide.
    NeedMore,
}

impl<R: Read> RowSplitter<R> {
    /// A splitter over `input`; a quoted field longer than `max_field_bytes` counts as unbalanced.
    pub fn new(input: R, max_field_bytes: usize) -> Self {
        RowSplitter {
            input,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            eof: false,
            line: 1,
            max_field_bytes: max_field_bytes.max(1),
            max_row_bytes: max_field_bytes.saturating_mul(16).max(CHUNK),
            started: false,
            consumed: 0,
            width: None,
        }
    }

    /// Sets the header's field count: a row whose quoted field spans lines must have it.
    pub fn set_width(&mut self, width: usize) {
        self.width = Some(width);
    }

    /// Bytes of input consumed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Reads more input into the buffer, keeping unconsumed bytes. Returns false at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        let want = self.filled + CHUNK;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        loop {
            match self
                .input
                .read(self.buf.get_mut(self.filled..).unwrap_or_default())
            {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Where the line after the break at `at` (a `\n`, `\r\n` or lone `\r`) starts; `None`
    /// when a `\r` ends the data read so far and more input may bring its `\n`.
    fn after_break(&self, data: &[u8], at: usize) -> Option<usize> {
        match (data.get(at), data.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => Some(at + 2),
            (Some(b'\r'), None) if !self.eof => None,
            _ => Some(at + 1),
        }
    }

    /// Finds the end of the row starting at `start` in `data` (quote-aware).
    fn scan(&self, data: &[u8], start: usize, delimiter: u8) -> Scan {
        // A line without a quote is a row as it is: one search finds which comes first.
        let first = memchr::memchr3(b'\n', b'\r', b'"', tail(data, start)).map(|i| start + i);
        match first {
            Some(at) if data.get(at) != Some(&b'"') => {
                let Some(next) = self.after_break(data, at) else {
                    return Scan::NeedMore;
                };
                return Scan::Row {
                    end: at,
                    next,
                    breaks: 0,
                    plain: true,
                };
            }
            None if self.eof => {
                return Scan::Row {
                    end: data.len(),
                    next: data.len(),
                    breaks: 0,
                    plain: true,
                };
            }
            None => return Scan::NeedMore,
            Some(_) => {}
        }
        // 0: start of field, 1: unquoted field, 2: inside quotes, 3: quote inside quotes, 4:
        // blanks after the quote that closes a field spanning lines.
        let mut state = 0u8;
        let mut quote_at = 0;
        let mut fields = 1;
        // The quote whose field first ran over a line end, if one did.
        let mut spanning: Option<usize> = None;
        let mut breaks = 0;
        // Delimiters with no blank after them on the current line inside a quoted field: a
        // line after its first with as many as a row has is a row the field swallowed (a
        // stray quote that a later one closes, `12"`), not text.
        let mut line_delimiters = 0;
        let swallowed =
            |delimiters: usize| self.width.is_some_and(|w| w > 3 && delimiters + 1 >= w);
        let row_end = |end: usize, fields: usize, spanning: Option<usize>, breaks: u64| match (
            spanning,
            self.after_break(data, end),
        ) {
            (Some(quote), _) if self.width.is_some_and(|w| w != fields) => {
                Scan::Unbalanced { quote }
            }
            (_, None) => Scan::NeedMore,
            (_, Some(next)) => Scan::Row {
                end,
                next: next.min(data.len()),
                breaks,
                plain: false,
            },
        };
        for (i, &b) in data.iter().enumerate().skip(start) {
            match state {
                0 | 1 => {
                    if b == b'\n' || b == b'\r' {
                        return row_end(i, fields, spanning, breaks);
                    } else if b == delimiter {
                        fields += 1;
                        state = 0;
                    } else if b == b'"' && state == 0 {
                        state = 2;
                        quote_at = i;
                    } else {
                        state = 1;
                    }
                }
                2 => {
                    let line_ends = b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n'));
                    // A line taken in after the field's first ends here (at its quote or its
                    // line end): it may have been a row.
                    let line_done = b == b'"' || line_ends;
                    if line_done && spanning.is_some() && swallowed(line_delimiters) {
                        return Scan::Unbalanced { quote: quote_at };
                    }
                    if b == b'"' {
                        state = 3;
                    } else if i - quote_at > self.max_field_bytes {
                        return Scan::Unbalanced { quote: quote_at };
                    } else if line_ends {
                        breaks += 1;
                        spanning.get_or_insert(quote_at);
                        line_delimiters = 0;
                    } else if b == delimiter && !matches!(data.get(i + 1), Some(b' ' | b'\t')) {
                        // Prose puts a blank after a comma (`lisinopril, metformin`); a row
                        // does not.
                        line_delimiters += 1;
                    }
                }
                4 => {
                    if b == b'\n' || b == b'\r' {
                        return row_end(i, fields, spanning, breaks);
                    } else if b == delimiter {
                        fields += 1;
                        state = 0;
                    } else if !matches!(b, b' ' | b'\t') {
                        return Scan::Unbalanced { quote: quote_at };
                    }
                }
                _ => {
                    if b == b'"' {
                        state = 2;
                    } else if b == b'\n' || b == b'\r' {
                        return row_end(i, fields, spanning, breaks);
                    } else if b == delimiter {
                        fields += 1;
                        state = 0;
                    } else if spanning == Some(quote_at) {
                        // Text after the quote that closes a field spanning lines (`100 m"g`,
                        // `50" mg`): the quote that opened it was stray; blanks before the
                        // delimiter are only blanks.
                        if !matches!(b, b' ' | b'\t') {
                            return Scan::Unbalanced { quote: quote_at };
                        }
                        state = 4;
                    } else {
                        state = 1;
                    }
                }
            }
        }
        if !self.eof {
            return Scan::NeedMore;
        }
        if state == 2 {
            Scan::Unbalanced {
                quote: spanning.unwrap_or(quote_at),
            }
        } else {
            match row_end(data.len(), fields, spanning, breaks) {
                Scan::Row { end, breaks, .. } => Scan::Row {
                    end,
                    next: end,
                    breaks,
                    plain: false,
                },
                other => other,
            }
        }
    }

    /// Appends the next row's bytes to `sink` and describes it; `None` at the end of input.
    /// Blank lines are skipped (they are not rows).
    pub fn next_row(&mut self, delimiter: u8, sink: &mut Vec<u8>) -> io::Result<Option<RowSpan>> {
        loop {
            if !self.started {
                while self.filled - self.pos < 3 && self.fill()? {}
                if slice(&self.buf, self.pos..self.filled).starts_with(b"\xEF\xBB\xBF") {
                    self.pos += 3;
                    self.consumed += 3;
                }
                self.started = true;
            }
            if self.pos >= self.filled && !self.fill()? {
                return Ok(None);
            }
            let data = slice(&self.buf, 0..self.filled);
            match self.scan(data, self.pos, delimiter) {
                Scan::NeedMore => {
                    if self.filled - self.pos > self.max_row_bytes {
                        return self.skip_long_row().map(Some);
                    }
                    self.fill()?;
                }
                Scan::Row {
                    end,
                    next,
                    breaks,
                    plain,
                } => {
                    let start = self.pos;
                    let line = self.line;
                    let newlines = breaks + u64::from(next > end);
                    self.line += newlines;
                    self.consumed += (next - start) as u64;
                    self.pos = next;
                    if end == start {
                        continue;
                    }
                    let from = sink.len();
                    sink.extend_from_slice(slice(data, start..end));
                    return Ok(Some(RowSpan {
                        line,
                        kind: RowKind::Complete,
                        bytes: from..sink.len(),
                        plain,
                    }));
                }
                Scan::Unbalanced { quote } => {
                    let start = self.pos;
                    let line = self.line;
                    let Some(nl) = next_break(data, quote) else {
                        if self.eof {
                            // The quote's line runs to the end of the input.
                            let end = self.filled;
                            self.consumed += (end - start) as u64;
                            self.pos = end;
                            let from = sink.len();
                            sink.extend_from_slice(slice(
                                data,
                                start..end.min(start + self.max_field_bytes),
                            ));
                            return Ok(Some(RowSpan {
                                line,
                                kind: RowKind::UnbalancedQuote,
                                bytes: from..sink.len(),
                                plain: false,
                            }));
                        }
                        return self.skip_long_row().map(Some);
                    };
                    let Some(next) = self.after_break(data, nl) else {
                        self.fill()?;
                        continue;
                    };
                    self.line += count_breaks(slice(data, start..next));
                    self.consumed += (next - start) as u64;
                    self.pos = next;
                    let from = sink.len();
                    sink.extend_from_slice(slice(data, start..nl));
                    return Ok(Some(RowSpan {
                        line,
                        kind: RowKind::UnbalancedQuote,
                        bytes: from..sink.len(),
                        plain: false,
                    }));
                }
            }
        }
    }

    /// Drops a row too long to hold, up to and including the end of its first line.
    fn skip_long_row(&mut self) -> io::Result<RowSpan> {
        let line = self.line;
        loop {
            let data = slice(&self.buf, 0..self.filled);
            let at = next_break(data, self.pos);
            if let Some(next) = at.and_then(|at| self.after_break(data, at)) {
                self.consumed += (next - self.pos) as u64;
                self.pos = next;
                self.line += 1;
                break;
            }
            // A `\r` that ends the data read so far stays, to be read with what follows it.
            let keep = at.unwrap_or(self.filled);
            self.consumed += (keep - self.pos) as u64;
            self.pos = keep;
            if !self.fill()? {
                break;
            }
        }
        Ok(RowSpan {
            line,
            kind: RowKind::TooLong,
            bytes: 0..0,
            plain: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &[u8], max_field: usize) -> Vec<(u64, RowKind, String)> {
        rows_of(RowSplitter::new(input, max_field))
    }

    /// The rows `splitter` gives: line, kind and text.
    fn rows_of(mut splitter: RowSplitter<&[u8]>) -> Vec<(u64, RowKind, String)> {
        let mut sink = Vec::new();
        let mut out = Vec::new();
        while let Some(row) = splitter.next_row(b',', &mut sink).unwrap() {
            out.push((
                row.line,
                row.kind,
                String::from_utf8_lossy(&sink[row.bytes.clone()]).into_owned(),
            ));
        }
        out
    }

    #[test]
    fn plain_rows_with_crlf_bom_and_blank_lines() {
        let got = rows(b"\xEF\xBB\xBFa,b\r\n1,2\r\n\r\n3,4", 100);
        assert_eq!(
            got,
            vec![
                (1, RowKind::Complete, "a,b".into()),
                (2, RowKind::Complete, "1,2".into()),
                (4, RowKind::Complete, "3,4".into()),
            ]
        );
    }

    #[test]
    fn a_lone_carriage_return_ends_a_row_as_old_mac_exports_write() {
        let got = rows(b"a,b\r1,2\r\r\n3,\"x\ry\"\r4,5", 100);
        assert_eq!(
            got,
            vec![
                (1, RowKind::Complete, "a,b".into()),
                (2, RowKind::Complete, "1,2".into()),
                (4, RowKind::Complete, "3,\"x\ry\"".into()),
                (6, RowKind::Complete, "4,5".into()),
            ]
        );
        let got = rows(b"a,b\r1,\"oops\r2,z\r", 100);
        assert_eq!(got[1], (2, RowKind::UnbalancedQuote, "1,\"oops".into()));
        assert_eq!(got[2], (3, RowKind::Complete, "2,z".into()));
    }

    #[test]
    fn a_long_row_ending_in_a_lone_return_at_a_read_boundary_loses_no_row() {
        /// Hands out its bytes in the pieces given, as a pipe does.
        struct Pieces(Vec<Vec<u8>>);
        impl Read for Pieces {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some(piece) = self.0.first_mut() else {
                    return Ok(0);
                };
                let n = piece.len().min(buf.len());
                buf[..n].copy_from_slice(&piece[..n]);
                piece.drain(..n);
                if piece.is_empty() {
                    self.0.remove(0);
                }
                Ok(n)
            }
        }
        let mut long = b"a,b\r1,".to_vec();
        long.extend(std::iter::repeat_n(b'x', CHUNK + 10));
        long.push(b'\r');
        let mut splitter = RowSplitter::new(Pieces(vec![long, b"2,y\r3,z\r".to_vec()]), 100);
        let mut sink = Vec::new();
        let mut got = Vec::new();
        while let Some(row) = splitter.next_row(b',', &mut sink).unwrap() {
            got.push((row.line, row.kind, sink[row.bytes.clone()].to_vec()));
        }
        assert_eq!(
            got,
            vec![
                (1, RowKind::Complete, b"a,b".to_vec()),
                (2, RowKind::TooLong, Vec::new()),
                (3, RowKind::Complete, b"2,y".to_vec()),
                (4, RowKind::Complete, b"3,z".to_vec()),
            ]
        );
    }

    #[test]
    fn only_a_row_without_a_quote_is_plain() {
        let input = b"a,b\n1,\"x\"\n2,z\r\n3,w\"\n4,\"v\n5,u";
        let mut splitter = RowSplitter::new(&input[..], 100);
        let mut sink = Vec::new();
        let mut plain = Vec::new();
        while let Some(row) = splitter.next_row(b',', &mut sink).unwrap() {
            plain.push(row.plain);
        }
        assert_eq!(plain, [true, false, true, false, false, true]);
    }

    #[test]
    fn quoted_fields_span_lines() {
        let got = rows(b"a,b\n1,\"x\ny\"\n2,z\n", 100);
        assert_eq!(got[1], (2, RowKind::Complete, "1,\"x\ny\"".into()));
        assert_eq!(got[2], (4, RowKind::Complete, "2,z".into()));
    }

    #[test]
    fn a_quoted_field_that_swallows_whole_rows_was_a_stray_quote() {
        // A quote left open in the last field, closed by an inch mark rows later: the lines
        // between are rows of the header's width, not text.
        let rows = |input: &'static [u8]| {
            let mut splitter = RowSplitter::new(input, 100);
            splitter.set_width(4);
            rows_of(splitter)
        };
        let got = rows(b"a,b,c,d\n1,2,3,\"x\n4,5,6,7\n8,9,10,12\"\n");
        assert_eq!(got[1], (2, RowKind::UnbalancedQuote, "1,2,3,\"x".into()));
        assert_eq!(got[2], (3, RowKind::Complete, "4,5,6,7".into()));
        assert_eq!(got[3], (4, RowKind::Complete, "8,9,10,12\"".into()));
        // A note over lines with a comma or two is text, and so is a list over lines, as
        // prose writes one (a blank after each comma).
        let got = rows(b"a,b,c,d\n1,2,3,\"meds:\nx, y, z, w, v\"\n4,5,6,7\n");
        assert_eq!(got[1].1, RowKind::Complete);
        assert_eq!(got[2], (4, RowKind::Complete, "4,5,6,7".into()));
        let got = rows(b"a,b,c,d\n1,2,3,\"x, y\nz, w\"\n4,5,6,7\n");
        assert_eq!(
            got[1],
            (2, RowKind::Complete, "1,2,3,\"x, y\nz, w\"".into())
        );
        assert_eq!(got[2], (4, RowKind::Complete, "4,5,6,7".into()));
    }

    #[test]
    fn an_unbalanced_quote_costs_one_line() {
        let got = rows(b"a,b\n1,\"oops\n2,z\n3,w\n", 100);
        assert_eq!(got[1], (2, RowKind::UnbalancedQuote, "1,\"oops".into()));
        assert_eq!(got[2], (3, RowKind::Complete, "2,z".into()));
        assert_eq!(got[3], (4, RowKind::Complete, "3,w".into()));
    }

    #[test]
    fn a_field_spanning_lines_closed_with_text_after_its_quote_was_a_stray_quote() {
        let got = rows(b"a,b,c\n1,\"x,y\n2,w\"z,v\n3,u,t\n", 100);
        assert_eq!(got[1], (2, RowKind::UnbalancedQuote, "1,\"x,y".into()));
        assert_eq!(got[2], (3, RowKind::Complete, "2,w\"z,v".into()));
        assert_eq!(got[3], (4, RowKind::Complete, "3,u,t".into()));
        // On one line, text after a closing quote is only that field's; after a field that
        // spans lines, a blank before the delimiter too.
        let got = rows(b"a,b\n1,\"x\"y\n2,z\n", 100);
        assert_eq!(got[1], (2, RowKind::Complete, "1,\"x\"y".into()));
        let got = rows(b"a,b\n1,\"x\ny\" \n2,z\n", 100);
        assert_eq!(got[1], (2, RowKind::Complete, "1,\"x\ny\" ".into()));
        // Text after the blanks is no blank.
        let got = rows(b"a,b,c\n1,\"x,y\n2,w\" z,v\n3,u,t\n", 100);
        assert_eq!(got[1], (2, RowKind::UnbalancedQuote, "1,\"x,y".into()));
        assert_eq!(got[2], (3, RowKind::Complete, "2,w\" z,v".into()));
    }

    #[test]
    fn a_quote_past_the_field_limit_is_unbalanced() {
        let mut input = b"a,b\n1,\"start\n".to_vec();
        for i in 0..20 {
            input.extend_from_slice(format!("{i},row\n").as_bytes());
        }
        input.extend_from_slice(b"end\"\n");
        let got = rows(&input, 32);
        assert_eq!(got[1].1, RowKind::UnbalancedQuote);
        assert_eq!(got[2], (3, RowKind::Complete, "0,row".into()));
    }
}
