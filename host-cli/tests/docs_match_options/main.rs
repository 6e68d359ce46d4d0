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

mod bash;
mod man;
mod words;
mod zsh;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use udpcast_cli::cli::getopt::Names;
use udpcast_cli::cli::{receiver_args, sender_args};

use bash::{check_bash, scratch_dir};
use man::check_man;
use zsh::check_zsh;

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
