//! The zsh completion's `_arguments` specs against the option table.

use crate::words::{check_entry, coverage, option_words};
use crate::Program;

pub(crate) fn check_zsh(program: &Program, script: &str) -> Vec<String> {
    let what = format!("completions/zsh/_{}", program.name);
    let mut problems = Vec::new();
    if script.lines().next() != Some(format!("#compdef {}", program.name).as_str()) {
        problems.push(format!(
            "{what}: the first line is not `#compdef {}`",
            program.name
        ));
    }
    let known = program.known();
    let mut documented = vec![0; program.options.len()];
    for (n, line) in script.lines().enumerate() {
        let spec = line.trim_start();
        if !(spec.starts_with('\'') || spec.starts_with('{')) {
            continue;
        }
        let place = format!("{what}:{}", n + 1);
        for (name, _) in option_words(spec) {
            if !known.contains(&name) {
                problems.push(format!("{place}: {name} is no option of {}", program.name));
            }
        }
        // The spellings: what precedes the description, less the exclusion lists.
        let head = spec.split('[').next().unwrap_or("");
        let mut spellings = String::new();
        let mut depth = 0;
        for c in head.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => spellings.push(c),
                _ => {}
            }
        }
        let words = option_words(&spellings);
        if words.is_empty() {
            continue; // an argument spec such as '1:file:_files'
        }
        let marked = |&(_, end): &(String, usize)| {
            matches!(spellings.as_bytes().get(end), Some(b'=' | b'+'))
        };
        let marks_value = words.iter().all(marked);
        if !marks_value && words.iter().any(marked) {
            problems.push(format!(
                "{place}: only some spellings are marked as taking a value"
            ));
        }
        let names = words.into_iter().map(|(name, _)| name).collect();
        problems.extend(check_entry(
            program,
            &place,
            &names,
            marks_value,
            &mut documented,
        ));
    }
    problems.extend(coverage(program, &documented, &what));
    problems
}
