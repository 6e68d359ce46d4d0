//! The bash completion, run: what it offers after `-`, after options, and for values.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{root, Program};

/// `s` as one shell word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A fresh empty directory of this test process.
pub(crate) fn scratch_dir() -> PathBuf {
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

pub(crate) fn check_bash(program: &Program, file: &Path) -> Vec<String> {
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
