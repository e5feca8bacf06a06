//! The workspace's layering, checked so it stays: no import cycle between the top-level
//! modules of a crate (a module can then be read and tested with only what is below it), and
//! no service crate depending on another service crate (services are peers on the platform).
//!
//! The module graph is read from the source text: every `crate::a::…` path (in `use` lines,
//! `use crate::{a, b::…}` groups and expressions) and every `super::…` path that climbs to the
//! crate root, in the files of top-level module `m`, is an edge `m -> a`. Names the crate root
//! re-exports (`pub use a::Name;`) count as edges to `a`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::string_slice)] // a test's own parsing

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports that close a cycle today, left out of the graph (each is printed when the test runs)
/// so the check holds for everything else: `crate: from -> to`, for the owner of `from` to
/// remove. Delete an entry once the import is gone; the test fails on any new cycle.
const KNOWN_EDGES: &[&str] = &[
    // Other crates, reported for their owners.
    "llavero-credentials: jwk -> crypto",
    "llavero-credentials: vcdm -> vc_jwt",
    "llavero-issuer: state -> status",
    "llavero-server: demo -> commands",
    "llavero-store: oauth -> group_commit",
    "llavero-store: refresh_grace -> group_commit",
    "llavero-store: issued -> registry",
    "llavero-store: oauth -> registry",
];

/// Service-to-service dependencies that exist today and are being removed: reported, not
/// hidden. (Development dependencies are allowed: end-to-end tests wire services together as
/// the server does.)
const KNOWN_SERVICE_DEPENDENCIES: &[&str] = &[];

/// The services: each depends on the platform and the store, never on another service.
const SERVICES: &[&str] = &[
    "llavero-idp",
    "llavero-issuer",
    "llavero-presentations",
    "llavero-wallet",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src` (`src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`;
/// the crate root is `[]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    let root = parts.is_empty() && matches!(stem, "lib" | "main");
    if stem != "mod" && !root {
        parts.push(stem.to_owned());
    }
    parts
}

/// The source without comments (line and block) and string literals, so a path in a doc
/// comment or a message is no import.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if let Some(raw) = rest.strip_prefix("r#\"") {
            i += raw.find("\"#").map_or(rest.len(), |e| e + 5);
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            out.push_str("\"\"");
            i += (j + 1).min(rest.len());
        } else if rest.starts_with("'\"'") {
            i += 3;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The first segments of the paths `crate::` reaches in `code` (a `{a, b::c}` group gives
/// each of `a`, `b`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 0 => {
                        found.push(ident_at(&group[i..]).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(ident_at(rest).to_owned());
        }
    }
    found
}

/// First segments of `super::…` paths that climb to the crate root from `module`.
fn super_paths(code: &str, module: &[String]) -> Vec<String> {
    // The file of module `a::b` (`a/b.rs` or `a/b/mod.rs`) climbs to `a` with one `super`.
    let here = module.len();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("super::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &code[at..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r.trim_start();
        }
        if ups == here {
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(crate_paths(&format!("crate::{{{group}")));
            } else {
                found.push(ident_at(rest).to_owned());
            }
        }
    }
    found
}

/// `pub use a::…::{X, Y};` lines of the crate root: name -> module `a`.
fn root_reexports(root: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in code_only(root).lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("crate::")
            .trim_start_matches("self::");
        let module = ident_at(rest).to_owned();
        let tail = rest.trim_end_matches(';');
        let items = match (tail.find('{'), tail.rfind('}')) {
            (Some(a), Some(b)) => tail[a + 1..b].to_owned(),
            _ => tail.rsplit("::").next().unwrap_or("").to_owned(),
        };
        for item in items.split(',') {
            let name = item.rsplit(" as ").next().unwrap_or("").trim();
            let name = name.rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.clone());
            }
        }
    }
    names
}

/// Top-level module -> the top-level modules it reaches.
fn module_graph(crate_name: &str, src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    module_graph_and_known(crate_name, src).0
}

/// [`module_graph`], and the [`KNOWN_EDGES`] entries that still occur.
fn module_graph_and_known(
    crate_name: &str,
    src: &Path,
) -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let root_file = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.exists());
    let reexports = root_file
        .as_ref()
        .map(|p| root_reexports(&std::fs::read_to_string(p).unwrap()))
        .unwrap_or_default();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f).first().cloned())
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let module = module_path(src, file);
        let Some(top) = module.first() else {
            continue;
        };
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let mut targets = crate_paths(&code);
        targets.extend(super_paths(&code, &module));
        for target in targets {
            let target = reexports.get(&target).cloned().unwrap_or(target);
            let known = format!("{crate_name}: {top} -> {target}");
            if KNOWN_EDGES.contains(&known.as_str()) {
                seen.insert(known);
                continue;
            }
            if modules.contains(&target) && &target != top {
                graph.get_mut(top).unwrap().insert(target);
            }
        }
    }
    (graph, seen)
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in &self.graph[v] {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

/// The workspace's crates: name -> `src` directory.
fn crates() -> BTreeMap<String, PathBuf> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
            (
                p["name"].as_str().unwrap().to_owned(),
                manifest.parent().unwrap().join("src"),
            )
        })
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle_between_its_top_level_modules() {
    let mut failures = Vec::new();
    let mut still_known = BTreeSet::new();
    for (name, src) in crates() {
        let (graph, seen) = module_graph_and_known(&name, &src);
        still_known.extend(seen);
        for cycle in cycles(&graph) {
            failures.push(format!("{name}: {}", cycle.join(" <-> ")));
        }
    }
    for known in KNOWN_EDGES {
        if !still_known.contains(*known) {
            failures.push(format!("{known} is gone: remove it from KNOWN_EDGES"));
        }
    }
    assert!(
        failures.is_empty(),
        "import cycles between top-level modules:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_identity_providers_modules_form_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for known in KNOWN_EDGES {
        eprintln!("import left out of the cycle check, to remove: {known}");
    }
    let graph = module_graph("llavero-idp", &src);
    assert!(graph.len() > 5, "{graph:?}");
    assert_eq!(cycles(&graph), Vec::<Vec<String>>::new(), "{graph:#?}");
}

#[test]
fn no_service_depends_on_another_service() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut failures = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        if !SERVICES.contains(&name) {
            continue;
        }
        for dependency in package["dependencies"].as_array().unwrap() {
            if dependency["kind"].as_str() == Some("dev") {
                continue;
            }
            let dependency = dependency["name"].as_str().unwrap();
            let edge = format!("{name} -> {dependency}");
            if !SERVICES.contains(&dependency) {
                continue;
            }
            if KNOWN_SERVICE_DEPENDENCIES.contains(&edge.as_str()) {
                eprintln!("known dependency, being removed by the platform crate: {edge}");
            } else {
                failures.push(edge);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "service crates depending on service crates: {failures:?}"
    );
}

#[test]
fn the_parser_reads_groups_super_and_skips_comments() {
    let code = code_only(
        "use crate::{a::X, b, c::{d, e}};\n// crate::f\nlet s = \"crate::g\";\ncrate::h::run();",
    );
    assert_eq!(crate_paths(&code), ["a", "b", "c", "h"]);
    let module = vec!["m".to_owned(), "n".to_owned()];
    assert_eq!(
        super_paths("use super::super::k::Y; use super::z;", &module),
        ["k"]
    );
}
