//! Finding the programs a test needs, and skipping the test loudly (or failing it, under
//! `UDPCAST_REQUIRE_LAB`) when the lab or a program is missing.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::REQUIRE_ENV;

/// Whether [`REQUIRE_ENV`] asks for skips to be failures.
pub fn lab_required() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Reports that the calling test cannot run: a loud message on stderr, or a panic when
/// [`REQUIRE_ENV`] is set.
#[track_caller]
pub fn skip_or_fail(what: &str, reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed thread>")
        .to_owned();
    if lab_required() {
        panic!("{what}: {reason} (in {test}; {REQUIRE_ENV} is set, so this cannot be skipped)");
    }
    let bar = "!".repeat(78);
    let msg = format!(
        "\n{bar}\nSKIPPED: {what}: {reason}\n  test: {test}\n  \
         (set {REQUIRE_ENV}=1 to make this a failure)\n{bar}\n"
    );
    // Straight to file descriptor 2: libtest captures `eprintln!` of passing tests, and a
    // skipped test passes, so the macro would hide exactly the message that must be seen.
    let _ = io::stderr().lock().write_all(msg.as_bytes());
}

/// Our binary `name` (`udp-sender`, `udp-receiver`) of the build the running test belongs
/// to: next to the test executable's directory (`target/debug/deps/..`).
pub fn our_program(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable has no grandparent directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p udpcast-cli` first",
        path.display()
    );
    path
}

/// Where `name` would be executed from: `name` itself if it contains a `/`, otherwise the
/// first match in `PATH` or the usual system directories (`ip` and `nft` live in sbin,
/// which an unprivileged `PATH` often lacks).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = Path::new(name);
        return is_executable(path).then(|| path.to_path_buf());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let system = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path_var)
        .chain(system.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// [`find_program`], or skip the calling test loudly (fail under [`REQUIRE_ENV`]) when the
/// program is missing. Use it like `let Some(sender) = require_program("udp-sender") else { return };`.
#[track_caller]
pub fn require_program(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        skip_or_fail(
            "required program unavailable",
            &format!("`{name}` is not installed (not found in PATH or the system directories)"),
        );
    }
    found
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
