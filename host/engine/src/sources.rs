//! Reading manifests from files, directories and stdin.

use gate_core::Resource;
use gate_core::manifest::{self, Format, Parsed, Skipped};
use gate_core::report::{ErrorEntry, ErrorKind, InputDigest, Notice};
use gate_core::selector::{KindSelector, any_matches};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The default cap on one input (a file, or stdin): far above any real render,
/// low enough that a hostile input cannot exhaust memory.
pub const DEFAULT_MAX_INPUT_SIZE: u64 = 64 << 20;

/// How inputs are read.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The largest file or stdin stream read, in bytes; a larger one is an error.
    pub max_input_size: u64,
    /// For a run that judges the render and hands no object on (`gate check`):
    /// each file's objects are slimmed as soon as it is parsed (see
    /// [`Resource::slim`]), those of these kinds encoded for the policies first
    /// (see [`LoadedBundle::read_kinds`](crate::loader::LoadedBundle::read_kinds)),
    /// so that the parsed trees of a large render never all live at once. `None`
    /// keeps every object whole.
    pub slim: Option<Vec<KindSelector>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_input_size: DEFAULT_MAX_INPUT_SIZE,
            slim: None,
        }
    }
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Objects, in input order.
    pub resources: Vec<Resource>,
    /// Documents that are not objects.
    pub skipped: Vec<Skipped>,
    /// Files that could not be read or parsed.
    pub errors: Vec<ErrorEntry>,
    /// What was not read and why (symbolic links found in directories).
    pub notices: Vec<Notice>,
    /// Every input read, with the digest of its bytes (evidence of what was judged).
    pub inputs: Vec<InputDigest>,
}

/// One input: a file to read, or stdin.
enum Input {
    /// A file, and its size when it was found.
    File(PathBuf, u64),
    Stdin,
}

/// Version-control metadata, never manifests.
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

/// [`load_with`] with the default options.
pub fn load(paths: &[PathBuf]) -> Loaded {
    load_with(paths, &LoadOptions::default())
}

/// Reads every input: files, directories (recursively: `.yaml`, `.yml`, `.json`,
/// skipping version-control directories and not following symbolic links) and `-`
/// for stdin. Files are parsed in parallel; the result keeps the order of the
/// inputs and, within a directory, sorted paths.
pub fn load_with(paths: &[PathBuf], options: &LoadOptions) -> Loaded {
    Inputs::find(paths).load(options)
}

/// The inputs named by paths, found but not read yet: a caller can size its
/// work by them (see [`Inputs::size`]) before reading.
pub struct Inputs {
    inputs: Vec<Input>,
    /// What finding them reported: missing paths, unreadable directories,
    /// links not followed.
    found: Loaded,
}

impl Inputs {
    /// Finds the inputs as [`load_with`] reads them.
    pub fn find(paths: &[PathBuf]) -> Inputs {
        let mut inputs = Vec::new();
        let mut found = Loaded::default();
        for path in paths {
            if path.as_os_str() == "-" {
                inputs.push(Input::Stdin);
            } else if let Ok(meta) = std::fs::metadata(path) {
                if meta.is_dir() {
                    walk(path, &mut inputs, &mut found);
                } else {
                    // Named explicitly: read it whatever its extension, through a link too.
                    inputs.push(Input::File(path.clone(), meta.len()));
                }
            } else {
                found
                    .errors
                    .push(file_error(path, "no such file or directory".into()));
            }
        }
        Inputs { inputs, found }
    }

    /// The bytes of the files found, as they were when found (stdin counts for
    /// none).
    pub fn size(&self) -> u64 {
        self.inputs
            .iter()
            .filter_map(|input| match input {
                Input::File(_, size) => Some(*size),
                Input::Stdin => None,
            })
            .sum()
    }

    /// Reads and parses every input, in parallel.
    pub fn load(self, options: &LoadOptions) -> Loaded {
        let mut loaded = self.found;
        let parsed: Vec<_> = self
            .inputs
            .par_iter()
            .map(|input| read_input(input, options))
            .collect();
        for (digest, result) in parsed {
            loaded.inputs.extend(digest);
            match result {
                Ok(p) => {
                    loaded.resources.extend(p.resources);
                    loaded.skipped.extend(p.skipped);
                }
                Err(e) => loaded.errors.push(*e),
            }
        }
        loaded
    }
}

/// Parses text that did not come from a file (an HTTP body, a plugin's input).
pub fn parse_text(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded {
        inputs: vec![digest(name, text.as_bytes())],
        ..Loaded::default()
    };
    if text.len() as u64 > DEFAULT_MAX_INPUT_SIZE {
        loaded
            .errors
            .push(too_large(Path::new(name), DEFAULT_MAX_INPUT_SIZE));
        return loaded;
    }
    match manifest::parse(name, text) {
        Ok(p) => {
            loaded.resources = p.resources;
            loaded.skipped = p.skipped;
        }
        Err(e) => loaded.errors.push(syntax_error(e)),
    }
    loaded
}

/// A render of one object that arrived already parsed (an admission request's
/// object). `name` stands in for the file in positions and messages.
pub fn single_object(name: &str, object: serde_json::Value) -> Loaded {
    let origin = gate_core::Origin {
        file: name.to_owned(),
        document: 0,
        line: 1,
        item: None,
    };
    let mut loaded = Loaded::default();
    match manifest::from_value(object, origin) {
        Ok(parsed) => {
            loaded.resources = parsed.resources;
            loaded.skipped = parsed.skipped;
        }
        Err(e) => loaded.errors.push(syntax_error(e)),
    }
    loaded
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, loaded: &mut Loaded) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            loaded.errors.push(file_error(dir, e.to_string()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| !VCS_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        // Links are not followed: a directory link can loop, and a file link can
        // lead out of the tree being checked. One `lstat` per entry tells both.
        let Ok(meta) = path.symlink_metadata() else {
            // Gone since it was listed, or unreadable: reading it says which.
            if Format::from_path(&path).is_some() {
                inputs.push(Input::File(path, 0));
            }
            continue;
        };
        if meta.file_type().is_symlink() {
            if path.is_dir() || Format::from_path(&path).is_some() {
                loaded.notices.push(Notice {
                    message: format!(
                        "{}: symbolic link not followed; name its target to check it",
                        path.display()
                    ),
                    policy: None,
                    object: None,
                    error: None,
                });
            }
        } else if meta.is_dir() {
            walk(&path, inputs, loaded);
        } else if Format::from_path(&path).is_some() {
            inputs.push(Input::File(path, meta.len()));
        }
    }
}

/// Reads at most `limit` bytes; more is an error, so that a huge or endless input
/// is never held in memory.
fn read_limited(reader: impl Read, path: &Path, limit: u64) -> Result<Vec<u8>, Box<ErrorEntry>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Box::new(file_error(path, e.to_string())))?;
    if bytes.len() as u64 > limit {
        return Err(Box::new(too_large(path, limit)));
    }
    Ok(bytes)
}

/// Reads and parses one input; returns the digest of the bytes read, if they were
/// read whole, whether or not they parse. The error is boxed: it is the rare path.
fn read_input(
    input: &Input,
    options: &LoadOptions,
) -> (Option<InputDigest>, Result<Parsed, Box<ErrorEntry>>) {
    let (name, bytes) = match read_bytes(input, options.max_input_size) {
        Ok(read) => read,
        Err(e) => return (None, Err(e)),
    };
    let read = Some(digest(&name, &bytes));
    // Slimmed document by document, as the stream is parsed.
    let slim = |resource: &mut Resource| {
        if let Some(kinds) = &options.slim {
            let (group, version) = resource.group_version();
            let read = any_matches(kinds, group, version, resource.kind());
            resource.slim(read);
        }
    };
    let parsed = String::from_utf8(bytes)
        .map_err(|e| Box::new(file_error(Path::new(&name), format!("not UTF-8: {e}"))))
        .and_then(|text| {
            manifest::parse_with(&name, &text, slim).map_err(|e| Box::new(syntax_error(e)))
        });
    (read, parsed)
}

/// The name and bytes of one input, within the size limit.
fn read_bytes(input: &Input, limit: u64) -> Result<(String, Vec<u8>), Box<ErrorEntry>> {
    match input {
        Input::File(path, _) => {
            let file =
                std::fs::File::open(path).map_err(|e| Box::new(file_error(path, e.to_string())))?;
            if file.metadata().is_ok_and(|m| m.len() > limit) {
                return Err(Box::new(too_large(path, limit)));
            }
            Ok((path.display().to_string(), read_limited(file, path, limit)?))
        }
        Input::Stdin => {
            let name = "<stdin>";
            let bytes = read_limited(std::io::stdin().lock(), Path::new(name), limit)?;
            Ok((name.to_owned(), bytes))
        }
    }
}

fn digest(name: &str, bytes: &[u8]) -> InputDigest {
    InputDigest {
        path: name.to_owned(),
        digest: gate_runtime::digest_of(bytes),
    }
}

fn too_large(path: &Path, limit: u64) -> ErrorEntry {
    file_error(
        path,
        format!("larger than the input limit of {limit} bytes (--max-input-size)"),
    )
}

fn file_error(path: &Path, message: String) -> ErrorEntry {
    ErrorEntry {
        kind: ErrorKind::Input,
        message: format!("{}: {message}", path.display()),
        policy: None,
        object: None,
        file: Some(path.display().to_string()),
        line: None,
    }
}

fn syntax_error(error: gate_core::Error) -> ErrorEntry {
    let (file, line) = match &error {
        gate_core::Error::ManifestSyntax { file, line, .. }
        | gate_core::Error::ManifestObject { file, line, .. } => (Some(file.clone()), Some(*line)),
        _ => (None, None),
    };
    ErrorEntry {
        kind: ErrorKind::Input,
        message: error.to_string(),
        policy: None,
        object: None,
        file,
        line,
    }
}

/// Parses a size for `--max-input-size`: bytes, or a number with `KiB`, `MiB`
/// or `GiB` (`K`, `M`, `G` mean the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err(format!("unknown size unit {unit:?}: use KiB, MiB or GiB")),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 64MiB)"))?;
    n.checked_mul(1 << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
