//! The man page's OPTIONS against the option table.

use crate::words::{check_entry, coverage, option_words, unquoted, unroff};
use crate::Program;

pub(crate) fn check_man(program: &Program, page: &str) -> Vec<String> {
    let what = format!("doc/man/{}.1", program.name);
    let lines: Vec<&str> = page.lines().collect();
    let mut problems = Vec::new();
    let version = format!("udpcast-rs {}", env!("CARGO_PKG_VERSION"));
    match lines.iter().find(|l| l.starts_with(".TH ")) {
        Some(th) if unroff(th).contains(&version) => {}
        _ => problems.push(format!("{what}: the .TH line does not say {version}")),
    }
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        if !lines.contains(&format!(".SH {section}").as_str()) {
            problems.push(format!("{what}: no .SH {section}"));
        }
    }
    let known = program.known();
    for (n, line) in lines.iter().enumerate() {
        if line.starts_with(".\\\"") {
            continue;
        }
        for (name, _) in option_words(&unquoted(&unroff(line))) {
            if !known.contains(&name) {
                problems.push(format!(
                    "{what}:{}: {name} is no option of {}",
                    n + 1,
                    program.name
                ));
            }
        }
    }
    let start = lines
        .iter()
        .position(|l| *l == ".SH OPTIONS")
        .map_or(lines.len(), |p| p + 1);
    let end = lines[start..]
        .iter()
        .position(|l| l.starts_with(".SH "))
        .map_or(lines.len(), |p| start + p);
    let mut documented = vec![0; program.options.len()];
    for n in (start..end).filter(|&n| lines[n] == ".TP") {
        let tag = lines.get(n + 1).copied().unwrap_or("");
        let names = option_words(&unroff(tag))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let place = format!("{what}:{} (OPTIONS tag `{tag}`)", n + 2);
        problems.extend(check_entry(
            program,
            &place,
            &names,
            tag.contains("\\fI"),
            &mut documented,
        ));
    }
    problems.extend(coverage(program, &documented, &format!("{what} OPTIONS")));
    problems
}
