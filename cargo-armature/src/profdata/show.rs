//! `profdata show`: what a profile holds — functions, counts, the hottest
//! functions and the summary — for an indexed `.profdata` or a `.profraw`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::indexed::{Function, IndexedProfile};
use super::record::{KIND_INDIRECT_CALL, KIND_MEMOP_SIZE};
use super::summary::Summary;

/// What [`show`] prints besides the overview.
#[derive(Debug, Clone)]
pub struct ShowOptions {
    /// How many of the hottest functions to list (0: none).
    pub top: usize,
    /// List every function with its hash, counters and value sites.
    pub all_functions: bool,
}

impl Default for ShowOptions {
    fn default() -> Self {
        ShowOptions {
            top: 10,
            all_functions: false,
        }
    }
}

/// Describes the profile at `path` (indexed, or raw, which is merged in
/// memory first) as text.
pub fn show(path: &Path, opts: &ShowOptions) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let indexed = bytes.len() >= 8 && super::error::le64(&bytes) == super::flags::INDEXED_MAGIC;
    let (profile, format) = if indexed {
        let p = super::parse_indexed(&bytes)
            .with_context(|| format!("invalid profile {}", path.display()))?;
        let format = format!("indexed v{}", p.version);
        (p, format)
    } else {
        let name = path.display().to_string();
        let merged = super::merge_bytes(&[(&name, &bytes)])
            .with_context(|| format!("invalid profile {}", path.display()))?;
        let p = super::parse_indexed(&merged).expect("the merger writes a readable profile");
        (p, "raw v10".to_owned())
    };
    Ok(render(&profile, &format, bytes.len(), opts))
}

fn max_count(f: &Function) -> u64 {
    f.record.counts.iter().copied().max().unwrap_or(0)
}

fn render(p: &IndexedProfile, format: &str, size: usize, opts: &ShowOptions) -> String {
    let mut o = String::new();
    let fns = &p.functions;
    let mut names: Vec<&[u8]> = fns.iter().map(|f| &f.name[..]).collect();
    names.sort_unstable();
    names.dedup();
    let computed = p.computed_summary();
    let counters: usize = fns.iter().map(|f| f.record.counts.len()).sum();
    let never_run = fns
        .iter()
        .filter(|f| f.record.counts.iter().all(|&c| c == 0))
        .count();
    let (mut ic_sites, mut ic_targets, mut ic_unknown, mut mem_sites) = (0, 0, 0, 0);
    for f in fns {
        ic_sites += f.record.value_sites[KIND_INDIRECT_CALL].len();
        for site in &f.record.value_sites[KIND_INDIRECT_CALL] {
            ic_targets += site.len();
            ic_unknown += site.iter().filter(|v| v.value == 0).count();
        }
        mem_sites += f.record.value_sites[KIND_MEMOP_SIZE].len();
    }
    let _ = writeln!(o, "format:                {format}, {size} bytes");
    let _ = writeln!(o, "instrumentation:       {}", p.describe_flags());
    let _ = writeln!(
        o,
        "functions:             {} ({} records; {} never run)",
        names.len(),
        fns.len(),
        never_run
    );
    let _ = writeln!(o, "counters:              {counters}");
    let _ = writeln!(o, "total count:           {}", computed.total_block_count);
    let _ = writeln!(o, "max function count:    {}", computed.max_function_count);
    let _ = writeln!(
        o,
        "max internal count:    {}",
        computed.max_internal_block_count
    );
    let _ = writeln!(
        o,
        "indirect-call sites:   {ic_sites} ({ic_targets} targets, {ic_unknown} outside the profile)"
    );
    let _ = writeln!(o, "memop sites:           {mem_sites}");
    let _ = writeln!(o, "binary ids:            {}", p.binary_ids.len());
    if opts.top > 0 && !fns.is_empty() {
        let mut hot: Vec<&Function> = fns.iter().collect();
        hot.sort_by(|a, b| {
            max_count(b)
                .cmp(&max_count(a))
                .then_with(|| a.name.cmp(&b.name))
        });
        let _ = writeln!(o, "\nhottest functions (by largest counter):");
        let _ = writeln!(o, "{:>20} {:>20}  name", "max count", "entry count");
        for f in hot.iter().take(opts.top) {
            let _ = writeln!(
                o,
                "{:>20} {:>20}  {}",
                max_count(f),
                f.record.counts[0],
                f.name_str()
            );
        }
    }
    if let Some(stored) = &p.summary {
        let verdict = if *stored == computed {
            "matches the records"
        } else {
            "DIFFERS from the records; rustc uses the stored one"
        };
        let _ = writeln!(o, "\nsummary (stored in the file, {verdict}):");
        render_summary(&mut o, stored);
    }
    if opts.all_functions {
        let by_hash: std::collections::HashMap<u64, &[u8]> = fns
            .iter()
            .map(|f| (super::md5_hash(&f.name), &f.name[..]))
            .collect();
        let target = |v: u64| match by_hash.get(&v) {
            Some(name) => String::from_utf8_lossy(name).into_owned(),
            None if v == 0 => "** external **".to_owned(),
            None => format!("{v:#018x}"),
        };
        let mut all: Vec<&Function> = fns.iter().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.hash.cmp(&b.hash)));
        let _ = writeln!(o, "\nfunctions:");
        for f in all {
            let r = &f.record;
            let _ = writeln!(o, "  {}", f.name_str());
            let _ = writeln!(
                o,
                "    hash: {:#018x}  counters: {}  max: {}",
                f.hash,
                r.counts.len(),
                max_count(f)
            );
            let _ = writeln!(o, "    counts: {:?}", r.counts);
            for (i, site) in r.value_sites[KIND_INDIRECT_CALL].iter().enumerate() {
                let values: Vec<String> = site
                    .iter()
                    .map(|v| format!("{}: {}", target(v.value), v.count))
                    .collect();
                let _ = writeln!(o, "    indirect-call site {i}: [{}]", values.join(", "));
            }
            for (i, site) in r.value_sites[KIND_MEMOP_SIZE].iter().enumerate() {
                let values: Vec<String> = site
                    .iter()
                    .map(|v| format!("{} bytes: {}", v.value, v.count))
                    .collect();
                let _ = writeln!(o, "    memop site {i}: [{}]", values.join(", "));
            }
        }
    }
    o
}

fn render_summary(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "{:>10} {:>20} {:>10}", "cutoff", "min count", "blocks");
    for e in &s.entries {
        let pct = e.cutoff as f64 / 10_000.0;
        let _ = writeln!(o, "{:>9}% {:>20} {:>10}", pct, e.min_count, e.num_blocks);
    }
}
