//! Extensible priorities (RFC 9218): the urgency and incremental parameters, parsed from the
//! `priority` header field or a PRIORITY_UPDATE frame's Priority Field Value, both a
//! Structured Fields Dictionary (RFC 8941 §3.2).

use std::fmt;

/// The priority of a response (RFC 9218 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Priority {
    /// Urgency 0 (most urgent) ..= 7; default 3 (RFC 9218 §4.1).
    pub urgency: u8,
    /// Whether the response can be used incrementally; default false (RFC 9218 §4.2).
    pub incremental: bool,
}

impl Default for Priority {
    fn default() -> Self {
        Priority {
            urgency: 3,
            incremental: false,
        }
    }
}

impl Priority {
    /// Parses a Priority Field Value. `None` when the dictionary does not parse (the whole
    /// field is then ignored, RFC 8941 §4.2). RFC 9218 §4: unknown parameters, out-of-range
    /// values and values of unexpected types MUST be ignored, leaving the defaults.
    pub fn parse(value: &[u8]) -> Option<Priority> {
        PriorityParams::parse(value).map(|p| p.apply_to(Priority::default()))
    }

    /// The priority a message's `priority` header fields ask for: `None` without one, the
    /// defaults when it does not parse (RFC 9218 §4, §5). Several field lines are one
    /// comma-separated value (RFC 9110 §5.3).
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Priority> {
        field_value(headers).map(|v| Priority::parse_or_default(&v))
    }

    /// Parses a value, falling back to the defaults when it does not parse.
    pub fn parse_or_default(value: &[u8]) -> Priority {
        Priority::parse(value).unwrap_or_default()
    }

    /// The (urgency, incremental) pair, for a transport scheduler.
    pub fn as_tuple(self) -> (u8, bool) {
        (self.urgency, self.incremental)
    }
}

/// The parameters a Priority Field Value actually carries, without filling in defaults.
///
/// A request's value is read with defaults for what it omits ([`Priority::parse`]), but in a
/// response an absent parameter means the server does not want to change the client's value
/// (RFC 9218 §8), so merging needs to know which parameters were there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PriorityParams {
    /// The urgency, if a valid one was given.
    pub urgency: Option<u8>,
    /// The incremental flag, if a valid one was given.
    pub incremental: Option<bool>,
}

impl PriorityParams {
    /// Parses a Priority Field Value; `None` when the dictionary does not parse. Invalid
    /// members are ignored as if absent (RFC 9218 §4).
    pub fn parse(value: &[u8]) -> Option<PriorityParams> {
        let members = sf::parse_dictionary(value)?;
        let mut p = PriorityParams::default();
        for (key, item) in members {
            match (key.as_slice(), item) {
                (b"u", sf::Item::Integer(u)) if (0..=7).contains(&u) => p.urgency = Some(u as u8),
                (b"i", sf::Item::Boolean(i)) => p.incremental = Some(i),
                _ => {}
            }
        }
        Some(p)
    }

    /// The parameters of a message's `priority` header fields; `None` without one or when it
    /// does not parse (then it changes nothing).
    pub fn from_headers(headers: &http::HeaderMap) -> Option<PriorityParams> {
        PriorityParams::parse(&field_value(headers)?)
    }

    /// `base` with the parameters present here replacing its own.
    pub fn apply_to(self, base: Priority) -> Priority {
        Priority {
            urgency: self.urgency.unwrap_or(base.urgency),
            incremental: self.incremental.unwrap_or(base.incremental),
        }
    }
}

/// The combined value of all `priority` field lines, or `None` without any.
fn field_value(headers: &http::HeaderMap) -> Option<Vec<u8>> {
    let mut lines = headers.get_all("priority").iter();
    let mut value = lines.next()?.as_bytes().to_vec();
    for line in lines {
        value.extend_from_slice(b", ");
        value.extend_from_slice(line.as_bytes());
    }
    Some(value)
}

/// The Priority Field Value, omitting defaults (`u=3` and `i=?0`), so the default priority
/// is the empty string.
impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.urgency != 3, self.incremental) {
            (true, true) => write!(f, "u={}, i", self.urgency),
            (true, false) => write!(f, "u={}", self.urgency),
            (false, true) => f.write_str("i"),
            (false, false) => Ok(()),
        }
    }
}

/// Just enough of RFC 8941 to read a Dictionary and keep integer and boolean members.
mod sf {
    pub enum Item {
        Integer(i64),
        Boolean(bool),
        Other,
    }

    struct Parser<'a> {
        s: &'a [u8],
        pos: usize,
    }

    /// RFC 8941 §4.2.2; `None` on any syntax error.
    pub fn parse_dictionary(s: &[u8]) -> Option<Vec<(Vec<u8>, Item)>> {
        let mut p = Parser { s, pos: 0 };
        let mut out: Vec<(Vec<u8>, Item)> = Vec::new();
        p.skip_sp();
        if p.at_end() {
            return Some(out);
        }
        loop {
            let key = p.key()?;
            let item = if p.eat(b'=') {
                if p.peek() == Some(b'(') {
                    p.inner_list()?;
                    Item::Other
                } else {
                    let item = p.bare_item()?;
                    p.parameters()?;
                    item
                }
            } else {
                p.parameters()?;
                Item::Boolean(true)
            };
            // Duplicate keys: the last one wins.
            out.retain(|(k, _)| *k != key);
            out.push((key, item));
            p.skip_ows();
            if p.at_end() {
                return Some(out);
            }
            if !p.eat(b',') {
                return None;
            }
            p.skip_ows();
            if p.at_end() {
                return None;
            }
        }
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.pos).copied()
        }
        fn at_end(&self) -> bool {
            self.pos >= self.s.len()
        }
        fn eat(&mut self, c: u8) -> bool {
            if self.peek() == Some(c) {
                self.pos += 1;
                true
            } else {
                false
            }
        }
        fn skip_sp(&mut self) {
            while self.eat(b' ') {}
        }
        fn skip_ows(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
        }
        fn key(&mut self) -> Option<Vec<u8>> {
            let start = self.pos;
            match self.peek()? {
                b'a'..=b'z' | b'*' => self.pos += 1,
                _ => return None,
            }
            while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
                self.pos += 1;
            }
            Some(self.s[start..self.pos].to_vec())
        }
        fn parameters(&mut self) -> Option<()> {
            while self.eat(b';') {
                self.skip_sp();
                self.key()?;
                if self.eat(b'=') {
                    self.bare_item()?;
                }
            }
            Some(())
        }
        fn inner_list(&mut self) -> Option<()> {
            self.eat(b'(');
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    return self.parameters();
                }
                self.bare_item()?;
                self.parameters()?;
                if !matches!(self.peek(), Some(b' ' | b')')) {
                    return None;
                }
            }
        }
        fn bare_item(&mut self) -> Option<Item> {
            match self.peek()? {
                b'-' | b'0'..=b'9' => self.number(),
                b'"' => {
                    self.pos += 1;
                    loop {
                        match self.peek()? {
                            b'\\' => {
                                self.pos += 1;
                                if !matches!(self.peek()?, b'"' | b'\\') {
                                    return None;
                                }
                                self.pos += 1;
                            }
                            b'"' => {
                                self.pos += 1;
                                return Some(Item::Other);
                            }
                            0x20..=0x7e => self.pos += 1,
                            _ => return None,
                        }
                    }
                }
                b'?' => {
                    self.pos += 1;
                    let b = match self.peek()? {
                        b'0' => false,
                        b'1' => true,
                        _ => return None,
                    };
                    self.pos += 1;
                    Some(Item::Boolean(b))
                }
                b':' => {
                    self.pos += 1;
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        match c {
                            b':' => return Some(Item::Other),
                            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {}
                            _ => return None,
                        }
                    }
                    None
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'*' => {
                    self.pos += 1;
                    while let Some(c) = self.peek() {
                        let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
                        if !tchar {
                            break;
                        }
                        self.pos += 1;
                    }
                    Some(Item::Other)
                }
                _ => None,
            }
        }
        /// RFC 8941 §4.2.4: Integer (up to 15 digits) or Decimal.
        fn number(&mut self) -> Option<Item> {
            let negative = self.eat(b'-');
            let start = self.pos;
            let mut dot = None;
            while let Some(c) = self.peek() {
                match c {
                    b'0'..=b'9' => self.pos += 1,
                    b'.' if dot.is_none() => {
                        dot = Some(self.pos);
                        self.pos += 1;
                    }
                    _ => break,
                }
            }
            let digits = &self.s[start..self.pos];
            if digits.is_empty() || !digits[0].is_ascii_digit() {
                return None;
            }
            if let Some(d) = dot {
                let int = d - start;
                let frac = self.pos - d - 1;
                if int > 12 || frac == 0 || frac > 3 {
                    return None;
                }
                return Some(Item::Other);
            }
            if digits.len() > 15 {
                return None;
            }
            let v: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
            Some(Item::Integer(if negative { -v } else { v }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<(u8, bool)> {
        Priority::parse(s.as_bytes()).map(Priority::as_tuple)
    }

    #[test]
    fn rfc9218_examples() {
        assert_eq!(p("u=0"), Some((0, false)));
        assert_eq!(p("u=5, i"), Some((5, true)));
        assert_eq!(p(""), Some((3, false)));
        assert_eq!(p("i=?0, u=7"), Some((7, false)));
        assert_eq!(p("i=?1"), Some((3, true)));
    }

    #[test]
    fn ignored_parameters() {
        // RFC 9218 §4: unknown, out of range and mistyped values are ignored.
        assert_eq!(p("u=8"), Some((3, false)));
        assert_eq!(p("u=-1, i"), Some((3, true)));
        assert_eq!(p("u=1.5"), Some((3, false)));
        assert_eq!(p("u=\"1\""), Some((3, false)));
        assert_eq!(p("i=1"), Some((3, false)));
        assert_eq!(
            p("x=(a b);q=1, u=2;z=?1, y=:AAE=:, w=tok/1"),
            Some((2, false))
        );
        // The last duplicate wins.
        assert_eq!(p("u=1, u=6"), Some((6, false)));
    }

    #[test]
    fn unparseable_dictionaries() {
        for s in [
            "u=", "U=1", "u=1,", "u=1;;", ",u=1", "u=1 u=2", "u=?2", "u=\"x", "u=1\x01",
        ] {
            assert_eq!(p(s), None, "{s:?}");
        }
        assert_eq!(Priority::parse_or_default(b"u=,"), Priority::default());
    }

    #[test]
    fn params_keep_absence() {
        // RFC 9218 §8: the response's `u=1` changes the urgency and keeps the client's `i`.
        let client = Priority::parse(b"u=5, i").unwrap();
        let server = PriorityParams::parse(b"u=1").unwrap();
        assert_eq!(server.incremental, None);
        assert_eq!(server.apply_to(client).as_tuple(), (1, true));
        // Invalid members are as if absent.
        let p = PriorityParams::parse(b"u=9, i=2").unwrap();
        assert_eq!(p, PriorityParams::default());
        assert_eq!(p.apply_to(client), client);
        assert_eq!(PriorityParams::parse(b"u=1,"), None);
    }

    #[test]
    fn header_lines_combine() {
        let mut h = http::HeaderMap::new();
        assert_eq!(Priority::from_headers(&h), None);
        h.append("priority", http::HeaderValue::from_static("u=2"));
        h.append("priority", http::HeaderValue::from_static("i"));
        assert_eq!(Priority::from_headers(&h).unwrap().as_tuple(), (2, true));
        // A later line's duplicate key wins (RFC 8941 §4.2).
        h.append("priority", http::HeaderValue::from_static("u=6"));
        assert_eq!(Priority::from_headers(&h).unwrap().as_tuple(), (6, true));
        // An unparseable combination falls back to the defaults for a request, and changes
        // nothing for a response.
        h.append("priority", http::HeaderValue::from_static("u="));
        assert_eq!(Priority::from_headers(&h), Some(Priority::default()));
        assert_eq!(PriorityParams::from_headers(&h), None);
    }

    #[test]
    fn display_round_trips() {
        for u in 0..8 {
            for i in [false, true] {
                let pr = Priority {
                    urgency: u,
                    incremental: i,
                };
                assert_eq!(Priority::parse(pr.to_string().as_bytes()), Some(pr));
            }
        }
    }
}
