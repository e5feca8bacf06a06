//! Reading back what criterion recorded, from the directory criterion 0.5 itself writes to.

use std::path::PathBuf;

/// Criterion's output directory, found in criterion 0.5's order: `CRITERION_HOME`, else
/// `CARGO_TARGET_DIR/criterion`, else the target directory this benchmark executable was built
/// in (`<target>/<profile>/deps/verify-…`, or `<target>/<triple>/<profile>/deps/…` when
/// cross-compiling) joined with `criterion`. Relative paths resolve against the working
/// directory, as they do for criterion.
pub fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = std::env::current_exe().ok()?;
    // deps → profile → target (or triple → target when cross-compiling).
    let target = exe.parent()?.parent()?.parent()?;
    std::iter::successors(Some(target), |dir| dir.parent())
        .take(2)
        .map(|dir| dir.join("criterion"))
        .find(|dir| dir.is_dir())
}

/// Median time per iteration (ns, CPU time) criterion recorded for `name` in `home` (the
/// median resists the outliers a shared machine produces).
pub fn median_ns(home: &std::path::Path, name: &str) -> Option<f64> {
    // Criterion keeps a benchmark's name as its directory (these names hold no `/`).
    let path = home.join(name).join("new/estimates.json");
    let estimates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}
