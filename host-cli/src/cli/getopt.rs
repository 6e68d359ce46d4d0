//! Command-line parsing with the conventions of C's `getopt_long`, which udpcast uses and
//! scripts such as Clonezilla's and FOG's rely on: clustered short options (`-kf x`), values
//! attached or separate (`-fx`, `--file=x`, `--file x`), and long options abbreviated to
//! any unambiguous prefix (`--mcast-all-addr` for `--mcast-all-address`).

use std::fmt;

/// Whether an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A flag.
    None,
    /// Takes a value.
    Required,
}

/// One option: an identifier shared by all its spellings, its long names and short letter.
#[derive(Clone, Copy, Debug)]
pub struct Spec<Id: 'static> {
    /// What the option means.
    pub id: Id,
    /// Long names, all equivalent (aliases and obsolete spellings).
    pub long: &'static [&'static str],
    /// Short letter, if any.
    pub short: Option<char>,
    /// Whether it takes a value.
    pub arg: Arg,
}

/// A parsed command line, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<Id> {
    /// An option, with its value if it takes one.
    Opt(Id, Option<String>),
    /// An argument that is not an option.
    Positional(String),
}

/// A command line that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// No such option.
    Unknown(String),
    /// An abbreviation that fits several options.
    Ambiguous(String, Vec<&'static str>),
    /// An option that takes a value came last.
    MissingValue(String),
    /// A flag was given a value (`--nokbd=1`).
    UnexpectedValue(String),
    /// A value that does not make sense for its option.
    BadValue(String, String),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Unknown(o) => write!(f, "unrecognized option '{o}'"),
            UsageError::Ambiguous(o, c) => {
                write!(f, "option '{o}' is ambiguous; possibilities:")?;
                c.iter().try_for_each(|n| write!(f, " '--{n}'"))
            }
            UsageError::MissingValue(o) => write!(f, "option '{o}' requires an argument"),
            UsageError::UnexpectedValue(o) => write!(f, "option '{o}' doesn't allow an argument"),
            UsageError::BadValue(o, v) => write!(f, "invalid value '{v}' for option '{o}'"),
        }
    }
}

impl std::error::Error for UsageError {}

/// Parses `args` (without the program name) against `specs`.
pub fn parse<Id: Copy + PartialEq>(
    specs: &[Spec<Id>],
    args: impl IntoIterator<Item = String>,
) -> Result<Vec<Item<Id>>, UsageError> {
    let mut items = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            items.extend(args.by_ref().map(Item::Positional));
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let spec = find_long(specs, name, &arg)?;
            let value = match (spec.arg, attached) {
                (Arg::None, Some(_)) => return Err(UsageError::UnexpectedValue(arg)),
                (Arg::None, None) => None,
                (Arg::Required, Some(v)) => Some(v),
                (Arg::Required, None) => Some(args.next().ok_or(UsageError::MissingValue(arg))?),
            };
            items.push(Item::Opt(spec.id, value));
        } else if arg.len() > 1 && arg.starts_with('-') {
            let letters: Vec<char> = arg[1..].chars().collect();
            for (i, &letter) in letters.iter().enumerate() {
                let spec = specs
                    .iter()
                    .find(|s| s.short == Some(letter))
                    .ok_or_else(|| UsageError::Unknown(format!("-{letter}")))?;
                if spec.arg == Arg::None {
                    items.push(Item::Opt(spec.id, None));
                    continue;
                }
                let rest: String = letters[i + 1..].iter().collect();
                let value = if rest.is_empty() {
                    args.next()
                        .ok_or_else(|| UsageError::MissingValue(format!("-{letter}")))?
                } else {
                    rest
                };
                items.push(Item::Opt(spec.id, Some(value)));
                break;
            }
        } else {
            items.push(Item::Positional(arg));
        }
    }
    Ok(items)
}

/// An option as users spell it, without what it means: the part of an option table that
/// the manual pages and shell completions repeat, public so that a test
/// (`host-cli/tests/docs_match_options.rs`) can hold them to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names {
    /// Long names, the first being the one documentation leads with.
    pub long: &'static [&'static str],
    /// Short letter, if any.
    pub short: Option<char>,
    /// Whether it takes a value.
    pub takes_value: bool,
}

/// The spellings of every option of `specs`, in table order.
pub fn names<Id>(specs: &[Spec<Id>]) -> Vec<Names> {
    specs
        .iter()
        .map(|s| Names {
            long: s.long,
            short: s.short,
            takes_value: s.arg == Arg::Required,
        })
        .collect()
}

/// How error messages name option `id`: `--` and its first long name.
pub fn display_name<Id: PartialEq>(specs: &[Spec<Id>], id: Id) -> String {
    let name = specs.iter().find(|s| s.id == id).map_or("", |s| s.long[0]);
    format!("--{name}")
}

/// The option called `name` exactly, or else the one option all names starting with
/// `name` belong to.
fn find_long<'a, Id: Copy + PartialEq>(
    specs: &'a [Spec<Id>],
    name: &str,
    arg: &str,
) -> Result<&'a Spec<Id>, UsageError> {
    if let Some(spec) = specs.iter().find(|s| s.long.contains(&name)) {
        return Ok(spec);
    }
    if name.is_empty() {
        return Err(UsageError::Unknown(arg.to_string()));
    }
    let mut found: Option<&Spec<Id>> = None;
    let mut candidates = Vec::new();
    for spec in specs {
        for long in spec.long.iter().filter(|l| l.starts_with(name)) {
            candidates.push(*long);
            found = match found {
                // Several spellings of one option are no ambiguity.
                Some(f) if f.id != spec.id => {
                    return Err(UsageError::Ambiguous(
                        arg.to_string(),
                        ambiguous(specs, name),
                    ))
                }
                _ => Some(spec),
            };
        }
    }
    found.ok_or_else(|| UsageError::Unknown(arg.to_string()))
}

fn ambiguous<Id>(specs: &[Spec<Id>], name: &str) -> Vec<&'static str> {
    specs
        .iter()
        .flat_map(|s| s.long.iter().copied())
        .filter(|l| l.starts_with(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum O {
        File,
        Rdv,
        Data,
        Nokbd,
        Port,
    }

    const SPECS: &[Spec<O>] = &[
        Spec {
            id: O::File,
            long: &["file"],
            short: Some('f'),
            arg: Arg::Required,
        },
        Spec {
            id: O::Rdv,
            long: &["mcast-rdv-address", "mcast-all-address"],
            short: Some('M'),
            arg: Arg::Required,
        },
        Spec {
            id: O::Data,
            long: &["mcast-data-address", "mcast-address"],
            short: Some('m'),
            arg: Arg::Required,
        },
        Spec {
            id: O::Nokbd,
            long: &["nokbd"],
            short: Some('k'),
            arg: Arg::None,
        },
        Spec {
            id: O::Port,
            long: &["portbase", "port"],
            short: Some('P'),
            arg: Arg::Required,
        },
    ];

    fn p(args: &[&str]) -> Result<Vec<Item<O>>, UsageError> {
        parse(SPECS, args.iter().map(|s| s.to_string()))
    }

    fn opt(id: O, v: &str) -> Item<O> {
        Item::Opt(id, Some(v.to_string()))
    }

    #[test]
    fn unique_prefixes_abbreviate_long_options() {
        assert_eq!(
            p(&["--mcast-all-addr", "1.2.3.4"]),
            Ok(vec![opt(O::Rdv, "1.2.3.4")])
        );
        assert_eq!(p(&["--nok"]), Ok(vec![Item::Opt(O::Nokbd, None)]));
        assert_eq!(p(&["--mcast-d=x"]), Ok(vec![opt(O::Data, "x")]));
    }

    #[test]
    fn an_exact_name_wins_over_longer_names_it_prefixes() {
        assert_eq!(p(&["--port", "9"]), Ok(vec![opt(O::Port, "9")]));
    }

    #[test]
    fn a_prefix_of_several_options_is_ambiguous() {
        assert!(matches!(
            p(&["--mcast-a", "x"]),
            Err(UsageError::Ambiguous(..))
        ));
    }

    #[test]
    fn short_options_cluster_and_take_attached_values() {
        assert_eq!(
            p(&["-kfout", "-P", "9"]),
            Ok(vec![
                Item::Opt(O::Nokbd, None),
                opt(O::File, "out"),
                opt(O::Port, "9")
            ])
        );
    }

    #[test]
    fn misuse_is_an_error() {
        assert_eq!(p(&["--bogus"]), Err(UsageError::Unknown("--bogus".into())));
        assert_eq!(
            p(&["--file"]),
            Err(UsageError::MissingValue("--file".into()))
        );
        assert_eq!(
            p(&["--nokbd=1"]),
            Err(UsageError::UnexpectedValue("--nokbd=1".into()))
        );
        assert_eq!(p(&["-q"]), Err(UsageError::Unknown("-q".into())));
    }

    #[test]
    fn positionals_and_double_dash() {
        assert_eq!(
            p(&["img", "--", "--file"]),
            Ok(vec![
                Item::Positional("img".into()),
                Item::Positional("--file".into())
            ])
        );
    }
}
