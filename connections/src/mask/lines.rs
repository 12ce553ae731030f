//! [`LineMasker`]: masking one stream of log lines, secrets split across a
//! line break included.

use super::{Masker, MASK};

/// Masks the lines of one log stream in order (see the rule in [the module
/// docs](super)): known secrets, the trailing start of a secret, and the rest
/// of a secret the previous line started.
#[derive(Debug)]
pub struct LineMasker {
    masker: Masker,
    /// The end of the previous line, as written (before masking).
    previous: String,
}

impl LineMasker {
    /// A stream masked with `masker` (shared: secrets added later apply).
    pub fn new(masker: Masker) -> Self {
        LineMasker {
            masker,
            previous: String::new(),
        }
    }

    /// The masker this stream uses.
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// Masks the next line of the stream (without its line break).
    pub fn mask_line(&mut self, line: &str) -> String {
        let previous = std::mem::take(&mut self.previous);
        let mut ranges = Vec::with_capacity(2);
        let head = self.masker.straddling(&previous, line);
        if head > 0 {
            ranges.push((0, head));
        }
        if let Some(start) = self.masker.trailing_fragment(line) {
            ranges.push((start, line.len()));
        }
        let masked = if ranges.iter().any(|&(s, e)| s == 0 && e == line.len()) {
            MASK.to_string()
        } else {
            self.masker.mask_with_ranges(line, &ranges)
        };
        self.previous = self.masker.tail_of(line);
        masked
    }
}
