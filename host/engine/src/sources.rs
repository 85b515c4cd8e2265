//! Reading manifests from files, directories and stdin.

use gate_core::Resource;
use gate_core::manifest::{self, Format, Parsed, Skipped};
use gate_core::report::{ErrorEntry, ErrorKind};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Objects, in input order.
    pub resources: Vec<Resource>,
    /// Documents that are not objects.
    pub skipped: Vec<Skipped>,
    /// Files that could not be read or parsed.
    pub errors: Vec<ErrorEntry>,
}

/// One input: a file to read, or stdin.
enum Input {
    File(PathBuf, Format),
    Stdin,
}

/// Version-control metadata, never manifests.
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

/// Reads every input: files, directories (recursively: `.yaml`, `.yml`, `.json`,
/// skipping version-control directories) and `-` for stdin. Files are parsed in parallel; the
/// result keeps the order of the inputs and, within a directory, sorted paths.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if path.is_dir() {
            walk(path, &mut inputs, &mut errors);
        } else if path.exists() {
            // Named explicitly: read it whatever its extension.
            let format = Format::from_path(path).unwrap_or(Format::Yaml);
            inputs.push(Input::File(path.clone(), format));
        } else {
            errors.push(file_error(path, "no such file or directory".into()));
        }
    }
    let parsed: Vec<Result<Parsed, Box<ErrorEntry>>> = inputs.par_iter().map(read_input).collect();
    let mut loaded = Loaded {
        errors,
        ..Loaded::default()
    };
    for result in parsed {
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

/// Parses text that did not come from a file (an HTTP body, a plugin's input).
pub fn parse_text(name: &str, text: &str) -> Loaded {
    let mut loaded = Loaded::default();
    match manifest::parse(name, text, Format::sniff(text)) {
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
    let parsed = manifest::from_value(object, origin);
    Loaded {
        resources: parsed.resources,
        skipped: parsed.skipped,
        errors: Vec::new(),
    }
}

fn walk(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<ErrorEntry>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(file_error(dir, e.to_string()));
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
        // Symlinked directories are not followed: they can loop.
        let is_link = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        if path.is_dir() {
            if !is_link {
                walk(&path, inputs, errors);
            }
        } else if let Some(format) = Format::from_path(&path) {
            inputs.push(Input::File(path, format));
        }
    }
}

/// Reads and parses one input. The error is boxed: it is the rare path.
fn read_input(input: &Input) -> Result<Parsed, Box<ErrorEntry>> {
    match input {
        Input::File(path, format) => {
            let bytes =
                std::fs::read(path).map_err(|e| Box::new(file_error(path, e.to_string())))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| Box::new(file_error(path, format!("not UTF-8: {e}"))))?;
            manifest::parse(&path.display().to_string(), &text, *format)
                .map_err(|e| Box::new(syntax_error(e)))
        }
        Input::Stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Box::new(file_error(Path::new("<stdin>"), e.to_string())))?;
            manifest::parse("<stdin>", &text, Format::sniff(&text))
                .map_err(|e| Box::new(syntax_error(e)))
        }
    }
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
        gate_core::Error::ManifestSyntax { file, line, .. } => (Some(file.clone()), Some(*line)),
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
