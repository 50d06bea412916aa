//! File drop: find the files of a `path` (a file, a folder or a glob), leave alone files that
//! are still being written, and fingerprint each by its content.

use crate::ConnectorError;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Rules for picking up files.
#[derive(Debug, Clone)]
pub struct FileRules {
    /// File name suffixes that mark a file still being written (`.part`, `.tmp`, …).
    pub ignore_suffixes: Vec<String>,
    /// Only these extensions (lower case, without dot) when scanning a folder; empty = all.
    pub extensions: Vec<String>,
    /// A file modified more recently than this is looked at twice, `settle` apart.
    pub min_age: Duration,
    /// How long to wait between the two looks at a file that is still young.
    pub settle: Duration,
}

impl Default for FileRules {
    fn default() -> Self {
        Self {
            ignore_suffixes: [".part", ".tmp", ".partial", ".crdownload", "~"]
                .map(String::from)
                .to_vec(),
            extensions: Vec::new(),
            min_age: Duration::from_secs(2),
            settle: Duration::from_millis(500),
        }
    }
}

/// The folder a connector's `path` reads from: the folder itself, a file's folder, or a glob's
/// longest folder without wildcards. Files whose real location (symlinks followed) is not
/// below it are refused.
pub fn inbox_root(base_dir: &Path, pattern: &str) -> PathBuf {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base_dir.join(pattern)
    };
    if pattern.contains(['*', '?', '[']) {
        let mut root = PathBuf::new();
        for c in full.components() {
            if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
                break;
            }
            root.push(c);
        }
        root
    } else if full.is_dir() {
        full
    } else {
        full.parent().map(Path::to_path_buf).unwrap_or(full)
    }
}

/// Refuses a file whose real location (symlinks followed) is not below `root`: the reason,
/// naming where it points. Nothing of the file is read.
pub fn ensure_inside(root: &Path, path: &Path) -> Result<(), String> {
    let root_real = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if real.starts_with(&root_real) {
        Ok(())
    } else {
        Err(format!(
            "{} points to {}, outside the inbox {}: refused, not read",
            path.display(),
            real.display(),
            root_real.display()
        ))
    }
}

/// Before a connector opens `path` (a unit of its `pattern`): a file that leaves the inbox is
/// a unit error (quarantined with the reason by the sync engine), never read.
pub fn check_open(
    base_dir: &Path,
    pattern: &str,
    path: &Path,
    label: &str,
) -> Result<(), ConnectorError> {
    ensure_inside(&inbox_root(base_dir, pattern), path).map_err(|reason| ConnectorError::Unit {
        position: crate::Position {
            source: label.into(),
            ..Default::default()
        },
        reason,
    })
}

/// A file ready to be read.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Where the file is.
    pub path: PathBuf,
    /// The path as shown to people (relative to the config folder when below it).
    pub label: String,
    /// Size in bytes.
    pub size: u64,
    /// Content fingerprint (BLAKE3, hex); for a refused file a hash of where it points.
    pub hash: String,
    /// Why the file is not read (a symlink leaving the inbox): the connector quarantines it
    /// with this reason when it is opened.
    pub refused: Option<String>,
    /// Last modification time.
    pub modified: Option<SystemTime>,
}

/// A file left alone this time, with the reason.
#[derive(Debug, Clone)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why it is left alone (still being written, too large, …).
    pub reason: String,
}

/// Lists the files matched by `pattern` (relative to `base_dir`), sorted by path.
pub fn discover(
    base_dir: &Path,
    pattern: &str,
    rules: &FileRules,
) -> Result<(Vec<FoundFile>, Vec<SkippedFile>), ConnectorError> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base_dir.join(pattern)
    };
    let mut candidates = Vec::new();
    let is_glob = pattern.contains(['*', '?', '[']);
    if is_glob {
        let pat = full.to_string_lossy().into_owned();
        let paths = glob::glob(&pat)
            .map_err(|e| ConnectorError::Config(format!("path `{pattern}`: {e}")))?;
        for entry in paths {
            let p = entry.map_err(|e| ConnectorError::io(pattern, e))?;
            if p.is_file() {
                candidates.push(p);
            }
        }
    } else if full.is_dir() {
        let rd = std::fs::read_dir(&full)
            .map_err(|e| ConnectorError::io(full.display().to_string(), e))?;
        for entry in rd {
            let p = entry
                .map_err(|e| ConnectorError::io(full.display().to_string(), e))?
                .path();
            if p.is_file() && extension_ok(&p, &rules.extensions) {
                candidates.push(p);
            }
        }
    } else if full.is_file() {
        candidates.push(full.clone());
    } else {
        return Err(ConnectorError::io(
            full.display().to_string(),
            "no such file or folder",
        ));
    }
    candidates.sort();

    let root = inbox_root(base_dir, pattern);
    let mut skipped = Vec::new();
    let mut looks = Vec::new();
    let mut found = Vec::new();
    for path in candidates {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if let Some(sfx) = rules
            .ignore_suffixes
            .iter()
            .find(|s| name.ends_with(s.as_str()))
        {
            skipped.push(SkippedFile {
                path,
                reason: format!("ends with `{sfx}`: still being written"),
            });
            continue;
        }
        if let Err(reason) = ensure_inside(&root, &path) {
            let target = std::fs::canonicalize(&path).unwrap_or_default();
            let hash = blake3::hash(
                format!("refused\0{}\0{}", path.display(), target.display()).as_bytes(),
            );
            found.push(FoundFile {
                label: label_for(base_dir, &path),
                path,
                size: 0,
                hash: hash.to_hex().to_string(),
                refused: Some(reason),
                modified: None,
            });
            continue;
        }
        let first = look(&path).map_err(|e| ConnectorError::io(path.display().to_string(), e))?;
        looks.push((path, first));
    }
    // Files modified a moment ago get a second look, once for all of them.
    let now = SystemTime::now();
    let young = |t: SystemTime| now.duration_since(t).unwrap_or(Duration::ZERO) < rules.min_age;
    if looks.iter().any(|(_, (_, t))| young(*t)) {
        std::thread::sleep(rules.settle);
    }
    for (path, first) in looks {
        let io = |e| ConnectorError::io(path.display().to_string(), e);
        if young(first.1) && look(&path).map_err(io)? != first {
            skipped.push(changing(path));
            continue;
        }
        let hash = hash_file(&path).map_err(io)?;
        if look(&path).map_err(io)? != first {
            skipped.push(changing(path));
            continue;
        }
        found.push(FoundFile {
            label: label_for(base_dir, &path),
            path,
            size: first.0,
            hash,
            refused: None,
            modified: Some(first.1),
        });
    }
    Ok((found, skipped))
}

fn changing(path: PathBuf) -> SkippedFile {
    SkippedFile {
        path,
        reason: "size or modification time changed between two looks: still being written".into(),
    }
}

fn extension_ok(path: &Path, exts: &[String]) -> bool {
    if exts.is_empty() {
        return true;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    exts.contains(&ext)
}

fn label_for(base_dir: &Path, path: &Path) -> String {
    path.strip_prefix(base_dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn look(path: &Path) -> std::io::Result<(u64, SystemTime)> {
    let md = std::fs::metadata(path)?;
    Ok((md.len(), md.modified()?))
}

/// BLAKE3 of a file's content, hex.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// Moves a processed file into `archive_dir` (created if missing). A name that exists there
/// already gets the first characters of the content hash appended.
pub fn archive(path: &Path, archive_dir: &Path, hash: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(archive_dir)?;
    let name = path.file_name().unwrap_or_default();
    let mut target = archive_dir.join(name);
    if target.exists() {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        target = archive_dir.join(format!("{stem}.{}{ext}", &hash[..hash.len().min(12)]));
    }
    if std::fs::rename(path, &target).is_err() {
        // Across file systems: copy, then remove.
        std::fs::copy(path, &target)?;
        std::fs::remove_file(path)?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> FileRules {
        FileRules {
            min_age: Duration::ZERO,
            ..FileRules::default()
        }
    }

    #[test]
    fn folder_glob_and_file_are_found_sorted_and_partials_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.csv"), "x").unwrap();
        std::fs::write(dir.path().join("a.csv"), "y").unwrap();
        std::fs::write(dir.path().join("c.csv.part"), "z").unwrap();
        std::fs::write(dir.path().join(".hidden"), "z").unwrap();
        let (found, skipped) = discover(dir.path(), ".", &rules()).unwrap();
        let names: Vec<_> = found.iter().map(|f| f.label.clone()).collect();
        assert_eq!(names, ["a.csv", "b.csv"]);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains(".part"));

        let (found, _) = discover(dir.path(), "*.csv", &rules()).unwrap();
        assert_eq!(found.len(), 2);
        let (found, _) = discover(dir.path(), "b.csv", &rules()).unwrap();
        assert_eq!(found[0].hash, hash_file(&dir.path().join("b.csv")).unwrap());
        assert!(discover(dir.path(), "missing.csv", &rules()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_leaving_the_inbox_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let secret = dir.path().join("secret.csv");
        std::fs::write(&secret, "geheim").unwrap();
        std::fs::write(inbox.join("a.csv"), "x").unwrap();
        std::os::unix::fs::symlink(&secret, inbox.join("b.csv")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", inbox.join("c.csv")).unwrap();
        std::os::unix::fs::symlink(inbox.join("a.csv"), inbox.join("d.csv")).unwrap();
        for pattern in ["inbox", "inbox/*.csv"] {
            let (found, _) = discover(dir.path(), pattern, &rules()).unwrap();
            let refused: Vec<_> = found.iter().filter(|f| f.refused.is_some()).collect();
            assert_eq!(refused.len(), 2, "{found:?}");
            assert!(
                refused
                    .iter()
                    .all(|f| f.hash != hash_file(&f.path).unwrap())
            );
            assert!(refused[1].refused.as_ref().unwrap().contains("/etc/passwd"));
            // A link that stays inside is read.
            assert!(
                found
                    .iter()
                    .any(|f| f.label.ends_with("d.csv") && f.refused.is_none())
            );
        }
    }

    #[test]
    fn fresh_file_is_looked_at_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        std::fs::write(&p, "1").unwrap();
        let r = FileRules {
            min_age: Duration::from_secs(60),
            settle: Duration::from_millis(300),
            ..FileRules::default()
        };
        let p2 = p.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(&p2, "12345").unwrap();
        });
        let (found, skipped) = discover(dir.path(), ".", &r).unwrap();
        writer.join().unwrap();
        assert!(found.is_empty());
        assert_eq!(skipped.len(), 1);
    }

    #[test]
    fn archive_keeps_both_on_name_clash() {
        let dir = tempfile::tempdir().unwrap();
        let arch = dir.path().join("archive");
        for content in ["a", "b"] {
            let p = dir.path().join("x.csv");
            std::fs::write(&p, content).unwrap();
            let h = hash_file(&p).unwrap();
            archive(&p, &arch, &h).unwrap();
            assert!(!p.exists());
        }
        assert_eq!(std::fs::read_dir(&arch).unwrap().count(), 2);
    }
}

/// Where reading a file unit stands: how many records of it are committed. The engine keeps it
/// as the unit's checkpoint position (`{"records": N}`) and hands it back on resume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePosition {
    /// Records of the file committed so far.
    pub records: u64,
}

impl FilePosition {
    /// The position of a resumed unit (`None`: from the start). A stored position this
    /// reader does not understand fails the unit, naming it: restarting from zero would
    /// read records twice, skipping ahead would lose them.
    pub fn resume(state: Option<&serde_json::Value>, unit: &str) -> Result<u64, ConnectorError> {
        match state {
            None | Some(serde_json::Value::Null) => Ok(0),
            Some(v) => serde_json::from_value::<FilePosition>(v.clone())
                .map(|p| p.records)
                .map_err(|e| ConnectorError::Unit {
                    position: crate::Position {
                        source: unit.into(),
                        ..crate::Position::default()
                    },
                    reason: format!(
                        "its checkpoint's position `{v}` is not a file position ({e}): \
                         not read, so that no record is read twice or skipped"
                    ),
                }),
        }
    }

    /// As the checkpoint position.
    pub fn to_value(self) -> serde_json::Value {
        serde_json::json!({ "records": self.records })
    }
}

#[cfg(test)]
mod position_tests {
    use super::FilePosition;
    use serde_json::json;

    #[test]
    fn a_file_position_resumes_or_fails_loudly() {
        assert_eq!(FilePosition::resume(None, "a.csv").unwrap(), 0);
        assert_eq!(
            FilePosition::resume(Some(&json!(null)), "a.csv").unwrap(),
            0
        );
        let at = FilePosition { records: 7 }.to_value();
        assert_eq!(FilePosition::resume(Some(&at), "a.csv").unwrap(), 7);
        for bad in [
            json!({"records": -1}),
            json!({"record": 7}),
            json!("7"),
            json!({"records": 7, "x": 1}),
        ] {
            let e = FilePosition::resume(Some(&bad), "in/a.csv")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("in/a.csv: its checkpoint's position"), "{e}");
        }
    }
}
