//! Words of the documentation: roff as plain text, option names in text, and the checks of
//! one entry and of coverage that the man page and zsh checks share.

use std::collections::BTreeSet;

use crate::Program;

/// Roff source as plain text: `\-` is a hyphen, `\(lq`/`\(rq` are double quotes, and
/// font changes and other zero-width escapes vanish.
pub(crate) fn unroff(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some('f') => {
                if chars.next() == Some('(') {
                    chars.next();
                    chars.next();
                }
            }
            Some('(') => {
                let name: String = chars.by_ref().take(2).collect();
                out.push(if matches!(name.as_str(), "lq" | "rq" | "dq") {
                    '"'
                } else {
                    ' '
                });
            }
            Some('&' | 'c' | '|' | '^' | '%') | None => {}
            Some(other) => out.push(other),
        }
    }
    out
}

/// `text` without what stands between double quotes.
pub(crate) fn unquoted(text: &str) -> String {
    text.split('"').step_by(2).collect()
}

/// The option names in `text` (`--long-name`, `-x`), each with the byte offset just after
/// it. A name starts a word (`udp-sender` holds none); a short one is one letter or digit
/// (`-kf` and `-P9000` are not taken for names).
pub(crate) fn option_words(text: &str) -> Vec<(String, usize)> {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i] == b'-' && (i == 0 || !(word(b[i - 1]) || b[i - 1] == b'-'));
        if !starts {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_some_and(u8::is_ascii_alphabetic) {
            let mut j = i + 2;
            while j < b.len() && (word(b[j]) || b[j] == b'-') {
                j += 1;
            }
            found.push((text[i..j].to_string(), j));
            i = j;
        } else if b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
            && !b.get(i + 2).is_some_and(|&c| word(c) || c == b'-')
        {
            found.push((text[i..i + 2].to_string(), i + 2));
            i += 2;
        } else {
            i += 1;
        }
    }
    found
}

/// Problems with one entry (a man page tag, a zsh spec) that names `names` and shows a
/// value when `marks_value`; counts the entry for the option it documents.
pub(crate) fn check_entry(
    program: &Program,
    place: &str,
    names: &BTreeSet<String>,
    marks_value: bool,
    documented: &mut [usize],
) -> Vec<String> {
    let Some(first) = names.iter().next() else {
        return vec![format!("{place}: names no option")];
    };
    let Some((index, opt)) = names.iter().find_map(|n| program.option_of(n)) else {
        return vec![format!("{place}: {first} is no option of {}", program.name)];
    };
    documented[index] += 1;
    let mut problems = Vec::new();
    let expected: BTreeSet<String> = opt.spellings.iter().cloned().collect();
    if *names != expected {
        problems.push(format!(
            "{place}: names {names:?}, but the spellings of --{} are {expected:?}",
            opt.primary
        ));
    }
    if marks_value != opt.takes_value {
        let what = if opt.takes_value { "takes" } else { "takes no" };
        problems.push(format!(
            "{place}: --{} {what} value, which the entry does not show",
            opt.primary
        ));
    }
    problems
}

/// Every option without an entry, and every option with several.
pub(crate) fn coverage(program: &Program, documented: &[usize], what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (opt, &count) in program.options.iter().zip(documented) {
        match count {
            1 => {}
            0 => problems.push(format!(
                "{what}: {} has no entry ({})",
                opt.spellings.join(", "),
                program.name
            )),
            n => problems.push(format!("{what}: --{} has {n} entries", opt.primary)),
        }
    }
    problems
}
