//! Formulary diagnostics: a message at `file:line:column`, the offending line with a caret
//! under the span, and a hint saying what to do.

use std::fmt;
use std::ops::Range;

/// One formulary file's name (as diagnostics show it) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

/// A problem found in a formulary, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The text of the offending line.
    pub snippet: String,
    /// How many characters of the line the span covers (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// Locates `span` (byte offsets) in `file` and builds a diagnostic there.
    pub fn at(
        level: Level,
        file: &SourceFile,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Diagnostic {
        let text = &file.text;
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let sub = |range: Range<usize>| text.get(range).unwrap_or("");
        let line_start = sub(0..start).rfind('\n').map_or(0, |i| i + 1);
        let line_end = sub(start..text.len())
            .find('\n')
            .map_or(text.len(), |i| start + i);
        let snippet = sub(line_start..line_end).trim_end_matches('\r').to_string();
        let line = line_of(text, start);
        let column = sub(line_start..start).chars().count() + 1;
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        let width = sub(start..end).chars().count().max(1);
        Diagnostic {
            level,
            file: file.name.clone(),
            line,
            column,
            message: message.into(),
            hint,
            snippet,
            width,
        }
    }

    /// The diagnostic as several lines: location, message, snippet, caret and hint.
    pub fn render(&self) -> String {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut out = format!(
            "{level}: {}\n{pad}--> {}:{}:{}\n{pad} |\n{} | {}\n{pad} | {}{}\n",
            self.message,
            self.file,
            self.line,
            self.column,
            self.line,
            self.snippet,
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(self.width),
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{pad} = help: {hint}\n"));
        }
        out
    }
}

/// The line (from 1) that holds byte `at` of `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    let at = floor_char_boundary(text, at.min(text.len()));
    text.get(..at).unwrap_or("").matches('\n').count() + 1
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// `file:line:column: level: message`, on one line.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// A formulary that did not load, with every error (and warning) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// The errors, without the warnings.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }
}

/// The first error on one line, with a count of the rest.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut errors = self.errors();
        match errors.next() {
            Some(first) => {
                write!(f, "formulary does not load: {first}")?;
                let more = errors.count();
                if more > 0 {
                    write!(
                        f,
                        " (and {more} more error{}; run `rxcheck formulary lint` to see all)",
                        if more == 1 { "" } else { "s" }
                    )?;
                }
                Ok(())
            }
            None => write!(f, "formulary does not load"),
        }
    }
}

impl std::error::Error for LoadError {}
