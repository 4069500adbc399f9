//! Reading criterion's results (`<criterion home>/<bench id>/{new,change}/`)
//! after a run and summing up what got faster or slower.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::Deserialize;

/// A relative change within ±this is noise (criterion's default noise threshold).
pub const NOISE: f64 = 0.01;

/// How one benchmark's mean time compares with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The whole 95% interval of the change is below −[`NOISE`].
    Faster,
    /// The whole interval is above +[`NOISE`].
    Slower,
    /// No clear change: the interval reaches into the noise band.
    Unchanged,
    /// No baseline to compare with yet.
    New,
}

/// One benchmark of the last run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Criterion's id, e.g. `round_trip/GET /health`.
    pub id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Relative change of the mean (−0.05 is 5% faster), with its 95% interval.
    pub change: Option<(f64, f64, f64)>,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    full_id: String,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

/// Classifies a change given as (point, lower, upper).
pub fn verdict(lower: f64, upper: f64) -> Verdict {
    if upper < -NOISE {
        Verdict::Faster
    } else if lower > NOISE {
        Verdict::Slower
    } else {
        Verdict::Unchanged
    }
}

/// Every benchmark under `home` that ran since `since` (its `new/benchmark.json`
/// was written then), with its comparison when criterion made one, sorted by
/// verdict then id.
pub fn collect(home: &Path, since: SystemTime) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for new_dir in find_dirs_named(home, "new") {
        let bench_json = new_dir.join("benchmark.json");
        if !modified_since(&bench_json, since) {
            continue;
        }
        let text = std::fs::read_to_string(&bench_json)
            .with_context(|| format!("cannot read {}", bench_json.display()))?;
        let id = serde_json::from_str::<BenchmarkJson>(&text)
            .with_context(|| format!("cannot parse {}", bench_json.display()))?
            .full_id;
        let change_file = new_dir.with_file_name("change").join("estimates.json");
        let change = if modified_since(&change_file, since) {
            let text = std::fs::read_to_string(&change_file)
                .with_context(|| format!("cannot read {}", change_file.display()))?;
            let est: Estimates = serde_json::from_str(&text)
                .with_context(|| format!("cannot parse {}", change_file.display()))?;
            let m = est.mean;
            Some((
                m.point_estimate,
                m.confidence_interval.lower_bound,
                m.confidence_interval.upper_bound,
            ))
        } else {
            None
        };
        let verdict = change.map_or(Verdict::New, |(_, lo, hi)| verdict(lo, hi));
        out.push(Outcome {
            id,
            verdict,
            change,
        });
    }
    out.sort_by(|a, b| (a.verdict, &a.id).cmp(&(b.verdict, &b.id)));
    Ok(out)
}

/// The summary printed after a run.
pub fn render(outcomes: &[Outcome], baseline: &str) -> String {
    let mut s = String::new();
    if outcomes.is_empty() {
        return "No criterion results were written by this run (did the filter match nothing?)\n"
            .into();
    }
    if outcomes.iter().all(|o| o.verdict == Verdict::New) {
        let _ = writeln!(
            s,
            "Saved {} benchmark(s) as baseline `{baseline}`; run `cargo armature bench` again after a change to compare.",
            outcomes.len()
        );
        return s;
    }
    let width = outcomes.iter().map(|o| o.id.len()).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "Change of the mean time against baseline `{baseline}` (95% interval):"
    );
    for o in outcomes {
        let label = match o.verdict {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::Unchanged => "same",
            Verdict::New => "new",
        };
        match o.change {
            Some((p, lo, hi)) => {
                let _ = writeln!(
                    s,
                    "  {label:<6}  {:<width$}  {:>+7.2}%  [{:+.2}% .. {:+.2}%]",
                    o.id,
                    p * 100.0,
                    lo * 100.0,
                    hi * 100.0
                );
            }
            None => {
                let _ = writeln!(s, "  {label:<6}  {:<width$}  (no baseline yet)", o.id);
            }
        }
    }
    let count = |v| outcomes.iter().filter(|o| o.verdict == v).count();
    let _ = writeln!(
        s,
        "{} faster, {} slower, {} without a clear change (interval within or across ±{:.0}%); \
         this run is now baseline `{baseline}`.",
        count(Verdict::Faster),
        count(Verdict::Slower),
        count(Verdict::Unchanged),
        NOISE * 100.0
    );
    s
}

fn modified_since(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

/// Every directory called `name` below `root` (criterion nests ids in groups).
fn find_dirs_named(root: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if entry.file_name() == name {
            out.push(path);
        } else {
            out.extend(find_dirs_named(&path, name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn change(point: f64, lo: f64, hi: f64) -> String {
        format!(
            r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{lo},"upper_bound":{hi}}},"point_estimate":{point},"standard_error":0.001}},"median":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":0,"upper_bound":0}},"point_estimate":0,"standard_error":0}}}}"#
        )
    }

    #[test]
    fn verdict_table() {
        for (lo, hi, want) in [
            (-0.20, -0.10, Verdict::Faster),
            (0.05, 0.09, Verdict::Slower),
            (-0.005, 0.004, Verdict::Unchanged),
            (-0.05, 0.02, Verdict::Unchanged),
            (-0.02, -0.005, Verdict::Unchanged),
        ] {
            assert_eq!(verdict(lo, hi), want, "[{lo}, {hi}]");
        }
    }

    #[test]
    fn collects_this_runs_results_only() {
        let home = tempfile::tempdir().unwrap();
        let since = SystemTime::now() - Duration::from_secs(2);
        let bench = |dir: &str, id: &str| {
            write(
                &home.path().join(dir).join("new/benchmark.json"),
                &format!(r#"{{"full_id":"{id}","group_id":"g"}}"#),
            );
        };
        bench("g/fast", "g/fast");
        write(
            &home.path().join("g/fast/change/estimates.json"),
            &change(-0.2, -0.25, -0.15),
        );
        bench("g/slow", "g/slow");
        write(
            &home.path().join("g/slow/change/estimates.json"),
            &change(0.1, 0.05, 0.15),
        );
        bench("g/fresh", "g/fresh");
        // A benchmark from an older run is ignored.
        bench("g/old", "g/old");
        let old = std::fs::File::options()
            .write(true)
            .open(home.path().join("g/old/new/benchmark.json"))
            .unwrap();
        old.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();

        let got = collect(home.path(), since).unwrap();
        let ids: Vec<(&str, Verdict)> = got.iter().map(|o| (o.id.as_str(), o.verdict)).collect();
        assert_eq!(
            ids,
            [
                ("g/fast", Verdict::Faster),
                ("g/slow", Verdict::Slower),
                ("g/fresh", Verdict::New)
            ]
        );
        let text = render(&got, "armature");
        assert!(
            text.contains("faster  g/fast    -20.00%  [-25.00% .. -15.00%]"),
            "{text}"
        );
        assert!(
            text.contains("1 faster, 1 slower, 0 without a clear change"),
            "{text}"
        );
    }

    #[test]
    fn first_run_says_it_saved_a_baseline() {
        let o = Outcome {
            id: "a".into(),
            verdict: Verdict::New,
            change: None,
        };
        assert!(render(&[o], "armature").starts_with("Saved 1 benchmark(s) as baseline `armature`"));
    }
}
