//! The order to import log files in: each rotation family oldest first.

use std::cmp::Reverse;
use std::path::{Path, PathBuf};

/// Where a file stands in its rotation family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// `auth.log.N` or `auth.log.N.gz` (logrotate's default): a larger N is older.
    Numbered(Reverse<u64>),
    /// `auth.log-20261120` or `auth.log-20261120.gz` (logrotate's `dateext`): a smaller
    /// date is older.
    Dated(u64),
    /// The live file.
    Live,
}

/// A file's family (directory and base name) and its age in it.
fn family_and_age(path: &Path) -> (PathBuf, Age) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bare = name.strip_suffix(".gz").unwrap_or(&name);
    let numbered = bare
        .rsplit_once('.')
        .and_then(|(base, n)| Some((base, n.parse::<u64>().ok()?)));
    let dated = bare
        .rsplit_once('-')
        .filter(|(_, d)| d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(base, d)| Some((base, d.parse::<u64>().ok()?)));
    let (base, age) = match (numbered, dated) {
        (Some((base, n)), _) => (base, Age::Numbered(Reverse(n))),
        (None, Some((base, d))) => (base, Age::Dated(d)),
        (None, None) => (bare, Age::Live),
    };
    (path.with_file_name(base), age)
}

/// The files in import order: families in the order they were first named, each family
/// oldest first (`auth.log.3.gz`, `auth.log.2.gz`, `auth.log.1`, `auth.log`). A file named
/// twice is imported once.
pub fn import_order(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut families: Vec<PathBuf> = Vec::new();
    let mut keyed = Vec::new();
    for file in files {
        let (family, age) = family_and_age(file);
        let rank = match families.iter().position(|f| *f == family) {
            Some(i) => i,
            None => {
                families.push(family);
                families.len() - 1
            }
        };
        keyed.push(((rank, age), file.clone()));
    }
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    keyed.into_iter().map(|(_, file)| file).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(names: &[&str]) -> Vec<String> {
        let files: Vec<PathBuf> = names.iter().map(PathBuf::from).collect();
        import_order(&files)
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn rotated_files_come_oldest_first_and_the_live_file_last() {
        assert_eq!(
            order(&[
                "/var/log/auth.log",
                "/var/log/auth.log.1",
                "/var/log/auth.log.10.gz",
                "/var/log/auth.log.2.gz",
            ]),
            [
                "/var/log/auth.log.10.gz",
                "/var/log/auth.log.2.gz",
                "/var/log/auth.log.1",
                "/var/log/auth.log",
            ]
        );
        assert_eq!(
            order(&["secure", "secure-20261115.gz", "secure-20261108"]),
            ["secure-20261108", "secure-20261115.gz", "secure"]
        );
    }

    #[test]
    fn families_keep_the_order_they_were_named_in() {
        assert_eq!(
            order(&[
                "b/auth.log",
                "a/auth.log.1",
                "b/auth.log.1",
                "a/auth.log",
                "b/auth.log"
            ]),
            ["b/auth.log.1", "b/auth.log", "a/auth.log.1", "a/auth.log"]
        );
    }

    #[test]
    fn odd_names_are_live_files_of_their_own() {
        assert_eq!(
            order(&["sshd.log", "auth-old.log", "x.gz"]),
            ["sshd.log", "auth-old.log", "x.gz"]
        );
    }
}
