//! A JSON object written by hand, on one line: the few value types a report needs, with
//! strings escaped as RFC 8259 requires. A serializer crate would be heavier than this.

use std::fmt::Write;

/// A JSON object under construction; fields come out in the order they are added.
#[derive(Clone, Debug, Default)]
pub struct Object {
    fields: String,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Object::default()
    }

    /// Adds `"key": "value"`.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        quote(&mut self.fields, value);
        self
    }

    /// Adds an unsigned integer.
    pub fn uint(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.fields, "{value}");
        self
    }

    /// Adds a signed integer.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        let _ = write!(self.fields, "{value}");
        self
    }

    /// Adds a number with `decimals` digits after the point; JSON has no NaN or
    /// infinity, so those become `null`.
    pub fn fixed(&mut self, key: &str, value: f64, decimals: usize) -> &mut Self {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.fields, "{value:.decimals$}");
        } else {
            self.fields.push_str("null");
        }
        self
    }

    /// Adds an array of objects.
    pub fn objects(&mut self, key: &str, items: &[Object]) -> &mut Self {
        self.key(key);
        self.fields.push('[');
        for (i, item) in items.iter().enumerate() {
            if i != 0 {
                self.fields.push(',');
            }
            self.fields.push_str(&item.to_json());
        }
        self.fields.push(']');
        self
    }

    /// The object's text, without a line end.
    pub fn to_json(&self) -> String {
        format!("{{{}}}", self.fields)
    }

    fn key(&mut self, key: &str) {
        if !self.fields.is_empty() {
            self.fields.push(',');
        }
        quote(&mut self.fields, key);
        self.fields.push(':');
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and control characters escaped, the
/// rest (any Unicode) as is, which RFC 8259 allows.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::Object;

    #[test]
    fn fields_in_order_with_strings_escaped() {
        let mut inner = Object::new();
        inner.uint("n", 1);
        let text = Object::new()
            .string("s", "a \"q\" \\ \n\t\u{1}é")
            .uint("u", 18_446_744_073_709_551_615)
            .int("i", -3)
            .fixed("f", 1.23456, 3)
            .fixed("nan", f64::NAN, 3)
            .objects("a", &[inner.clone(), inner])
            .objects("e", &[])
            .to_json();
        assert_eq!(
            text,
            r#"{"s":"a \"q\" \\ \n\t\u0001é","u":18446744073709551615,"i":-3,"f":1.235,"nan":null,"a":[{"n":1},{"n":1}],"e":[]}"#
        );
    }

    #[test]
    fn an_empty_object_is_braces() {
        assert_eq!(Object::new().to_json(), "{}");
    }
}
