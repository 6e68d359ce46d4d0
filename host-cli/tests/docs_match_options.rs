//! The manual pages (`doc/man/<program>.1`) and shell completions
//! (`completions/bash/<program>`, `completions/zsh/_<program>`) of `udp-sender`,
//! `udp-receiver` and `udpcast-tiny-receiver` are written by hand; these tests hold them to
//! the option tables the programs really parse, so that neither can drift from the other.
//!
//! For each program, against its table (every long name, alias and short letter, and
//! whether the option takes a value):
//!
//! * man page: in OPTIONS, every `.TP` tag names all the spellings of exactly one option,
//!   with an italic argument (`\fI`) exactly when it takes one; every option has a tag; no
//!   line of the page names an option the parser does not know, except inside double
//!   quotes (`"gzip -c"`, `\(lq…\(rq`), which hold other commands' words;
//! * bash: the file passes `bash -n` and is run: completing `-` must offer exactly the
//!   table's spellings, completing after a value-taking spelling must offer no option and
//!   after a flag must offer options, and the values of `--file`, `--log`, `--pid-file`
//!   (files), `--interface` (interfaces) and `--pipe` (commands) are completed;
//! * zsh: the file passes `zsh -n` when zsh is installed; each `_arguments` spec line
//!   (a line beginning with `'` or `{`) names, outside its parenthesised exclusion list,
//!   all the spellings of exactly one option, each followed by `=` or `+` exactly when the
//!   option takes a value; every option has a spec; no spec line names an unknown option.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use udpcast_cli::cli::getopt::Names;
use udpcast_cli::cli::{receiver_args, sender_args};

/// One option as the documentation must show it.
#[derive(Clone, Debug)]
struct Opt {
    /// Its first long name, without dashes: how the tests below pick options out.
    primary: String,
    /// Every spelling as typed: `--file`, `-f`.
    spellings: Vec<String>,
    takes_value: bool,
}

/// A program and its option table.
struct Program {
    name: &'static str,
    options: Vec<Opt>,
}

impl Program {
    fn from_names(name: &'static str, names: Vec<Names>) -> Program {
        let options = names
            .into_iter()
            .map(|n| Opt {
                primary: n.long[0].to_string(),
                spellings: n
                    .long
                    .iter()
                    .map(|l| format!("--{l}"))
                    .chain(n.short.map(|c| format!("-{c}")))
                    .collect(),
                takes_value: n.takes_value,
            })
            .collect();
        Program { name, options }
    }

    fn known(&self) -> BTreeSet<String> {
        self.options
            .iter()
            .flat_map(|o| o.spellings.iter().cloned())
            .collect()
    }

    fn option_of(&self, spelling: &str) -> Option<(usize, &Opt)> {
        self.options
            .iter()
            .enumerate()
            .find(|(_, o)| o.spellings.iter().any(|s| s == spelling))
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sender() -> Program {
    Program::from_names("udp-sender", sender_args::option_names())
}

fn receiver() -> Program {
    Program::from_names("udp-receiver", receiver_args::option_names())
}

/// The tiny receiver's options, read from `ffi/examples/tiny-receiver.c` by a text scan.
/// The format relied on: the table begins after the line containing `options[] = {` and
/// ends at the next line that is `};`; every line in between is one entry
/// `{ "long-name", 'x' or 0, OP_ID, A_KIND, min, max },`. Entries with the same `OP_ID`
/// are spellings of one option (the C parser acts on the id), the letter of any of them
/// is the option's short letter, and `A_NONE` means that it takes no value. A line that
/// does not fit fails the test, so that a change of format is noticed, not skipped.
fn tiny_receiver() -> Program {
    let source = read("ffi/examples/tiny-receiver.c");
    let mut lines = source.lines().map(str::trim);
    lines
        .by_ref()
        .find(|l| l.contains("options[] = {"))
        .expect("tiny-receiver.c: no line with `options[] = {`");
    let mut options: Vec<(String, Opt)> = Vec::new();
    for line in lines.take_while(|l| *l != "};") {
        let entry = line
            .strip_prefix('{')
            .and_then(|l| l.strip_suffix("},"))
            .unwrap_or_else(|| panic!("tiny-receiver.c option table: cannot read `{line}`"));
        let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
        let (name, letter, id, arg) = match fields[..] {
            [name, letter, id, arg, _, _] => (name, letter, id, arg),
            _ => panic!("tiny-receiver.c option table: not 6 fields in `{line}`"),
        };
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or_else(|| panic!("tiny-receiver.c option table: unquoted name in `{line}`"));
        let letter = match letter.as_bytes() {
            [b'\'', c, b'\''] => Some(char::from(*c)),
            b"0" => None,
            _ => panic!("tiny-receiver.c option table: bad letter in `{line}`"),
        };
        let index = match options.iter().position(|(i, _)| i == id) {
            Some(index) => index,
            None => {
                options.push((
                    id.to_string(),
                    Opt {
                        primary: name.to_string(),
                        spellings: Vec::new(),
                        takes_value: arg != "A_NONE",
                    },
                ));
                options.len() - 1
            }
        };
        let opt = &mut options[index].1;
        assert_eq!(
            opt.takes_value,
            arg != "A_NONE",
            "tiny-receiver.c: spellings of {id} disagree on taking a value"
        );
        opt.spellings.push(format!("--{name}"));
        opt.spellings.extend(letter.map(|c| format!("-{c}")));
    }
    assert!(
        options.len() >= 10,
        "tiny-receiver.c: only {} options read from the table",
        options.len()
    );
    Program {
        name: "udpcast-tiny-receiver",
        options: options.into_iter().map(|(_, o)| o).collect(),
    }
}

// ---- words ---------------------------------------------------------------------------

/// Roff source as plain text: `\-` is a hyphen, `\(lq`/`\(rq` are double quotes, and
/// font changes and other zero-width escapes vanish.
fn unroff(line: &str) -> String {
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
fn unquoted(text: &str) -> String {
    text.split('"').step_by(2).collect()
}

/// The option names in `text` (`--long-name`, `-x`), each with the byte offset just after
/// it. A name starts a word (`udp-sender` holds none); a short one is one letter or digit
/// (`-kf` and `-P9000` are not taken for names).
fn option_words(text: &str) -> Vec<(String, usize)> {
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
fn check_entry(
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
fn coverage(program: &Program, documented: &[usize], what: &str) -> Vec<String> {
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

// ---- man pages -----------------------------------------------------------------------

fn check_man(program: &Program, page: &str) -> Vec<String> {
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

// ---- zsh -----------------------------------------------------------------------------

fn check_zsh(program: &Program, script: &str) -> Vec<String> {
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

// ---- bash ----------------------------------------------------------------------------

/// `s` as one shell word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A fresh empty directory of this test process.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "udpcast-docs-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Sources the bash completion `file` and completes each of `queries` (the words of a
/// command line, the last being the one completed) in an empty directory holding only
/// `disk.img`, as bash would on TAB; returns what it offered for each.
fn complete_bash(program: &str, file: &Path, queries: &[Vec<String>]) -> Vec<Vec<String>> {
    let dir = scratch_dir();
    std::fs::write(dir.join("disk.img"), b"").expect("scratch file");
    let mut script = format!(
        "cd {} || exit 2\n\
         source {} || exit 2\n\
         spec=$(complete -p {}) || exit 3\n\
         read -ra w <<<\"$spec\"\n\
         for ((i = 0; i < ${{#w[@]}}; i++)); do [[ ${{w[i]}} == -F ]] && fn=${{w[i+1]}}; done\n\
         [[ -n ${{fn-}} ]] || exit 4\n\
         q() {{ COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\"; \
         COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); \
         \"$fn\" \"$1\" \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '@@\\n'; printf '%s\\n' \"${{COMPREPLY[@]}}\"; }}\n",
        sh_quote(&dir.to_string_lossy()),
        sh_quote(&file.to_string_lossy()),
        sh_quote(program),
    );
    for words in queries {
        let words: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
        script.push_str(&format!("q {}\n", words.join(" ")));
    }
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &script])
        .output()
        .expect("bash is needed to check the bash completions");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}: running it failed ({}): {}",
        file.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut replies: Vec<Vec<String>> = Vec::new();
    for line in stdout.lines() {
        match (line, replies.last_mut()) {
            ("@@", _) => replies.push(Vec::new()),
            ("", _) => {}
            (word, Some(reply)) => reply.push(word.to_string()),
            (word, None) => panic!("{}: printed `{word}`", file.display()),
        }
    }
    assert_eq!(replies.len(), queries.len(), "{}: replies", file.display());
    replies
}

fn check_bash(program: &Program, file: &Path) -> Vec<String> {
    let what = file
        .strip_prefix(root())
        .unwrap_or(file)
        .display()
        .to_string();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(file)
        .output()
        .expect("bash is needed to check the bash completions");
    if !syntax.status.success() {
        return vec![format!(
            "{what}: bash -n: {}",
            String::from_utf8_lossy(&syntax.stderr)
        )];
    }
    let known = program.known();
    let line = |words: &[&str]| -> Vec<String> {
        std::iter::once(program.name)
            .chain(words.iter().copied())
            .map(str::to_string)
            .collect()
    };
    // What each query expects of the reply.
    enum Expect {
        AllOptions,
        Options,
        NoOption,
        Offers(&'static str),
    }
    let mut queries = vec![(line(&["-"]), Expect::AllOptions)];
    for opt in &program.options {
        for s in &opt.spellings {
            let expect = if opt.takes_value {
                Expect::NoOption
            } else {
                Expect::Options
            };
            queries.push((line(&[s, "-"]), expect));
            let value = match opt.primary.as_str() {
                "file" | "log" | "pid-file" => Some(("", "disk.img")),
                "interface" if Path::new("/sys/class/net/lo").exists() => Some(("", "lo")),
                "pipe" => Some(("s", "sh")),
                _ => None,
            };
            if let Some((typed, offered)) = value {
                queries.push((line(&[s, typed]), Expect::Offers(offered)));
                if s.starts_with("--") {
                    // `--file=di`, as bash splits it.
                    queries.push((line(&[s, "=", typed]), Expect::Offers(offered)));
                }
            }
        }
    }
    // A bundle of short letters whose last one takes a file: `-kf`.
    let flag = program
        .options
        .iter()
        .filter(|o| !o.takes_value)
        .find_map(|o| o.spellings.iter().find(|s| s.len() == 2));
    if let (Some(flag), Some(file_opt)) = (flag, program.option_of("--file")) {
        if let Some(letter) = file_opt.1.spellings.iter().find(|s| s.len() == 2) {
            let bundle = format!("{flag}{}", &letter[1..]);
            queries.push((line(&[&bundle, ""]), Expect::Offers("disk.img")));
        }
    }
    let words: Vec<Vec<String>> = queries.iter().map(|(w, _)| w.clone()).collect();
    let replies = complete_bash(program.name, file, &words);
    let mut problems = Vec::new();
    for ((words, expect), reply) in queries.iter().zip(replies) {
        let typed = words[1..].join(" ");
        let offered: BTreeSet<String> = reply.into_iter().collect();
        let options: BTreeSet<&String> = offered.intersection(&known).collect();
        match expect {
            Expect::AllOptions => {
                for missing in known.difference(&offered) {
                    problems.push(format!("{what}: `{typed}` does not offer {missing}"));
                }
                for extra in offered.difference(&known) {
                    problems.push(format!(
                        "{what}: `{typed}` offers {extra}, no option of {}",
                        program.name
                    ));
                }
            }
            Expect::Options if options.is_empty() => problems.push(format!(
                "{what}: `{typed}` offers no option, as if {} took a value",
                words[1]
            )),
            Expect::NoOption if !options.is_empty() => problems.push(format!(
                "{what}: `{typed}` offers options, but {} takes a value",
                words[1]
            )),
            Expect::Offers(value) if !offered.contains(*value) => problems.push(format!(
                "{what}: `{typed}` does not offer {value} ({offered:?})"
            )),
            _ => {}
        }
    }
    problems
}

// ---- the programs --------------------------------------------------------------------

fn check_program(program: &Program) {
    let mut problems = check_man(program, &read(&format!("doc/man/{}.1", program.name)));
    problems.extend(check_zsh(
        program,
        &read(&format!("completions/zsh/_{}", program.name)),
    ));
    problems.extend(check_bash(
        program,
        &root().join("completions/bash").join(program.name),
    ));
    assert!(
        problems.is_empty(),
        "the documentation of {} differs from its option table:\n  {}",
        program.name,
        problems.join("\n  ")
    );
}

#[test]
fn udp_sender_docs_match_its_option_table() {
    check_program(&sender());
}

#[test]
fn udp_receiver_docs_match_its_option_table() {
    check_program(&receiver());
}

#[test]
fn tiny_receiver_docs_match_its_option_table() {
    let tiny = tiny_receiver();
    // The scan found what the C parser has: aliases grouped, letters and values kept.
    let port = tiny.option_of("--port").expect("--port").1;
    assert_eq!(port.spellings, ["--portbase", "-P", "--port"]);
    assert!(port.takes_value);
    assert!(!tiny.option_of("--nokbd").expect("--nokbd").1.takes_value);
    check_program(&tiny);
}

#[test]
fn zsh_completions_parse() {
    if Command::new("zsh").arg("-fc").arg("true").output().is_err() {
        eprintln!("SKIPPED: zsh is not installed; zsh -n not run on completions/zsh/*");
        return;
    }
    for program in ["udp-sender", "udp-receiver", "udpcast-tiny-receiver"] {
        let file = root().join("completions/zsh").join(format!("_{program}"));
        let out = Command::new("zsh")
            .arg("-n")
            .arg(&file)
            .output()
            .expect("zsh");
        assert!(
            out.status.success(),
            "zsh -n {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The checks are not vacuous: each notices an option left out, and one it does not know.
#[test]
fn the_checks_notice_a_missing_or_unknown_option() {
    let program = sender();
    let mentions = |problems: &[String], name: &str| problems.iter().any(|p| p.contains(name));

    let page = read("doc/man/udp-sender.1");
    let tag = "\\fB\\-k\\fR, \\fB\\-\\-nokbd\\fR";
    assert!(page.contains(&format!(".TP\n{tag}\n")));
    let without = page.replace(&format!(".TP\n{tag}\n"), "");
    assert!(mentions(&check_man(&program, &without), "--nokbd"));
    let bogus = page.replace(".SH EXAMPLES", ".SH EXAMPLES\n\\fB\\-\\-bogus\\fR");
    assert!(mentions(&check_man(&program, &bogus), "--bogus"));
    let flag_with_value = page.replace(&format!("{tag}\n"), &format!("{tag} \\fIn\\fR\n"));
    assert!(mentions(
        &check_man(&program, &flag_with_value),
        "--nokbd takes no value"
    ));

    let zsh = read("completions/zsh/_udp-sender");
    let without: String = zsh
        .lines()
        .filter(|l| !l.contains("--nokbd}"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(mentions(&check_zsh(&program, &without), "--nokbd"));
    let unmarked = zsh.replace("--file=}", "--file}");
    assert!(mentions(&check_zsh(&program, &unmarked), "--file"));

    let bash = read("completions/bash/udp-sender");
    assert!(bash.contains("-k --nokbd"));
    let dir = scratch_dir();
    let file = dir.join("udp-sender");
    std::fs::write(&file, bash.replace("-k --nokbd", "--bogus")).expect("write");
    let problems = check_bash(&program, &file);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        mentions(&problems, "does not offer --nokbd"),
        "{problems:?}"
    );
    assert!(mentions(&problems, "offers --bogus"), "{problems:?}");
}
